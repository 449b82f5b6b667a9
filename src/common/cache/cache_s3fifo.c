/* cache_s3fifo.c — S3-FIFO eviction over byte sizes, with a chained hash
 * index and a ghost table of recently evicted hashes (see cache_s3fifo.h).
 * Owns its entries and their keys; values belong to the caller and come
 * back through ops->free_value.  One mutex guards everything but the
 * reference counts, which are atomic. */
#include "cache_s3fifo.h"

#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { Q_NONE, Q_SMALL, Q_MAIN };

#define FREQ_MAX 3
#define SMALL_PERCENT 10
#define GHOST_MIN 256 /* slots */
#define GHOST_WAYS 4  /* a hash may sit in any slot of its 4-slot bucket */

/* One cached object.  Owned by the structure while linked (queue !=
 * Q_NONE); freed when refs reaches 0, which cannot happen while linked. */
struct s3fifo_entry {
    struct s3fifo_entry *hnext;       /* index chain; then the to-release list */
    struct s3fifo_entry *prev, *next; /* in its queue: prev is newer, next older */
    uint64_t hash, size;
    void *value;
    int refs; /* atomic: 1 while linked, + 1 per reader */
    uint8_t queue;
    uint8_t freq; /* accesses, 0..FREQ_MAX (lock held) */
    size_t keylen;
    char key[];
};

/* A FIFO: insert at head, evict at tail. */
struct queue {
    struct s3fifo_entry *head, *tail;
    uint64_t bytes, count;
};

/* A remembered hash; seq 0 is an empty slot. */
struct ghost_slot {
    uint64_t hash, seq;
};

struct s3fifo {
    pthread_mutex_t lock;
    struct s3fifo_ops ops;
    uint64_t limit;
    struct queue small, main;
    struct s3fifo_entry **buckets;
    size_t nbuckets; /* a power of two */
    uint64_t nentries;
    struct ghost_slot *ghost;
    size_t nghost;      /* slots, a power of two >= GHOST_MIN */
    uint64_t ghost_seq; /* hashes ever remembered; a slot is live for the last `window` */
    uint64_t hits, misses, inserts, evictions, ghost_hits;
    uint64_t pinned; /* atomic: bytes of unlinked entries not yet freed */
};

/* ---- queues ---- */

static void q_push(struct queue *q, struct s3fifo_entry *e)
{
    e->prev = NULL;
    e->next = q->head;
    if (q->head)
        q->head->prev = e;
    else
        q->tail = e;
    q->head = e;
    q->bytes += e->size;
    q->count++;
}

static void q_unlink(struct queue *q, struct s3fifo_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        q->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        q->tail = e->prev;
    e->prev = e->next = NULL;
    q->bytes -= e->size;
    q->count--;
}

static struct queue *queue_of(struct s3fifo *c, const struct s3fifo_entry *e)
{
    return e->queue == Q_MAIN ? &c->main : &c->small;
}

/* ---- index ---- */

static struct s3fifo_entry **bucket(struct s3fifo *c, uint64_t hash)
{
    return &c->buckets[hash & (c->nbuckets - 1)];
}

static struct s3fifo_entry *find(struct s3fifo *c, uint64_t hash, const char *key, size_t keylen)
{
    struct s3fifo_entry *e;

    for (e = *bucket(c, hash); e; e = e->hnext)
        if (e->hash == hash && e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
            return e;
    return NULL;
}

static void index_grow(struct s3fifo *c)
{
    struct s3fifo_entry **old = c->buckets, *e, *next;
    size_t i, n = c->nbuckets;

    c->nbuckets *= 2;
    c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
    for (i = 0; i < n; i++)
        for (e = old[i]; e; e = next) {
            next = e->hnext;
            e->hnext = *bucket(c, e->hash);
            *bucket(c, e->hash) = e;
        }
    free(old);
}

static void index_del(struct s3fifo *c, struct s3fifo_entry *e)
{
    struct s3fifo_entry **p = bucket(c, e->hash);

    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
    e->hnext = NULL;
}

/* ---- ghost: hashes recently evicted from the small queue ---- */

/* As many hashes as there are entries (the paper sizes the ghost like the
 * main queue), at least GHOST_MIN / 2. */
static uint64_t ghost_window(const struct s3fifo *c)
{
    return GH_MAX(c->nentries, GHOST_MIN / 2);
}

static int ghost_live(const struct s3fifo *c, const struct ghost_slot *g)
{
    return g->seq != 0 && c->ghost_seq - g->seq < ghost_window(c);
}

static struct ghost_slot *ghost_bucket(struct s3fifo *c, uint64_t hash)
{
    return &c->ghost[(hash >> 7) & (c->nghost - 1) & ~(size_t)(GHOST_WAYS - 1)];
}

static void ghost_put(struct s3fifo *c, uint64_t hash, uint64_t seq)
{
    struct ghost_slot *b = ghost_bucket(c, hash), *victim = b;
    int i;

    for (i = 0; i < GHOST_WAYS; i++) {
        if (b[i].seq != 0 && b[i].hash == hash) {
            victim = &b[i];
            break;
        }
        if (b[i].seq < victim->seq)
            victim = &b[i];
    }
    victim->hash = hash;
    victim->seq = seq;
}

static void ghost_add(struct s3fifo *c, uint64_t hash)
{
    if (ghost_window(c) * 2 > c->nghost) {
        struct ghost_slot *old = c->ghost;
        size_t i, n = c->nghost;

        c->nghost *= 2;
        c->ghost = xcalloc(c->nghost, sizeof(*c->ghost));
        for (i = 0; i < n; i++)
            if (ghost_live(c, &old[i]))
                ghost_put(c, old[i].hash, old[i].seq);
        free(old);
    }
    ghost_put(c, hash, ++c->ghost_seq);
}

/* Whether hash was remembered; forgets it. */
static int ghost_take(struct s3fifo *c, uint64_t hash)
{
    struct ghost_slot *b = ghost_bucket(c, hash);
    int i;

    for (i = 0; i < GHOST_WAYS; i++)
        if (b[i].hash == hash && ghost_live(c, &b[i])) {
            b[i].seq = 0;
            return 1;
        }
    return 0;
}

/* ---- references ---- */

static void unref(struct s3fifo *c, struct s3fifo_entry *e)
{
    if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    __atomic_sub_fetch(&c->pinned, e->size, __ATOMIC_RELAXED);
    if (c->ops.free_value)
        c->ops.free_value(c->ops.arg, e->value);
    free(e);
}

/* Unlinks e from its queue and the index; the structure's reference now
 * travels on `list` (through hnext) to be dropped after the lock. */
static void detach(struct s3fifo *c, struct s3fifo_entry *e, struct s3fifo_entry **list)
{
    q_unlink(queue_of(c, e), e);
    index_del(c, e);
    e->queue = Q_NONE;
    c->nentries--;
    __atomic_add_fetch(&c->pinned, e->size, __ATOMIC_RELAXED);
    e->hnext = *list;
    *list = e;
}

/* ---- eviction ---- */

/* Evicts from the small queue: its oldest entry leaves (its hash to the
 * ghost) unless it was accessed, in which case it moves to main and the
 * next oldest is tried.  Returns 1 when something left. */
static int evict_small(struct s3fifo *c, struct s3fifo_entry **list)
{
    struct s3fifo_entry *t;

    while ((t = c->small.tail) != NULL) {
        if (t->freq > 0) {
            q_unlink(&c->small, t);
            t->freq = 0;
            t->queue = Q_MAIN;
            q_push(&c->main, t);
            continue;
        }
        ghost_add(c, t->hash);
        detach(c, t, list);
        c->evictions++;
        return 1;
    }
    return 0;
}

/* Evicts from main: an accessed oldest entry goes back to the head with
 * one access fewer; the first unaccessed one leaves. */
static int evict_main(struct s3fifo *c, struct s3fifo_entry **list)
{
    struct s3fifo_entry *t;

    while ((t = c->main.tail) != NULL) {
        if (t->freq > 0) {
            t->freq--;
            q_unlink(&c->main, t);
            q_push(&c->main, t);
            continue;
        }
        detach(c, t, list);
        c->evictions++;
        return 1;
    }
    return 0;
}

static int evict_one(struct s3fifo *c, struct s3fifo_entry **list)
{
    uint64_t small_target = c->limit / 100 * SMALL_PERCENT + c->limit % 100 * SMALL_PERCENT / 100;

    if (c->small.bytes >= small_target || c->main.count == 0)
        if (evict_small(c, list))
            return 1;
    return evict_main(c, list) || evict_small(c, list);
}

static uint64_t used(const struct s3fifo *c)
{
    return c->small.bytes + c->main.bytes;
}

/* After the lock: tell the evicted callback, then drop the references. */
static void settle(struct s3fifo *c, struct s3fifo_entry *evicted, struct s3fifo_entry *dropped)
{
    struct s3fifo_entry *e, *next;

    for (e = evicted; e; e = next) {
        next = e->hnext;
        if (c->ops.evicted)
            c->ops.evicted(c->ops.arg, e->key, e->keylen, e->value, e->size);
        unref(c, e);
    }
    for (e = dropped; e; e = next) {
        next = e->hnext;
        unref(c, e);
    }
}

/* ---- the interface ---- */

struct s3fifo *s3fifo_new(uint64_t limit_bytes, const struct s3fifo_ops *ops)
{
    struct s3fifo *c = xcalloc(1, sizeof(*c));

    pthread_mutex_init(&c->lock, NULL);
    if (ops)
        c->ops = *ops;
    c->limit = limit_bytes;
    c->nbuckets = 1024;
    c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
    c->nghost = GHOST_MIN;
    c->ghost = xcalloc(c->nghost, sizeof(*c->ghost));
    return c;
}

void s3fifo_free(struct s3fifo *c)
{
    struct s3fifo_entry *list = NULL;

    if (!c)
        return;
    while (c->small.tail)
        detach(c, c->small.tail, &list);
    while (c->main.tail)
        detach(c, c->main.tail, &list);
    settle(c, NULL, list);
    pthread_mutex_destroy(&c->lock);
    free(c->buckets);
    free(c->ghost);
    free(c);
}

struct s3fifo_entry *s3fifo_insert(struct s3fifo *c, uint64_t hash, const char *key, size_t keylen,
                                   void *value, uint64_t size)
{
    struct s3fifo_entry *e, *old, *evicted = NULL, *dropped = NULL;

    if (size > c->limit)
        return NULL;
    e = xmalloc(sizeof(*e) + keylen + 1);
    memset(e, 0, sizeof(*e));
    e->hash = hash;
    e->size = size;
    e->value = value;
    e->refs = 2; /* the structure's and the caller's */
    e->keylen = keylen;
    memcpy(e->key, key, keylen);
    e->key[keylen] = '\0';

    pthread_mutex_lock(&c->lock);
    old = find(c, hash, key, keylen);
    if (old) { /* a replacement keeps the old one's standing */
        e->queue = old->queue;
        e->freq = old->freq;
        detach(c, old, &dropped);
    } else if (ghost_take(c, hash)) {
        e->queue = Q_MAIN;
        c->ghost_hits++;
    } else {
        e->queue = Q_SMALL;
    }
    while (used(c) + size > c->limit && evict_one(c, &evicted))
        ;
    if (c->nentries >= c->nbuckets)
        index_grow(c);
    e->hnext = *bucket(c, hash);
    *bucket(c, hash) = e;
    q_push(queue_of(c, e), e);
    c->nentries++;
    c->inserts++;
    pthread_mutex_unlock(&c->lock);
    settle(c, evicted, dropped);
    return e;
}

struct s3fifo_entry *s3fifo_lookup(struct s3fifo *c, uint64_t hash, const char *key, size_t keylen)
{
    struct s3fifo_entry *e;

    pthread_mutex_lock(&c->lock);
    e = find(c, hash, key, keylen);
    if (e) {
        if (e->freq < FREQ_MAX)
            e->freq++;
        __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->lock);
    return e;
}

void s3fifo_release(struct s3fifo *c, struct s3fifo_entry *e)
{
    if (e)
        unref(c, e);
}

int s3fifo_remove(struct s3fifo *c, uint64_t hash, const char *key, size_t keylen)
{
    struct s3fifo_entry *e, *list = NULL;

    pthread_mutex_lock(&c->lock);
    e = find(c, hash, key, keylen);
    if (e)
        detach(c, e, &list);
    pthread_mutex_unlock(&c->lock);
    settle(c, NULL, list);
    return e != NULL;
}

size_t s3fifo_remove_if(struct s3fifo *c,
                        int (*match)(void *arg, const char *key, size_t keylen, void *value),
                        void *arg)
{
    struct queue *qs[2] = {&c->small, &c->main};
    struct s3fifo_entry *e, *next, *list = NULL;
    size_t n = 0;
    int q;

    pthread_mutex_lock(&c->lock);
    for (q = 0; q < 2; q++)
        for (e = qs[q]->head; e; e = next) {
            next = e->next;
            if (match(arg, e->key, e->keylen, e->value)) {
                detach(c, e, &list);
                n++;
            }
        }
    pthread_mutex_unlock(&c->lock);
    settle(c, NULL, list);
    return n;
}

void s3fifo_set_limit(struct s3fifo *c, uint64_t limit_bytes)
{
    struct s3fifo_entry *evicted = NULL;

    pthread_mutex_lock(&c->lock);
    c->limit = limit_bytes;
    while (used(c) > c->limit && evict_one(c, &evicted))
        ;
    pthread_mutex_unlock(&c->lock);
    settle(c, evicted, NULL);
}

void s3fifo_stats(struct s3fifo *c, struct s3fifo_stats *st)
{
    pthread_mutex_lock(&c->lock);
    st->hits = c->hits;
    st->misses = c->misses;
    st->inserts = c->inserts;
    st->evictions = c->evictions;
    st->ghost_hits = c->ghost_hits;
    st->entries = c->nentries;
    st->bytes = used(c);
    st->small_bytes = c->small.bytes;
    st->main_bytes = c->main.bytes;
    st->limit = c->limit;
    pthread_mutex_unlock(&c->lock);
    st->pinned_bytes = __atomic_load_n(&c->pinned, __ATOMIC_RELAXED);
}

void *s3fifo_value(const struct s3fifo_entry *e)
{
    return e->value;
}

uint64_t s3fifo_size(const struct s3fifo_entry *e)
{
    return e->size;
}

const char *s3fifo_key(const struct s3fifo_entry *e, size_t *keylen)
{
    if (keylen)
        *keylen = e->keylen;
    return e->key;
}
