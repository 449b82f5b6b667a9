/* bans.c — the table of bans in force (see bans.h).  Owns it: a fixed
 * array cut into shards under their own locks, a key's slot found by
 * probing at most PROBE slots from its hash; an ended ban's slot is free
 * for the next.  The events that lead to a ban are counted in the caller's
 * key table. */
#include "bans.h"
#include "keytab.h"
#include "pstats.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define SHARDS 16u
#define PROBE 32u

struct ban {
    uint64_t key;
    uint64_t until; /* monotonic ms; 0 or past: the slot is free */
    uint64_t since; /* monotonic ms it (or its last renewal) began */
    uint64_t refused;
    char rule[48];
    char text[80];
};

struct shard {
    pthread_mutex_t lock;
    struct ban *b;
    unsigned n;
} __attribute__((aligned(64)));

static struct shard shards[SHARDS];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static unsigned per_shard = 1024;
static atomic_ullong last_end; /* the latest end of any ban: none in force after it */

static void make(void)
{
    for (unsigned i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&shards[i].lock, NULL);
        shards[i].n = per_shard;
        shards[i].b = xcalloc(per_shard, sizeof(struct ban));
    }
}

void bans_init(unsigned max_bans)
{
    static atomic_int done;

    if (!atomic_exchange(&done, 1))
        per_shard = GH_MAX(PROBE, (max_bans + SHARDS - 1) / SHARDS);
    pthread_once(&once, make);
}

static struct shard *shard_of(uint64_t key)
{
    pthread_once(&once, make);
    return &shards[key % SHARDS];
}

/* The key's slot when banned, else NULL.  Under the shard's lock. */
static struct ban *find(struct shard *s, uint64_t key, uint64_t now)
{
    unsigned at = (unsigned)((key / SHARDS) % s->n);

    for (unsigned i = 0; i < PROBE; i++) {
        struct ban *b = &s->b[(at + i) % s->n];
        if (b->key == key && b->until > now)
            return b;
    }
    return NULL;
}

/* A slot for a new ban: a free one among the PROBE, else the one that ends
 * soonest. */
static struct ban *slot(struct shard *s, uint64_t key)
{
    unsigned at = (unsigned)((key / SHARDS) % s->n);
    struct ban *best = &s->b[at];

    for (unsigned i = 0; i < PROBE; i++) {
        struct ban *b = &s->b[(at + i) % s->n];
        if (b->until < best->until)
            best = b;
    }
    return best;
}

/* Bans key from `start` (now, or earlier for a ban made elsewhere) for
 * r->ban_ms; a ban in force keeps the later end and the later start. */
static void ban(uint64_t key, const struct ban_rule *r, const char *text, uint64_t now,
                uint64_t start)
{
    struct shard *s = shard_of(key);
    struct ban *b;
    uint64_t end = start + r->ban_ms, seen;

    pthread_mutex_lock(&s->lock);
    b = find(s, key, now);
    if (!b) {
        b = slot(s, key);
        *b = (struct ban){.key = key};
        gh_fmt(b->rule, sizeof(b->rule), "%s", r->name);
        gh_fmt(b->text, sizeof(b->text), "%s", text);
    }
    b->until = GH_MAX(b->until, end);
    b->since = GH_MAX(b->since, start);
    pthread_mutex_unlock(&s->lock);
    seen = atomic_load(&last_end);
    while (seen < end && !atomic_compare_exchange_weak(&last_end, &seen, end))
        ;
}

struct event {
    const struct ban_rule *r;
    uint64_t now;
};

/* v[0]: the first event's time, v[1]: events since then. */
static long count_event(uint64_t v[2], int fresh, void *arg)
{
    struct event *e = arg;

    if (fresh || e->now >= v[0] + e->r->within_ms) {
        v[0] = e->now;
        v[1] = 0;
    }
    if (++v[1] < e->r->count)
        return 0;
    v[1] = 0; /* banned: counting starts again after the ban */
    v[0] = e->now;
    return 1;
}

int bans_event(struct keytab *t, const struct ban_rule *r, uint64_t key, const char *text,
               uint64_t now)
{
    struct event e = {r, now};

    if (keytab_with(t, key, count_event, &e, 0) != 1)
        return 0;
    ban(key, r, text, now, now);
    return 1;
}

void bans_put(uint64_t key, const char *rule, const char *text, uint64_t now, uint64_t ms,
              uint64_t age_ms)
{
    struct ban_rule r = {.name = rule, .ban_ms = ms};

    if (ms > age_ms)
        ban(key, &r, text, now, now > age_ms ? now - age_ms : 0);
}

uint64_t bans_check(uint64_t key, uint64_t now)
{
    struct shard *s;
    struct ban *b;
    uint64_t left = 0;

    if (atomic_load_explicit(&last_end, memory_order_relaxed) <= now)
        return 0; /* no ban in force anywhere */
    s = shard_of(key);
    pthread_mutex_lock(&s->lock);
    b = find(s, key, now);
    if (b) {
        left = b->until - now;
        b->refused++;
    }
    pthread_mutex_unlock(&s->lock);
    return left;
}

size_t bans_list(struct ban_info *out, size_t max, uint64_t now)
{
    size_t n = 0;

    pthread_once(&once, make);
    for (unsigned i = 0; i < SHARDS; i++) {
        struct shard *s = &shards[i];
        pthread_mutex_lock(&s->lock);
        for (unsigned k = 0; k < s->n; k++) {
            struct ban *b = &s->b[k];
            if (b->until <= now)
                continue;
            if (n < max) {
                struct ban_info *o = &out[n];
                memcpy(o->rule, b->rule, sizeof(o->rule));
                memcpy(o->key, b->text, sizeof(o->key));
                o->left_ms = b->until - now;
                o->refused = b->refused;
            }
            n++;
        }
        pthread_mutex_unlock(&s->lock);
    }
    return n;
}

unsigned bans_lift(const char *text, uint64_t now, uint64_t before)
{
    unsigned lifted = 0;
    int all = strcmp(text, "*") == 0;

    pthread_once(&once, make);
    for (unsigned i = 0; i < SHARDS; i++) {
        struct shard *s = &shards[i];
        pthread_mutex_lock(&s->lock);
        for (unsigned k = 0; k < s->n; k++) {
            struct ban *b = &s->b[k];
            if (b->until <= now || b->since > before || (!all && strcmp(b->text, text) != 0))
                continue;
            b->until = 0;
            lifted++;
            pstats_add(pstats_get(PS_BAN, b->rule), 3, 1);
        }
        pthread_mutex_unlock(&s->lock);
    }
    return lifted;
}
