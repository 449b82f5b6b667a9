/* check_geo.c — country and continent lookups against a real .mmdb written
 * at run time by tests/support/make-geo-mmdb.pl (MaxMind's own Perl writer),
 * and the errors a user sees for a missing or foreign database file.
 * Run from the repository root, as `make unit` does. */
#include "geo.h"
#include "suites.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define SCRIPT "tests/support/make-geo-mmdb.pl"

static char dir[64];
static char dbpath[128];

/* Once per test case, in the runner's process (an unchecked fixture), so
 * the forked tests share one database. */
static void make_db(void)
{
    char cmd[512];

    snprintf(dir, sizeof(dir), "/tmp/gh-geo-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        abort();
    }
    snprintf(dbpath, sizeof(dbpath), "%s/test.mmdb", dir);
    snprintf(cmd, sizeof(cmd), "perl %s %s", SCRIPT, dbpath);
    if (system(cmd) != 0)
        fprintf(stderr,
                "check_geo: '%s' failed (run from the repository root, with "
                "libmaxmind-db-writer-perl installed)\n",
                cmd);
}

static void remove_db(void)
{
    char path[160];

    unlink(dbpath);
    snprintf(path, sizeof(path), "%s/notmmdb.txt", dir);
    unlink(path);
    rmdir(dir);
}

static struct geo *open_db(void)
{
    char err[256] = "";
    struct geo *g = geo_open(dbpath, err, sizeof(err));

    ck_assert_msg(g != NULL, "geo_open: %s", err);
    return g;
}

/* Looks up a textual address the way a listener would hand it over. */
static int lookup(const struct geo *g, const char *addr, char country[3], char continent[3])
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(40000);
        ck_assert_int_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(40000);
        ck_assert_int_eq(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
    }
    /* stale values must not survive a lookup */
    memcpy(country, "XX", 3);
    memcpy(continent, "XX", 3);
    return geo_lookup(g, (struct sockaddr *)&ss, country, continent);
}

START_TEST(countries_of_ipv4_clients)
{
    static const struct {
        const char *addr, *country, *continent;
    } t[] = {
        {"127.0.0.2", "DE", "EU"},
        {"127.0.0.3", "US", "NA"},
        {"127.0.0.4", "JP", "AS"},
    };
    struct geo *g = open_db();
    char cc[3], ct[3];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        ck_assert_int_eq(lookup(g, t[i].addr, cc, ct), 1);
        ck_assert_str_eq(cc, t[i].country);
        ck_assert_str_eq(ct, t[i].continent);
    }
    geo_close(g);
}
END_TEST

START_TEST(unknown_clients)
{
    struct geo *g = open_db();
    char cc[3], ct[3];

    ck_assert_int_eq(lookup(g, "127.0.0.9", cc, ct), 0);
    ck_assert_str_eq(cc, "");
    ck_assert_str_eq(ct, "");
    ck_assert_int_eq(lookup(g, "10.1.2.3", cc, ct), 0);
    ck_assert_str_eq(cc, "");
    ck_assert_int_eq(lookup(g, "2001:db9::1", cc, ct), 0);
    ck_assert_str_eq(cc, "");
    ck_assert_str_eq(ct, "");
    geo_close(g);
}
END_TEST

/* The database has no ::ffff:0:0/96 alias: these pass only because geo.c
 * looks the mapped address up as IPv4. */
START_TEST(ipv4_mapped_clients)
{
    struct geo *g = open_db();
    char cc[3], ct[3];

    ck_assert_int_eq(lookup(g, "::ffff:127.0.0.2", cc, ct), 1);
    ck_assert_str_eq(cc, "DE");
    ck_assert_str_eq(ct, "EU");
    ck_assert_int_eq(lookup(g, "::ffff:127.0.0.3", cc, ct), 1);
    ck_assert_str_eq(cc, "US");
    ck_assert_int_eq(lookup(g, "::ffff:127.0.0.9", cc, ct), 0);
    ck_assert_str_eq(cc, "");
    geo_close(g);
}
END_TEST

START_TEST(ipv6_clients)
{
    struct geo *g = open_db();
    char cc[3], ct[3];

    ck_assert_int_eq(lookup(g, "2001:db8::1", cc, ct), 1);
    ck_assert_str_eq(cc, "FR");
    ck_assert_str_eq(ct, "EU");
    ck_assert_int_eq(lookup(g, "2001:db8:ffff::42", cc, ct), 1);
    ck_assert_str_eq(cc, "FR");
    geo_close(g);
}
END_TEST

START_TEST(registered_country_fallback)
{
    struct geo *g = open_db();
    char cc[3], ct[3];

    ck_assert_int_eq(lookup(g, "127.0.0.5", cc, ct), 1);
    ck_assert_str_eq(cc, "SE");
    ck_assert_str_eq(ct, "EU");
    geo_close(g);
}
END_TEST

START_TEST(other_families_and_no_database)
{
    struct geo *g = open_db();
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    char cc[3] = "XX", ct[3] = "XX";

    ck_assert_int_eq(geo_lookup(g, (struct sockaddr *)&un, cc, ct), 0);
    ck_assert_str_eq(cc, "");
    ck_assert_str_eq(ct, "");
    inet_pton(AF_INET, "127.0.0.2", &s4.sin_addr);
    memcpy(cc, "XX", 3);
    ck_assert_int_eq(geo_lookup(NULL, (struct sockaddr *)&s4, cc, ct), 0);
    ck_assert_str_eq(cc, "");
    geo_close(g);
    geo_close(NULL);
}
END_TEST

START_TEST(missing_file)
{
    char err[256] = "", path[160];

    snprintf(path, sizeof(path), "%s/absent.mmdb", dir);
    ck_assert_ptr_null(geo_open(path, err, sizeof(err)));
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "error does not name the file: %s", err);
    ck_assert_msg(strstr(err, "No such file or directory") != NULL, "error: %s", err);
}
END_TEST

START_TEST(not_a_database)
{
    char err[256] = "", path[160];
    FILE *f;

    snprintf(path, sizeof(path), "%s/notmmdb.txt", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 200; i++)
        fputs("this is a text file, not a MaxMind database\n", f);
    fclose(f);
    ck_assert_ptr_null(geo_open(path, err, sizeof(err)));
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "error does not name the file: %s", err);
    ck_assert_msg(strstr(err, "metadata") != NULL, "error: %s", err);
}
END_TEST

Suite *geo_suite(void)
{
    Suite *s = suite_create("geo");
    TCase *tc = tcase_create("mmdb");

    tcase_add_unchecked_fixture(tc, make_db, remove_db);
    tcase_add_test(tc, countries_of_ipv4_clients);
    tcase_add_test(tc, unknown_clients);
    tcase_add_test(tc, ipv4_mapped_clients);
    tcase_add_test(tc, ipv6_clients);
    tcase_add_test(tc, registered_country_fallback);
    tcase_add_test(tc, other_families_and_no_database);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, not_a_database);
    suite_add_tcase(s, tc);
    return s;
}
