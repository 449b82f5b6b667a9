/* check_lifecycle.c — start-up errors, reloads and shutdown of a running
 * gatehouse: what an operator sees and what clients keep getting. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the origin, and a gatehouse in front of it ---- */

/* "hello from NAME" (X-Origin names it too); /hold answers "held\n" once
 * the test asks the origin itself for /release. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    if (origin_hold_paths(rq, re))
        return;
    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

static const char *origin_of(const struct tc_response *r, char *dst, size_t cap)
{
    size_t n;
    const char *v = tc_header(r, "X-Origin", &n);

    snprintf(dst, cap, "%.*s", v ? (int)n : 0, v ? v : "");
    return dst;
}

/* A held keep-alive connection survives a reload that moves the pool, and
 * its next exchange (like every new one) goes to the new pool. */
START_TEST(reload_switches_pool_without_dropping)
{
    struct rig r;
    struct origin b;
    struct tc_response resp = {0};
    char text[2048], name[32];
    int held, fresh;

    rig_up_gateway_and_site(&r, answer);
    ck_assert_int_eq(origin_start(&b, "o2", answer), 0);
    held = tc_connect("127.0.0.1", r.rev);
    rig_exchange(held, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &resp);
    ck_assert_str_eq(origin_of(&resp, name, sizeof(name)), "o1");
    tc_response_free(&resp);

    rig_conf(text, sizeof(text), &r, b.port);
    ck_assert_int_eq(th_gatehouse_reload(&r.g, text), 0);

    rig_exchange(held, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &resp);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(origin_of(&resp, name, sizeof(name)), "o2");
    tc_response_free(&resp);
    fresh = tc_connect("127.0.0.1", r.rev);
    rig_exchange(fresh, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &resp);
    ck_assert_str_eq(origin_of(&resp, name, sizeof(name)), "o2");
    tc_response_free(&resp);
    tc_close(held);
    tc_close(fresh);
    origin_stop(&b);
    rig_down(&r);
}
END_TEST

START_TEST(bad_reload_keeps_serving)
{
    struct rig r;
    struct tc_response resp = {0};
    int fd;

    rig_up_gateway_and_site(&r, answer);
    ck_assert_int_eq(th_gatehouse_reload(&r.g, "listeners = ( { name = \"x\"; mode = \"sideways\"; } );\n"), -1);
    ck_assert_int_eq(th_log_lines(r.g.errlog, 1, "reload failed", "gatehouse.conf:1:",
                                  "unknown mode 'sideways'", NULL), 1);
    fd = tc_connect("127.0.0.1", r.rev);
    rig_exchange(fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &resp);
    ck_assert_int_eq(resp.status, 200);
    tc_response_free(&resp);
    tc_close(fd);
    rig_down(&r);
}
END_TEST

/* Listeners come and go with the file. */
START_TEST(reload_adds_and_removes_listeners)
{
    struct rig r;
    struct tc_response resp = {0};
    char text[2048];
    int extra = th_free_port(), fd;

    rig_up_gateway_and_site(&r, answer);
    snprintf(
        text, sizeof(text),
        "log = { access = \"@ACCESS@\"; };\n"
        "listeners = ( { name = \"site2\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"site\"; } );\n"
        "pools = { app = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
        "routes = { site = ( { pool = \"app\"; } ); };\n",
        extra, r.o.port);
    ck_assert_int_eq(th_gatehouse_reload(&r.g, text), 0);
    fd = tc_connect("127.0.0.1", extra);
    rig_exchange(fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &resp);
    ck_assert_int_eq(resp.status, 200);
    tc_response_free(&resp);
    tc_close(fd);
    th_sleep_ms(100);
    ck_assert_int_lt(tc_connect("127.0.0.1", r.rev), 0);
    rig_down(&r);
}
END_TEST

/* An exchange the origin holds when SIGTERM comes: gatehouse stops
 * listening at once, and the exchange still ends with its answer (and the
 * connection's end) once the origin lets it go. */
START_TEST(sigterm_lets_slow_exchange_finish)
{
    struct rig r;
    struct tc_response resp = {0};
    const char *req = "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n";
    int fd, other, i;

    rig_up_gateway_and_site(&r, answer);
    fd = tc_connect("127.0.0.1", r.rev);
    ck_assert_int_eq(tc_send_all(fd, req, strlen(req)), 0);
    ck_assert_int_eq(th_log_lines(r.o.log, 1, " GET /hold", NULL), 1); /* held there */
    kill(r.g.pid, SIGTERM);
    for (i = 0; i < 500 && (other = tc_connect("127.0.0.1", r.rev)) >= 0; i++) {
        tc_close(other);
        th_sleep_ms(10);
    }
    ck_assert_msg(i < 500, "gatehouse kept listening after SIGTERM");
    other = tc_connect("127.0.0.1", r.o.port);
    rig_exchange(other, "GET /release HTTP/1.1\r\nHost: o\r\n\r\n", &resp);
    tc_response_free(&resp);
    tc_close(other);
    ck_assert_int_eq(tc_read_response(fd, 0, &resp), 0);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "held\n");
    ck_assert_int_eq(resp.closed, 1);
    tc_response_free(&resp);
    tc_close(fd);
    ck_assert_int_eq(th_gatehouse_stop(&r.g, SIGTERM, 10000), 0);
    ck_assert_int_eq(th_log_lines(r.g.errlog, 1, "stopped", NULL), 1);
    origin_stop(&r.o);
}
END_TEST

START_TEST(sigusr1_reopens_access_log)
{
    struct rig r;
    struct tc_response resp = {0};
    char moved[256];
    int fd;

    rig_up_gateway_and_site(&r, answer);
    snprintf(moved, sizeof(moved), "%s.1", r.g.access);
    ck_assert_int_eq(rename(r.g.access, moved), 0);
    /* as logrotate's "create" does: the daemon no longer runs as root */
    fd = open(r.g.access, O_WRONLY | O_CREAT, 0666);
    ck_assert_int_ge(fd, 0);
    fchmod(fd, 0666);
    close(fd);
    kill(r.g.pid, SIGUSR1);
    ck_assert_int_eq(th_log_lines(r.g.errlog, 1, "log files reopened", NULL), 1);
    fd = tc_connect("127.0.0.1", r.rev);
    rig_exchange(fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &resp);
    tc_response_free(&resp);
    tc_close(fd);
    ck_assert_int_eq(th_log_lines(r.g.access, 1, "GET /hello", NULL), 1);
    rig_down(&r);
}
END_TEST

/* ---- bad configuration: gatehouse -t names the file and line ---- */

static void check_rejects(const char *conf, const char *where, const char *what)
{
    char out[4096];
    int rc = th_gatehouse_check(conf, out, sizeof(out));

    ck_assert_msg(rc == 1, "exit %d for: %s", rc, out);
    ck_assert_msg(strstr(out, where) && strstr(out, what), "got: %s (want %s ... %s)", out, where,
                  what);
}

#define LISTEN_OK "listeners = ( { name = \"gw\"; mode = \"forward\"; listen = \"127.0.0.1:3999\"; } );\n"

START_TEST(rejects_misspelled_key)
{
    check_rejects("workers = 1;\nlisteners = ( { name = \"gw\"; mode = \"forward\";\n  lisen = \"127.0.0.1:3999\"; } );\n",
                  "gatehouse.conf:3:", "unknown setting 'lisen'");
}
END_TEST

START_TEST(rejects_wrong_type)
{
    check_rejects("workers = \"two\";\n" LISTEN_OK, "gatehouse.conf:1:", "'workers' must be an integer");
}
END_TEST

START_TEST(rejects_unknown_mode)
{
    check_rejects("\nlisteners = ( { name = \"gw\"; mode = \"sideways\"; listen = \"127.0.0.1:3999\"; } );\n",
                  "gatehouse.conf:2:", "unknown mode 'sideways'");
}
END_TEST

START_TEST(rejects_unknown_pool)
{
    check_rejects("listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:3999\"; routes = \"r\"; } );\n"
                  "pools = { a = { servers = ( { address = \"127.0.0.1:1\"; } ); }; };\n"
                  "routes = { r = ( { path = \"/\";\n pool = \"nope\"; } ); };\n",
                  "gatehouse.conf:4:", "pool 'nope' is not defined");
}
END_TEST

START_TEST(rejects_syntax_error)
{
    check_rejects("workers = 1;\nlisteners = = ( );\n", "gatehouse.conf:2:", "syntax error");
}
END_TEST

START_TEST(valid_file_passes_check)
{
    char out[1024];

    ck_assert_int_eq(th_gatehouse_check(LISTEN_OK, out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "is valid"));
}
END_TEST

START_TEST(port_in_use_stops_startup)
{
    struct origin o;
    struct th_gatehouse g;
    char conf[512];

    ck_assert_int_eq(origin_start(&o, "squatter", answer), 0);
    snprintf(conf, sizeof(conf),
             "listeners = ( { name = \"gw\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; } );\n",
             o.port);
    ck_assert_int_eq(th_gatehouse_start(&g, conf), -1);
    snprintf(conf, sizeof(conf), "cannot listen on 127.0.0.1:%d: Address already in use", o.port);
    ck_assert_int_eq(th_log_lines(g.errlog, 1, "gatehouse.conf:1:", "listener 'gw'", conf, NULL), 1);
    origin_stop(&o);
}
END_TEST

Suite *lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *run = tcase_create("running");
    TCase *bad = tcase_create("bad configuration");

    tcase_set_timeout(run, 60);
    tcase_add_test(run, reload_switches_pool_without_dropping);
    tcase_add_test(run, bad_reload_keeps_serving);
    tcase_add_test(run, reload_adds_and_removes_listeners);
    tcase_add_test(run, sigterm_lets_slow_exchange_finish);
    tcase_add_test(run, sigusr1_reopens_access_log);
    suite_add_tcase(s, run);
    tcase_add_test(bad, rejects_misspelled_key);
    tcase_add_test(bad, rejects_wrong_type);
    tcase_add_test(bad, rejects_unknown_mode);
    tcase_add_test(bad, rejects_unknown_pool);
    tcase_add_test(bad, rejects_syntax_error);
    tcase_add_test(bad, valid_file_passes_check);
    tcase_add_test(bad, port_in_use_stops_startup);
    suite_add_tcase(s, bad);
    return s;
}
