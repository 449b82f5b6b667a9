/* check_apt.c — the apt profile's classification of archive paths. */
#include "apt.h"
#include "suites.h"

#include <libconfig.h>
#include <string.h>

static enum cache_class of(const char *path)
{
    return apt_classify(path, strlen(path));
}

START_TEST(archive_files_are_immutable)
{
    ck_assert_int_eq(of("/debian/pool/main/h/hello/hello_2.10-3_amd64.deb"), CACHE_CLASS_IMMUTABLE);
    ck_assert_int_eq(of("/debian/pool/main/d/d-i/foo_1.0_amd64.udeb"), CACHE_CLASS_IMMUTABLE);
    ck_assert_int_eq(of("/debian/pool/main/h/hello/hello_2.10-3.dsc"), CACHE_CLASS_IMMUTABLE);
    ck_assert_int_eq(of("/debian/pool/main/h/hello/hello_2.10.orig.tar.gz"), CACHE_CLASS_IMMUTABLE);
    ck_assert_int_eq(of("/debian/pool/main/h/hello/hello_2.10-3.debian.tar.xz"), CACHE_CLASS_IMMUTABLE);
    ck_assert_int_eq(of("/ubuntu/pool/main/h/hello/hello_2.9-2.diff.gz"), CACHE_CLASS_IMMUTABLE);
    ck_assert_int_eq(of("/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/0a1b2c"),
                     CACHE_CLASS_IMMUTABLE);
}
END_TEST

START_TEST(indexes_are_revalidated)
{
    ck_assert_int_eq(of("/debian/dists/bookworm/InRelease"), CACHE_CLASS_REVALIDATE);
    ck_assert_int_eq(of("/debian/dists/bookworm/Release"), CACHE_CLASS_REVALIDATE);
    ck_assert_int_eq(of("/debian/dists/bookworm/Release.gpg"), CACHE_CLASS_REVALIDATE);
    ck_assert_int_eq(of("/debian/dists/bookworm/main/binary-amd64/Packages.xz"), CACHE_CLASS_REVALIDATE);
    ck_assert_int_eq(of("/debian/dists/bookworm/main/source/Sources.gz"), CACHE_CLASS_REVALIDATE);
    ck_assert_int_eq(of("/debian/dists/bookworm/main/i18n/Translation-en.bz2"), CACHE_CLASS_REVALIDATE);
    ck_assert_int_eq(of("/debian/dists/bookworm/main/Contents-amd64.gz"), CACHE_CLASS_REVALIDATE);
    ck_assert_int_eq(of("/./Packages"), CACHE_CLASS_REVALIDATE);
}
END_TEST

START_TEST(other_paths_are_left_alone)
{
    ck_assert_int_eq(of("/"), CACHE_CLASS_DEFAULT);
    ck_assert_int_eq(of("/index.html"), CACHE_CLASS_DEFAULT);
    ck_assert_int_eq(of("/debian/README"), CACHE_CLASS_DEFAULT);
    ck_assert_int_eq(of("/Releases/notes.txt"), CACHE_CLASS_DEFAULT);
    ck_assert_int_eq(of("/a.debx"), CACHE_CLASS_DEFAULT);
    ck_assert_int_eq(of(""), CACHE_CLASS_DEFAULT);
}
END_TEST

START_TEST(mirror_list_limits_the_profile)
{
    struct cache_rules r = {.enabled = 1};
    struct apt_profile a = {.on = 1};
    char *m[] = {"deb.debian.org", NULL};

    ck_assert_ptr_eq(apt_rules_for(&a, &r, "anything.test", 13), &r);
    a.mirrors = m;
    a.nmirrors = 1;
    ck_assert_ptr_eq(apt_rules_for(&a, &r, "DEB.debian.org", 14), &r);
    ck_assert_ptr_null(apt_rules_for(&a, &r, "evil.test", 9));
    r.enabled = 0;
    ck_assert_ptr_null(apt_rules_for(&a, &r, "deb.debian.org", 14));
}
END_TEST

/* The policy's rules as loaded from `cache = ...;` and finished by the
 * profile; returns stale_if_unreachable. */
static int64_t stale_window(const char *text)
{
    struct cache_rules r;
    struct apt_profile a;
    config_t c;
    char err[256];
    int64_t w;

    config_init(&c);
    ck_assert_int_eq(config_read_string(&c, text), CONFIG_TRUE);
    ck_assert_int_eq(
        cache_rules_load(&r, config_lookup(&c, "cache"), 0, apt_cache_keys, err, sizeof(err)), 0);
    ck_assert_int_eq(apt_load(&a, &r, config_lookup(&c, "cache"), err, sizeof(err)), 0);
    w = r.stale_if_unreachable;
    cache_rules_free(&r);
    apt_free(&a);
    config_destroy(&c);
    return w;
}

START_TEST(stale_copies_for_a_week_unless_set)
{
    ck_assert_int_eq(stale_window("cache = { apt = true; };"), 7 * 86400);
    ck_assert_int_eq(stale_window("cache = { apt = true; stale_if_unreachable = 3600; };"), 3600);
    ck_assert_int_eq(stale_window("cache = { apt = true; stale_if_unreachable = 0; };"), 0);
    /* not the profile: the cache's default applies (CACHE_STALE_DEFAULT) */
    ck_assert_int_eq(stale_window("cache = true;"), -1);
}
END_TEST

Suite *apt_suite(void)
{
    Suite *s = suite_create("apt");
    TCase *tc = tcase_create("apt");

    tcase_add_test(tc, archive_files_are_immutable);
    tcase_add_test(tc, indexes_are_revalidated);
    tcase_add_test(tc, other_paths_are_left_alone);
    tcase_add_test(tc, mirror_list_limits_the_profile);
    tcase_add_test(tc, stale_copies_for_a_week_unless_set);
    suite_add_tcase(s, tc);
    return s;
}
