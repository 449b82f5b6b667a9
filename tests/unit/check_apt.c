/* check_apt.c — the apt profile's classification of archive paths. */
#include "apt.h"
#include "suites.h"

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
    struct cache_rules r = {.enabled = 1, .apt = 1};
    char *m[] = {"deb.debian.org"};

    ck_assert_ptr_eq(apt_rules_for(&r, "anything.test", 13), &r);
    r.mirrors = m;
    r.nmirrors = 1;
    ck_assert_ptr_eq(apt_rules_for(&r, "DEB.debian.org", 14), &r);
    ck_assert_ptr_null(apt_rules_for(&r, "evil.test", 9));
    r.enabled = 0;
    ck_assert_ptr_null(apt_rules_for(&r, "deb.debian.org", 14));
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
    suite_add_tcase(s, tc);
    return s;
}
