/* check_config.c — tests of configuration loading (config.h) through the
 * real front-end table, as gatehouse itself loads it: good files, checked
 * setting by setting against the values written or the defaults of each
 * section's key table (check_config_keys.c holds those tables to
 * README.md), includes, and configuration generations.  Bad files are in
 * check_config_errors.c; both write their files with config_rig.h. */
#include "config_rig.h"
#include "suites.h"

#include "acl.h"
#include "config.h"
#include "forward.h"
#include "log.h"
#include "policy.h"
#include "pool.h"
#include "reverse.h"
#include "route.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- good files ---- */

/* A socket address from "ip:port" text. */
static struct sockaddr_storage addr_of(const char *text)
{
    struct sockaddr_storage ss;
    socklen_t len;

    ck_assert_int_eq(config_parse_addr(text, &ss, &len), 0);
    return ss;
}

/* The smallest working file: one forward listener; the rest are defaults. */
START_TEST(test_minimal_defaults)
{
    struct conf cf;
    struct gh_config *c;
    const struct listener_conf *l;
    const struct sockaddr_in *sin;
    const struct policy *p;
    struct sockaddr_storage ss;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    conf_write(&cf, LISTENERS);
    c = conf_load_ok(&cf);
    ck_assert_str_eq(c->path, cf.path);
    ck_assert_str_eq(c->dir, cfg_dir);
    ck_assert_uint_ge(c->workers, 1);
    if (cpus > 0)
        ck_assert_uint_eq(c->workers, (unsigned)cpus);
    ck_assert_ptr_null(c->user);

    ck_assert_int_eq(c->log_level, LOG_INFO);
    ck_assert_str_eq(c->log_error, "stderr");
    ck_assert_str_eq(c->log_access, "stdout");
    ck_assert_int_eq(c->log_format, LOG_FORMAT_GATEHOUSE);
    ck_assert_str_eq(c->via_name, "gatehouse");

    ck_assert_uint_eq(c->limits.max_line, 8192);
    ck_assert_uint_eq(c->limits.max_head, 16384);
    ck_assert_uint_eq(c->limits.max_fields, 100);
    ck_assert_int_eq(c->limits.allow_underscore, 0);
    ck_assert_uint_eq(c->max_body, 0);

    ck_assert_uint_eq(c->to.client_header, 10000);
    ck_assert_uint_eq(c->to.client_body, 60000);
    ck_assert_uint_eq(c->to.keepalive, 75000);
    ck_assert_uint_eq(c->to.send, 60000);
    ck_assert_uint_eq(c->to.upstream_connect, 5000);
    ck_assert_uint_eq(c->to.upstream_read, 60000);
    ck_assert_uint_eq(c->to.upstream_keepalive, 30000);
    ck_assert_uint_eq(c->to.drain, 10000);

    ck_assert_uint_eq(c->nlisteners, 1);
    l = config_listener(c, "a");
    ck_assert_ptr_eq(l, &c->listeners[0]);
    ck_assert_ptr_null(config_listener(c, "b"));
    ck_assert_str_eq(l->name, "a");
    ck_assert_ptr_eq(l->fe, &forward_frontend);
    ck_assert_int_eq(l->line, 1);
    ck_assert_uint_eq(l->naddrs, 1);
    ck_assert_str_eq(l->addrs[0].text, "127.0.0.1:3128");
    ck_assert_uint_eq(l->addrs[0].len, sizeof(struct sockaddr_in));
    sin = (const struct sockaddr_in *)&l->addrs[0].ss;
    ck_assert_int_eq(sin->sin_family, AF_INET);
    ck_assert_uint_eq(ntohs(sin->sin_port), 3128);
    ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001);

    /* no policy named: the built-in default, never an open proxy */
    ck_assert_ptr_nonnull(config_fe_state(c, &forward_frontend));
    ck_assert_ptr_nonnull(config_fe_state(c, &reverse_frontend));
    p = l->fe_conf;
    ck_assert_str_eq(p->name, "default");
    ss = addr_of("127.0.0.1:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 1);
    ss = addr_of("192.168.1.20:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 1);
    ss = addr_of("8.8.8.8:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 0);
    config_unref(c);
}
END_TEST

/* workers = 0 means "one per CPU", like leaving it out. */
START_TEST(test_workers_zero_is_auto)
{
    struct conf cf;
    struct gh_config *c;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    conf_write(&cf, "workers = 0;\n" LISTENERS);
    c = conf_load_ok(&cf);
    ck_assert_uint_eq(c->workers, cpus > 0 ? (unsigned)cpus : 1);
    config_unref(c);
}
END_TEST

/* Every setting, with values away from the defaults. */
START_TEST(test_all_settings)
{
    struct conf cf;
    struct gh_config *c;
    const struct listener_conf *l;
    const struct policy *p;
    const struct route_table *t;
    const struct sockaddr_in6 *sin6;
    const struct sockaddr_in *sin;
    struct sockaddr_storage ss;
    char www[PATH_MAX];

    conf_make_dir("www", www, sizeof(www));
    conf_write(
        &cf,
        "workers = 3;\n"
        "user = \"gatehouse\";\n"
        "log = { level = \"debug\"; error = \"/var/log/gh/error.log\"; access = \"off\";\n"
        "        format = \"combined\"; };\n"
        "http = {\n"
        "  max_request_line = 1024;\n"
        "  max_header_bytes = 4096;\n"
        "  max_headers = 50;\n"
        "  max_body_bytes = 10737418240L;\n"
        "  underscores_in_headers = true;\n"
        "  via = \"edge-1\";\n"
        "};\n"
        "timeouts = {\n"
        "  client_header = 2.5;\n"
        "  client_body = 30;\n"
        "  keepalive = 0;\n"
        "  send = 1.25;\n"
        "  upstream_connect = 0.5;\n"
        "  upstream_read = 120;\n"
        "  upstream_keepalive = 0.0015;\n"
        "  drain = 86400;\n"
        "};\n"
        "listeners = (\n"
        "  { name = \"gw\"; mode = \"forward\"; listen = [ \"127.0.0.1:3128\", "
        "\"[::1]:3128\" ];\n"
        "    policy = \"office\"; },\n"
        "  { name = \"site\"; mode = \"reverse\"; listen = \"*:8080\"; routes = \"web\"; }\n"
        ");\n"
        "policies = { office = { clients = [ \"10.0.0.0/8\", \"2001:db8::/32\" ]; }; };\n"
        "pools = {\n"
        "  app = { servers = ( { address = \"10.0.1.11:8080\"; weight = 3; },\n"
        "                      { address = \"[2001:db8::5]:80\"; } ); };\n"
        "  files = { servers = ( { static = \"www\"; } ); };\n"
        "};\n"
        "routes = {\n"
        "  web = ( { host = \"Static.Example.COM\"; path = \"/assets/\"; pool = \"files\"; },\n"
        "          { pool = \"app\"; } );\n"
        "};\n");
    c = conf_load_ok(&cf);

    ck_assert_uint_eq(c->workers, 3);
    ck_assert_str_eq(c->user, "gatehouse");
    ck_assert_int_eq(c->log_level, LOG_DEBUG);
    ck_assert_str_eq(c->log_error, "/var/log/gh/error.log");
    ck_assert_str_eq(c->log_access, "off");
    ck_assert_int_eq(c->log_format, LOG_FORMAT_COMBINED);

    ck_assert_uint_eq(c->limits.max_line, 1024);
    ck_assert_uint_eq(c->limits.max_head, 4096);
    ck_assert_uint_eq(c->limits.max_fields, 50);
    ck_assert_int_eq(c->limits.allow_underscore, 1);
    ck_assert(c->max_body == 10737418240ull);
    ck_assert_str_eq(c->via_name, "edge-1");

    /* seconds, int or float, become milliseconds */
    ck_assert_uint_eq(c->to.client_header, 2500);
    ck_assert_uint_eq(c->to.client_body, 30000);
    ck_assert_uint_eq(c->to.keepalive, 0);
    ck_assert_uint_eq(c->to.send, 1250);
    ck_assert_uint_eq(c->to.upstream_connect, 500);
    ck_assert_uint_eq(c->to.upstream_read, 120000);
    ck_assert_uint_eq(c->to.upstream_keepalive, 2); /* 1.5 ms, rounded */
    ck_assert_uint_eq(c->to.drain, 86400000);

    ck_assert_uint_eq(c->nlisteners, 2);
    l = config_listener(c, "gw");
    ck_assert_ptr_nonnull(l);
    ck_assert_ptr_eq(l->fe, &forward_frontend);
    ck_assert_int_eq(l->line, 24);
    ck_assert_uint_eq(l->naddrs, 2);
    ck_assert_str_eq(l->addrs[1].text, "[::1]:3128");
    ck_assert_uint_eq(l->addrs[1].len, sizeof(struct sockaddr_in6));
    sin6 = (const struct sockaddr_in6 *)&l->addrs[1].ss;
    ck_assert_int_eq(sin6->sin6_family, AF_INET6);
    ck_assert_uint_eq(ntohs(sin6->sin6_port), 3128);
    ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
    p = l->fe_conf;
    ck_assert_str_eq(p->name, "office");
    ck_assert_uint_eq(acl_count(p->clients), 2);
    ss = addr_of("10.9.8.7:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 1);
    ss = addr_of("127.0.0.1:1"); /* the office policy replaces the default */
    ck_assert_int_eq(acl_match(p->clients, &ss), 0);

    l = config_listener(c, "site");
    ck_assert_ptr_nonnull(l);
    ck_assert_ptr_eq(l->fe, &reverse_frontend);
    ck_assert_int_eq(l->line, 26);
    sin = (const struct sockaddr_in *)&l->addrs[0].ss;
    ck_assert_int_eq(sin->sin_family, AF_INET);
    ck_assert_uint_eq(sin->sin_addr.s_addr, htonl(INADDR_ANY));
    ck_assert_uint_eq(ntohs(sin->sin_port), 8080);
    t = reverse_listener_routes(l->fe_conf);
    ck_assert_str_eq(t->name, "web");
    ck_assert_uint_eq(t->n, 2);
    ck_assert_str_eq(t->r[0].host, "static.example.com");
    ck_assert_str_eq(t->r[0].path, "/assets/");
    ck_assert_str_eq(t->r[0].pool->name, "files");
    ck_assert_uint_eq(t->r[0].pool->nservers, 1);
    ck_assert_str_eq(t->r[0].pool->servers[0].root, www);
    ck_assert_ptr_null(t->r[0].pool->servers[0].host);
    ck_assert_str_eq(t->r[1].host, "*");
    ck_assert_str_eq(t->r[1].path, "/");
    ck_assert_str_eq(t->r[1].pool->name, "app");
    ck_assert_uint_eq(t->r[1].pool->nservers, 2);
    ck_assert_str_eq(t->r[1].pool->servers[0].host, "10.0.1.11");
    ck_assert_uint_eq(t->r[1].pool->servers[0].port, 8080);
    ck_assert_uint_eq(t->r[1].pool->servers[0].weight, 3);
    ck_assert_str_eq(t->r[1].pool->servers[0].label, "10.0.1.11:8080");
    ck_assert_ptr_null(t->r[1].pool->servers[0].root);
    ck_assert_str_eq(t->r[1].pool->servers[1].host, "2001:db8::5");
    ck_assert_uint_eq(t->r[1].pool->servers[1].port, 80);
    ck_assert_uint_eq(t->r[1].pool->servers[1].weight, 1);
    config_unref(c);
}
END_TEST

/* Relative paths mean "next to the configuration file", wherever the
 * process was started; absolute paths and the stream names stay. */
START_TEST(test_relative_paths)
{
    struct conf cf;
    struct gh_config *c;
    const struct route_table *t;
    char www[PATH_MAX], want[PATH_MAX + 64];

    conf_make_dir("www", www, sizeof(www));
    conf_write_in(&cf, "etc",
                  "log = { error = \"logs/error.log\"; access = \"access.log\"; };\n"
                  "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:8080\";"
                  " routes = \"r\"; } );\n"
                  "pools = { site = { servers = ( { static = \"../www\"; } ); }; };\n"
                  "routes = { r = ( { pool = \"site\"; } ); };\n");
    c = conf_load_ok(&cf);
    snprintf(want, sizeof(want), "%s/etc", cfg_dir);
    ck_assert_str_eq(c->dir, want);
    snprintf(want, sizeof(want), "%s/etc/logs/error.log", cfg_dir);
    ck_assert_str_eq(c->log_error, want);
    snprintf(want, sizeof(want), "%s/etc/access.log", cfg_dir);
    ck_assert_str_eq(c->log_access, want);
    t = reverse_listener_routes(c->listeners[0].fe_conf);
    snprintf(want, sizeof(want), "%s/etc/../www", cfg_dir);
    ck_assert_str_eq(t->r[0].pool->servers[0].root, want);
    ck_assert_str_eq(t->r[0].pool->servers[0].label, "static:../www");
    config_unref(c);

    conf_write(&cf, "log = { error = \"%s/abs.log\"; access = \"stderr\"; };\n" LISTENERS, www);
    c = conf_load_ok(&cf);
    snprintf(want, sizeof(want), "%s/abs.log", www);
    ck_assert_str_eq(c->log_error, want);
    ck_assert_str_eq(c->log_access, "stderr");
    config_unref(c);
}
END_TEST

/* The file shipped in the repository (tests run from the top directory). */
START_TEST(test_repo_config)
{
    char err[CONFIG_ERRLEN] = "";
    struct gh_config *c = config_load("etc/gatehouse.conf", cfg_fes, CFG_NFES, err, sizeof(err));
    const struct listener_conf *gw, *site;
    const struct policy *p;
    const struct route_table *t;
    struct sockaddr_storage ss;
    struct stat st;

    ck_assert_msg(c != NULL, "etc/gatehouse.conf refused: %s", err);
    ck_assert_str_eq(c->dir, "etc");
    ck_assert_int_eq(c->log_level, LOG_INFO);
    ck_assert_str_eq(c->log_access, "stdout");
    ck_assert_uint_eq(c->nlisteners, 2);

    gw = config_listener(c, "gateway");
    ck_assert_ptr_nonnull(gw);
    ck_assert_ptr_eq(gw->fe, &forward_frontend);
    ck_assert_str_eq(gw->addrs[0].text, "127.0.0.1:3128");
    p = gw->fe_conf;
    ck_assert_str_eq(p->name, "lan");
    ss = addr_of("192.168.0.10:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 1);
    ss = addr_of("8.8.8.8:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 0);

    site = config_listener(c, "site");
    ck_assert_ptr_nonnull(site);
    ck_assert_ptr_eq(site->fe, &reverse_frontend);
    ck_assert_str_eq(site->addrs[0].text, "127.0.0.1:8080");
    t = reverse_listener_routes(site->fe_conf);
    ck_assert_str_eq(t->name, "site");
    ck_assert_str_eq(t->r[0].pool->name, "demo");
    ck_assert_str_eq(t->r[0].pool->servers[0].root, "etc/../www");
    ck_assert_int_eq(stat(t->r[0].pool->servers[0].root, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    config_unref(c);
}
END_TEST

/* @include reads a file named relative to the configuration's directory;
 * its settings count as if written in place. */
START_TEST(test_include)
{
    struct conf inc, cf;
    struct gh_config *c;

    conf_write(&inc, "policies = { lan = { clients = [ \"10.0.0.0/8\" ]; }; };\n");
    conf_write(&cf,
               "workers = 2;\n"
               "@include \"%s\"\n"
               "listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:3128\";"
               " policy = \"lan\"; } );\n",
               strrchr(inc.path, '/') + 1);
    c = conf_load_ok(&cf);
    ck_assert_uint_eq(c->workers, 2);
    ck_assert_str_eq(((const struct policy *)c->listeners[0].fe_conf)->name, "lan");
    config_unref(c);
}
END_TEST

/* A mistake in an included file is reported in that file, at its line. */
START_TEST(test_include_error_location)
{
    struct conf inc, cf;
    char err[CONFIG_ERRLEN] = "", full[PATH_MAX + 64], rel[PATH_MAX + 64];
    const char *base;

    conf_write(&inc, "# included\n"
                     "workers = 2;\n"
                     "wrokers = 3;  #<\n");
    base = strrchr(inc.path, '/') + 1;
    conf_write(&cf, LISTENERS "@include \"%s\"\n", base);
    ck_assert_ptr_null(config_load(cf.path, cfg_fes, CFG_NFES, err, sizeof(err)));
    /* the included file as libconfig names it: libconfig 1.5 gives the name
     * as written in @include, later versions the path it opened */
    snprintf(full, sizeof(full), "%s:%d: unknown setting 'wrokers'", inc.path, inc.line);
    snprintf(rel, sizeof(rel), "%s:%d: unknown setting 'wrokers'", base, inc.line);
    ck_assert_msg(strcmp(err, full) == 0 || strcmp(err, rel) == 0,
                  "error \"%s\", want \"%s\" or \"%s\"", err, full, rel);

    /* an include that is not there: the including line */
    conf_write(&cf, LISTENERS "@include \"absent.conf\"  #<\n");
    conf_load_fails_at(cf.path, cf.path, cf.line, "cannot open include file");
}
END_TEST

START_TEST(test_ref_unref)
{
    struct conf cf;
    struct gh_config *c;

    conf_write(&cf, LISTENERS);
    c = conf_load_ok(&cf);
    ck_assert_int_eq(atomic_load(&c->refs), 1);
    ck_assert_ptr_eq(config_ref(c), c);
    ck_assert_ptr_eq(config_ref(c), c);
    ck_assert_int_eq(atomic_load(&c->refs), 3);
    config_unref(c);
    config_unref(c);
    /* still alive with one reference (ASan reports a use after free) */
    ck_assert_int_eq(atomic_load(&c->refs), 1);
    ck_assert_str_eq(c->listeners[0].name, "a");
    config_unref(c);
    config_unref(NULL);
}
END_TEST

/* Two generations from the same file are independent. */
START_TEST(test_generations_independent)
{
    struct conf cf;
    struct gh_config *a, *b;

    conf_write(&cf, LISTENERS);
    a = conf_load_ok(&cf);
    b = conf_load_ok(&cf);
    ck_assert_ptr_ne(a, b);
    ck_assert_ptr_ne(a->listeners, b->listeners);
    ck_assert_ptr_ne(config_fe_state(a, &forward_frontend), config_fe_state(b, &forward_frontend));
    config_unref(a);
    ck_assert_str_eq(b->listeners[0].name, "a");
    config_unref(b);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("good");
    tcase_add_unchecked_fixture(tc, cfg_dir_setup, cfg_dir_teardown);
    tcase_add_test(tc, test_minimal_defaults);
    tcase_add_test(tc, test_workers_zero_is_auto);
    tcase_add_test(tc, test_all_settings);
    tcase_add_test(tc, test_relative_paths);
    tcase_add_test(tc, test_repo_config);
    tcase_add_test(tc, test_include);
    tcase_add_test(tc, test_include_error_location);
    tcase_add_test(tc, test_ref_unref);
    tcase_add_test(tc, test_generations_independent);
    suite_add_tcase(s, tc);
    return s;
}
