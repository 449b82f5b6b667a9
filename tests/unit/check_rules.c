/* check_rules.c — each list format from real files (plain, CRLF, gzip'd),
 * bad lines reported with file:line, the category directory layout, and
 * matching: subdomains, case, trailing dot, punycode, addresses, URL
 * prefixes, regexes and adblock exceptions. */
#include "rules.h"
#include "suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char dir[64];
static char warnings[8192];

static void collect(void *ctx, const char *msg)
{
    (void)ctx;
    strncat(warnings, msg, sizeof(warnings) - strlen(warnings) - 2);
    strcat(warnings, "\n");
}

static const char *file(const char *name, const char *text)
{
    static char path[160];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void setup(void)
{
    strcpy(dir, "/tmp/gh-rules-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    warnings[0] = '\0';
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static struct rulelist *load(const char *path, enum rules_format f)
{
    char err[256];
    struct rulelist *l = rulelist_load("t", path, f, collect, NULL, err, sizeof(err));
    ck_assert_msg(l != NULL, "%s", err);
    return l;
}

static enum rules_verdict m(const struct rulelist *l, const char *host, const char *path)
{
    return rulelist_match(l, host, strlen(host), path, strlen(path), NULL);
}

START_TEST(domains)
{
    struct rulelist *l = load(file("d", "# comment\n\nexample.com\r\n.dot.example\n*.star.example\n"
                                         "xn--bcher-kva.example\n10.1.0.0/16\n2001:db8::/32\n"
                                         "bad name\nbad..name\n"), RULES_AUTO);
    const char *rule = NULL;

    ck_assert_int_eq(m(l, "example.com", ""), RULES_BLOCK);
    ck_assert_int_eq(m(l, "WWW.Example.COM.", ""), RULES_BLOCK);
    ck_assert_int_eq(m(l, "a.b.example.com", "/x"), RULES_BLOCK);
    ck_assert_int_eq(m(l, "notexample.com", ""), RULES_NONE);
    ck_assert_int_eq(m(l, "example.com.evil.test", ""), RULES_NONE);
    ck_assert_int_eq(m(l, "dot.example", ""), RULES_BLOCK);
    ck_assert_int_eq(m(l, "x.star.example", ""), RULES_BLOCK);
    ck_assert_int_eq(m(l, "xn--bcher-kva.example", ""), RULES_BLOCK);
    ck_assert_int_eq(m(l, "10.1.200.3", ""), RULES_BLOCK);
    ck_assert_int_eq(m(l, "10.2.0.1", ""), RULES_NONE);
    ck_assert_int_eq(m(l, "2001:db8::7", ""), RULES_BLOCK);
    ck_assert_int_eq(rulelist_match(l, "sub.example.com", 15, "", 0, &rule), RULES_BLOCK);
    ck_assert_str_eq(rule, "example.com");
    ck_assert_msg(strstr(warnings, "/d:9: not a domain name: 'bad name'") &&
                      strstr(warnings, "/d:10: not a domain name: 'bad..name'"), "%s", warnings);
    ck_assert_uint_eq(rulelist_size(l), 6);
    rulelist_free(l);
}
END_TEST

START_TEST(hosts_file)
{
    struct rulelist *l = load(file("h", "127.0.0.1 localhost\n::1 ip6-localhost ip6-loopback\n"
                                         "0.0.0.0 ads.example tracker.example # trailing\n"
                                         "127.0.0.1 local\nnot-an-address name\n"), RULES_AUTO);

    ck_assert_int_eq(m(l, "ads.example", ""), RULES_BLOCK);
    ck_assert_int_eq(m(l, "x.tracker.example", ""), RULES_BLOCK);
    ck_assert_int_eq(m(l, "localhost", ""), RULES_NONE);
    ck_assert_int_eq(m(l, "local", ""), RULES_NONE);
    ck_assert_ptr_nonnull(strstr(warnings, "/h:5: not a hosts line"));
    rulelist_free(l);
}
END_TEST

START_TEST(adblock)
{
    struct rulelist *l = load(file("a", "[Adblock Plus 2.0]\n! comment\n||ads.example^\n"
                                         "@@||good.ads.example^\n##.banner\n/banner/*\n"), RULES_AUTO);

    ck_assert_int_eq(m(l, "ads.example", ""), RULES_BLOCK);
    ck_assert_int_eq(m(l, "x.ads.example", ""), RULES_BLOCK);
    ck_assert_int_eq(m(l, "good.ads.example", ""), RULES_ALLOW);
    ck_assert_int_eq(m(l, "a.good.ads.example", ""), RULES_ALLOW);
    ck_assert_ptr_nonnull(strstr(warnings, "2 adblock rules skipped"));
    rulelist_free(l);
}
END_TEST

START_TEST(category_directory_gzip_urls_regex)
{
    char cat[128], gzpath[160];
    gzFile gz;
    struct rulelist *l;

    snprintf(cat, sizeof(cat), "%s/cat", dir);
    mkdir(cat, 0755);
    snprintf(gzpath, sizeof(gzpath), "%s/domains.gz", cat);
    gz = gzopen(gzpath, "wb");
    gzputs(gz, "casino.example\r\nbet.example\n");
    gzclose(gz);
    file("cat/urls", "http://news.example/gambling/\nshop.example/poker\n");
    file("cat/expressions", "(roulette|blackjack)[0-9]*\n(unclosed\n");
    l = load(cat, RULES_AUTO);
    ck_assert_int_eq(m(l, "www.casino.example", ""), RULES_BLOCK);
    ck_assert_int_eq(m(l, "bet.example", "/"), RULES_BLOCK);
    ck_assert_int_eq(m(l, "news.example", "/gambling/today"), RULES_BLOCK);
    ck_assert_int_eq(m(l, "news.example", "/sport"), RULES_NONE);
    ck_assert_int_eq(m(l, "shop.example", "/poker-chips"), RULES_BLOCK);
    ck_assert_int_eq(m(l, "play.example", "/Roulette7"), RULES_BLOCK);
    ck_assert_int_eq(m(l, "play.example", "/chess"), RULES_NONE);
    ck_assert_ptr_nonnull(strstr(warnings, "/cat/expressions:2: bad regular expression"));
    rulelist_free(l);
}
END_TEST

START_TEST(unreadable)
{
    char err[256];

    ck_assert_ptr_null(rulelist_load("t", "/nonexistent/list", RULES_AUTO, NULL, NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/list: No such file"));
    ck_assert_ptr_null(rulelist_load("t", dir, RULES_AUTO, NULL, NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "no domains, urls or expressions"));
}
END_TEST

START_TEST(many_names)
{
    char path[128], host[64];
    FILE *f;
    struct rulelist *l;

    snprintf(path, sizeof(path), "%s/big", dir);
    f = fopen(path, "w");
    for (int i = 0; i < 200000; i++)
        fprintf(f, "site%d.example\n", i);
    fclose(f);
    l = load(path, RULES_DOMAINS);
    ck_assert_uint_eq(rulelist_size(l), 200000);
    for (int i = 0; i < 200000; i += 997) {
        snprintf(host, sizeof(host), "www.site%d.example", i);
        ck_assert_int_eq(m(l, host, ""), RULES_BLOCK);
        snprintf(host, sizeof(host), "site%d.example", i + 200000);
        ck_assert_int_eq(m(l, host, ""), RULES_NONE);
    }
    rulelist_free(l);
}
END_TEST

Suite *rules_suite(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("lists");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, domains);
    tcase_add_test(tc, hosts_file);
    tcase_add_test(tc, adblock);
    tcase_add_test(tc, category_directory_gzip_urls_regex);
    tcase_add_test(tc, unreadable);
    tcase_add_test(tc, many_names);
    suite_add_tcase(s, tc);
    return s;
}
