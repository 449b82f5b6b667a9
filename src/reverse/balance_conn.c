/* balance_conn.c — the balancers that follow the requests in flight:
 * weighted least-connections ("least_conn") and power of two random
 * choices ("p2c").
 *
 * Both compare active / weight, cross-multiplied so no division is needed;
 * `active` is the server's atomic count across every worker, read without
 * a lock (a pick racing with another may see a count one off, which only
 * matters for max_conns, and pool_pick enforces that itself).
 *
 * Ties go by weight.  They are the common case on a quiet pool, where
 * every server has nothing in flight; settled by weight, a quiet pool
 * shares requests out in proportion to the weights, as a busy one does.
 * (Comparing (active + 1) / weight instead would break those ties in
 * favour of the heaviest server, which would then get every request while
 * requests do not overlap.)  Neither balancer keeps state: its randomness
 * comes from pk->rnd. */
#include "balance.h"
#include "pool.h"

#include <stdatomic.h>

/* A per-call xorshift64*, seeded from the caller's random number through a
 * splitmix step so that a seed of 0 (or close seeds) still starts well. */
static uint64_t rng_seed(uint32_t rnd)
{
    uint64_t z = (uint64_t)rnd + 0x9e3779b97f4a7c15ull;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 1;
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545f4914f6cdd1dull;
}

/* A number in [0, n), n > 0: 48 random bits modulo n, whose bias is
 * negligible for sums of weights. */
static uint64_t rng_below(uint64_t *x, uint64_t n)
{
    return (rng_next(x) >> 16) % n;
}

/* Server i's load for the comparison: active over weight. */
struct load {
    uint64_t conns;
    uint64_t weight;
};

static struct load load_of(const struct pool *p, unsigned i, uint64_t now)
{
    struct load l;

    l.conns = (uint64_t)atomic_load_explicit(&p->servers[i].st->active, memory_order_relaxed);
    l.weight = pool_weight(p, i, now);
    if (l.weight == 0)
        l.weight = 1;
    return l;
}

/* <0 when a is less loaded than b, 0 when even, >0 when more. */
static int load_cmp(struct load a, struct load b)
{
    uint64_t x = a.conns * b.weight, y = b.conns * a.weight;
    return x < y ? -1 : x > y;
}

static void *none_init(const struct pool *p)
{
    (void)p;
    return NULL;
}

static void none_free(void *state)
{
    (void)state;
}

/* The least loaded usable server; among equals, one drawn at random in
 * proportion to weight (a weighted reservoir over the tied servers). */
static int lc_pick(const struct pool *p, void *state, const struct pick *pk)
{
    uint64_t x = rng_seed(pk->rnd), tied = 0;
    struct load best_load = {0, 1};
    int best = -1;

    (void)state;
    for (unsigned i = 0; i < p->nservers; i++) {
        struct load l;
        int c;
        if (!pool_usable(p, i, pk))
            continue;
        l = load_of(p, i, pk->now);
        c = best < 0 ? -1 : load_cmp(l, best_load);
        if (c < 0) {
            best = (int)i;
            best_load = l;
            tied = l.weight;
        } else if (c == 0) {
            tied += l.weight;
            if (rng_below(&x, tied) < l.weight) {
                best = (int)i;
                best_load = l;
            }
        }
    }
    return best;
}

/* One usable server drawn with probability proportional to its weight,
 * leaving out `except` (-1: none): a one-pass weighted reservoir. */
static int draw(const struct pool *p, const struct pick *pk, int except, uint64_t *x)
{
    uint64_t total = 0;
    int got = -1;

    for (unsigned i = 0; i < p->nservers; i++) {
        uint64_t w;
        if ((int)i == except || !pool_usable(p, i, pk))
            continue;
        w = pool_weight(p, i, pk->now);
        w = w ? w : 1;
        total += w;
        if (rng_below(x, total) < w)
            got = (int)i;
    }
    return got;
}

/* Two different usable servers drawn by weight; the less loaded one wins,
 * and a tie goes to the first drawn, so that ties too follow the weights.
 * It keeps no state and avoids the herd that least_conn sends to a newly
 * idle server when many workers pick at once from counts that have not
 * caught up yet. */
static int p2c_pick(const struct pool *p, void *state, const struct pick *pk)
{
    uint64_t x = rng_seed(pk->rnd);
    int a, b, c;

    (void)state;
    a = draw(p, pk, -1, &x);
    if (a < 0)
        return -1;
    b = draw(p, pk, a, &x);
    if (b < 0)
        return a;
    c = load_cmp(load_of(p, (unsigned)a, pk->now), load_of(p, (unsigned)b, pk->now));
    return c <= 0 ? a : b;
}

const struct balancer balance_least_conn = {
    .name = "least_conn",
    .init = none_init,
    .free = none_free,
    .pick = lc_pick,
};

const struct balancer balance_p2c = {
    .name = "p2c",
    .init = none_init,
    .free = none_free,
    .pick = p2c_pick,
};
