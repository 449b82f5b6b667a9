/* rules.c — the index of a filtering list and its matching (see rules.h).
 *
 * Names and addresses are keys of one open-addressing hash set.  The key
 * bytes live in an arena (no allocation per entry) and their hash is taken
 * right to left, so one pass over a request's host yields the hash of every
 * parent suffix and a lookup costs O(labels).  URL rules hang off their
 * host's record; address prefixes (acl.c) and patterns (PCRE2, JIT) are
 * tried in turn.  Reading the file formats is rules_load.c's job. */
#include "rules_int.h"
#include "acl.h"
#include "hostname.h"
#include "log.h"
#include "util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <stdlib.h>

/* Bounds a pattern's backtracking so one hostile URL cannot pin a worker;
 * a match that hits the limit counts as no match. */
#define REGEX_MATCH_LIMIT 1000000

/* A distinct name or address.  The key is NUL-terminated in the arena, so it
 * doubles as the rule text handed to callers. */
struct name_rec {
    uint32_t key;  /* arena offset */
    uint32_t urls; /* first URL rule for this host, index + 1; 0: none */
    uint8_t len;   /* key bytes */
    uint8_t flags; /* NAME_* */
};

/* A URL rule: arena text "host/path" (or "host"), the path being its prefix. */
struct url_rec {
    uint32_t text;
    uint32_t next; /* next rule of the same host, index + 1; 0: none */
    uint32_t pathlen;
    uint16_t hostlen;
};

struct slot {
    uint32_t hash; /* the key's hash, compared before the key */
    uint32_t idx;  /* name index + 1; 0: empty */
};

/* An address prefix: a one-prefix acl, so a hit can name its rule. */
struct net_rec {
    struct acl *acl;
    uint32_t text;
};

struct regex_rec {
    pcre2_code *code;
    uint32_t text;
};

/* Owned by whoever called rulelist_load; read-only once loaded. */
struct rulelist {
    char *name;
    char *arena;
    size_t alen, acap;
    struct name_rec *names;
    size_t nnames, capnames;
    struct slot *slots;
    size_t nslots; /* a power of two, at most three quarters full */
    unsigned bits; /* log2(nslots) */
    struct url_rec *urls;
    size_t nurls, capurls;
    struct net_rec *nets;
    size_t nnets, capnets;
    struct regex_rec *re;
    size_t nre, capre;
    pcre2_match_context *mctx;
    size_t nrules;
};

/* ---- hashing: FNV-1a over the key read right to left, then mixed ---- */

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static inline unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static inline uint64_t step(uint64_t h, unsigned char c)
{
    return (h ^ fold(c)) * FNV_PRIME;
}

static inline uint32_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static uint32_t hash_key(const char *s, size_t n)
{
    uint64_t h = FNV_OFFSET;

    while (n-- > 0)
        h = step(h, (unsigned char)s[n]);
    return mix(h);
}

/* The record for key (compared without ASCII case), as index + 1, or 0. */
static uint32_t find(const struct rulelist *l, uint32_t hash, const char *key, size_t len)
{
    size_t mask = l->nslots - 1, i;

    if (!l->nslots)
        return 0;
    for (i = hash >> (32 - l->bits);; i = (i + 1) & mask) {
        const struct slot *s = &l->slots[i];
        const struct name_rec *r;
        const char *k;
        size_t j;

        if (!s->idx)
            return 0;
        if (s->hash != hash)
            continue;
        r = &l->names[s->idx - 1];
        if (r->len != len)
            continue;
        k = l->arena + r->key;
        for (j = 0; j < len && k[j] == (char)fold((unsigned char)key[j]); j++)
            ;
        if (j == len)
            return s->idx;
    }
}

static void place(struct slot *slots, unsigned bits, uint32_t hash, uint32_t idx)
{
    size_t mask = ((size_t)1 << bits) - 1, i;

    for (i = hash >> (32 - bits); slots[i].idx; i = (i + 1) & mask)
        ;
    slots[i].hash = hash;
    slots[i].idx = idx;
}

static void grow_slots(struct rulelist *l)
{
    unsigned bits = l->bits ? l->bits + 1 : 10;
    struct slot *slots;

    if (bits > 31)
        log_fatal("list '%s': too many names", l->name);
    slots = xcalloc((size_t)1 << bits, sizeof(*slots));
    for (size_t i = 0; i < l->nslots; i++)
        if (l->slots[i].idx)
            place(slots, bits, l->slots[i].hash, l->slots[i].idx);
    free(l->slots);
    l->slots = slots;
    l->bits = bits;
    l->nslots = (size_t)1 << bits;
}

/* ---- building ---- */

/* Appends a, then b, then a NUL to the arena; returns the offset of a. */
static uint32_t arena_put(struct rulelist *l, const char *a, size_t alen, const char *b,
                          size_t blen)
{
    size_t need = alen + blen + 1, off = l->alen;

    if (l->alen + need > UINT32_MAX)
        log_fatal("list '%s': more than 4 GiB of rule text", l->name);
    if (l->alen + need > l->acap) {
        l->acap = GH_MAX(l->acap * 2, l->alen + need + 65536);
        if (l->acap > UINT32_MAX)
            l->acap = UINT32_MAX;
        l->arena = xrealloc(l->arena, l->acap);
    }
    memcpy(l->arena + off, a, alen);
    memcpy(l->arena + off + alen, b, blen);
    l->arena[off + alen + blen] = '\0';
    l->alen += need;
    return (uint32_t)off;
}

/* Grows an array of *cap elements of size sz to hold one more. */
static void *reserve(void *p, size_t n, size_t *cap, size_t sz)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 64;
    return xrealloc(p, *cap * sz);
}

struct rulelist *rules_new(const char *name)
{
    struct rulelist *l = xcalloc(1, sizeof(*l));

    l->name = xstrdup(name);
    return l;
}

uint32_t rules_add_name(struct rulelist *l, const char *key, size_t len, unsigned flags)
{
    uint32_t hash = hash_key(key, len), idx = find(l, hash, key, len);
    struct name_rec *r;
    unsigned fresh;

    if (!idx) {
        if ((l->nnames + 1) * 4 > l->nslots * 3)
            grow_slots(l);
        l->names = reserve(l->names, l->nnames, &l->capnames, sizeof(*l->names));
        r = &l->names[l->nnames++];
        r->len = (uint8_t)len;
        r->urls = 0;
        r->flags = 0;
        if (flags & NAME_ALLOW) {
            r->key = arena_put(l, "@@", 2, key, len) + 2;
            r->flags = NAME_AT;
        } else {
            r->key = arena_put(l, key, len, "", 0);
        }
        idx = (uint32_t)l->nnames;
        place(l->slots, l->bits, hash, idx);
    }
    r = &l->names[idx - 1];
    fresh = flags & (NAME_BLOCK | NAME_ALLOW) & ~(unsigned)r->flags;
    l->nrules += (fresh & NAME_BLOCK ? 1 : 0) + (fresh & NAME_ALLOW ? 1 : 0);
    if ((flags & NAME_ALLOW) && !(r->flags & NAME_AT)) {
        /* blocked first, excepted later: keep an "@@name" copy for the text */
        r->key = arena_put(l, "@@", 2, key, len) + 2;
        r->flags |= NAME_AT;
    }
    r->flags |= (uint8_t)flags;
    return idx - 1;
}

void rules_add_url(struct rulelist *l, const char *host, size_t hostlen, unsigned addr_flag,
                   const char *path, size_t pathlen)
{
    uint32_t idx = rules_add_name(l, host, hostlen, addr_flag & NAME_ADDR);
    struct url_rec *u;

    if (pathlen == 1 && path[0] == '/')
        pathlen = 0; /* "host/" is the whole host */
    l->urls = reserve(l->urls, l->nurls, &l->capurls, sizeof(*l->urls));
    u = &l->urls[l->nurls++];
    u->text = arena_put(l, host, hostlen, path, pathlen);
    u->hostlen = (uint16_t)hostlen;
    u->pathlen = (uint32_t)pathlen;
    u->next = l->names[idx].urls;
    l->names[idx].urls = (uint32_t)l->nurls;
    l->nrules++;
}

int rules_add_net(struct rulelist *l, const char *cidr, char *err, size_t errlen)
{
    struct acl *a = acl_new();

    if (acl_add(a, cidr, err, errlen) < 0) {
        acl_free(a);
        return -1;
    }
    l->nets = reserve(l->nets, l->nnets, &l->capnets, sizeof(*l->nets));
    l->nets[l->nnets].acl = a;
    l->nets[l->nnets].text = arena_put(l, cidr, strlen(cidr), "", 0);
    l->nnets++;
    l->nrules++;
    return 0;
}

int rules_add_regex(struct rulelist *l, const char *pattern, size_t len, char *err, size_t errlen)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_CASELESS, &code, &off, NULL);

    if (!re) {
        PCRE2_UCHAR why[160];
        pcre2_get_error_message(code, why, sizeof(why));
        gh_fmt(err, errlen, "%s at offset %zu", (const char *)why, (size_t)off);
        return -1;
    }
    /* JIT is an optimisation: without it (no JIT support on this CPU or
     * build) pcre2_match runs the interpreter on the same code. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    if (!l->mctx) {
        l->mctx = pcre2_match_context_create(NULL);
        if (!l->mctx)
            log_fatal("out of memory");
        pcre2_set_match_limit(l->mctx, REGEX_MATCH_LIMIT);
    }
    l->re = reserve(l->re, l->nre, &l->capre, sizeof(*l->re));
    l->re[l->nre].code = re;
    l->re[l->nre].text = arena_put(l, pattern, len, "", 0);
    l->nre++;
    l->nrules++;
    return 0;
}

void rules_finish(struct rulelist *l)
{
    /* give back what doubling left over: the list lives until the reload */
    if (l->alen)
        l->arena = xrealloc(l->arena, l->acap = l->alen);
    if (l->nnames)
        l->names = xrealloc(l->names, (l->capnames = l->nnames) * sizeof(*l->names));
    if (l->nurls)
        l->urls = xrealloc(l->urls, (l->capurls = l->nurls) * sizeof(*l->urls));
}

void rulelist_free(struct rulelist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nre; i++)
        pcre2_code_free(l->re[i].code);
    for (size_t i = 0; i < l->nnets; i++)
        acl_free(l->nets[i].acl);
    pcre2_match_context_free(l->mctx);
    free(l->re);
    free(l->nets);
    free(l->urls);
    free(l->slots);
    free(l->names);
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
    return l->nrules;
}

/* ---- matching ---- */

struct hit {
    enum rules_verdict v;
    const char *text;
};

/* 1 when path starts with prefix, ASCII case ignored. */
static int has_prefix(const char *path, size_t pathlen, const char *prefix, size_t n)
{
    if (pathlen < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (fold((unsigned char)path[i]) != fold((unsigned char)prefix[i]))
            return 0;
    return 1;
}

/* Applies one record to the request.  Returns 1 on an exception (which
 * ends the search); a block is kept in hit, later (more specific) records
 * overwriting it. */
static int visit(const struct rulelist *l, const struct name_rec *r, const char *path,
                 size_t pathlen, struct hit *hit)
{
    if (r->flags & NAME_ALLOW) {
        hit->v = RULES_ALLOW;
        hit->text = l->arena + r->key - 2;
        return 1;
    }
    if (r->flags & NAME_BLOCK) {
        hit->v = RULES_BLOCK;
        hit->text = l->arena + r->key;
        return 0;
    }
    for (uint32_t u = r->urls; u; u = l->urls[u - 1].next) {
        const struct url_rec *rec = &l->urls[u - 1];
        const char *text = l->arena + rec->text;
        if (has_prefix(path, pathlen, text + rec->hostlen, rec->pathlen)) {
            hit->v = RULES_BLOCK;
            hit->text = text;
            return 0;
        }
    }
    return 0;
}

/* The host and each parent, right to left: "com", "c.com", "b.c.com"... */
static void match_name(const struct rulelist *l, const char *host, size_t hostlen, const char *path,
                       size_t pathlen, struct hit *hit)
{
    uint64_t h = FNV_OFFSET;

    for (size_t i = hostlen; i-- > 0;) {
        uint32_t idx;
        h = step(h, (unsigned char)host[i]);
        if (i > 0 && host[i - 1] != '.')
            continue;
        if (hostlen - i > RULES_NAME_MAX)
            return; /* no key is that long, nor any longer suffix */
        idx = find(l, mix(h), host + i, hostlen - i);
        if (idx && !(l->names[idx - 1].flags & NAME_ADDR) &&
            visit(l, &l->names[idx - 1], path, pathlen, hit))
            return;
    }
}

/* Reads an IP literal: IPv6, or IPv4 in any form the resolver would take
 * ("10.1", "0x0a000001").  Fills ss and the canonical text (IPv4-mapped
 * IPv6 reads as IPv4).  Returns 1, or 0 for a name. */
static int parse_ip(const char *host, size_t len, struct sockaddr_storage *ss, char *canon,
                    size_t canonlen)
{
    char tmp[64];
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

    if (len >= sizeof(tmp) || memchr(host, '\0', len))
        return 0;
    memcpy(tmp, host, len);
    tmp[len] = '\0';
    memset(ss, 0, sizeof(*ss));
    if (memchr(tmp, ':', len)) {
        if (inet_pton(AF_INET6, tmp, &s6->sin6_addr) != 1)
            return 0;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            struct in_addr a;
            memcpy(&a, s6->sin6_addr.s6_addr + 12, 4);
            s4->sin_family = AF_INET;
            s4->sin_addr = a;
        } else {
            s6->sin6_family = AF_INET6;
        }
    } else {
        /* inet_aton stops at white space; only hand it what could be a number */
        if (strspn(tmp, "0123456789abcdefABCDEFxX.") != len || inet_aton(tmp, &s4->sin_addr) == 0)
            return 0;
        s4->sin_family = AF_INET;
    }
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &s4->sin_addr, canon, (socklen_t)canonlen);
    else
        inet_ntop(AF_INET6, &s6->sin6_addr, canon, (socklen_t)canonlen);
    return 1;
}

static void match_addr(const struct rulelist *l, const struct sockaddr_storage *ss,
                       const char *canon, const char *path, size_t pathlen, struct hit *hit)
{
    size_t n = strlen(canon);
    uint32_t idx = find(l, hash_key(canon, n), canon, n);

    if (idx && (l->names[idx - 1].flags & NAME_ADDR) &&
        visit(l, &l->names[idx - 1], path, pathlen, hit))
        return;
    for (size_t i = 0; i < l->nnets && hit->v == RULES_NONE; i++)
        if (acl_match(l->nets[i].acl, ss)) {
            hit->v = RULES_BLOCK;
            hit->text = l->arena + l->nets[i].text;
        }
}

/* Tries the patterns against "host/path" (the path brings its '/'). */
static void match_regex(const struct rulelist *l, const char *host, size_t hostlen,
                        const char *path, size_t pathlen, struct hit *hit)
{
    char stack[2048], *subject = stack;
    size_t n = hostlen + pathlen;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);

    if (!md)
        log_fatal("out of memory");
    if (n > sizeof(stack))
        subject = xmalloc(n);
    memcpy(subject, host, hostlen);
    memcpy(subject + hostlen, path, pathlen);
    for (size_t i = 0; i < l->nre; i++)
        if (pcre2_match(l->re[i].code, (PCRE2_SPTR)subject, n, 0, 0, md, l->mctx) >= 0) {
            hit->v = RULES_BLOCK;
            hit->text = l->arena + l->re[i].text;
            break;
        }
    pcre2_match_data_free(md);
    if (subject != stack)
        free(subject);
}

enum rules_verdict rulelist_match(const struct rulelist *l, const char *host, size_t hostlen,
                                  const char *path, size_t pathlen, const char **rule)
{
    struct hit hit = {RULES_NONE, NULL};
    struct sockaddr_storage ss;
    char canon[INET6_ADDRSTRLEN];

    char norm[HOSTNAME_MAX];
    int n = hostname_normalize(host, hostlen, norm, sizeof(norm));

    if (!path)
        path = "", pathlen = 0;
    if (n >= 0) {
        host = norm, hostlen = (size_t)n;
    } else {
        /* no resolver takes this spelling ("a.example.."): the list still
         * says what it says about the name without its dots */
        while (hostlen && host[hostlen - 1] == '.')
            hostlen--;
        if (hostlen >= 2 && host[0] == '[' && host[hostlen - 1] == ']')
            host++, hostlen -= 2;
    }
    if (hostlen == 0)
        return RULES_NONE;
    if (parse_ip(host, hostlen, &ss, canon, sizeof(canon)))
        match_addr(l, &ss, canon, path, pathlen, &hit);
    else
        match_name(l, host, hostlen, path, pathlen, &hit);
    if (hit.v == RULES_NONE && l->nre)
        match_regex(l, host, hostlen, path, pathlen, &hit);
    if (rule && hit.v != RULES_NONE)
        *rule = hit.text;
    return hit.v;
}
