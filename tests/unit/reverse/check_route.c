/* check_route.c — route matching precedence and the reverse mode's pool
 * and route settings, loaded from real configuration text. */
#include "suites.h"

#include "config.h"
#include "forward.h"
#include "reverse.h"
#include "route.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct frontend *const fes[] = {&forward_frontend, &reverse_frontend};

/* Loads text; returns the generation or NULL with err. */
static struct gh_config *load(const char *text, char *err, size_t errlen)
{
    char path[] = "/tmp/gh-route-XXXXXX.conf";
    int fd = mkstemps(path, 5);
    struct gh_config *c;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    c = config_load(path, fes, 2, err, errlen);
    unlink(path);
    return c;
}

#define HEAD                                                                                       \
    "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n" \
    "pools = { a = { servers = ( { address = \"127.0.0.1:2\"; } ); };\n"                            \
    "          b = { servers = ( { address = \"127.0.0.1:3\"; } ); };\n"                            \
    "          c = { servers = ( { address = \"127.0.0.1:4\"; } ); };\n"                            \
    "          d = { servers = ( { address = \"127.0.0.1:5\"; } ); }; };\n"

/* The name of the pool request host+path goes to, "421" or "404". */
static const char *where(const struct gh_config *c, const char *host, const char *path)
{
    const struct route_table *t = reverse_listener_routes(config_listener(c, "s")->fe_conf);
    int known;
    const struct route *rt = route_match(t, host, strlen(host), path, strlen(path), &known);

    return rt ? rt->pool->name : known ? "404" : "421";
}

START_TEST(precedence)
{
    char err[CONFIG_ERRLEN];
    struct gh_config *c = load(HEAD "routes = { r = (\n"
                                    "  { host = \"*\"; pool = \"d\"; },\n"
                                    "  { host = \"*.example.org\"; pool = \"c\"; },\n"
                                    "  { host = \"*.api.example.org\"; pool = \"b\"; },\n"
                                    "  { host = \"www.example.org\"; path = \"/\"; pool = \"a\"; },\n"
                                    "  { host = \"www.example.org\"; path = \"/static/\"; pool = \"b\"; },\n"
                                    "  { host = \"shop.test\"; path = \"/cart/\"; pool = \"c\"; } ); };\n",
                               err, sizeof(err));

    ck_assert_msg(c, "%s", err);
    ck_assert_str_eq(where(c, "www.example.org", "/"), "a");           /* exact host */
    ck_assert_str_eq(where(c, "WWW.Example.ORG", "/x"), "a");          /* case ignored */
    ck_assert_str_eq(where(c, "www.example.org", "/static/a.css"), "b"); /* longest prefix */
    ck_assert_str_eq(where(c, "www.example.org", "/static"), "a");     /* a prefix, not a word */
    ck_assert_str_eq(where(c, "v1.api.example.org", "/"), "b");        /* longest suffix */
    ck_assert_str_eq(where(c, "blog.example.org", "/"), "c");          /* wildcard */
    ck_assert_str_eq(where(c, "example.org", "/"), "d");               /* not below itself */
    ck_assert_str_eq(where(c, "elsewhere.test", "/"), "d");            /* the default */
    ck_assert_str_eq(where(c, "shop.test", "/cart/1"), "c");
    ck_assert_str_eq(where(c, "shop.test", "/other"), "d");            /* falls to the default */
    config_unref(c);

    c = load(HEAD "routes = { r = ( { host = \"only.test\"; path = \"/app/\"; pool = \"a\"; } ); };\n",
             err, sizeof(err));
    ck_assert_msg(c, "%s", err);
    ck_assert_str_eq(where(c, "other.test", "/"), "421"); /* never an arbitrary backend */
    ck_assert_str_eq(where(c, "only.test", "/other"), "404"); /* host known, path not */
    config_unref(c);
}
END_TEST

START_TEST(pool_orders)
{
    char err[CONFIG_ERRLEN];
    struct gh_config *c = load(HEAD "routes = { r = ( { pools = [ \"b\", \"a\" ]; rewrite_location = true; } ); };\n",
                               err, sizeof(err));
    const struct route *rt;
    int known;

    ck_assert_msg(c, "%s", err);
    rt = route_match(reverse_listener_routes(config_listener(c, "s")->fe_conf), "x", 1, "/", 1, &known);
    ck_assert_uint_eq(rt->order.n, 2);
    ck_assert_str_eq(rt->order.p[0]->name, "b");
    ck_assert_str_eq(rt->order.p[1]->name, "a");
    ck_assert_int_eq(rt->rewrite_location, 1);
    config_unref(c);
}
END_TEST

/* Settings that must be refused, each with the message a user sees. */
static const struct {
    const char *text, *want;
} bad[] = {
    {HEAD "routes = { r = ( { pool = \"a\"; pools = [ \"b\" ]; } ); };\n", "needs a 'pool' or 'pools' (not both)"},
    {HEAD "routes = { r = ( { pools = [ \"a\", \"zz\" ]; } ); };\n", "pool 'zz' is not defined"},
    {HEAD "routes = { r = ( { pool = \"a\"; geo = ( ( \"country:DE\", [ \"b\" ] ) ); } ); };\n",
     "use 'geo' but no geo = { database"},
    {HEAD "routes = { r = ( { pool = \"a\"; geo = ( ( \"planet:EA\", [ \"b\" ] ) ); } ); };\n",
     "geo entries are"},
    {"listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n"
     "pools = { a = { balance = \"fastest\"; servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
     "routes = { r = ( { pool = \"a\"; } ); };\n",
     "balance 'fastest' (want round_robin, least_conn, p2c or hash)"},
    {"listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n"
     "pools = { a = { hash_key = \"body\"; servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
     "routes = { r = ( { pool = \"a\"; } ); };\n",
     "hash_key 'body'"},
    {"listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n"
     "pools = { a = { servers = ( { address = \"127.0.0.1:2\"; backup = true; } ); }; };\n"
     "routes = { r = ( { pool = \"a\"; } ); };\n",
     "every server is a backup"},
    {"listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n"
     "pools = { a = { servers = ( { address = \"127.0.0.1:2\"; } );\n"
     "  health_check = { type = \"icmp\"; }; }; };\n"
     "routes = { r = ( { pool = \"a\"; } ); };\n",
     "health_check type 'icmp'"},
    {"listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n"
     "pools = { a = { servers = ( { address = \"127.0.0.1:2\"; } );\n"
     "  health_check = { expect_status = [ 400, 200 ]; }; }; };\n"
     "routes = { r = ( { pool = \"a\"; } ); };\n",
     "expect_status is [ lowest, highest ]"},
    {"listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n"
     "pools = { a = { proxy_protocol = 3; servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
     "routes = { r = ( { pool = \"a\"; } ); };\n",
     "'proxy_protocol' must be between 0 and 2"},
    {"listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\";\n"
     "  status_path = \"status\"; } );\n"
     "pools = { a = { servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
     "routes = { r = ( { pool = \"a\"; } ); };\n",
     "'status_path' is a path"},
    {"listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n"
     "geo = { database = \"/nonexistent/x.mmdb\"; };\n"
     "pools = { a = { servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
     "routes = { r = ( { pool = \"a\"; } ); };\n",
     "/nonexistent/x.mmdb"},
};

START_TEST(bad_settings)
{
    char err[CONFIG_ERRLEN];
    struct gh_config *c = load(bad[_i].text, err, sizeof(err));

    ck_assert_msg(!c, "case %d loaded", _i);
    ck_assert_msg(strstr(err, bad[_i].want), "case %d: got '%s', want '%s'", _i, err, bad[_i].want);
    ck_assert_msg(strstr(err, ".conf:"), "case %d: no file:line in '%s'", _i, err);
}
END_TEST

Suite *route_suite(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("route");

    tcase_add_test(tc, precedence);
    tcase_add_test(tc, pool_orders);
    tcase_add_loop_test(tc, bad_settings, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    suite_add_tcase(s, tc);
    return s;
}
