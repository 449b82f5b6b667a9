/* check_tunnel.c — CONNECT tunnels through the forward mode and protocol
 * upgrades (101) through the reverse mode: bytes both ways, half-close, and
 * the policy's refusals. */
#include "common.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static struct rig rig;

/* ---- the origin ---- */

/* /upgrade: switches to an echo protocol when asked hop by hop (Upgrade:
 * echo, and Connection: upgrade), then sends back what comes until the
 * client half-closes, and closes; asked otherwise, 400. */
static void upgrade(const struct origin_request *rq, struct origin_reply *re)
{
    static const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n"
                             "Connection: upgrade\r\n\r\n";
    char up[64], conn[64], buf[4096];
    ssize_t got;
    int fd;

    if (origin_field(rq, "Upgrade", 0, up, sizeof(up)) < 0 || strcasecmp(up, "echo") != 0 ||
        origin_field(rq, "Connection", 0, conn, sizeof(conn)) < 0 ||
        strcasecmp(conn, "upgrade") != 0) {
        origin_status(re, 400);
        origin_text(re, "upgrade not asked\n");
        origin_close(re);
        return;
    }
    origin_send(re, ok, strlen(ok));
    fd = origin_take(re);
    while ((got = recv(fd, buf, sizeof(buf), 0)) > 0)
        if (send(fd, buf, (size_t)got, MSG_NOSIGNAL) != got)
            break;
}

/* The origin at the end of the tunnels and behind the reverse listener;
 * /bytes/N is N bytes of the pattern 'a' + i % 26. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    uint64_t n;

    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (origin_path_num(rq, "/bytes/", &n)) {
        origin_pattern(re, n);
    } else if (strcmp(rq->path, "/upgrade") == 0) {
        upgrade(rq, re);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

/* A gatehouse with a forward and a reverse listener, the origin as the
 * reverse listener's only server. */
static void up(void) { rig_up_gateway_and_site(&rig, answer); }

static void down(void) { rig_down(&rig); }

/* Reads exactly n bytes (the test's receive timeout bounds it). */
static int read_exact(int fd, char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

START_TEST(connect_tunnels_bytes)
{
    int fd = tc_connect("127.0.0.1", rig.fwd);
    char req[256], resp[64];
    const char *est = "HTTP/1.1 200 Connection established\r\n\r\n";
    struct tc_response r = {0};

    snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
             rig.o.port, rig.o.port);
    ck_assert_int_eq(tc_send_all(fd, req, strlen(req)), 0);
    ck_assert_int_eq(read_exact(fd, resp, strlen(est)), 0);
    ck_assert_int_eq(memcmp(resp, est, strlen(est)), 0);
    /* inside the tunnel: plain HTTP to the origin, twice on one connection */
    rig_exchange(fd, "GET /hello HTTP/1.1\r\nHost: o\r\n\r\n", &r);
    ck_assert_str_eq(r.body, "hello from o1\n");
    tc_response_free(&r);
    rig_exchange(fd, "GET /bytes/1000000 HTTP/1.1\r\nHost: o\r\n\r\n", &r);
    ck_assert_int_eq(r.body_len, 1000000);
    ck_assert_uint_eq(r.body_sum, tc_pattern_sum(1000000));
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "\"CONNECT 127.0.0.1:", "\" 200 ", "mode=forward",
                                  NULL), 1);
}
END_TEST

START_TEST(connect_to_refused_port_is_403)
{
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", rig.fwd);

    rig_exchange(fd, "CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: 127.0.0.1:25\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 403);
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "CONNECT 127.0.0.1:25", "\" 403 ",
                                  "why=CONNECT to this port is not allowed by policy", NULL), 1);
}
END_TEST

START_TEST(connect_to_dead_port_is_502)
{
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", rig.fwd), dead = th_free_port();
    char req[256];

    snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n", dead);
    rig_exchange(fd, req, &r);
    ck_assert_int_eq(r.status, 502);
    tc_response_free(&r);
    tc_close(fd);
}
END_TEST

START_TEST(upgrade_becomes_tunnel_after_101)
{
    int fd = tc_connect("127.0.0.1", rig.rev);
    struct tc_response r = {0};
    char buf[32];

    rig_exchange(fd, "GET /upgrade HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
                 &r);
    ck_assert_int_eq(r.status, 101);
    tc_response_free(&r);
    ck_assert_int_eq(tc_send_all(fd, "ping 1234", 9), 0);
    ck_assert_int_eq(read_exact(fd, buf, 9), 0);
    ck_assert_int_eq(memcmp(buf, "ping 1234", 9), 0);
    /* our half-close reaches the origin, whose close reaches us */
    shutdown(fd, SHUT_WR);
    ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0);
    tc_close(fd);
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "GET /upgrade", "\" 101 ", NULL), 1);
}
END_TEST

/* Without Connection: upgrade the Upgrade field is hop-by-hop and dropped:
 * the origin never sees the request to switch. */
START_TEST(upgrade_without_connection_token_is_not_forwarded)
{
    int fd = tc_connect("127.0.0.1", rig.rev);
    struct tc_response r = {0};

    rig_exchange(fd, "GET /upgrade HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 400);
    tc_response_free(&r);
    tc_close(fd);
}
END_TEST

Suite *tunnel_suite(void)
{
    Suite *s = suite_create("tunnel");
    TCase *tc = tcase_create("tunnels");

    tcase_add_checked_fixture(tc, up, down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, connect_tunnels_bytes);
    tcase_add_test(tc, connect_to_refused_port_is_403);
    tcase_add_test(tc, connect_to_dead_port_is_502);
    tcase_add_test(tc, upgrade_becomes_tunnel_after_101);
    tcase_add_test(tc, upgrade_without_connection_token_is_not_forwarded);
    suite_add_tcase(s, tc);
    return s;
}
