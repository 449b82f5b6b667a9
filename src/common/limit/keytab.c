/* keytab.c — the shared, sharded, bounded key table (see keytab.h).  Owns
 * the shards' memory (mapped once, touched as keys come), their locks,
 * their hash chains and least-recently-seen lists, and the process's
 * secret for keytab_hash.  What the two words of an entry mean belongs to
 * the callers (ratelimit.c, connlimit.c, bwlimit.c, bans.c). */
#include "keytab.h"
#include "log.h"
#include "util.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#define SHARDS 64u
#define NIL UINT32_MAX
#define EVICT_TRIES 32 /* pinned entries passed over before a shard counts as full */

/* One key: 40 bytes. */
struct entry {
    uint64_t key;
    uint32_t prev, next; /* the shard's list, most recently seen first */
    uint32_t hnext;      /* the hash chain */
    uint32_t pad;        /* to 40 bytes: v aligned */
    uint64_t v[2];
};

/* A shard, alone on its cache lines. */
struct shard {
    pthread_mutex_t lock;
    struct entry *e;   /* cap entries, e[0..used) handed out so far */
    uint32_t *bucket;  /* nbuckets chain heads: entry index + 1, 0 for none */
    uint32_t cap, used, nbuckets, count;
    uint32_t head, tail;
    uint32_t free;     /* removed entries, linked by next */
    uint64_t evicted;
} __attribute__((aligned(64)));

struct keytab {
    struct shard s[SHARDS];
    int (*pinned)(const uint64_t v[2]);
    size_t map_bytes; /* per shard: entries, then buckets */
};

/* ---- the hash ---- */

static uint64_t secret[2];
static pthread_once_t secret_once = PTHREAD_ONCE_INIT;

static void draw_secret(void)
{
    if (getrandom(secret, sizeof(secret), 0) != (ssize_t)sizeof(secret) &&
        RAND_bytes((unsigned char *)secret, (int)sizeof(secret)) != 1)
        log_fatal("cannot draw random bytes for the limit tables");
}

/* The high and low halves of a 128-bit product, folded. */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
    unsigned __int128 p = (unsigned __int128)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
}

static uint64_t hash_bytes(uint64_t h, const unsigned char *p, size_t n)
{
    const uint64_t k1 = 0xa0761d6478bd642fULL, k2 = 0xe7037ed1a0b428dbULL;

    h = mum(h ^ k1, (uint64_t)n ^ secret[1]);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mum(h ^ w, k2 ^ secret[1]);
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, p, n);
        h = mum(h ^ w ^ ((uint64_t)n << 56), k2 ^ secret[1]);
    }
    return mum(h ^ k2, h ^ k1);
}

uint64_t keytab_hash(const char *ns, const void *key, size_t len)
{
    pthread_once(&secret_once, draw_secret);
    return hash_bytes(hash_bytes(secret[0], (const unsigned char *)ns, strlen(ns)), key, len);
}

/* ---- the table ---- */

struct keytab *keytab_new(size_t max_keys, int (*pinned)(const uint64_t v[2]))
{
    struct keytab *t = xcalloc(1, sizeof(*t));
    /* keys fall on shards unevenly (about 1% apart at a million): 5% more
     * room than the even share holds max_keys without evicting one */
    uint32_t cap = (uint32_t)(max_keys / SHARDS + max_keys / SHARDS / 20 + 16), nb = 1;

    while (nb < cap / 2) /* chains of two, on average, when full */
        nb <<= 1;
    t->pinned = pinned;
    t->map_bytes = (size_t)cap * sizeof(struct entry) + (size_t)nb * sizeof(uint32_t);
    for (unsigned i = 0; i < SHARDS; i++) {
        struct shard *s = &t->s[i];
        char *m = mmap(NULL, t->map_bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            log_fatal("cannot map %zu bytes for a limit table", t->map_bytes);
        pthread_mutex_init(&s->lock, NULL);
        s->e = (struct entry *)m;
        s->bucket = (uint32_t *)(m + (size_t)cap * sizeof(struct entry));
        s->cap = cap;
        s->nbuckets = nb;
        s->head = s->tail = s->free = NIL;
    }
    return t;
}

void keytab_free(struct keytab *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < SHARDS; i++) {
        munmap(t->s[i].e, t->map_bytes);
        pthread_mutex_destroy(&t->s[i].lock);
    }
    free(t);
}

static struct shard *shard_of(struct keytab *t, uint64_t key)
{
    return &t->s[key >> 58]; /* the top 6 bits; the low ones pick the bucket */
}

static void unlink_lru(struct shard *s, uint32_t i)
{
    struct entry *e = &s->e[i];

    if (e->prev != NIL)
        s->e[e->prev].next = e->next;
    else
        s->head = e->next;
    if (e->next != NIL)
        s->e[e->next].prev = e->prev;
    else
        s->tail = e->prev;
}

static void push_front(struct shard *s, uint32_t i)
{
    struct entry *e = &s->e[i];

    e->prev = NIL;
    e->next = s->head;
    if (s->head != NIL)
        s->e[s->head].prev = i;
    s->head = i;
    if (s->tail == NIL)
        s->tail = i;
}

/* The index of key's entry, or NIL; *link is where the chain points at it. */
static uint32_t find(struct shard *s, uint64_t key, uint32_t **link)
{
    uint32_t *l = &s->bucket[key & (s->nbuckets - 1)];

    while (*l) {
        uint32_t i = *l - 1;
        if (s->e[i].key == key) {
            *link = l;
            return i;
        }
        l = &s->e[i].hnext;
    }
    *link = l;
    return NIL;
}

/* Takes entry i out of its chain and the list. */
static void drop(struct shard *s, uint32_t i)
{
    uint32_t *l;

    if (find(s, s->e[i].key, &l) == i)
        *l = s->e[i].hnext;
    unlink_lru(s, i);
    s->count--;
}

/* A free entry: a removed one, a new one while there are, else the least
 * recently seen that is not pinned.  NIL when every candidate is pinned. */
static uint32_t take_entry(struct keytab *t, struct shard *s)
{
    uint32_t i;

    if (s->free != NIL) {
        i = s->free;
        s->free = s->e[i].next;
        return i;
    }
    if (s->used < s->cap)
        return s->used++;
    for (int tries = 0; tries < EVICT_TRIES && s->tail != NIL; tries++) {
        i = s->tail;
        if (t->pinned && t->pinned(s->e[i].v)) {
            unlink_lru(s, i); /* passed over: looked at again last */
            push_front(s, i);
            continue;
        }
        drop(s, i);
        s->evicted++;
        return i;
    }
    return NIL;
}

long keytab_with(struct keytab *t, uint64_t key, keytab_fn *fn, void *arg, long full)
{
    struct shard *s = shard_of(t, key);
    uint32_t *l, i;
    int fresh = 0;
    long rc;

    pthread_mutex_lock(&s->lock);
    i = find(s, key, &l);
    if (i != NIL) {
        if (s->head != i) {
            unlink_lru(s, i);
            push_front(s, i);
        }
    } else {
        i = take_entry(t, s);
        if (i == NIL) {
            pthread_mutex_unlock(&s->lock);
            return full;
        }
        find(s, key, &l); /* eviction may have changed the chain */
        s->e[i] = (struct entry){.key = key, .hnext = 0};
        *l = i + 1;
        push_front(s, i);
        s->count++;
        fresh = 1;
    }
    rc = fn(s->e[i].v, fresh, arg);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

long keytab_peek(struct keytab *t, uint64_t key, keytab_fn *fn, void *arg, long absent)
{
    struct shard *s = shard_of(t, key);
    uint32_t *l, i;
    long rc = absent;

    pthread_mutex_lock(&s->lock);
    i = find(s, key, &l);
    if (i != NIL)
        rc = fn(s->e[i].v, 0, arg);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int keytab_remove(struct keytab *t, uint64_t key)
{
    struct shard *s = shard_of(t, key);
    uint32_t *l, i;

    pthread_mutex_lock(&s->lock);
    i = find(s, key, &l);
    if (i != NIL) {
        *l = s->e[i].hnext;
        unlink_lru(s, i);
        s->count--;
        s->e[i].next = s->free; /* reused before any entry is evicted */
        s->free = i;
    }
    pthread_mutex_unlock(&s->lock);
    return i != NIL;
}

void keytab_stats(struct keytab *t, struct keytab_stats *st)
{
    memset(st, 0, sizeof(*st));
    for (unsigned i = 0; i < SHARDS; i++) {
        struct shard *s = &t->s[i];
        pthread_mutex_lock(&s->lock);
        st->keys += s->count;
        st->evicted += s->evicted;
        st->capacity += s->cap;
        pthread_mutex_unlock(&s->lock);
    }
    st->bytes = (uint64_t)t->map_bytes * SHARDS + sizeof(*t);
}
