/* auth.c — htpasswd files and Basic proxy credentials (see auth.h).
 * Owns the loaded user table (immutable, shared by workers); the cache of
 * verified credentials is per worker thread.  Failures are counted by
 * auth_delay.c. */
#include "auth.h"
#include "directory.h"
#include "log.h"
#include "util.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

_Static_assert((int)AUTH_BAD == (int)DIR_BAD && (int)AUTH_OK == (int)DIR_OK &&
                   (int)AUTH_PENDING == (int)DIR_PENDING && (int)AUTH_DOWN == (int)DIR_DOWN,
               "auth_check passes the directory's answers on");

struct user {
    char *name;
    char *hash;
};

struct auth_users {
    struct user *u;
    unsigned n;
    struct directory *dir; /* for the users the file does not name, NULL none */
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct user *)a)->name, ((const struct user *)b)->name);
}

/* Whether libcrypt knows how to verify this hash. */
static int verifiable(const char *hash)
{
#ifdef CRYPT_CHECKSALT_OK
    return crypt_checksalt(hash) == CRYPT_SALT_OK;
#else
    return hash[0] == '$';
#endif
}

struct auth_users *auth_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    struct auth_users *u;
    char line[1024];
    int lineno = 0;

    if (!f) {
        gh_fmt(err, errlen, "cannot read password file %s: %s", path, strerror(errno));
        return NULL;
    }
    u = xcalloc(1, sizeof(*u));
    while (fgets(line, sizeof(line), f)) {
        char *colon, *end = line + strcspn(line, "\r\n");
        lineno++;
        *end = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        colon = strchr(line, ':');
        if (!colon || colon == line || !verifiable(colon + 1)) {
            log_warn("%s:%d: skipped: not \"user:hash\" with a hash libcrypt verifies "
                     "(use htpasswd -B)", path, lineno);
            continue;
        }
        *colon = '\0';
        u->u = xrealloc(u->u, (u->n + 1) * sizeof(*u->u));
        u->u[u->n].name = xstrdup(line);
        u->u[u->n].hash = xstrdup(colon + 1);
        u->n++;
    }
    fclose(f);
    if (u->n) /* qsort(NULL, 0) is undefined: an empty file has no array */
        qsort(u->u, u->n, sizeof(*u->u), by_name);
    return u;
}

struct auth_users *auth_new(void)
{
    return xcalloc(1, sizeof(struct auth_users));
}

void auth_use_directory(struct auth_users *u, struct directory *d)
{
    directory_free(u->dir);
    u->dir = d;
}

uint32_t auth_wait_ms(const struct auth_users *u)
{
    return (u->dir ? directory_wait_ms(u->dir) : 0) + 1000;
}

void auth_free(struct auth_users *u)
{
    if (!u)
        return;
    directory_free(u->dir);
    for (unsigned i = 0; i < u->n; i++) {
        free(u->u[i].name);
        free(u->u[i].hash);
    }
    free(u->u);
    free(u);
}

unsigned auth_count(const struct auth_users *u)
{
    return u->n;
}

/* ---- groups ---- */

struct membership {
    char *group;
    char *user;
};

struct auth_groups {
    struct membership *m;
    unsigned n;
    const struct directory *dir; /* the users' directory's groups count too */
};

struct auth_groups *auth_groups_new(void)
{
    return xcalloc(1, sizeof(struct auth_groups));
}

void auth_groups_use_directory(struct auth_groups *g, const struct directory *d)
{
    g->dir = d;
}

struct auth_groups *auth_load_groups(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    struct auth_groups *g;
    char line[4096];
    int lineno = 0;

    if (!f) {
        gh_fmt(err, errlen, "cannot read group file %s: %s", path, strerror(errno));
        return NULL;
    }
    g = xcalloc(1, sizeof(*g));
    while (fgets(line, sizeof(line), f)) {
        char *colon, *save = NULL, *u;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        colon = strchr(line, ':');
        if (!colon || colon == line) {
            log_warn("%s:%d: skipped: not \"group: user user ...\"", path, lineno);
            continue;
        }
        *colon = '\0';
        for (u = strtok_r(colon + 1, " \t", &save); u; u = strtok_r(NULL, " \t", &save)) {
            g->m = xrealloc(g->m, (g->n + 1) * sizeof(*g->m));
            g->m[g->n].group = xstrdup(line);
            g->m[g->n].user = xstrdup(u);
            g->n++;
        }
    }
    fclose(f);
    return g;
}

void auth_groups_free(struct auth_groups *g)
{
    if (!g)
        return;
    for (unsigned i = 0; i < g->n; i++) {
        free(g->m[i].group);
        free(g->m[i].user);
    }
    free(g->m);
    free(g);
}

int auth_in_group(const struct auth_groups *g, const char *user, const char *group)
{
    for (unsigned i = 0; g && i < g->n; i++)
        if (strcmp(g->m[i].user, user) == 0 && strcmp(g->m[i].group, group) == 0)
            return 1;
    return g && g->dir && directory_in_group(g->dir, user, group);
}

/* ---- the per-worker cache of verified credentials ----
 * bcrypt costs tens of milliseconds by design; a browser sends credentials
 * with every request.  A verified pair is remembered (as a SHA-256 of the
 * pair and the stored hash, never the password) for a few minutes. */

#define GOOD_SLOTS 1024
#define GOOD_TTL_MS (5 * 60 * 1000)

struct good {
    unsigned char key[SHA256_DIGEST_LENGTH];
    uint64_t until;
};

/* The per-thread table, freed when the worker thread ends. */
static pthread_key_t good_key;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void make_keys(void)
{
    pthread_key_create(&good_key, free);
}

static void *thread_table(pthread_key_t *key, size_t size)
{
    void *t;

    pthread_once(&keys_once, make_keys);
    t = pthread_getspecific(*key);
    if (!t) {
        t = xcalloc(1, size);
        pthread_setspecific(*key, t);
    }
    return t;
}

static void cache_key(const char *user, const char *password, const char *hash,
                      unsigned char *key)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len;

    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, user, strlen(user) + 1);
    EVP_DigestUpdate(ctx, password, strlen(password) + 1);
    EVP_DigestUpdate(ctx, hash, strlen(hash));
    EVP_DigestFinal_ex(ctx, key, &len);
    EVP_MD_CTX_free(ctx);
}

static int verify(const char *user, const char *password, const char *hash)
{
    unsigned char key[SHA256_DIGEST_LENGTH];
    struct good *slot, *good_cache;
    struct crypt_data *cd;
    const char *out;
    int ok;
    uint64_t now = gh_now_ms();

    good_cache = thread_table(&good_key, GOOD_SLOTS * sizeof(*good_cache));
    cache_key(user, password, hash, key);
    slot = &good_cache[(key[0] | key[1] << 8) % GOOD_SLOTS];
    if (slot->until > now && memcmp(slot->key, key, sizeof(key)) == 0)
        return 1;
    cd = xcalloc(1, sizeof(*cd));
    out = crypt_r(password, hash, cd);
    ok = out && out[0] != '*' && strlen(out) == strlen(hash) &&
         CRYPTO_memcmp(out, hash, strlen(hash)) == 0;
    free(cd);
    if (ok) {
        memcpy(slot->key, key, sizeof(key));
        slot->until = now + GOOD_TTL_MS;
    }
    return ok;
}

enum auth_result auth_check(const struct auth_users *u, const char *value, size_t len,
                            char *user, size_t cap, char *why, size_t whycap)
{
    unsigned char decoded[512];
    char *colon;
    int n;
    struct user key, *found;
    enum auth_result ok;

    if (cap)
        user[0] = '\0';
    if (whycap)
        why[0] = '\0';
    if (len < 6 || strncasecmp(value, "Basic ", 6) != 0)
        return 0;
    value += 6;
    len -= 6;
    while (len && *value == ' ')
        value++, len--;
    if (len == 0 || len > 4 * (sizeof(decoded) - 1) / 3)
        return 0;
    n = EVP_DecodeBlock(decoded, (const unsigned char *)value, (int)len);
    if (n < 0)
        return 0;
    /* EVP_DecodeBlock counts padding as zero bytes */
    while (n > 0 && len > 0 && value[len - 1] == '=')
        n--, len--;
    decoded[n] = '\0';
    if (memchr(decoded, '\0', (size_t)n))
        return 0;
    colon = strchr((char *)decoded, ':');
    if (!colon)
        return 0;
    *colon = '\0';
    gh_fmt(user, cap, "%s", (const char *)decoded); /* the name tried, right or wrong */
    key.name = (char *)decoded;
    found = u->n ? bsearch(&key, u->u, u->n, sizeof(*u->u), by_name) : NULL;
    if (found)
        ok = verify(found->name, colon + 1, found->hash) ? AUTH_OK : AUTH_BAD;
    else if (u->dir)
        ok = (enum auth_result)directory_check(u->dir, key.name, colon + 1, why, whycap);
    else
        ok = AUTH_BAD;
    OPENSSL_cleanse(decoded, sizeof(decoded));
    return ok;
}

enum auth_result auth_check_name(const struct auth_users *u, const char *user, char *why,
                                 size_t whycap)
{
    if (whycap)
        why[0] = '\0';
    if (!u || !u->dir)
        return AUTH_OK;
    return (enum auth_result)directory_groups_by_name(u->dir, user, why, whycap);
}
