/* rules_load.c — reading filtering lists (see rules.h): plain or gzip'd
 * files line by line, the five formats, the guess for RULES_AUTO, and the
 * UT1 / squidGuard category directory.  Each accepted rule goes to the
 * index through rules_int.h; bad lines are reported and skipped. */
#include "rules_int.h"
#include "hostname.h"
#include "urlpath.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define WARN_MAX 50 /* per file; later bad lines are only counted */
#define LINE_MAX_BYTES (1 << 20)
#define URL_PATH_MAX 16384 /* a URL rule's path, normalised */
#define READ_CHUNK 65536

/* ---- reading lines ---- */

/* One open list file.  Owns fd (or gz, which owns fd) and buf. */
struct reader {
    const char *path;
    int fd;
    gzFile gz; /* NULL: a plain file read with read(2) */
    char *buf;
    size_t cap;
    size_t start, end; /* unread bytes: buf[start, end) */
    int eof;
    int skipping; /* inside a line longer than LINE_MAX_BYTES */
};

static int reader_open(struct reader *r, const char *path, char *err, size_t errlen)
{
    unsigned char magic[2];
    struct stat st;
    ssize_t n;

    memset(r, 0, sizeof(*r));
    r->path = path;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0 || fstat(r->fd, &st) < 0)
        goto fail;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    n = pread(r->fd, magic, sizeof(magic), 0);
    if (n < 0 && errno != ESPIPE)
        goto fail;
    if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        r->gz = gzdopen(r->fd, "rb");
        if (!r->gz) {
            errno = ENOMEM;
            goto fail;
        }
        gzbuffer(r->gz, 131072);
    }
    r->cap = READ_CHUNK;
    r->buf = xmalloc(r->cap);
    return 0;
fail:
    gh_fmt(err, errlen, "%s: %s", path, strerror(errno));
    if (r->fd >= 0)
        close(r->fd);
    return -1;
}

static void reader_close(struct reader *r)
{
    if (r->gz)
        gzclose(r->gz); /* closes fd */
    else if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
}

/* Reads more bytes after buf[end].  Returns 0, or -1 with err set. */
static int reader_fill(struct reader *r, char *err, size_t errlen)
{
    int n;

    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end + 1 >= r->cap) { /* one spare byte: the loader terminates lines */
        if (r->cap >= LINE_MAX_BYTES) {
            r->skipping = 1; /* drop the line's bytes until its newline */
            r->end = 0;
        } else {
            r->cap *= 2;
            r->buf = xrealloc(r->buf, r->cap);
        }
    }
    if (r->gz) {
        int errnum;
        const char *msg;
        n = gzread(r->gz, r->buf + r->end, (unsigned)(r->cap - r->end - 1));
        msg = gzerror(r->gz, &errnum);
        if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
            /* a truncated stream ends with Z_BUF_ERROR, not with -1 */
            gh_fmt(err, errlen, "%s: gzip: %s", r->path, errnum == Z_ERRNO ? strerror(errno) : msg);
            return -1;
        }
    } else {
        ssize_t got;
        do
            got = read(r->fd, r->buf + r->end, r->cap - r->end - 1);
        while (got < 0 && errno == EINTR);
        if (got < 0) {
            gh_fmt(err, errlen, "%s: %s", r->path, strerror(errno));
            return -1;
        }
        n = (int)got;
    }
    if (n == 0)
        r->eof = 1;
    r->end += (size_t)n;
    return 0;
}

/* Next line, without its '\n', in *s / *n (modifiable in place).  Returns 1
 * for a line, 2 for a line too long (skipped), 0 at the end, -1 on error. */
static int reader_line(struct reader *r, char **s, size_t *n, char *err, size_t errlen)
{
    for (;;) {
        char *p = r->buf + r->start, *nl = memchr(p, '\n', r->end - r->start);
        if (nl || (r->eof && r->start < r->end)) {
            size_t len = nl ? (size_t)(nl - p) : r->end - r->start;
            int too_long = r->skipping;
            *s = p;
            *n = len;
            r->start += len + (nl ? 1 : 0);
            r->skipping = 0;
            return too_long ? 2 : 1;
        }
        if (r->eof)
            return 0;
        if (reader_fill(r, err, errlen) < 0)
            return -1;
    }
}

/* ---- reporting ---- */

/* Reading one file.  Borrows everything it points to. */
struct loader {
    struct rulelist *l;
    const char *file;
    unsigned long line;
    enum rules_format fmt;
    void (*warn)(void *ctx, const char *msg);
    void *ctx;
    unsigned long nbad;       /* bad lines in this file */
    unsigned long ab_skipped; /* adblock rules of kinds this engine does not read */
};

/* Up to 80 bytes of s for a message, non-printable bytes as \xNN. */
static const char *excerpt(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0, i;

    for (i = 0; i < n && i < 80 && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            dst[o++] = (char)c;
        else
            o += gh_fmt(dst + o, cap - o, "\\x%02x", c);
    }
    if (i < n && o + 4 < cap)
        o += gh_fmt(dst + o, cap - o, "...");
    dst[o] = '\0';
    return dst;
}

static void report(struct loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Warns "file:line: ..." about the current line (the first WARN_MAX). */
static void report(struct loader *ld, const char *fmt, ...)
{
    char msg[768];
    size_t o;
    va_list ap;

    if (++ld->nbad > WARN_MAX || !ld->warn)
        return;
    o = gh_fmt(msg, sizeof(msg), "%s:%lu: ", ld->file, ld->line);
    va_start(ap, fmt);
    vsnprintf(msg + o, sizeof(msg) - o, fmt, ap);
    va_end(ap);
    ld->warn(ld->ctx, msg);
}

/* The per-file notes: bad lines past the cap, adblock rules not read. */
static void report_totals(struct loader *ld)
{
    char msg[768];

    if (!ld->warn)
        return;
    if (ld->nbad > WARN_MAX) {
        gh_fmt(msg, sizeof(msg), "%s: %lu more bad lines skipped (only the first %d are shown)",
               ld->file, ld->nbad - WARN_MAX, WARN_MAX);
        ld->warn(ld->ctx, msg);
    }
    if (ld->ab_skipped) {
        gh_fmt(msg, sizeof(msg),
               "%s: %lu adblock rules skipped (element hiding, paths, wildcards, regexes: "
               "only ||name^ and @@||name^ are read)",
               ld->file, ld->ab_skipped);
        ld->warn(ld->ctx, msg);
    }
}

/* ---- names and addresses ---- */

/* Checks and lower-cases a name into out (RULES_NAME_MAX + 1 bytes).  With
 * wild, a leading "." or "*." is dropped (the same meaning as the bare
 * name); one trailing dot always is.  Returns its length, or 0 with why. */
static size_t clean_name(const char *s, size_t n, int wild, char *out, const char **why)
{
    size_t label = 0;

    if (wild && n > 2 && s[0] == '*' && s[1] == '.')
        s += 2, n -= 2;
    else if (wild && n > 1 && s[0] == '.')
        s++, n--;
    if (n > 1 && s[n - 1] == '.')
        n--;
    if (n > RULES_NAME_MAX) {
        *why = "name longer than 253 bytes";
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c == '.') {
            if (label == 0) {
                *why = "empty label";
                return 0;
            }
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            if (++label > RULES_LABEL_MAX) {
                *why = "label longer than 63 bytes";
                return 0;
            }
        } else {
            *why = c == '*'    ? "'*' is only allowed as a leading \"*.\""
                   : c >= 0x80 ? "not ASCII (write internationalised names in punycode, xn--...)"
                   : c == ' ' || c == '\t' ? "space inside a name"
                                           : "invalid character in a name";
            return 0;
        }
        out[i] = (char)c;
    }
    if (label == 0) {
        *why = n ? "empty label" : "empty name";
        return 0;
    }
    return n;
}

/* 1 when each of the n bytes of s is one of set. */
static int all_in(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(set, s[i]))
            return 0;
    return 1;
}

/* 1 when s (NUL-terminated) is an IPv4 or IPv6 address; its canonical text
 * (IPv4-mapped IPv6 as IPv4) goes to canon. */
static int canon_addr(const char *s, char *canon, size_t cap)
{
    unsigned char b[16];

    if (inet_pton(AF_INET, s, b) == 1)
        return inet_ntop(AF_INET, b, canon, (socklen_t)cap) != NULL;
    if (inet_pton(AF_INET6, s, b) != 1)
        return 0;
    if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)b))
        return inet_ntop(AF_INET, b + 12, canon, (socklen_t)cap) != NULL;
    return inet_ntop(AF_INET6, b, canon, (socklen_t)cap) != NULL;
}

/* 1 when s[0..n) is an IP literal in a form the resolver reads but
 * canon_addr does not ("0x7f.1", "2130706433"): its canonical text goes to
 * canon.  Names, and what is neither, give 0. */
static int other_addr(const char *s, size_t n, char *canon, size_t cap)
{
    char norm[HOSTNAME_MAX];

    return hostname_normalize(s, n, norm, sizeof(norm)) > 0 && canon_addr(norm, canon, cap);
}

/* An address, or a prefix (with verdict BLOCK only).  Returns 0 or -1. */
static int add_address(struct loader *ld, const char *s, size_t n, unsigned verdict)
{
    char tmp[64], canon[INET6_ADDRSTRLEN], msg[256], ex[400];
    const char *slash;

    if (n >= sizeof(tmp))
        goto bad;
    for (size_t i = 0; i < n; i++)
        tmp[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    tmp[n] = '\0';
    slash = strchr(tmp, '/');
    if (slash && verdict == NAME_BLOCK) {
        int full = (strchr(tmp, ':') && strcmp(slash, "/128") == 0) ||
                   (!strchr(tmp, ':') && strcmp(slash, "/32") == 0);
        if (!full) {
            if (rules_add_net(ld->l, tmp, msg, sizeof(msg)) < 0) {
                report(ld, "%s", msg);
                return -1;
            }
            return 0;
        }
        tmp[slash - tmp] = '\0'; /* a one-address prefix is an address */
    }
    if (!canon_addr(tmp, canon, sizeof(canon)))
        goto bad;
    rules_add_name(ld->l, canon, strlen(canon), verdict | NAME_ADDR);
    return 0;
bad:
    report(ld, "not an address or address/prefix-length: '%s'", excerpt(ex, sizeof(ex), s, n));
    return -1;
}

/* A name or an address from a domains, hosts or adblock line. */
static int add_token(struct loader *ld, const char *s, size_t n, unsigned verdict, int wild)
{
    char name[RULES_NAME_MAX + 1], canon[INET6_ADDRSTRLEN], ex[400];
    const char *why = NULL;
    size_t len;

    if (memchr(s, ':', n) || all_in(s, n, "0123456789./"))
        return add_address(ld, s, n, verdict);
    if (other_addr(s, n, canon, sizeof(canon)))
        return add_address(ld, canon, strlen(canon), verdict);
    len = clean_name(s, n, wild, name, &why);
    if (!len) {
        report(ld, "%s: '%s'", why, excerpt(ex, sizeof(ex), s, n));
        return -1;
    }
    rules_add_name(ld->l, name, len, verdict);
    return 0;
}

/* ---- the formats ---- */

static void load_domains(struct loader *ld, char *s, size_t n)
{
    char ex[400];

    if (strcspn(s, " \t") < n) {
        report(ld, "space inside a name: '%s'", excerpt(ex, sizeof(ex), s, n));
        return;
    }
    add_token(ld, s, n, NAME_BLOCK, 1);
}

/* Names the hosts files of blocklists map for the machine itself. */
static int local_name(const char *s, size_t n)
{
    static const char *const names[] = {"localhost",      "localhost.localdomain", "local",
                                        "broadcasthost",  "ip6-localhost",         "ip6-loopback",
                                        "ip6-localnet",   "ip6-mcastprefix",       "ip6-allnodes",
                                        "ip6-allrouters", "ip6-allhosts"};

    for (size_t i = 0; i < GH_ARRAY_LEN(names); i++)
        if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
            return 1;
    return 0;
}

static void load_hosts(struct loader *ld, char *s, size_t n)
{
    char canon[INET6_ADDRSTRLEN], ex[400];
    size_t tok = strcspn(s, " \t"), names = 0;

    s[tok < n ? tok : n] = '\0';
    if (!canon_addr(s, canon, sizeof(canon))) {
        report(ld, "not a hosts line (want: address name ...): '%s'",
               excerpt(ex, sizeof(ex), s, tok));
        return;
    }
    for (size_t i = tok + 1; i < n;) {
        char *name;
        size_t len;
        i += strspn(s + i, " \t");
        name = s + i;
        len = strcspn(name, " \t");
        if (len == 0 || name[0] == '#')
            break; /* end of line, or a comment */
        name[len] = '\0';
        i += len + 1;
        names++;
        if (local_name(name, len) || canon_addr(name, canon, sizeof(canon)))
            continue; /* "127.0.0.1 localhost", "0.0.0.0 0.0.0.0" */
        add_token(ld, name, len, NAME_BLOCK, 0);
    }
    if (names == 0)
        report(ld, "an address without a name: '%s'", excerpt(ex, sizeof(ex), s, tok));
}

/* The network-rule subset: "||name^" and "@@||name^", nothing after. */
static void load_adblock(struct loader *ld, char *s, size_t n)
{
    unsigned verdict = NAME_BLOCK;
    const char *dollar, *body, *end;
    char ex[400];

    if (s[0] == '!' || (s[0] == '[' && s[n - 1] == ']'))
        return; /* a comment; "[Adblock Plus 2.0]" */
    if (n > 2 && s[0] == '@' && s[1] == '@')
        verdict = NAME_ALLOW, s += 2, n -= 2;
    dollar = memchr(s, '$', n);
    end = dollar ? dollar : s + n;
    body = s + 2;
    if (n < 4 || s[0] != '|' || s[1] != '|' || end - body < 2 || end[-1] != '^' ||
        strcspn(body, "/*^|") < (size_t)(end - 1 - body)) {
        ld->ab_skipped++; /* element hiding, paths, wildcards, regexes: one note per file */
        return;
    }
    if (dollar) {
        report(ld, "adblock options are not supported, rule skipped: '%s'",
               excerpt(ex, sizeof(ex), dollar, (size_t)(s + n - dollar)));
        return;
    }
    add_token(ld, body, (size_t)(end - 1 - body), verdict, 0);
}

/* squidGuard urls: "host/path-prefix", a scheme tolerated.  The path is
 * kept in the normal form requests are judged in (urlpath.h). */
static void load_url(struct loader *ld, char *s, size_t n)
{
    char name[RULES_NAME_MAX + 1], canon[INET6_ADDRSTRLEN], ex[400], path[URL_PATH_MAX];
    const char *why = NULL, *slash;
    size_t hostlen, len, pathlen = 0;
    char *host;
    long pn;

    if (n > 7 && strncasecmp(s, "http://", 7) == 0)
        s += 7, n -= 7;
    else if (n > 8 && strncasecmp(s, "https://", 8) == 0)
        s += 8, n -= 8;
    if (strcspn(s, " \t") < n) {
        report(ld, "space inside a URL: '%s'", excerpt(ex, sizeof(ex), s, n));
        return;
    }
    slash = memchr(s, '/', n);
    hostlen = slash ? (size_t)(slash - s) : n;
    host = s;
    if (hostlen > 2 && host[0] == '[' && host[hostlen - 1] == ']') {
        host++;
        hostlen -= 2;
    }
    if (slash && (size_t)(s + n - slash) > 1) {
        pn = urlpath_normalize(slash, (size_t)(s + n - slash), URLPATH_VIEW, path, sizeof(path),
                               &why);
        if (pn < 0) {
            report(ld, "%s: '%s'", why, excerpt(ex, sizeof(ex), s, n));
            return;
        }
        pathlen = (size_t)pn;
    }
    if (memchr(host, ':', hostlen) || (hostlen && all_in(host, hostlen, "0123456789."))) {
        char tmp[64];
        gh_fmt(tmp, sizeof(tmp), "%.*s", (int)GH_MIN(hostlen, sizeof(tmp) - 1), host);
        if (hostlen >= sizeof(tmp) || !canon_addr(tmp, canon, sizeof(canon))) {
            report(ld, "not a host/path (an address? ports are not supported): '%s'",
                   excerpt(ex, sizeof(ex), s, n));
            return;
        }
        rules_add_url(ld->l, canon, strlen(canon), NAME_ADDR, path, pathlen);
        return;
    }
    if (other_addr(host, hostlen, canon, sizeof(canon))) {
        rules_add_url(ld->l, canon, strlen(canon), NAME_ADDR, path, pathlen);
        return;
    }
    len = clean_name(host, hostlen, 0, name, &why);
    if (!len) {
        report(ld, "%s: '%s'", why, excerpt(ex, sizeof(ex), s, n));
        return;
    }
    rules_add_url(ld->l, name, len, 0, path, pathlen);
}

static void load_regex(struct loader *ld, char *s, size_t n)
{
    char why[256], ex[400];

    if (rules_add_regex(ld->l, s, n, why, sizeof(why)) < 0)
        report(ld, "bad regular expression '%s': %s", excerpt(ex, sizeof(ex), s, n), why);
}

/* RULES_AUTO on a file: the first rule says which format. */
static enum rules_format guess(const char *s, size_t n)
{
    char tok[64], canon[INET6_ADDRSTRLEN];
    size_t t = strcspn(s, " \t");

    if (s[0] == '!' || s[0] == '[' ||
        (n >= 2 && (strncmp(s, "||", 2) == 0 || strncmp(s, "@@", 2) == 0)))
        return RULES_ADBLOCK;
    if (t < n && t < sizeof(tok)) {
        memcpy(tok, s, t);
        tok[t] = '\0';
        if (canon_addr(tok, canon, sizeof(canon)))
            return RULES_HOSTS;
    }
    return RULES_DOMAINS;
}

static void load_line(struct loader *ld, char *s, size_t n)
{
    char ex[400];

    if (ld->line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        s += 3, n -= 3; /* a UTF-8 byte-order mark */
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (n && (s[0] == ' ' || s[0] == '\t'))
        s++, n--;
    if (n == 0)
        return;
    if (memchr(s, '\0', n)) {
        report(ld, "NUL byte in the line: '%s'", excerpt(ex, sizeof(ex), s, n));
        return;
    }
    s[n] = '\0'; /* the '\n' (or spare buffer room) we stand on */
    if (s[0] == '#') {
        /* a comment, except adblock's element hiding: "##", "#@#", "#?#" */
        if (ld->fmt == RULES_ADBLOCK && n > 1 && strchr("#@?$", s[1]))
            ld->ab_skipped++;
        return;
    }
    if (ld->fmt == RULES_AUTO)
        ld->fmt = guess(s, n);
    switch (ld->fmt) {
    case RULES_HOSTS: load_hosts(ld, s, n); break;
    case RULES_ADBLOCK: load_adblock(ld, s, n); break;
    case RULES_URLS: load_url(ld, s, n); break;
    case RULES_REGEX: load_regex(ld, s, n); break;
    default: load_domains(ld, s, n); break;
    }
}

/* Reads one file into ld->l.  Returns 0, or -1 with "path: reason". */
static int load_file(struct loader *ld, const char *path, enum rules_format fmt, char *err,
                     size_t errlen)
{
    struct reader r;
    char *s;
    size_t n;
    int rc;

    if (reader_open(&r, path, err, errlen) < 0)
        return -1;
    ld->file = path;
    ld->fmt = fmt;
    ld->line = 0;
    ld->nbad = 0;
    ld->ab_skipped = 0;
    while ((rc = reader_line(&r, &s, &n, err, errlen)) > 0) {
        ld->line++;
        if (rc == 2)
            report(ld, "line longer than %d bytes, skipped", LINE_MAX_BYTES);
        else
            load_line(ld, s, n);
    }
    reader_close(&r);
    if (rc < 0)
        return -1;
    report_totals(ld);
    return 0;
}

/* ---- lists ---- */

/* The files of a category directory, in the UT1 / squidGuard layout. */
static const struct {
    const char *file;
    enum rules_format fmt;
} category_files[] = {
    {"domains", RULES_DOMAINS},
    {"urls", RULES_URLS},
    {"expressions", RULES_REGEX},
};

/* Reads whichever of the category files dir holds.  Returns 0, or -1. */
static int load_category(struct loader *ld, const char *dir, char *err, size_t errlen)
{
    size_t cap = strlen(dir) + 32;
    char *p = xmalloc(cap);
    int found = 0, rc = 0;

    for (size_t i = 0; i < GH_ARRAY_LEN(category_files) && rc == 0; i++) {
        struct stat st;
        int ok;
        gh_fmt(p, cap, "%s/%s", dir, category_files[i].file);
        ok = stat(p, &st) == 0;
        if (!ok && errno == ENOENT) {
            gh_fmt(p, cap, "%s/%s.gz", dir, category_files[i].file);
            ok = stat(p, &st) == 0;
        }
        if (!ok && errno == ENOENT)
            continue;
        found = 1;
        rc = load_file(ld, p, category_files[i].fmt, err, errlen);
    }
    if (rc == 0 && !found) {
        gh_fmt(err, errlen, "%s: no domains, urls or expressions file: not a category directory",
               dir);
        rc = -1;
    }
    free(p);
    return rc;
}

struct rulelist *rulelist_load(const char *name, const char *path, enum rules_format fmt,
                               void (*warn)(void *ctx, const char *msg), void *ctx, char *err,
                               size_t errlen)
{
    struct rulelist *l = rules_new(name);
    struct loader ld = {.l = l, .warn = warn, .ctx = ctx};
    struct stat st;
    int rc;

    if (stat(path, &st) < 0) {
        gh_fmt(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    } else if (S_ISDIR(st.st_mode) && fmt != RULES_AUTO) {
        gh_fmt(err, errlen, "%s: a directory (a category directory needs the format auto)", path);
        rc = -1;
    } else if (S_ISDIR(st.st_mode)) {
        rc = load_category(&ld, path, err, errlen);
    } else if ((unsigned)fmt > RULES_REGEX) {
        gh_fmt(err, errlen, "%s: unknown list format %d", path, (int)fmt);
        rc = -1;
    } else {
        rc = load_file(&ld, path, fmt, err, errlen);
    }
    if (rc < 0) {
        rulelist_free(l);
        return NULL;
    }
    rules_finish(l);
    return l;
}
