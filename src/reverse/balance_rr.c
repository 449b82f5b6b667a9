/* balance_rr.c — smooth weighted round-robin ("round_robin").
 *
 * Each pick adds every usable server's weight to its running score, takes
 * the server with the highest score and takes the total back off it.  Over
 * any run of picks each server's share is its weight, and the picks of a
 * heavy server are spread out (5:1:1 gives a a b a c a a, not a a a a a b c).
 * Which servers are usable, and their weights, come from pool.h. */
#include "balance.h"
#include "pool.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>

/* One per pool, owned by the pool (init/free). */
struct rr {
    pthread_mutex_t lock; /* guards score: picks run on every worker */
    unsigned n;
    int64_t score[]; /* per server; untouched while a server is unusable */
};

static void *rr_init(const struct pool *p)
{
    struct rr *rr = xcalloc(1, sizeof(*rr) + (size_t)p->nservers * sizeof(rr->score[0]));

    pthread_mutex_init(&rr->lock, NULL);
    rr->n = p->nservers;
    return rr;
}

static void rr_free(void *state)
{
    struct rr *rr = state;

    if (!rr)
        return;
    pthread_mutex_destroy(&rr->lock);
    free(rr);
}

static int rr_pick(const struct pool *p, void *state, const struct pick *pk)
{
    struct rr *rr = state;
    int64_t total = 0;
    int best = -1;

    pthread_mutex_lock(&rr->lock);
    for (unsigned i = 0; i < rr->n && i < p->nservers; i++) {
        int64_t w;
        if (!pool_usable(p, i, pk))
            continue;
        w = pool_weight(p, i, pk->now);
        rr->score[i] += w;
        total += w;
        if (best < 0 || rr->score[i] > rr->score[best])
            best = (int)i;
    }
    if (best >= 0)
        rr->score[best] -= total;
    pthread_mutex_unlock(&rr->lock);
    return best;
}

const struct balancer balance_round_robin = {
    .name = "round_robin",
    .init = rr_init,
    .free = rr_free,
    .pick = rr_pick,
};
