/* directory.c — an `auth.ldap` directory's settings and the process's cache
 * of lookups (see directory.h).  The lookups themselves, on their threads,
 * are directory_ldap.c's. */
#include "directory_int.h"
#include "log.h"
#include "util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The `ldap` group's keys, and their defaults. */
static const char *const ldap_keys[] = {"uri",          "base",          "bind_dn",
                                        "user_filter",  "search_dn",     "search_password",
                                        "group_attr",   "group_filter",  "group_base",
                                        "starttls",     "ca",            "timeout",
                                        "cache_ttl",    "bad_ttl",       NULL};
#define DEF_USER_FILTER "(uid=%s)"
#define DEF_GROUP_ATTR "memberOf"
#define DEF_GROUP_FILTER                                                                       \
    "(|(&(objectClass=posixGroup)(memberUid=%u))(&(objectClass=groupOfNames)(member=%d)))"
#define DEF_TIMEOUT_MS 5000
#define DEF_CACHE_TTL_MS 300000
#define DEF_BAD_TTL_MS 30000
#define DOWN_TTL_MS 2000 /* a failure is kept for the exchanges waiting on it */
#define PROBE 16

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static uint32_t fnv(uint32_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return (h ^ 0xff) * 16777619u; /* a separator, so "ab","c" is not "a","bc" */
}

/* Each %X in a template must be one the template may use. */
static int check_template(const config_setting_t *g, const char *key, const char *t,
                          const char *allowed, int need, char *err, size_t errlen)
{
    int seen = 0;

    for (const char *c = t; c && *c; c++) {
        if (*c != '%')
            continue;
        if (!c[1] || !strchr(allowed, c[1])) {
            config_error(err, errlen, config_setting_get_member(g, key),
                         "'%s': %%%c is not a placeholder here (%s)", key, c[1] ? c[1] : ' ',
                         allowed);
            return -1;
        }
        seen = 1;
        c++;
    }
    if (t && need && !seen) {
        config_error(err, errlen, config_setting_get_member(g, key),
                     "'%s' must hold %%s, where the user name goes", key);
        return -1;
    }
    return 0;
}

/* Whether every URI of a space-separated list is ldaps:// (starttls off)
 * or ldap:// (starttls on). */
static int uris_secure(const char *list, int starttls)
{
    const char *want = starttls ? "ldap://" : "ldaps://";
    int n = 0;

    for (const char *p = list; *p;) {
        size_t len = strcspn(p, " \t");
        if (len) {
            if (strncasecmp(p, want, strlen(want)) != 0)
                return 0;
            n++;
        }
        p += len;
        p += strspn(p, " \t");
    }
    return n > 0;
}

static int read_strings(const config_setting_t *g, struct directory *d, char *err, size_t errlen)
{
    const char *uri = NULL, *base = NULL, *bind_dn = NULL, *uf = DEF_USER_FILTER,
               *sdn = NULL, *spw = NULL, *gattr = DEF_GROUP_ATTR, *gf = DEF_GROUP_FILTER,
               *gbase = NULL, *ca = NULL;

    if (config_get_string(g, "uri", &uri, err, errlen) < 0 ||
        config_get_string(g, "base", &base, err, errlen) < 0 ||
        config_get_string(g, "bind_dn", &bind_dn, err, errlen) < 0 ||
        config_get_string(g, "user_filter", &uf, err, errlen) < 0 ||
        config_get_string(g, "search_dn", &sdn, err, errlen) < 0 ||
        config_get_string(g, "search_password", &spw, err, errlen) < 0 ||
        config_get_string(g, "group_attr", &gattr, err, errlen) < 0 ||
        config_get_string(g, "group_filter", &gf, err, errlen) < 0 ||
        config_get_string(g, "group_base", &gbase, err, errlen) < 0 ||
        config_get_string(g, "ca", &ca, err, errlen) < 0)
        return -1;
    if (!uri || !base) {
        config_error(err, errlen, g, "'ldap' needs 'uri' (ldaps://host or ldap://host with "
                                     "starttls) and 'base'");
        return -1;
    }
    if (check_template(g, "bind_dn", bind_dn, "s", 1, err, errlen) < 0 ||
        check_template(g, "user_filter", uf, "s", 1, err, errlen) < 0 ||
        check_template(g, "group_filter", gf, "ud", 0, err, errlen) < 0)
        return -1;
    if (!sdn != !spw) {
        config_error(err, errlen, g, "'search_dn' and 'search_password' go together");
        return -1;
    }
    if (spw && !*spw) { /* an empty password is an unauthenticated bind (RFC 4513) */
        config_error(err, errlen, config_setting_get_member(g, "search_password"),
                     "'search_password' must not be empty");
        return -1;
    }
    d->uri = xstrdup(uri);
    d->base = xstrdup(base);
    d->bind_dn = dup_or_null(bind_dn);
    d->user_filter = xstrdup(uf);
    d->search_dn = dup_or_null(sdn);
    d->search_password = dup_or_null(spw);
    d->group_attr = xstrdup(gattr);
    d->group_filter = xstrdup(gf);
    d->group_base = xstrdup(gbase ? gbase : base);
    d->ca = dup_or_null(ca);
    return 0;
}

/* A hash of every setting: two policies share cached answers only when
 * they ask the same directory the same way and keep answers as long. */
static uint32_t directory_id(const struct directory *d)
{
    const char *const s[] = {d->uri,        d->base,      d->bind_dn,    d->user_filter,
                             d->search_dn,  d->group_attr, d->group_filter, d->group_base,
                             d->ca,         d->search_password};
    char n[64];
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        h = fnv(h, s[i] ? s[i] : "\x01");
    gh_fmt(n, sizeof(n), "%d %u %u %u", d->starttls, d->timeout_ms, d->cache_ttl_ms,
           d->bad_ttl_ms);
    return fnv(h, n);
}

struct directory *directory_load(const config_setting_t *g, const struct gh_config *cfg,
                                 char *err, size_t errlen)
{
    struct directory *d;
    char *path;

    if (config_check_group(g, err, errlen, "'ldap' must be a group { uri = \"ldaps://...\"; "
                                           "base = \"dc=example,dc=org\"; }") < 0 ||
        config_check_keys(g, ldap_keys, NULL, err, errlen) < 0)
        return NULL;
    d = xcalloc(1, sizeof(*d));
    d->refs = 1;
    d->timeout_ms = DEF_TIMEOUT_MS;
    d->cache_ttl_ms = DEF_CACHE_TTL_MS;
    d->bad_ttl_ms = DEF_BAD_TTL_MS;
    if (read_strings(g, d, err, errlen) < 0 ||
        config_get_bool(g, "starttls", &d->starttls, err, errlen) < 0 ||
        config_get_seconds(g, "timeout", 0.1, 60, &d->timeout_ms, err, errlen) < 0 ||
        config_get_seconds(g, "cache_ttl", 1, 86400, &d->cache_ttl_ms, err, errlen) < 0 ||
        config_get_seconds(g, "bad_ttl", 1, 86400, &d->bad_ttl_ms, err, errlen) < 0)
        goto fail;
    if (!uris_secure(d->uri, d->starttls)) {
        config_error(err, errlen, config_setting_get_member(g, "uri"),
                     "'uri' must be ldaps://, or ldap:// with starttls = true (each of them): "
                     "a simple bind sends the password");
        goto fail;
    }
    if (d->ca) {
        path = config_path(cfg, d->ca);
        free(d->ca);
        d->ca = path;
    }
    d->id = directory_id(d);
    return d;
fail:
    directory_free(d);
    return NULL;
}

void directory_ref(struct directory *d)
{
    __atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
}

void directory_free(struct directory *d)
{
    if (!d || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(d->uri);
    free(d->base);
    free(d->bind_dn);
    free(d->user_filter);
    free(d->search_dn);
    if (d->search_password)
        OPENSSL_cleanse(d->search_password, strlen(d->search_password));
    free(d->search_password);
    free(d->group_attr);
    free(d->group_filter);
    free(d->group_base);
    free(d->ca);
    free(d);
}

/* How long an answer is kept. */
static uint64_t directory_ttl_of(const struct directory *d, enum dir_result r)
{
    return r == DIR_OK ? d->cache_ttl_ms : r == DIR_BAD ? d->bad_ttl_ms : DOWN_TTL_MS;
}

uint32_t directory_wait_ms(const struct directory *d)
{
    /* a lookup is up to six operations, each bounded by the timeout */
    return 6 * d->timeout_ms + 1000;
}

/* ---- the cache ---- */

enum { E_FREE, E_PENDING, E_DONE };

struct entry {
    unsigned char key[32]; /* directory_key(): never the password itself */
    uint32_t dir;          /* the directory's id */
    uint8_t state;
    enum dir_result result;
    uint64_t until;        /* E_DONE: good until then (ms) */
    uint64_t started;      /* E_PENDING: asked then (ms) */
    char user[64];
    char groups[DIR_GROUPS_MAX];
    char why[200];
};

static struct entry table[DIR_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char salt[16]; /* so the digests are this process's alone */
static pthread_once_t salt_once = PTHREAD_ONCE_INIT;

static void make_salt(void)
{
    uint64_t t = gh_now_ms();
    memcpy(salt, &t, sizeof(t));
    memcpy(salt + 8, &salt, sizeof(void *)); /* the address: ASLR */
}

void directory_key(const struct directory *d, const char *user, const char *pw,
                   unsigned char key[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char kind = pw ? 'P' : 'N'; /* by password, by name */
    unsigned int len;

    pthread_once(&salt_once, make_salt);
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, salt, sizeof(salt));
    EVP_DigestUpdate(ctx, &d->id, sizeof(d->id));
    EVP_DigestUpdate(ctx, &kind, 1);
    EVP_DigestUpdate(ctx, user, strlen(user) + 1);
    if (pw)
        EVP_DigestUpdate(ctx, pw, strlen(pw) + 1);
    EVP_DigestFinal_ex(ctx, key, &len);
    EVP_MD_CTX_free(ctx);
}

/* A user's entries all probe from one slot: its groups are found by name. */
static unsigned slot_of(uint32_t dir, const char *user)
{
    return fnv(dir * 16777619u, user) % DIR_SLOTS;
}

/* The entry for key (lock held), or NULL. */
static struct entry *find(uint32_t dir, const char *user, const unsigned char key[32])
{
    unsigned s = slot_of(dir, user);

    for (unsigned i = 0; i < PROBE; i++) {
        struct entry *e = &table[(s + i) % DIR_SLOTS];
        if (e->state != E_FREE && e->dir == dir && memcmp(e->key, key, 32) == 0)
            return e;
    }
    return NULL;
}

/* A slot for a new entry (lock held): a free or expired one, else the
 * answered one that expires soonest; NULL when all are being looked up. */
static struct entry *room(uint32_t dir, const char *user, uint64_t now)
{
    unsigned s = slot_of(dir, user);
    struct entry *best = NULL;

    for (unsigned i = 0; i < PROBE; i++) {
        struct entry *e = &table[(s + i) % DIR_SLOTS];
        if (e->state == E_FREE || (e->state == E_DONE && e->until <= now))
            return e;
        if (e->state == E_DONE && (!best || e->until < best->until))
            best = e;
    }
    return best;
}

/* On a pool thread: the answer goes into its entry, if still there. */
static void done(const struct directory *d, const char *user, const unsigned char key[32],
                 const struct dir_answer *a)
{
    uint64_t now = gh_now_ms();
    struct entry *e;

    pthread_mutex_lock(&lock);
    e = find(d->id, user, key);
    if (e && e->state == E_PENDING) {
        e->state = E_DONE;
        e->result = a->result;
        memcpy(e->groups, a->groups, sizeof(e->groups));
        gh_fmt(e->why, sizeof(e->why), "%s", a->why);
        e->until = now + directory_ttl_of(d, a->result);
    }
    pthread_mutex_unlock(&lock);
}

/* The cached answer for (user, password or NULL: by name), or a lookup
 * started for it (DIR_PENDING). */
static enum dir_result ask(struct directory *d, const char *user, const char *password,
                           char *why, size_t cap)
{
    unsigned char key[32];
    struct entry *e;
    enum dir_result r;
    uint64_t now = gh_now_ms();

    directory_key(d, user, password, key);
    pthread_mutex_lock(&lock);
    e = find(d->id, user, key);
    if (e && e->state == E_PENDING) {
        /* a lookup stuck past every timeout (the pool busy): its waiters
         * are refused, the answer when it comes is kept for the next */
        r = now - e->started > directory_wait_ms(d) ? DIR_DOWN : DIR_PENDING;
        pthread_mutex_unlock(&lock);
        if (r == DIR_DOWN)
            gh_fmt(why, cap, "%s: no answer in %u ms", d->uri, directory_wait_ms(d));
        return r;
    }
    if (e && e->until > now) {
        r = e->result;
        gh_fmt(why, cap, "%s", e->why);
        pthread_mutex_unlock(&lock);
        return r;
    }
    if (!e && !(e = room(d->id, user, now))) {
        pthread_mutex_unlock(&lock);
        gh_fmt(why, cap, "too many lookups under way");
        return DIR_DOWN;
    }
    memset(e, 0, sizeof(*e));
    memcpy(e->key, key, 32);
    e->dir = d->id;
    e->state = E_PENDING;
    e->started = now;
    gh_fmt(e->user, sizeof(e->user), "%s", user);
    pthread_mutex_unlock(&lock);
    directory_submit(d, user, password, key, done);
    return DIR_PENDING;
}

enum dir_result directory_check(struct directory *d, const char *user, const char *password,
                                char *why, size_t cap)
{
    if (cap)
        why[0] = '\0';
    if (!*user || !*password || strlen(user) >= sizeof(table[0].user) ||
        strlen(password) > 255) {
        gh_fmt(why, cap, "%s", *password ? "user name or password too long" : "empty password");
        return DIR_BAD; /* an empty password would be an unauthenticated bind (RFC 4513) */
    }
    return ask(d, user, password, why, cap);
}

enum dir_result directory_groups_by_name(struct directory *d, const char *user, char *why,
                                         size_t cap)
{
    if (cap)
        why[0] = '\0';
    if (!*user || strlen(user) >= sizeof(table[0].user)) {
        gh_fmt(why, cap, "%s", *user ? "user name too long" : "no user name");
        return DIR_BAD;
    }
    return ask(d, user, NULL, why, cap);
}

int directory_in_group(const struct directory *d, const char *user, const char *group)
{
    unsigned s = slot_of(d->id, user);
    uint64_t now = gh_now_ms();
    int in = 0;

    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < PROBE && !in; i++) {
        const struct entry *e = &table[(s + i) % DIR_SLOTS];
        if (e->state != E_DONE || e->result != DIR_OK || e->dir != d->id || e->until <= now ||
            strcmp(e->user, user) != 0)
            continue;
        for (const char *g = e->groups; *g && !in; g += strlen(g) + 1)
            in = strcasecmp(g, group) == 0;
    }
    pthread_mutex_unlock(&lock);
    return in;
}

void directory_forget_all(void)
{
    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < DIR_SLOTS; i++)
        if (table[i].state == E_DONE)
            memset(&table[i], 0, sizeof(table[i]));
    pthread_mutex_unlock(&lock);
}

/* ---- escapes ---- */

int directory_filter_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (o + 4 >= cap)
            return -1;
        if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c == 0x7f) {
            out[o++] = '\\';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    if (o >= cap)
        return -1;
    out[o] = '\0';
    return 0;
}

int directory_dn_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, n = strlen(s);

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 4 >= cap)
            return -1;
        if (c < 0x20 || c == 0x7f) {
            out[o++] = '\\';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
            continue;
        }
        if (strchr("\"+,;<>\\=", c) || (i == 0 && (c == ' ' || c == '#')) ||
            (i == n - 1 && c == ' '))
            out[o++] = '\\';
        out[o++] = (char)c;
    }
    if (o >= cap)
        return -1;
    out[o] = '\0';
    return 0;
}
