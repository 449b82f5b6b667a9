/* check_keytab.c — the shared key table: entries made and found, the
 * least recently seen evicted first, pinned entries kept, removal, exact
 * counts from several threads at once, and a million distinct keys held
 * in under 64 MB of resident memory. */
#include "keytab.h"
#include "suites.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static long add(uint64_t v[2], int fresh, void *arg)
{
    v[0] += (uint64_t)(long)arg;
    return fresh ? -(long)v[0] : (long)v[0];
}

static long get(uint64_t v[2], int fresh, void *arg)
{
    (void)fresh;
    (void)arg;
    return (long)v[0];
}

START_TEST(made_found_removed)
{
    struct keytab *t = keytab_new(1000, NULL);
    struct keytab_stats st;

    ck_assert_int_eq(keytab_with(t, 42, add, (void *)1, -99), -1); /* fresh */
    ck_assert_int_eq(keytab_with(t, 42, add, (void *)2, -99), 3);
    ck_assert_int_eq(keytab_peek(t, 42, get, NULL, -7), 3);
    ck_assert_int_eq(keytab_peek(t, 43, get, NULL, -7), -7);
    ck_assert_int_eq(keytab_remove(t, 42), 1);
    ck_assert_int_eq(keytab_remove(t, 42), 0);
    ck_assert_int_eq(keytab_peek(t, 42, get, NULL, -7), -7);
    ck_assert_int_eq(keytab_with(t, 42, add, (void *)5, -99), -5); /* made again, zeroed */
    keytab_stats(t, &st);
    ck_assert_uint_eq(st.keys, 1);
    ck_assert_uint_eq(st.evicted, 0);
    ck_assert_uint_ge(st.capacity, 1000);
    keytab_free(t);
}
END_TEST

/* Keys below 2^58 all fall on shard 0, whose room is 16 entries in a
 * table this small. */
START_TEST(least_recently_seen_goes_first)
{
    struct keytab *t = keytab_new(0, NULL);
    struct keytab_stats st;

    for (uint64_t k = 1; k <= 16; k++)
        keytab_with(t, k, add, (void *)1, 0);
    keytab_with(t, 1, add, (void *)1, 0); /* 1 is seen again: 2 is the oldest */
    keytab_with(t, 17, add, (void *)1, 0);
    ck_assert_int_eq(keytab_peek(t, 2, get, NULL, -1), -1);
    ck_assert_int_eq(keytab_peek(t, 1, get, NULL, -1), 2);
    ck_assert_int_eq(keytab_peek(t, 3, get, NULL, -1), 1);
    keytab_with(t, 18, add, (void *)1, 0);
    ck_assert_int_eq(keytab_peek(t, 3, get, NULL, -1), -1);
    keytab_stats(t, &st);
    ck_assert_uint_eq(st.evicted, 2);
    ck_assert_uint_eq(st.keys, 16);
    keytab_free(t);
}
END_TEST

static int odd_pinned(const uint64_t v[2])
{
    return (int)(v[0] & 1);
}

START_TEST(pinned_entries_stay)
{
    struct keytab *t = keytab_new(0, odd_pinned);

    for (uint64_t k = 1; k <= 16; k++) /* odd counts: every entry pinned */
        keytab_with(t, k, add, (void *)1, 0);
    ck_assert_int_eq(keytab_with(t, 100, add, (void *)1, -42), -42); /* full */
    keytab_with(t, 5, add, (void *)1, 0); /* 5 holds 2 now: free to go */
    ck_assert_int_eq(keytab_with(t, 100, add, (void *)1, -42), -1);
    ck_assert_int_eq(keytab_peek(t, 5, get, NULL, -1), -1);
    for (uint64_t k = 1; k <= 16; k++)
        if (k != 5)
            ck_assert_int_eq(keytab_peek(t, k, get, NULL, -1), 1);
    keytab_free(t);
}
END_TEST

static struct keytab *shared;

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++)
        keytab_with(shared, keytab_hash("n", &(int){i % 100}, sizeof(int)), add, (void *)1, 0);
    return NULL;
}

START_TEST(threads_count_exactly)
{
    pthread_t th[4];
    long total = 0;

    shared = keytab_new(1000, NULL);
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int k = 0; k < 100; k++) {
        long n = keytab_peek(shared, keytab_hash("n", &k, sizeof(k)), get, NULL, -1);
        ck_assert_int_eq(n, 4000);
        total += n;
    }
    ck_assert_int_eq(total, 400000);
    keytab_free(shared);
}
END_TEST

START_TEST(namespaces_apart)
{
    ck_assert(keytab_hash("a", "x", 1) != keytab_hash("b", "x", 1));
    ck_assert(keytab_hash("a", "x", 1) == keytab_hash("a", "x", 1));
    ck_assert(keytab_hash("", "ab", 2) != keytab_hash("", "ab\0", 3));
}
END_TEST

static long rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The bound: at least a million tracked keys in at most 64 MB. */
START_TEST(a_million_keys_in_64_mb)
{
    long before = rss_kb(), after;
    struct keytab *t = keytab_new(1000000, NULL);
    struct keytab_stats st;

    for (uint32_t i = 0; i < 1000000; i++)
        keytab_with(t, keytab_hash("client", &i, sizeof(i)), add, (void *)1, 0);
    after = rss_kb();
    keytab_stats(t, &st);
    printf("keytab: 1,000,000 keys held %llu, evicted %llu, table %llu bytes, resident +%ld KiB\n",
           (unsigned long long)st.keys, (unsigned long long)st.evicted,
           (unsigned long long)st.bytes, after - before);
    ck_assert_uint_eq(st.keys, 1000000);
    ck_assert_uint_eq(st.evicted, 0);
    ck_assert_uint_le(st.bytes, 64u << 20);
    ck_assert_int_le(after - before, 64 * 1024);
    keytab_free(t);
}
END_TEST

Suite *keytab_suite(void)
{
    Suite *s = suite_create("keytab");
    TCase *tc = tcase_create("keytab");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, made_found_removed);
    tcase_add_test(tc, least_recently_seen_goes_first);
    tcase_add_test(tc, pinned_entries_stay);
    tcase_add_test(tc, threads_count_exactly);
    tcase_add_test(tc, namespaces_apart);
    tcase_add_test(tc, a_million_keys_in_64_mb);
    suite_add_tcase(s, tc);
    return s;
}
