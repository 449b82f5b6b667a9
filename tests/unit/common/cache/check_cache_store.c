/* check_cache_store.c — the memory tier's S3-FIFO (cache_s3fifo): a one-off
 * scan does not flush a small hot set (where plain LRU does), the ghost
 * queue readmits returning objects to main, the byte limit holds, and
 * referenced objects outlive eviction, removal and replacement until
 * released; every value is freed exactly once, also under threads. */
#include "cache_key.h"
#include "cache_s3fifo.h"
#include "suites.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC 0x5eedf00du

struct val {
    unsigned magic;
    int id;
};

/* What the callbacks saw. */
struct tracker {
    int freed, evicted;
};

static void on_free(void *arg, void *value)
{
    struct tracker *t = arg;
    struct val *v = value;

    ck_assert_uint_eq(v->magic, MAGIC);
    v->magic = 0;
    __atomic_add_fetch(&t->freed, 1, __ATOMIC_RELAXED);
    free(v);
}

static void on_evict(void *arg, const char *key, size_t keylen, void *value, uint64_t size)
{
    struct tracker *t = arg;
    struct val *v = value;

    ck_assert_uint_eq(v->magic, MAGIC);
    ck_assert_uint_eq(strlen(key), keylen);
    ck_assert_uint_gt(size, 0);
    __atomic_add_fetch(&t->evicted, 1, __ATOMIC_RELAXED);
}

static struct s3fifo *make(uint64_t limit, struct tracker *t)
{
    struct s3fifo_ops ops = {on_evict, on_free, t};

    memset(t, 0, sizeof(*t));
    return s3fifo_new(limit, &ops);
}

static struct val *new_val(int id)
{
    struct val *v = malloc(sizeof(*v));

    v->magic = MAGIC;
    v->id = id;
    return v;
}

/* Looks key up; on a miss inserts it with `size`.  Returns 1 on a hit. */
static int access_key(struct s3fifo *c, const char *key, int id, uint64_t size)
{
    size_t n = strlen(key);
    uint64_t h = cache_key_hash(key, n);
    struct s3fifo_entry *e = s3fifo_lookup(c, h, key, n);

    if (e) {
        ck_assert_int_eq(((struct val *)s3fifo_value(e))->id, id);
        s3fifo_release(c, e);
        return 1;
    }
    e = s3fifo_insert(c, h, key, n, new_val(id), size);
    ck_assert_ptr_nonnull(e);
    s3fifo_release(c, e);
    return 0;
}

static int present(struct s3fifo *c, const char *key)
{
    size_t n = strlen(key);
    struct s3fifo_entry *e = s3fifo_lookup(c, cache_key_hash(key, n), key, n);

    s3fifo_release(c, e);
    return e != NULL;
}

/* ---- scan resistance ---- */

#define CAP_OBJS 100
#define HOT 20
#define SCAN 5000
#define SCAN_PER_HOT 5

/* A textbook LRU of CAP_OBJS ids, to show the workload defeats it. */
static int lru_access(int *slots, int *n, int id)
{
    int i, hit = 0;

    for (i = 0; i < *n; i++)
        if (slots[i] == id) {
            hit = 1;
            break;
        }
    if (!hit && *n < CAP_OBJS)
        i = (*n)++;
    else if (!hit)
        i = CAP_OBJS - 1;
    memmove(slots + 1, slots, (size_t)i * sizeof(int));
    slots[0] = id;
    return hit;
}

START_TEST(scan_keeps_hot_set)
{
    struct tracker t;
    struct s3fifo *c = make(CAP_OBJS * 10, &t);
    int lru[CAP_OBJS], nlru = 0, i, r, hits = 0, lru_hits = 0, tries = 0;
    char key[32];

    for (r = 0; r < 3; r++)
        for (i = 0; i < HOT; i++) {
            snprintf(key, sizeof(key), "hot%d", i);
            access_key(c, key, i, 10);
            lru_access(lru, &nlru, i);
        }
    for (i = 0; i < SCAN; i++) {
        snprintf(key, sizeof(key), "scan%d", i);
        ck_assert_int_eq(access_key(c, key, 1000 + i, 10), 0);
        lru_access(lru, &nlru, 1000 + i);
        if (i % SCAN_PER_HOT == 0) {
            int h = (i / SCAN_PER_HOT) % HOT;

            snprintf(key, sizeof(key), "hot%d", h);
            hits += access_key(c, key, h, 10);
            lru_hits += lru_access(lru, &nlru, h);
            tries++;
        }
    }
    /* every hot object survived the scan ... */
    ck_assert_msg(hits * 100 >= tries * 95, "hot hit ratio %d/%d", hits, tries);
    for (i = 0; i < HOT; i++) {
        snprintf(key, sizeof(key), "hot%d", i);
        ck_assert_msg(present(c, key), "%s was evicted by the scan", key);
    }
    /* ... where LRU, re-seeing each hot object only every 120 accesses,
     * keeps almost none */
    ck_assert_msg(lru_hits * 100 < tries * 10, "LRU hit ratio %d/%d: the scan is too gentle",
                  lru_hits, tries);
    s3fifo_free(c);
    ck_assert_int_eq(t.freed, HOT + SCAN);
}
END_TEST

START_TEST(ghost_readmits_to_main)
{
    struct tracker t;
    struct s3fifo *c = make(100, &t);
    struct s3fifo_stats st;
    char key[32];
    int i;

    access_key(c, "g", 1, 10);
    for (i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "a%d", i);
        access_key(c, key, i, 10);
    }
    ck_assert(!present(c, "g"));
    /* back soon after leaving the small queue: straight into main ... */
    access_key(c, "g", 1, 10);
    s3fifo_stats(c, &st);
    ck_assert_uint_eq(st.ghost_hits, 1);
    ck_assert_uint_eq(st.main_bytes, 10);
    /* ... where a later one-off scan leaves it alone */
    for (i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "b%d", i);
        access_key(c, key, i, 10);
    }
    ck_assert(present(c, "g"));
    s3fifo_free(c);
}
END_TEST

/* ---- sizes ---- */

START_TEST(size_limit_holds)
{
    struct tracker t;
    struct s3fifo *c = make(5000, &t);
    struct s3fifo_stats st;
    unsigned seed = 12345;
    int i, inserts = 0;
    char key[32];
    struct val *big = new_val(-1);

    /* larger than the whole cache: refused, still the caller's */
    ck_assert_ptr_null(s3fifo_insert(c, 1, "big", 3, big, 5001));
    ck_assert_uint_eq(big->magic, MAGIC);
    free(big);
    for (i = 0; i < 4000; i++) {
        int id = (int)(rand_r(&seed) % 500);
        uint64_t size = 1 + rand_r(&seed) % 300;

        snprintf(key, sizeof(key), "k%d", id);
        if (!present(c, key)) {
            struct s3fifo_entry *e = s3fifo_insert(c, cache_key_hash(key, strlen(key)), key,
                                                   strlen(key), new_val(id), size);

            ck_assert_uint_eq(s3fifo_size(e), size);
            s3fifo_release(c, e);
            inserts++;
        }
        s3fifo_stats(c, &st);
        ck_assert_msg(st.bytes <= 5000, "%llu bytes held", (unsigned long long)st.bytes);
        ck_assert_uint_eq(st.bytes, st.small_bytes + st.main_bytes);
        ck_assert_uint_eq(st.pinned_bytes, 0);
    }
    ck_assert_uint_eq(st.inserts, (uint64_t)inserts);
    ck_assert_uint_eq(st.evictions, (uint64_t)(inserts - (int)st.entries));
    ck_assert_int_eq(t.evicted, (int)st.evictions);
    ck_assert_int_eq(t.freed, (int)st.evictions);
    ck_assert_uint_gt(st.bytes, 5000 - 300);
    /* shrinking evicts down to the new limit */
    s3fifo_set_limit(c, 1000);
    s3fifo_stats(c, &st);
    ck_assert_uint_le(st.bytes, 1000);
    ck_assert_uint_eq(st.limit, 1000);
    s3fifo_free(c);
    ck_assert_int_eq(t.freed, inserts);
}
END_TEST

/* ---- references ---- */

START_TEST(referenced_survives_eviction)
{
    struct tracker t;
    struct s3fifo *c = make(100, &t);
    struct s3fifo_entry *e = s3fifo_insert(c, cache_key_hash("a", 1), "a", 1, new_val(7), 50);
    struct s3fifo_stats st;
    size_t kl;

    ck_assert_ptr_nonnull(e);
    access_key(c, "b", 2, 50);
    access_key(c, "c", 3, 50); /* "a" leaves */
    ck_assert(!present(c, "a"));
    ck_assert_int_eq(t.evicted, 1);
    ck_assert_int_eq(t.freed, 0);
    s3fifo_stats(c, &st);
    ck_assert_uint_eq(st.pinned_bytes, 50);
    ck_assert_uint_le(st.bytes, 100);
    /* the reader still streams it */
    ck_assert_int_eq(((struct val *)s3fifo_value(e))->id, 7);
    ck_assert_str_eq(s3fifo_key(e, &kl), "a");
    ck_assert_uint_eq(kl, 1);
    s3fifo_release(c, e);
    ck_assert_int_eq(t.freed, 1);
    s3fifo_stats(c, &st);
    ck_assert_uint_eq(st.pinned_bytes, 0);
    s3fifo_free(c);
    ck_assert_int_eq(t.freed, 3);
}
END_TEST

START_TEST(referenced_survives_remove_and_replace)
{
    struct tracker t;
    struct s3fifo *c = make(1000, &t);
    uint64_t h = cache_key_hash("k", 1);
    struct s3fifo_entry *e, *old;

    s3fifo_release(c, s3fifo_insert(c, h, "k", 1, new_val(1), 10));
    old = s3fifo_lookup(c, h, "k", 1);
    s3fifo_release(c, s3fifo_insert(c, h, "k", 1, new_val(2), 10));
    e = s3fifo_lookup(c, h, "k", 1);
    ck_assert_int_eq(((struct val *)s3fifo_value(e))->id, 2);
    ck_assert_int_eq(((struct val *)s3fifo_value(old))->id, 1);
    ck_assert_int_eq(t.freed, 0);
    ck_assert_int_eq(t.evicted, 0); /* a replacement is not an eviction */
    s3fifo_release(c, old);
    ck_assert_int_eq(t.freed, 1);
    /* removal (PURGE): gone for lookups, alive for the holder */
    ck_assert_int_eq(s3fifo_remove(c, h, "k", 1), 1);
    ck_assert_int_eq(s3fifo_remove(c, h, "k", 1), 0);
    ck_assert_ptr_null(s3fifo_lookup(c, h, "k", 1));
    ck_assert_int_eq(((struct val *)s3fifo_value(e))->id, 2);
    ck_assert_int_eq(t.freed, 1);
    s3fifo_release(c, e);
    ck_assert_int_eq(t.freed, 2);
    s3fifo_free(c);
}
END_TEST

START_TEST(same_hash_other_key_misses)
{
    struct tracker t;
    struct s3fifo *c = make(1000, &t);

    s3fifo_release(c, s3fifo_insert(c, 42, "victim", 6, new_val(1), 10));
    ck_assert_ptr_null(s3fifo_lookup(c, 42, "attacker", 8));
    s3fifo_release(c, s3fifo_insert(c, 42, "attacker", 8, new_val(2), 10));
    {
        struct s3fifo_entry *e = s3fifo_lookup(c, 42, "victim", 6);

        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(((struct val *)s3fifo_value(e))->id, 1);
        s3fifo_release(c, e);
    }
    s3fifo_free(c);
    ck_assert_int_eq(t.freed, 2);
}
END_TEST

static int prefix_a(void *arg, const char *key, size_t keylen, void *value)
{
    size_t n = strlen(arg);

    (void)value;
    return keylen >= n && memcmp(key, arg, n) == 0;
}

START_TEST(remove_by_prefix)
{
    struct tracker t;
    struct s3fifo *c = make(1000, &t);

    access_key(c, "http://a/x/1", 1, 10);
    access_key(c, "http://a/x/2", 2, 10);
    access_key(c, "http://a/x/2", 2, 10); /* accessed: no matter */
    access_key(c, "http://a/y", 3, 10);
    ck_assert_uint_eq(s3fifo_remove_if(c, prefix_a, "http://a/x/"), 2);
    ck_assert(!present(c, "http://a/x/1") && !present(c, "http://a/x/2"));
    ck_assert(present(c, "http://a/y"));
    ck_assert_int_eq(t.freed, 2);
    ck_assert_int_eq(t.evicted, 0);
    s3fifo_free(c);
}
END_TEST

/* ---- threads ---- */

#define THREADS 4
#define OPS 20000

struct worker_arg {
    struct s3fifo *c;
    unsigned seed;
    int inserts;
};

static void *hammer(void *p)
{
    struct worker_arg *w = p;
    char key[32];
    int i;

    for (i = 0; i < OPS; i++) {
        int id = (int)(rand_r(&w->seed) % 300);
        size_t n = (size_t)snprintf(key, sizeof(key), "key-%d", id);
        uint64_t h = cache_key_hash(key, n);
        struct s3fifo_entry *e = s3fifo_lookup(w->c, h, key, n);

        if (!e) {
            e = s3fifo_insert(w->c, h, key, n, new_val(id), 1 + (uint64_t)(id % 20));
            w->inserts++;
        }
        if (((struct val *)s3fifo_value(e))->id != id ||
            ((struct val *)s3fifo_value(e))->magic != MAGIC)
            abort();
        s3fifo_release(w->c, e);
    }
    return NULL;
}

START_TEST(threads_share_safely)
{
    struct tracker t;
    struct s3fifo *c = make(1000, &t);
    struct worker_arg w[THREADS];
    pthread_t th[THREADS];
    struct s3fifo_stats st;
    int i, inserts = 0;

    for (i = 0; i < THREADS; i++) {
        w[i] = (struct worker_arg){c, (unsigned)i * 7919u + 1u, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        inserts += w[i].inserts;
    }
    s3fifo_stats(c, &st);
    ck_assert_uint_le(st.bytes, 1000);
    ck_assert_uint_eq(st.pinned_bytes, 0);
    ck_assert_uint_eq(st.hits + st.misses, (uint64_t)THREADS * OPS);
    s3fifo_free(c);
    ck_assert_int_eq(t.freed, inserts);
}
END_TEST

Suite *cache_store_suite(void)
{
    Suite *s = suite_create("cache_store");
    TCase *tc = tcase_create("s3fifo");

    tcase_add_test(tc, scan_keeps_hot_set);
    tcase_add_test(tc, ghost_readmits_to_main);
    tcase_add_test(tc, size_limit_holds);
    tcase_add_test(tc, referenced_survives_eviction);
    tcase_add_test(tc, referenced_survives_remove_and_replace);
    tcase_add_test(tc, same_hash_other_key_misses);
    tcase_add_test(tc, remove_by_prefix);
    tcase_add_test(tc, threads_share_safely);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
