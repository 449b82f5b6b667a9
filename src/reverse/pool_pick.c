/* pool_pick.c — a pool at run time: which servers may take a request, the
 * choice between the primary and backup tiers, connection limits, and the
 * health verdicts fed back by requests and checks.  Parsing the pool is
 * pool.c's; choosing within a tier is the balancer's (balance.h); the
 * state itself, shared by the generations that keep a server, lives in
 * pool_state.c's table (sv->st).
 *
 * Reading health cheaply: st->usable_cache holds health_usable() as last
 * published under st->lock, by pool_done, pool_check_result or a reader.
 * Time can only turn a server usable (an ejection running out), never the
 * other way, so a published 1 is taken as is, without the lock; a
 * published 0 is checked again under the lock, and when the ejection has
 * run out the reader publishes 1.  Healthy servers thus cost an atomic
 * load per pick; only down or ejected ones take their lock. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* A pick that loses a race for a server's last connection slot asks the
 * balancer again, this many times at most before calling the tier full. */
#define CLAIM_TRIES 8

/* Whether server i is healthy now (health only: tier, skip and limits are
 * the callers'). */
static int healthy(const struct pool *p, unsigned i, uint64_t now)
{
    struct server_state *st = p->servers[i].st;
    int ok;

    if (atomic_load_explicit(&st->usable_cache, memory_order_acquire))
        return 1;
    pthread_mutex_lock(&st->lock);
    ok = health_usable(&st->h, now);
    if (ok)
        atomic_store_explicit(&st->usable_cache, 1, memory_order_release);
    pthread_mutex_unlock(&st->lock);
    return ok;
}

/* In the tier asked for, not already tried, and healthy. */
static int candidate(const struct pool *p, unsigned i, const struct pick *pk)
{
    if (i >= p->nservers || !p->servers[i].backup != !pk->backup || (pk->skip && pk->skip[i]))
        return 0;
    return healthy(p, i, pk->now);
}

int pool_usable(const struct pool *p, unsigned i, const struct pick *pk)
{
    const struct server *sv;

    if (!candidate(p, i, pk))
        return 0;
    sv = &p->servers[i];
    return !sv->max_conns ||
           atomic_load_explicit(&sv->st->active, memory_order_relaxed) < sv->max_conns;
}

unsigned pool_weight(const struct pool *p, unsigned i, uint64_t now)
{
    struct server *sv = &p->servers[i];
    unsigned w;

    if (!p->hc.slow_start_ms)
        return sv->weight;
    pthread_mutex_lock(&sv->st->lock);
    w = health_weight(&sv->st->h, &p->hc, sv->weight, now);
    pthread_mutex_unlock(&sv->st->lock);
    return w;
}

/* Takes one of server i's connection slots: 0 when it is at max_conns.
 * Two workers may both have seen room for one more; the compare-exchange
 * lets only one of them have it.  The count is the server's, whichever
 * generation the requests came through. */
static int claim(struct server *sv)
{
    struct server_state *st = sv->st;
    unsigned a;

    if (!sv->max_conns) {
        atomic_fetch_add(&st->active, 1);
    } else {
        a = atomic_load(&st->active);
        do {
            if (a >= sv->max_conns)
                return 0;
        } while (!atomic_compare_exchange_weak(&st->active, &a, a + 1));
    }
    atomic_fetch_add_explicit(&st->requests, 1, memory_order_relaxed);
    return 1;
}

/* A server of the tier pk->backup names, claimed, or -1.  The sticky
 * server comes first when it belongs to this tier and may take it. */
static int pick_in_tier(struct pool *p, const struct pick *pk)
{
    unsigned want = (unsigned)pk->prefer - 1;

    if (pk->prefer > 0 && want < p->nservers && pool_usable(p, want, pk) &&
        claim(&p->servers[want]))
        return (int)want;
    for (int t = 0; t < CLAIM_TRIES; t++) {
        int i = p->bal->pick(p, p->bal_state, pk);
        if (i < 0 || (unsigned)i >= p->nservers)
            return -1;
        if (claim(&p->servers[i]))
            return i;
    }
    return -1;
}

/* Whether the tier has a server that is healthy and not yet tried, full
 * or not. */
static int tier_alive(const struct pool *p, const struct pick *pk)
{
    for (unsigned i = 0; i < p->nservers; i++)
        if (candidate(p, i, pk))
            return 1;
    return 0;
}

/* The backups step in when no primary is left for this request: every one
 * down, or already tried.  A primary that is merely full does not send
 * traffic to the backups: the request queues for it instead.  pk->backup
 * is left naming the tier the answer is about. */
enum pick_result pool_pick(struct pool *p, struct pick *pk, unsigned *out)
{
    for (int tier = 0; tier <= 1; tier++) {
        int i;
        pk->backup = tier;
        i = pick_in_tier(p, pk);
        if (i >= 0) {
            *out = (unsigned)i;
            return PICK_OK;
        }
        if (tier_alive(p, pk))
            return PICK_FULL;
    }
    return PICK_DOWN;
}

/* Publishes the verdict readers of usable_cache see; st->lock held. */
static void publish(struct server_state *st, uint64_t now)
{
    atomic_store_explicit(&st->usable_cache, health_usable(&st->h, now), memory_order_release);
}

int pool_done(struct pool *p, unsigned i, int ok, uint64_t now)
{
    struct server_state *st = p->servers[i].st;
    int changed;

    atomic_fetch_sub(&st->active, 1);
    if (!ok)
        atomic_fetch_add_explicit(&st->failures, 1, memory_order_relaxed);
    pthread_mutex_lock(&st->lock);
    changed = health_request_result(&st->h, &p->hc, ok, now);
    publish(st, now);
    pthread_mutex_unlock(&st->lock);
    return changed;
}

int pool_check_result(struct pool *p, unsigned i, int ok, uint64_t now)
{
    struct server_state *st = p->servers[i].st;
    int changed = -1;

    pthread_mutex_lock(&st->lock);
    if (st->checked_by == p) {
        changed = health_check_result(&st->h, &p->hc, ok, now);
        publish(st, now);
    }
    pthread_mutex_unlock(&st->lock);
    return changed;
}

void pool_adopt(struct pool_set *ps, uint64_t now)
{
    for (unsigned k = 0; k < ps->n; k++) {
        struct pool *p = &ps->p[k];
        for (unsigned i = 0; i < p->nservers; i++) {
            struct server_state *st = p->servers[i].st;
            int checked = p->check.enabled && !p->servers[i].root;
            pthread_mutex_lock(&st->lock);
            st->checked_by = checked ? p : NULL;
            if (!checked)
                health_checks_ended(&st->h, now);
            publish(st, now);
            pthread_mutex_unlock(&st->lock);
        }
    }
}

int pool_by_cookie(const struct pool *p, const char *value, size_t len)
{
    if (!value || len != sizeof(p->servers[0].cookie) - 1)
        return -1;
    for (unsigned i = 0; i < p->nservers; i++)
        if (memcmp(p->servers[i].cookie, value, len) == 0)
            return (int)i;
    return -1;
}
