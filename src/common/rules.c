/* rules.c — filter lists (see rules.h).
 * Names live in one open-addressing hash set per list (keys in an arena, no
 * allocation per entry); a lookup tries the host and each parent suffix, so
 * it costs O(labels) whatever the list's size.  URL prefixes hang off the
 * same set by host; regexes (PCRE2, JIT) are tried in order; IP entries are
 * a CIDR list.  Owns everything it loads. */
#include "rules.h"
#include "acl.h"
#include "util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

/* An entry: a name (and for URL rules a path prefix), and what it says. */
struct entry {
    uint32_t name;      /* arena offset of "name" or "name/path" */
    uint16_t namelen;   /* bytes of the name part */
    uint8_t verdict;    /* RULES_BLOCK or RULES_ALLOW */
    uint8_t has_path;
    uint32_t next;      /* next entry with the same name + 1, 0 = none */
};

struct regex {
    pcre2_code *code;
    char *text;
};

struct rulelist {
    char *name;
    char *arena;
    size_t arena_len, arena_cap;
    struct entry *e;
    size_t n, cap;
    uint32_t *slots;    /* entry index + 1, 0 empty; first entry per name */
    size_t nslots;
    struct regex *re;
    size_t nre;
    struct acl *nets;
    size_t nnets;
};

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static const char *entry_text(const struct rulelist *l, const struct entry *e)
{
    return l->arena + e->name;
}

/* Finds the first entry for name, or 0 (index + 1). */
static uint32_t lookup(const struct rulelist *l, const char *name, size_t n)
{
    size_t i;

    if (!l->nslots)
        return 0;
    for (i = hash(name, n) & (l->nslots - 1); l->slots[i]; i = (i + 1) & (l->nslots - 1)) {
        const struct entry *e = &l->e[l->slots[i] - 1];
        if (e->namelen == n && memcmp(entry_text(l, e), name, n) == 0)
            return l->slots[i];
    }
    return 0;
}

static void rehash(struct rulelist *l)
{
    size_t ns = l->nslots ? l->nslots * 2 : 1024;

    free(l->slots);
    l->slots = xcalloc(ns, sizeof(*l->slots));
    l->nslots = ns;
    for (size_t k = 0; k < l->n; k++) {
        struct entry *e = &l->e[k];
        size_t i;
        if (lookup(l, entry_text(l, e), e->namelen))
            continue; /* a later entry of a known name hangs off the first */
        for (i = hash(entry_text(l, e), e->namelen) & (ns - 1); l->slots[i]; i = (i + 1) & (ns - 1))
            ;
        l->slots[i] = (uint32_t)k + 1;
    }
}

static void add_entry(struct rulelist *l, const char *name, size_t namelen, const char *path,
                      size_t pathlen, int verdict)
{
    struct entry *e;
    uint32_t first;
    size_t need = namelen + pathlen + 1;

    if (l->arena_len + need > l->arena_cap) {
        l->arena_cap = GH_MAX(l->arena_cap * 2, l->arena_len + need + 65536);
        l->arena = xrealloc(l->arena, l->arena_cap);
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->e = xrealloc(l->e, l->cap * sizeof(*l->e));
    }
    if ((l->n + 1) * 2 > l->nslots)
        rehash(l); /* keep the set at most half full */
    e = &l->e[l->n];
    e->name = (uint32_t)l->arena_len;
    e->namelen = (uint16_t)namelen;
    e->verdict = (uint8_t)verdict;
    e->has_path = pathlen > 0;
    e->next = 0;
    for (size_t i = 0; i < namelen; i++)
        l->arena[l->arena_len++] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    memcpy(l->arena + l->arena_len, path, pathlen);
    l->arena_len += pathlen;
    l->arena[l->arena_len++] = '\0';
    l->n++;
    first = lookup(l, entry_text(l, e), namelen);
    if (first && first != l->n) { /* chain behind the name's first entry */
        e->next = l->e[first - 1].next;
        l->e[first - 1].next = (uint32_t)l->n;
    } else if (!first) {
        size_t i;
        for (i = hash(entry_text(l, e), namelen) & (l->nslots - 1); l->slots[i];
             i = (i + 1) & (l->nslots - 1))
            ;
        l->slots[i] = (uint32_t)l->n;
    }
}

/* ---- loading ---- */

struct loader {
    struct rulelist *l;
    const char *file;
    int line;
    void (*warn)(void *, const char *);
    void *ctx;
    unsigned skipped; /* adblock rules this engine does not read */
};

/* Reports "file:line: what 'detail'" (the line is skipped). */
static void warn(struct loader *ld, const char *what, const char *detail)
{
    char msg[512];

    if (ld->warn) {
        gh_fmt(msg, sizeof(msg), "%s:%d: %s '%s'", ld->file, ld->line, what, detail);
        ld->warn(ld->ctx, msg);
    }
}

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.'))
            return 0;
        if (c == '.' && s[i + 1] == '.')
            return 0;
    }
    return 1;
}

static int is_address(const char *s, size_t n)
{
    char tmp[64];
    unsigned char bin[16];
    const char *slash = memchr(s, '/', n);

    if (n >= sizeof(tmp))
        return 0;
    memcpy(tmp, s, slash ? (size_t)(slash - s) : n);
    tmp[slash ? (size_t)(slash - s) : n] = '\0';
    return inet_pton(AF_INET, tmp, bin) == 1 || inet_pton(AF_INET6, tmp, bin) == 1;
}

/* A domain entry: "example.com", ".example.com", "*.example.com", or an
 * address / CIDR. */
static void add_domain(struct loader *ld, char *s, size_t n, int verdict)
{
    char tmp[80], msg[128];

    if (is_address(s, n)) {
        gh_fmt(tmp, sizeof(tmp), "%.*s", (int)n, s);
        if (acl_add(ld->l->nets, tmp, msg, sizeof(msg)) == 0)
            ld->l->nnets++;
        else
            warn(ld, "bad address", msg);
        return;
    }
    if (n > 2 && s[0] == '*' && s[1] == '.')
        s += 2, n -= 2;
    else if (n > 1 && s[0] == '.')
        s++, n--;
    if (!name_ok(s, n)) {
        gh_fmt(tmp, sizeof(tmp), "%.*s", (int)GH_MIN(n, (size_t)60), s);
        warn(ld, "not a domain name:", tmp);
        return;
    }
    add_entry(ld->l, s, n, "", 0, verdict);
}

static void load_hosts_line(struct loader *ld, char *s)
{
    static const char *const skip[] = {"localhost", "localhost.localdomain", "local", "broadcasthost",
                                       "ip6-localhost", "ip6-loopback", "ip6-localnet",
                                       "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters",
                                       "ip6-allhosts", "0.0.0.0", NULL};
    char *save = NULL, *addr = strtok_r(s, " \t", &save), *name;

    if (!addr || !is_address(addr, strlen(addr))) {
        warn(ld, "not a hosts line (address name ...):", addr ? addr : "");
        return;
    }
    while ((name = strtok_r(NULL, " \t", &save)) != NULL) {
        int skipped = 0;
        if (name[0] == '#')
            break;
        for (const char *const *k = skip; *k && !skipped; k++)
            skipped = strcasecmp(name, *k) == 0;
        if (!skipped)
            add_domain(ld, name, strlen(name), RULES_BLOCK);
    }
}

static void load_adblock_line(struct loader *ld, char *s)
{
    int verdict = RULES_BLOCK;
    size_t n;

    if (s[0] == '[')
        return; /* [Adblock Plus 2.0] */
    if (strncmp(s, "@@", 2) == 0)
        verdict = RULES_ALLOW, s += 2;
    n = strlen(s);
    if (strncmp(s, "||", 2) != 0 || n < 4 || s[n - 1] != '^') {
        ld->skipped++; /* element hiding, substrings, options: not network rules we read */
        return;
    }
    add_domain(ld, s + 2, n - 3, verdict);
}

static void load_url_line(struct loader *ld, char *s)
{
    char *slash;

    if (strncasecmp(s, "http://", 7) == 0)
        s += 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        s += 8;
    slash = strchr(s, '/');
    if (!slash) {
        add_domain(ld, s, strlen(s), RULES_BLOCK);
        return;
    }
    if (!name_ok(s, (size_t)(slash - s))) {
        warn(ld, "not host/path:", s);
        return;
    }
    add_entry(ld->l, s, (size_t)(slash - s), slash, strlen(slash), RULES_BLOCK);
}

static void load_regex_line(struct loader *ld, char *s)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS, &code, &off,
                                   NULL);
    struct rulelist *l = ld->l;

    if (!re) {
        PCRE2_UCHAR why[128];
        pcre2_get_error_message(code, why, sizeof(why));
        warn(ld, "bad regular expression:", (const char *)why);
        return;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* interpreted if JIT is unavailable */
    l->re = xrealloc(l->re, (l->nre + 1) * sizeof(*l->re));
    l->re[l->nre].code = re;
    l->re[l->nre].text = xstrdup(s);
    l->nre++;
}

static enum rules_format guess(const char *s)
{
    if (strncmp(s, "||", 2) == 0 || strncmp(s, "@@", 2) == 0 || s[0] == '!' || s[0] == '[')
        return RULES_ADBLOCK;
    if (strchr(s, ' ') || strchr(s, '\t'))
        return RULES_HOSTS;
    return RULES_DOMAINS;
}

static int load_file(struct loader *ld, const char *path, enum rules_format fmt, char *err,
                     size_t errlen)
{
    gzFile gz = gzopen(path, "rb"); /* reads plain files too */
    char line[8192];

    if (!gz) {
        gh_fmt(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOMEM));
        return -1;
    }
    ld->file = path;
    ld->line = 0;
    ld->skipped = 0;
    while (gzgets(gz, line, sizeof(line))) {
        char *s = line, *end;
        ld->line++;
        end = s + strcspn(s, "\r\n");
        *end = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (!*s || (s[0] == '!' && fmt != RULES_REGEX))
            continue;
        if (s[0] == '#') { /* a comment, or adblock element hiding ("##", "#@#") */
            if (fmt == RULES_ADBLOCK && s[1] && strchr("#@?$", s[1]))
                ld->skipped++;
            continue;
        }
        if (fmt == RULES_AUTO)
            fmt = guess(s);
        switch (fmt) {
        case RULES_HOSTS: load_hosts_line(ld, s); break;
        case RULES_ADBLOCK: load_adblock_line(ld, s); break;
        case RULES_URLS: load_url_line(ld, s); break;
        case RULES_REGEX: load_regex_line(ld, s); break;
        default:
            if (strchr(s, ' ') || strchr(s, '\t'))
                warn(ld, "not a domain name:", s);
            else
                add_domain(ld, s, strlen(s), RULES_BLOCK);
        }
    }
    gzclose(gz);
    if (ld->skipped && ld->warn) {
        char msg[512];
        gh_fmt(msg, sizeof(msg), "%s: %u adblock rules skipped (only ||name^ and @@||name^ are read)",
               path, ld->skipped);
        ld->warn(ld->ctx, msg);
    }
    return 0;
}

struct rulelist *rulelist_load(const char *name, const char *path, enum rules_format fmt,
                               void (*warnfn)(void *ctx, const char *msg), void *ctx, char *err,
                               size_t errlen)
{
    struct rulelist *l = xcalloc(1, sizeof(*l));
    struct loader ld = {.l = l, .warn = warnfn, .ctx = ctx};
    struct stat st;

    l->name = xstrdup(name);
    l->nets = acl_new();
    if (stat(path, &st) < 0) {
        gh_fmt(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        static const struct {
            const char *file;
            enum rules_format f;
        } parts[] = {{"domains", RULES_DOMAINS}, {"urls", RULES_URLS}, {"expressions", RULES_REGEX}};
        int found = 0;
        for (unsigned i = 0; i < GH_ARRAY_LEN(parts); i++) {
            char p[4096];
            gh_fmt(p, sizeof(p), "%s/%s", path, parts[i].file);
            if (stat(p, &st) < 0) {
                gh_fmt(p, sizeof(p), "%s/%s.gz", path, parts[i].file);
                if (stat(p, &st) < 0)
                    continue;
            }
            found = 1;
            if (load_file(&ld, p, parts[i].f, err, errlen) < 0)
                goto fail;
        }
        if (!found) {
            gh_fmt(err, errlen, "%s: no domains, urls or expressions file in this category directory",
                   path);
            goto fail;
        }
    } else if (load_file(&ld, path, fmt, err, errlen) < 0) {
        goto fail;
    }
    return l;
fail:
    rulelist_free(l);
    return NULL;
}

void rulelist_free(struct rulelist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nre; i++) {
        pcre2_code_free(l->re[i].code);
        free(l->re[i].text);
    }
    free(l->re);
    acl_free(l->nets);
    free(l->slots);
    free(l->e);
    free(l->arena);
    free(l->name);
    free(l);
}

const char *rulelist_name(const struct rulelist *l)
{
    return l->name;
}

size_t rulelist_size(const struct rulelist *l)
{
    return l->n + l->nre + l->nnets;
}

/* ---- matching ---- */

/* The verdict of the entries for one name: a plain name entry, or a URL
 * entry whose path prefixes the request's; an exception wins. */
static enum rules_verdict name_verdict(const struct rulelist *l, uint32_t idx, const char *path,
                                       size_t pathlen, const char **rule)
{
    enum rules_verdict v = RULES_NONE;

    for (; idx; idx = l->e[idx - 1].next) {
        const struct entry *e = &l->e[idx - 1];
        const char *text = entry_text(l, e);
        if (e->has_path) {
            size_t pl = strlen(text + e->namelen);
            if (pathlen < pl || memcmp(path, text + e->namelen, pl) != 0)
                continue;
        }
        if (e->verdict == RULES_ALLOW || v == RULES_NONE) {
            v = (enum rules_verdict)e->verdict;
            if (rule)
                *rule = text;
        }
        if (v == RULES_ALLOW)
            break;
    }
    return v;
}

enum rules_verdict rulelist_match(const struct rulelist *l, const char *host, size_t hostlen,
                                  const char *path, size_t pathlen, const char **rule)
{
    char h[256], subject[2048];
    enum rules_verdict v = RULES_NONE;
    struct sockaddr_storage ss;
    size_t n;

    if (hostlen && host[hostlen - 1] == '.')
        hostlen--;
    if (hostlen == 0 || hostlen >= sizeof(h))
        return RULES_NONE;
    for (n = 0; n < hostlen; n++)
        h[n] = (char)(host[n] >= 'A' && host[n] <= 'Z' ? host[n] + 32 : host[n]);
    h[n] = '\0';
    if (l->nnets) {
        memset(&ss, 0, sizeof(ss));
        if (inet_pton(AF_INET, h, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
            ss.ss_family = AF_INET;
        else if (inet_pton(AF_INET6, h, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
            ss.ss_family = AF_INET6;
        if (ss.ss_family && acl_match(l->nets, &ss)) {
            if (rule)
                *rule = "(address list)";
            return RULES_BLOCK;
        }
    }
    /* the host, then each parent: "a.b.example", "b.example", "example" */
    for (const char *s = h; s; s = strchr(s, '.') ? strchr(s, '.') + 1 : NULL) {
        uint32_t idx = lookup(l, s, (size_t)(h + n - s));
        if (idx) {
            enum rules_verdict got = name_verdict(l, idx, path, pathlen, rule);
            if (got == RULES_ALLOW)
                return RULES_ALLOW;
            if (got != RULES_NONE && v == RULES_NONE)
                v = got;
        }
    }
    if (v != RULES_NONE || !l->nre)
        return v;
    n = gh_fmt(subject, sizeof(subject), "%s%.*s", h, (int)pathlen, path);
    for (size_t i = 0; i < l->nre; i++) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(l->re[i].code, NULL);
        int rc = pcre2_match(l->re[i].code, (PCRE2_SPTR)subject, n, 0, 0, md, NULL);
        pcre2_match_data_free(md);
        if (rc >= 0) {
            if (rule)
                *rule = l->re[i].text;
            return RULES_BLOCK;
        }
    }
    return RULES_NONE;
}
