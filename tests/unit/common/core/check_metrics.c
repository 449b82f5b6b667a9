/* check_metrics.c — the metrics registry and its text format (metrics.h),
 * the top tables (top.h), and the man page generated from README.md
 * holding every setting of the core's key tables. */
#include "config.h"
#include "metrics.h"
#include "suites.h"
#include "top.h"
#include "util.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(labels_are_escaped)
{
    char l[128];

    metrics_labels(l, sizeof(l), "a", "x\"y", "b", "back\\slash", "c", "new\nline", NULL);
    ck_assert_str_eq(l, "a=\"x\\\"y\",b=\"back\\\\slash\",c=\"new\\nline\"");
}
END_TEST

static void *count_in_shard(void *arg)
{
    struct metric_counter *c = metrics_counter("unit_test_total", "A test counter.", "k=\"v\"");

    metrics_set_shard((unsigned)(uintptr_t)arg);
    for (int i = 0; i < 100000; i++)
        metric_inc(c);
    return NULL;
}

START_TEST(counters_sum_their_shards)
{
    pthread_t t[4];
    struct metric_counter *c = metrics_counter("unit_test_total", "A test counter.", "k=\"v\"");

    ck_assert_ptr_eq(c, metrics_counter("unit_test_total", "ignored", "k=\"v\""));
    ck_assert_ptr_ne(c, metrics_counter("unit_test_total", "A test counter.", "k=\"w\""));
    ck_assert_ptr_null(metrics_hist("unit_test_total", "another type", "k=\"v\""));
    for (unsigned i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, count_in_shard, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(metric_value(c), 400000);
}
END_TEST

START_TEST(histograms_write_cumulative_buckets)
{
    struct metric_hist *h = metrics_hist("unit_seconds", "A test histogram.", "p=\"a\"");
    struct text o = {0};
    uint64_t b[METRICS_BUCKETS + 1];

    metric_observe(h, 500);     /* 0.5 ms: le=0.001 */
    metric_observe(h, 3000);    /* 3 ms: le=0.005 */
    metric_observe(h, 3000);
    metric_observe(h, 20000000); /* 20 s: +Inf only */
    metrics_write(&o);
    ck_assert_ptr_nonnull(strstr(o.p, "# TYPE unit_seconds histogram\n"));
    ck_assert_ptr_nonnull(strstr(o.p, "unit_seconds_bucket{p=\"a\",le=\"0.001\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(o.p, "unit_seconds_bucket{p=\"a\",le=\"0.0025\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(o.p, "unit_seconds_bucket{p=\"a\",le=\"0.005\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(o.p, "unit_seconds_bucket{p=\"a\",le=\"10\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(o.p, "unit_seconds_bucket{p=\"a\",le=\"+Inf\"} 4\n"));
    ck_assert_ptr_nonnull(strstr(o.p, "unit_seconds_sum{p=\"a\"} 20.006500\n"));
    ck_assert_ptr_nonnull(strstr(o.p, "unit_seconds_count{p=\"a\"} 4\n"));
    /* one HELP and TYPE per family */
    ck_assert_ptr_null(strstr(strstr(o.p, "# TYPE unit_seconds") + 1, "# TYPE unit_seconds "));
    free(o.p);
    metric_hist_buckets(h, b);
    ck_assert_double_le(metrics_quantile(b, 0.5), 0.005);
    ck_assert_double_gt(metrics_quantile(b, 0.5), 0.0025);
    ck_assert_double_eq(metrics_quantile(b, 1.0), 10);
}
END_TEST

static int found_heavy;
static void look(void *arg, const char *title, const char *unit, const struct top_row *rows,
                 unsigned n)
{
    (void)arg;
    if (strcmp(title, "unit top") != 0)
        return;
    ck_assert_str_eq(unit, "bytes");
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(rows[0].key, "heavy");
    ck_assert_uint_eq(rows[0].v, 1000001);
    found_heavy = 1;
}

START_TEST(top_keeps_the_heavy_key)
{
    struct top *t = top_get("unit top", "bytes");
    char key[32];

    top_add(t, "heavy", 1000000);
    for (int i = 0; i < 5 * TOP_SLOTS; i++) {
        snprintf(key, sizeof(key), "light-%d", i);
        top_add(t, key, 10);
    }
    top_add(t, "heavy", 1);
    ck_assert_ptr_eq(t, top_get("unit top", "ignored"));
    top_each(3, look, NULL);
    ck_assert_int_eq(found_heavy, 1);
}
END_TEST

/* The man page is generated from README.md at build time: every key of
 * the core's tables, and of a listener, is in it. */
START_TEST(man_page_has_every_core_setting)
{
    static const char *const listener[] = {"name", "mode", "listen", "proxy_protocol", "tls",
                                           "metrics_path", "dashboard_path", "metrics_allow",
                                           "status_path", "routes", "policy", NULL};
    FILE *f = fopen(getenv("GH_MAN") ? getenv("GH_MAN") : "build/man/gatehouse.conf.5", "r");
    static char page[1 << 20];
    size_t n;
    char want[128];

    ck_assert_msg(f != NULL, "the man page (GH_MAN, else build/man/gatehouse.conf.5) is missing: run make");
    n = fread(page, 1, sizeof(page) - 1, f);
    fclose(f);
    page[n] = '\0';
    for (unsigned i = 0; config_core_sections[i]; i++)
        for (const struct config_key *k = config_core_sections[i]->keys; k->name; k++) {
            snprintf(want, sizeof(want), "\\fB%s\\fR", k->name);
            ck_assert_msg(strstr(page, want) != NULL, "gatehouse.conf(5) lacks %s", k->name);
        }
    for (unsigned i = 0; listener[i]; i++) {
        snprintf(want, sizeof(want), "\\fB%s\\fR", listener[i]);
        ck_assert_msg(strstr(page, want) != NULL, "gatehouse.conf(5) lacks %s", listener[i]);
    }
    ck_assert_ptr_nonnull(strstr(page, ".TH GATEHOUSE.CONF 5"));
}
END_TEST

Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");

    tcase_add_test(tc, labels_are_escaped);
    tcase_add_test(tc, counters_sum_their_shards);
    tcase_add_test(tc, histograms_write_cumulative_buckets);
    tcase_add_test(tc, top_keeps_the_heavy_key);
    tcase_add_test(tc, man_page_has_every_core_setting);
    suite_add_tcase(s, tc);
    return s;
}
