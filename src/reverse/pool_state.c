/* pool_state.c — the table of run-time states shared by configuration
 * generations (see pool_state.h).  Owns the table and every state in it;
 * what the states mean is pool_pick.c's and health.c's. */
#include "pool_state.h"
#include "balance.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 1024u /* a power of two */

/* One state and its key.  Owned by the table; freed when refs drops to 0. */
struct entry {
    struct entry *next; /* the bucket's chain */
    unsigned refs;      /* generations holding it (under `lock`) */
    union {
        struct server_state s;
        struct pool_state p;
    } u;
    size_t keylen;
    char key[]; /* "S" pool NUL label NUL nth, or "P" pool */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *table[BUCKETS];
static unsigned held;

/* The entry for key, with one more reference: found, or made by init. */
static struct entry *get(const char *key, size_t keylen, void (*init)(struct entry *))
{
    unsigned b = (unsigned)balance_hash_bytes(key, keylen) & (BUCKETS - 1);
    struct entry *e;

    pthread_mutex_lock(&lock);
    for (e = table[b]; e; e = e->next)
        if (e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
            break;
    if (!e) {
        e = xcalloc(1, sizeof(*e) + keylen);
        e->keylen = keylen;
        memcpy(e->key, key, keylen);
        init(e);
        e->next = table[b];
        table[b] = e;
        held++;
    }
    e->refs++;
    pthread_mutex_unlock(&lock);
    return e;
}

/* Drops a reference to e; the last unlinks it.  Returns 1 when the caller
 * must free it. */
static int put(struct entry *e)
{
    unsigned b = (unsigned)balance_hash_bytes(e->key, e->keylen) & (BUCKETS - 1);
    struct entry **pp;
    int last;

    pthread_mutex_lock(&lock);
    last = --e->refs == 0;
    if (last) {
        for (pp = &table[b]; *pp != e; pp = &(*pp)->next)
            ;
        *pp = e->next;
        held--;
    }
    pthread_mutex_unlock(&lock);
    return last;
}

static void init_server(struct entry *e)
{
    struct server_state *st = &e->u.s;
    const char *pool = e->key + 1, *label = pool + strlen(pool) + 1;
    char l[400], server[300];
    unsigned nth = (unsigned)strtoul(label + strlen(label) + 1, NULL, 10);

    if (nth)
        gh_fmt(server, sizeof(server), "%s#%u", label, nth + 1);
    else
        gh_fmt(server, sizeof(server), "%s", label);
    st->latency = metrics_hist("gatehouse_upstream_response_seconds",
                               "Time from a request's head to the end of the answer of a "
                               "pool's server.",
                               metrics_labels(l, sizeof(l), "pool", pool, "server", server, NULL));
    pthread_mutex_init(&st->lock, NULL);
    health_init(&st->h);
    atomic_init(&st->usable_cache, 1);
}

static void init_pool(struct entry *e)
{
    GH_UNUSED(e); /* zeroed: nothing queued */
}

struct server_state *pool_state_server(const char *pool, const char *label, unsigned nth)
{
    size_t pl = strlen(pool), ll = strlen(label), len = 1 + pl + 1 + ll + 1;
    char *key = xmalloc(len + 12);
    struct entry *e;

    key[0] = 'S';
    memcpy(key + 1, pool, pl + 1);
    memcpy(key + 1 + pl + 1, label, ll + 1);
    len += (size_t)snprintf(key + len, 12, "%u", nth);
    e = get(key, len, init_server);
    free(key);
    return &e->u.s;
}

struct pool_state *pool_state_pool(const char *pool)
{
    size_t pl = strlen(pool);
    char *key = xmalloc(pl + 1);
    struct entry *e;

    key[0] = 'P';
    memcpy(key + 1, pool, pl);
    e = get(key, pl + 1, init_pool);
    free(key);
    return &e->u.p;
}

void pool_state_server_put(struct server_state *st)
{
    struct entry *e;

    if (!st)
        return;
    e = (struct entry *)((char *)st - offsetof(struct entry, u.s));
    if (put(e)) {
        pthread_mutex_destroy(&st->lock);
        free(e);
    }
}

void pool_state_pool_put(struct pool_state *st)
{
    struct entry *e;

    if (!st)
        return;
    e = (struct entry *)((char *)st - offsetof(struct entry, u.p));
    if (put(e))
        free(e);
}

void pool_state_each(void (*fn)(void *arg, const char *pool, const char *label, unsigned nth,
                                struct server_state *st),
                     void (*pfn)(void *arg, const char *pool, struct pool_state *st), void *arg)
{
    pthread_mutex_lock(&lock);
    for (unsigned b = 0; b < BUCKETS; b++)
        for (struct entry *e = table[b]; e; e = e->next) {
            const char *pool = e->key + 1;
            if (e->key[0] == 'S' && fn) {
                const char *label = pool + strlen(pool) + 1;
                fn(arg, pool, label, (unsigned)strtoul(label + strlen(label) + 1, NULL, 10),
                   &e->u.s);
            } else if (e->key[0] == 'P' && pfn) {
                char name[256];
                gh_fmt(name, sizeof(name), "%.*s", (int)(e->keylen - 1), pool);
                pfn(arg, name, &e->u.p);
            }
        }
    pthread_mutex_unlock(&lock);
}

unsigned pool_state_count(void)
{
    unsigned n;

    pthread_mutex_lock(&lock);
    n = held;
    pthread_mutex_unlock(&lock);
    return n;
}
