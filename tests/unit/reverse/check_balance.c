/* check_balance.c — how a pool shares out requests: each balancer's
 * proportions, consistent hashing's remapping, least-connections under
 * skew, the primary/backup tiers, max_conns, sticky servers, and picks
 * racing on several threads.  Pools are built by hand, as pool.c would. */
#include "balance.h"
#include "pool.h"
#include "suites.h"
#include "util.h"

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 100000u /* a monotonic clock reading, ms */

/* A pool of n servers named 10.0.0.<i>:8080 with these weights (NULL: 1)
 * and backup flags (NULL: none), balanced by `bal`, its checks in force. */
static struct pool *mkpool(const char *bal, unsigned n, const unsigned *weight, const int *backup)
{
    static unsigned made;
    struct pool *p = xcalloc(1, sizeof(*p));
    char label[64];

    gh_fmt(label, sizeof(label), "test-%u", made++); /* a state of its own */
    p->name = xstrdup(label);
    p->st = pool_state_pool(p->name);
    p->nservers = n;
    p->servers = xcalloc(n, sizeof(*p->servers));
    p->hc = (struct health_conf){.rise = 2, .fall = 3, .max_fails = 0, .fail_timeout_ms = 10000};
    for (unsigned i = 0; i < n; i++) {
        struct server *sv = &p->servers[i];
        gh_fmt(label, sizeof(label), "10.0.0.%u:8080", i + 1);
        sv->label = xstrdup(label);
        sv->weight = weight ? weight[i] : 1;
        sv->backup = backup ? backup[i] : 0;
        gh_fmt(sv->cookie, sizeof(sv->cookie), "%016llx",
               (unsigned long long)balance_hash_bytes(label, strlen(label)));
        sv->st = pool_state_server(p->name, label, 0);
        p->nprimary += !sv->backup;
    }
    p->bal = balancer_find(bal);
    ck_assert_ptr_nonnull(p->bal);
    p->bal_state = p->bal->init(p);
    /* checked and serving, as after reverse.c's activation */
    p->check.enabled = 1;
    pool_adopt(&(struct pool_set){.p = p, .n = 1}, T0);
    return p;
}

static void freepool(struct pool *p)
{
    p->bal->free(p->bal_state);
    for (unsigned i = 0; i < p->nservers; i++) {
        pool_state_server_put(p->servers[i].st);
        free(p->servers[i].label);
    }
    pool_state_pool_put(p->st);
    free(p->servers);
    free(p->name);
    free(p);
}

/* The measured proportions, printed when GH_TEST_VERBOSE is set. */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;

    if (!getenv("GH_TEST_VERBOSE"))
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Takes server i down with `fall` failed checks. */
static void take_down(struct pool *p, unsigned i)
{
    for (unsigned k = 0; k < p->hc.fall; k++)
        pool_check_result(p, i, 0, T0);
}

/* One pick as the front-end makes it; -1 unless PICK_OK. */
static int pick1(struct pool *p, struct pick *pk, uint32_t *rng)
{
    unsigned i;

    pk->now = T0;
    pk->rnd = xorshift(rng);
    return pool_pick(p, pk, &i) == PICK_OK ? (int)i : -1;
}

/* n picks with `window` requests in flight: each request ends (pool_done)
 * `window` picks after it began (0: before the next one), so least_conn
 * and p2c see real counts. */
static void simulate(struct pool *p, unsigned n, unsigned window, unsigned *count)
{
    unsigned fifo[64], head = 0, len = 0;
    uint32_t rng = 12345;

    ck_assert_uint_lt(window, GH_ARRAY_LEN(fifo));
    for (unsigned k = 0; k < n; k++) {
        struct pick pk = {0};
        int i = pick1(p, &pk, &rng);
        ck_assert_int_ge(i, 0);
        count[i]++;
        fifo[(head + len++) % GH_ARRAY_LEN(fifo)] = (unsigned)i;
        for (; len > window; len--, head = (head + 1) % GH_ARRAY_LEN(fifo))
            pool_done(p, fifo[head], 1, T0);
    }
    for (; len; len--, head = (head + 1) % GH_ARRAY_LEN(fifo))
        pool_done(p, fifo[head], 1, T0);
}

/* Each server's share of 10,000 picks is its weight's share, within 5%
 * of it (relative). */
static void assert_shares(const char *bal, const unsigned *count, const unsigned *weight,
                          unsigned n, unsigned total)
{
    unsigned wsum = 0;

    for (unsigned i = 0; i < n; i++)
        wsum += weight[i];
    for (unsigned i = 0; i < n; i++) {
        double want = (double)total * weight[i] / wsum;
        note("  %s: server %u (weight %u): %u picks, %.1f%% (want %.1f%%)\n", bal, i, weight[i],
             count[i], 100.0 * count[i] / total, 100.0 * want / total);
        ck_assert_msg(count[i] >= want * 0.95 && count[i] <= want * 1.05,
                      "%s: server %u got %u of %u, want %.0f", bal, i, count[i], total, want);
    }
}

static const unsigned w123[] = {1, 2, 3};

START_TEST(round_robin_exact)
{
    struct pool *p = mkpool("round_robin", 3, w123, NULL);
    unsigned count[3] = {0};
    uint32_t rng = 1;

    simulate(p, 10000, 0, count);
    assert_shares("round_robin", count, w123, 3, 10000);
    for (unsigned i = 0; i < 3; i++) /* exactly proportional: 1667 3333 5000 */
        ck_assert_int_le(abs((int)count[i] * 6 - 10000 * (int)w123[i]), 6);
    freepool(p);

    /* Smooth: 5:1:1 spreads the heavy server out (a a b a c a a, not
     * a a a a a b c): after any number of picks, every server is less than
     * one pick away from its exact share. */
    const unsigned w511[] = {5, 1, 1};
    const int first[] = {0, 0, 1, 0, 2, 0, 0};
    unsigned got[3] = {0};
    p = mkpool("round_robin", 3, w511, NULL);
    for (unsigned k = 1; k <= 70; k++) {
        struct pick pk = {0};
        int i = pick1(p, &pk, &rng);
        if (k <= GH_ARRAY_LEN(first))
            ck_assert_int_eq(i, first[k - 1]);
        got[i]++;
        for (unsigned s = 0; s < 3; s++)
            ck_assert_int_lt(abs((int)(got[s] * 7) - (int)(k * w511[s])), 7);
        pool_done(p, (unsigned)i, 1, T0);
    }
    freepool(p);
}
END_TEST

/* Weights hold on a busy pool (30 requests in flight) and on a quiet one
 * (each request over before the next), where every server is idle. */
START_TEST(least_conn_and_p2c_weights)
{
    const char *bal[] = {"least_conn", "p2c"};
    const unsigned window[] = {30, 0};
    char name[64];

    for (unsigned b = 0; b < 2; b++) {
        for (unsigned w = 0; w < 2; w++) {
            struct pool *p = mkpool(bal[b], 3, w123, NULL);
            unsigned count[3] = {0};
            simulate(p, 10000, window[w], count);
            gh_fmt(name, sizeof(name), "%s, %u in flight", bal[b], window[w]);
            assert_shares(name, count, w123, 3, 10000);
            for (unsigned i = 0; i < 3; i++)
                ck_assert_uint_eq(atomic_load(&p->servers[i].st->active), 0);
            freepool(p);
        }
    }
}
END_TEST

/* Keys spread over the ring by weight: 10,000 client keys.  (The ring is
 * fixed by the labels; over many label sets a share strays ~2% from its
 * weight's, see balance_hash.c.) */
START_TEST(hash_weights)
{
    struct pool *p = mkpool("hash", 3, w123, NULL);
    unsigned count[3] = {0};
    uint32_t rng = 7;

    for (unsigned k = 0; k < 10000; k++) {
        char key[32];
        struct pick pk = {.has_key = 1};
        pk.key = balance_hash_bytes(key, gh_fmt(key, sizeof(key), "198.51.100.%u:%u", k % 250, k));
        int i = pick1(p, &pk, &rng);
        ck_assert_int_ge(i, 0);
        count[i]++;
        pool_done(p, (unsigned)i, 1, T0);
    }
    assert_shares("hash", count, w123, 3, 10000);
    freepool(p);
}
END_TEST

/* Where 10,000 keys go, with server `gone` (-1: none) out of the pool:
 * taken down by its health checks, or skipped as already tried. */
static void map_keys(struct pool *p, int *where, int gone, int by_skip)
{
    uint8_t skip[16] = {0};
    uint32_t rng = 9;

    if (gone >= 0 && by_skip)
        skip[gone] = 1;
    else if (gone >= 0)
        take_down(p, (unsigned)gone);
    for (unsigned k = 0; k < 10000; k++) {
        char key[32];
        struct pick pk = {.has_key = 1, .skip = skip};
        pk.key = balance_hash_bytes(key, gh_fmt(key, sizeof(key), "/item/%u", k));
        where[k] = pick1(p, &pk, &rng);
        ck_assert_int_ge(where[k], 0);
        ck_assert_int_ne(where[k], gone);
        pool_done(p, (unsigned)where[k], 1, T0);
    }
}

START_TEST(hash_remap_on_removal)
{
    static int before[10000], after[10000];
    const unsigned sizes[] = {5, 10};

    for (unsigned s = 0; s < 2; s++) {
        unsigned n = sizes[s], moved = 0, gone = 2;
        struct pool *p = mkpool("hash", n, NULL, NULL);
        map_keys(p, before, -1, 0);
        map_keys(p, after, (int)gone, s == 1);
        for (unsigned k = 0; k < 10000; k++) {
            if (before[k] != (int)gone)
                ck_assert_int_eq(after[k], before[k]); /* the others' keys stay put */
            moved += after[k] != before[k];
        }
        note(
            "  hash: %u servers, one removed (%s): %u of 10000 keys moved (%.1f%%, 1/n = %.1f%%)\n",
            n, s == 1 ? "skip" : "health", moved, moved / 100.0, 100.0 / n);
        ck_assert_uint_ge(moved, 10000 / n - 500);
        ck_assert_uint_le(moved, 10000 / n + 500);
        freepool(p);
    }
}
END_TEST

/* A server holding many connections gets no new picks until it drains. */
START_TEST(least_conn_skew)
{
    const char *bal[] = {"least_conn", "p2c"};

    for (unsigned b = 0; b < 2; b++) {
        struct pool *p = mkpool(bal[b], 3, NULL, NULL);
        unsigned count[3] = {0};
        uint32_t rng = 3;
        atomic_store(&p->servers[0].st->active, 20); /* 20 slow requests in flight */
        for (unsigned k = 0; k < 30; k++) {      /* these stay in flight too */
            struct pick pk = {0};
            count[pick1(p, &pk, &rng)]++;
        }
        ck_assert_uint_eq(count[0], 0);
        ck_assert_uint_le(count[1], 20);
        ck_assert_uint_le(count[2], 20);
        if (b == 0) /* least_conn fills both evenly */
            ck_assert(count[1] == 15 && count[2] == 15);
        atomic_store(&p->servers[0].st->active, 0); /* the slow ones finish */
        count[0] = 0;
        for (unsigned k = 0; k < 30; k++) {
            struct pick pk = {0};
            int i = pick1(p, &pk, &rng);
            if (b == 0 && k < 15) /* least_conn: all of them until it catches up */
                ck_assert_int_eq(i, 0);
            count[0] += i == 0;
        }
        /* p2c: each time it is one of the two drawn, 2/3 of the picks. */
        note("  %s: 30 picks after draining, %u to the drained server\n", bal[b], count[0]);
        ck_assert_uint_ge(count[0], 15);
        freepool(p);
    }
}
END_TEST

START_TEST(down_never_picked_and_backups)
{
    const char *bal[] = {"round_robin", "least_conn", "p2c", "hash"};
    const int backup[] = {0, 0, 0, 1};

    for (unsigned b = 0; b < GH_ARRAY_LEN(bal); b++) {
        struct pool *p = mkpool(bal[b], 4, NULL, backup);
        unsigned count[4] = {0};
        uint32_t rng = 5;
        unsigned out;
        take_down(p, 1);
        for (unsigned k = 0; k < 3000; k++) {
            struct pick pk = {.has_key = k & 1, .key = k * 0x9e3779b97f4a7c15ull};
            int i = pick1(p, &pk, &rng);
            ck_assert_int_ge(i, 0);
            count[i]++;
            pool_done(p, (unsigned)i, 1, T0);
        }
        ck_assert_msg(count[1] == 0 && count[3] == 0, "%s: down %u, backup %u", bal[b], count[1],
                      count[3]);
        ck_assert_uint_gt(count[0], 0);
        ck_assert_uint_gt(count[2], 0);
        /* Every primary down: the backup takes over; then nothing is left. */
        take_down(p, 0);
        take_down(p, 2);
        struct pick pk = {.now = T0};
        ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
        ck_assert_uint_eq(out, 3);
        pool_done(p, out, 1, T0);
        take_down(p, 3);
        ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_DOWN);
        /* rise good checks bring a primary back, and the backup is idle again. */
        pool_check_result(p, 2, 1, T0);
        ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_DOWN);
        pool_check_result(p, 2, 1, T0);
        ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
        ck_assert_uint_eq(out, 2);
        pool_done(p, out, 1, T0);
        freepool(p);
    }
}
END_TEST

START_TEST(full_at_max_conns)
{
    const int backup[] = {0, 0, 1};
    struct pool *p = mkpool("round_robin", 3, NULL, backup);
    struct pick pk = {.now = T0};
    unsigned out, n[3] = {0};

    p->servers[0].max_conns = 2;
    p->servers[1].max_conns = 1;
    for (unsigned k = 0; k < 3; k++) {
        ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
        n[out]++;
    }
    ck_assert_uint_eq(n[0], 2);
    ck_assert_uint_eq(n[1], 1);
    /* Full primaries queue the request; the idle backup is not used. */
    ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_FULL);
    pool_done(p, 1, 1, T0);
    ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
    ck_assert_uint_eq(out, 1);
    ck_assert_uint_eq(atomic_load(&p->servers[1].st->requests), 2);
    /* A retry that already tried the primaries goes to the backup. */
    uint8_t skip[3] = {1, 1, 0};
    pk.skip = skip;
    ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
    ck_assert_uint_eq(out, 2);
    freepool(p);
}
END_TEST

START_TEST(sticky_prefer)
{
    struct pool *p = mkpool("round_robin", 3, NULL, NULL);
    int s = pool_by_cookie(p, p->servers[2].cookie, 16);
    unsigned out;

    ck_assert_int_eq(s, 2);
    ck_assert_int_eq(pool_by_cookie(p, "0123456789abcdef", 16), -1);
    ck_assert_int_eq(pool_by_cookie(p, p->servers[2].cookie, 15), -1);
    for (unsigned k = 0; k < 10; k++) {
        struct pick pk = {.now = T0, .prefer = 1 + s};
        ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
        ck_assert_uint_eq(out, 2);
        pool_done(p, out, 1, T0);
    }
    take_down(p, 2); /* the sticky server is down: balanced as usual */
    for (unsigned k = 0; k < 10; k++) {
        struct pick pk = {.now = T0, .prefer = 1 + s};
        ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
        ck_assert_uint_ne(out, 2);
        pool_done(p, out, 1, T0);
    }
    freepool(p);
}
END_TEST

/* Passive ejection seen from the pool: max_fails failed requests take a
 * server out for fail_timeout; then it is tried again. */
START_TEST(passive_ejection_through_pool)
{
    struct pool *p = mkpool("round_robin", 2, NULL, NULL);
    struct pick pk = {.now = T0};
    unsigned out;

    p->hc.max_fails = 2;
    p->hc.fail_timeout_ms = 5000;
    pk.prefer = 1; /* both requests to server 0, and both fail */
    ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
    ck_assert_int_eq(pool_done(p, out, 0, T0), 0);
    ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
    ck_assert_int_eq(pool_done(p, out, 0, T0), 1); /* ejected */
    ck_assert_uint_eq(atomic_load(&p->servers[0].st->failures), 2);
    for (unsigned k = 0; k < 5; k++) {
        pk.now = T0 + 4999;
        ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
        ck_assert_uint_eq(out, 1);
        pool_done(p, out, 1, pk.now);
    }
    /* The rest is over: one more failure ejects it again at once. */
    pk.now = T0 + 5000;
    ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
    ck_assert_uint_eq(out, 0);
    ck_assert_int_eq(pool_done(p, out, 0, pk.now), 1);
    ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
    ck_assert_uint_eq(out, 1);
    pool_done(p, out, 1, pk.now);
    /* After the second rest, a success readmits it. */
    pk.now = T0 + 10000;
    ck_assert_int_eq(pool_pick(p, &pk, &out), PICK_OK);
    ck_assert_uint_eq(out, 0);
    ck_assert_int_eq(pool_done(p, out, 1, pk.now), 1);
    ck_assert_int_eq(atomic_load(&p->servers[0].st->usable_cache), 1);
    freepool(p);
}
END_TEST

/* Threads picking at once from a pool whose servers take 2 and 1
 * connections; each holds its server a moment, counting who is inside. */
struct race {
    struct pool *p;
    atomic_uint inflight[2], peak[2], ok, full;
    pthread_barrier_t all_picked;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    uint32_t rng = (uint32_t)(uintptr_t)&rng | 1;
    struct pick first = {.now = T0, .rnd = xorshift(&rng)};
    unsigned held;

    /* First every thread picks, and none gives its server back before all
     * have: four picks for three slots, so the limits are met at least
     * once whatever the scheduler does (they were not, one run in thirty,
     * when the threads happened to take turns). */
    if (pool_pick(r->p, &first, &held) == PICK_OK) {
        atomic_fetch_add(&r->ok, 1);
        pthread_barrier_wait(&r->all_picked);
        pool_done(r->p, held, 1, T0);
    } else {
        atomic_fetch_add(&r->full, 1);
        pthread_barrier_wait(&r->all_picked);
    }
    for (unsigned k = 1; k < 20000; k++) {
        struct pick pk = {.now = T0, .rnd = xorshift(&rng), .has_key = 1, .key = xorshift(&rng)};
        unsigned out, now_in, peak;
        if (pool_pick(r->p, &pk, &out) != PICK_OK) {
            atomic_fetch_add(&r->full, 1);
            continue;
        }
        atomic_fetch_add(&r->ok, 1);
        now_in = atomic_fetch_add(&r->inflight[out], 1) + 1;
        peak = atomic_load(&r->peak[out]);
        while (now_in > peak && !atomic_compare_exchange_weak(&r->peak[out], &peak, now_in))
            ;
        if (k % 4 == 0)
            sched_yield();
        atomic_fetch_sub(&r->inflight[out], 1);
        pool_done(r->p, out, 1, T0);
    }
    return NULL;
}

START_TEST(max_conns_under_threads)
{
    const char *bal[] = {"round_robin", "least_conn", "p2c", "hash"};
    static struct race r;
    pthread_t t[4];

    for (unsigned b = 0; b < GH_ARRAY_LEN(bal); b++) {
        memset(&r, 0, sizeof(r));
        ck_assert_int_eq(pthread_barrier_init(&r.all_picked, NULL, 4), 0);
        r.p = mkpool(bal[b], 2, NULL, NULL);
        r.p->servers[0].max_conns = 2;
        r.p->servers[1].max_conns = 1;
        for (unsigned i = 0; i < 4; i++)
            ck_assert_int_eq(pthread_create(&t[i], NULL, racer, &r), 0);
        for (unsigned i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        unsigned ok = atomic_load(&r.ok), full = atomic_load(&r.full);
        unsigned peak0 = atomic_load(&r.peak[0]), peak1 = atomic_load(&r.peak[1]);
        note("  %s, max_conns 2 and 1, 4 threads: %u picks, %u full, peaks %u and %u\n", bal[b], ok,
             full, peak0, peak1);
        ck_assert_uint_le(peak0, 2);
        ck_assert_uint_le(peak1, 1);
        ck_assert_uint_eq(ok + full, 80000);
        ck_assert_uint_gt(full, 0); /* the limits were really contended */
        for (unsigned i = 0; i < 2; i++)
            ck_assert_uint_eq(atomic_load(&r.p->servers[i].st->active), 0);
        ck_assert_uint_eq(
            atomic_load(&r.p->servers[0].st->requests) + atomic_load(&r.p->servers[1].st->requests), ok);
        freepool(r.p);
        pthread_barrier_destroy(&r.all_picked);
    }
}
END_TEST

START_TEST(names_and_hash)
{
    unsigned bucket[16] = {0};

    ck_assert_ptr_eq(balancer_find("round_robin"), &balance_round_robin);
    ck_assert_ptr_eq(balancer_find("least_conn"), &balance_least_conn);
    ck_assert_ptr_eq(balancer_find("least-conn"), &balance_least_conn);
    ck_assert_ptr_eq(balancer_find("p2c"), &balance_p2c);
    ck_assert_ptr_eq(balancer_find("hash"), &balance_hash);
    ck_assert_ptr_null(balancer_find("random"));
    ck_assert_ptr_null(balancer_find("hash2"));
    /* Similar keys spread evenly over the top bits (what the ring sees). */
    for (unsigned k = 0; k < 16000; k++) {
        char key[16];
        bucket[balance_hash_bytes(key, gh_fmt(key, sizeof(key), "k%u", k)) >> 60]++;
    }
    for (unsigned i = 0; i < 16; i++)
        ck_assert_msg(bucket[i] > 900 && bucket[i] < 1100, "bucket %u: %u", i, bucket[i]);
    ck_assert_uint_ne(balance_hash_bytes("a", 1), balance_hash_bytes("b", 1));
    ck_assert_uint_ne(balance_hash_bytes("", 0), balance_hash_bytes("\0", 1));
}
END_TEST

Suite *balance_suite(void)
{
    Suite *s = suite_create("balance");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, round_robin_exact);
    tcase_add_test(tc, least_conn_and_p2c_weights);
    tcase_add_test(tc, hash_weights);
    tcase_add_test(tc, hash_remap_on_removal);
    tcase_add_test(tc, least_conn_skew);
    tcase_add_test(tc, down_never_picked_and_backups);
    tcase_add_test(tc, full_at_max_conns);
    tcase_add_test(tc, sticky_prefer);
    tcase_add_test(tc, passive_ejection_through_pool);
    tcase_add_test(tc, max_conns_under_threads);
    tcase_add_test(tc, names_and_hash);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
