/* check_probe.c — one health probe on a real loop against real loopback
 * sockets: an origin thread that answers (or not), a closed port, a
 * listener that never accepts.  Timings are not asserted beyond "it
 * finished" and "it timed out" (a guard timer bounds every run). */
#include "loop.h"
#include "probe.h"
#include "suites.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define GUARD_MS 10000u /* a probe that has not finished by then never will */

static const char health_request[] = "GET /healthz HTTP/1.1\r\nHost: app.example:8080\r\n"
                                     "User-Agent: gatehouse-health\r\nConnection: close\r\n\r\n";

/* ---- a one-connection origin in a thread ---- */

struct origin {
    int fd; /* listening */
    uint16_t port;
    const char *answer; /* written once the request head is in; NULL: close instead */
    size_t answer_len;
    int trickle;    /* write the answer a byte at a time */
    char got[2048]; /* what the probe sent */
    size_t got_len;
    pthread_t th;
};

/* A listening socket on 127.0.0.1 at a port of the kernel's choosing. */
static int listen_any(uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void *origin_main(void *arg)
{
    struct origin *o = arg;
    int c = accept(o->fd, NULL, NULL);

    if (c < 0)
        return NULL;
    while (o->got_len < sizeof(o->got) - 1) {
        ssize_t n = recv(c, o->got + o->got_len, sizeof(o->got) - 1 - o->got_len, 0);
        if (n <= 0)
            break;
        o->got_len += (size_t)n;
        o->got[o->got_len] = '\0';
        if (strstr(o->got, "\r\n\r\n"))
            break;
    }
    for (size_t off = 0; o->answer && off < o->answer_len;) {
        size_t chunk = o->trickle ? 1 : o->answer_len - off;
        ssize_t n = send(c, o->answer + off, chunk, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the probe has seen enough and closed */
        off += (size_t)n;
        if (o->trickle)
            usleep(2000);
    }
    close(c);
    return NULL;
}

static void origin_start(struct origin *o, const char *answer, int trickle)
{
    memset(o, 0, sizeof(*o));
    o->fd = listen_any(&o->port);
    o->answer = answer;
    o->answer_len = answer ? strlen(answer) : 0;
    o->trickle = trickle;
    ck_assert_int_eq(pthread_create(&o->th, NULL, origin_main, o), 0);
}

static void origin_stop(struct origin *o)
{
    pthread_join(o->th, NULL);
    close(o->fd);
}

/* ---- running one probe ---- */

struct run {
    struct loop *l;
    struct timer guard;
    int calls;
    int status;
    const char *error;
    int guard_fired;
};

static void on_done(void *arg, int status, const char *error)
{
    struct run *r = arg;

    r->calls++;
    r->status = status;
    r->error = error;
    loop_stop(r->l);
}

static void on_guard(struct timer *t)
{
    struct run *r = (struct run *)((char *)t - offsetof(struct run, guard));

    r->guard_fired = 1;
    loop_stop(r->l);
}

static struct sockaddr_storage loopback(uint16_t port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons(port);
    return ss;
}

/* Runs a probe to the end (or the guard); with cancel, cancels it at once
 * and runs the loop for guard_ms to see that nothing calls back. */
static struct run run_probe(uint16_t port, int http, const char *path, uint32_t timeout_ms,
                            int cancel, uint64_t guard_ms)
{
    struct sockaddr_storage ss = loopback(port);
    struct probe_req req = {
        .addr = &ss,
        .http = http,
        .path = path,
        .host = "app.example:8080",
        .timeout_ms = timeout_ms,
    };
    struct run r = {.guard.on_fire = on_guard};
    struct probe *p;

    r.l = loop_new();
    p = probe_start(r.l, &req, on_done, &r);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(r.calls, 0); /* never from inside probe_start */
    if (cancel)
        probe_cancel(p);
    loop_timer_set(r.l, &r.guard, guard_ms);
    loop_run(r.l);
    loop_timer_cancel(r.l, &r.guard);
    loop_free(r.l);
    r.l = NULL;
    return r;
}

static void assert_ok(const struct run *r, int status)
{
    ck_assert_int_eq(r->guard_fired, 0);
    ck_assert_int_eq(r->calls, 1);
    ck_assert_ptr_null(r->error);
    ck_assert_int_eq(r->status, status);
}

static void assert_failed(const struct run *r, const char *error)
{
    ck_assert_int_eq(r->guard_fired, 0);
    ck_assert_int_eq(r->calls, 1);
    ck_assert_ptr_nonnull(r->error);
    ck_assert_str_eq(r->error, error);
}

/* ---- HTTP answers, table-driven ---- */

static char long_head[6200]; /* built in setup: a head longer than the probe keeps */

static void build_long_head(void)
{
    size_t n = gh_fmt(long_head, sizeof(long_head), "HTTP/1.1 503 Service Unavailable\r\nX-Pad: ");

    memset(long_head + n, 'a', 6000);
    memcpy(long_head + n + 6000, "\r\n\r\n", 5);
}

static const struct answer_case {
    const char *name;
    const char *answer; /* NULL: the origin closes without answering; "": see long_head */
    int trickle;
    int status; /* expected, when error is NULL */
    const char *error;
} answers[] = {
    {"no content", "HTTP/1.1 204 No Content\r\n\r\n", 0, 204, NULL},
    {"a byte at a time", "HTTP/1.1 204 No Content\r\n\r\n", 1, 204, NULL},
    {"an error status is still a status",
     "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 0, 503, NULL},
    {"HTTP/1.0", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody", 0, 200, NULL},
    {"interim heads are skipped",
     "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
     0, 200, NULL},
    {"a bad field: the status line decides", "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", 0, 200, NULL},
    {"a head longer than the buffer", "", 0, 503, NULL},
    {"garbage", "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 0, 0, "invalid response"},
    {"garbage without a line end", "\x16\x03\x01\x02\x01\x01\xfc\x03\x03", 0, 0,
     "invalid response"},
    {"a bad status code", "HTTP/1.1 2x0 OK\r\n\r\n", 0, 0, "invalid response"},
    {"closed without an answer", NULL, 0, 0, "closed"},
    {"closed in the middle of the head", "HTTP/1.1 200 OK\r\nContent-", 0, 0, "closed"},
};

START_TEST(http_answers)
{
    const struct answer_case *c = &answers[_i];
    struct origin o;
    struct run r;

    build_long_head();
    origin_start(&o, c->answer && !*c->answer ? long_head : c->answer, c->trickle);
    r = run_probe(o.port, 1, "/healthz", 5000, 0, GUARD_MS);
    origin_stop(&o);
    if (c->error)
        assert_failed(&r, c->error);
    else
        assert_ok(&r, c->status);
    /* what the origin saw, whatever it answered */
    ck_assert_msg(strcmp(o.got, health_request) == 0, "%s: the origin got \"%s\"", c->name, o.got);
}
END_TEST

/* ---- connections ---- */

START_TEST(tcp_check_connects)
{
    uint16_t port;
    int fd = listen_any(&port); /* the kernel completes the handshake without accept() */
    struct run r = run_probe(port, 0, NULL, 5000, 0, GUARD_MS);

    close(fd);
    assert_ok(&r, 0);
}
END_TEST

START_TEST(refused)
{
    uint16_t port;
    int fd = listen_any(&port);
    struct run r;

    close(fd); /* nothing listens there now */
    r = run_probe(port, _i, "/healthz", 5000, 0, GUARD_MS);
    assert_failed(&r, "connection refused");
    ck_assert_int_eq(probe_error_before_connect(r.error), 1);
}
END_TEST

/* A listener that never accepts: the connection is made (by the kernel) but
 * nobody answers. */
START_TEST(times_out)
{
    uint16_t port;
    int fd = listen_any(&port);
    struct run r = run_probe(port, 1, "/healthz", 200, 0, GUARD_MS);

    close(fd);
    assert_failed(&r, "timed out");
    ck_assert_int_eq(probe_error_before_connect(r.error), 0);
}
END_TEST

START_TEST(bad_target_refused_before_sending)
{
    uint16_t port;
    int fd = listen_any(&port);
    struct run r = run_probe(port, 1, "/a b\r\nX-Injected: 1", 5000, 0, GUARD_MS);

    close(fd);
    assert_failed(&r, "bad request target");
}
END_TEST

/* No callback after a cancel, for a probe in flight (_i 0) and for one whose
 * failure is already waiting to be reported (_i 1). */
START_TEST(cancel_means_silence)
{
    uint16_t port;
    int fd = listen_any(&port);
    struct run r;

    if (_i == 1)
        close(fd);
    r = run_probe(port, 1, "/healthz", 5000, 1, 200);
    if (_i == 0)
        close(fd);
    ck_assert_int_eq(r.calls, 0);
    ck_assert_int_eq(r.guard_fired, 1);
}
END_TEST

Suite *probe_suite(void)
{
    Suite *s = suite_create("probe");
    TCase *tc = tcase_create("probe");

    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, http_answers, 0, (int)GH_ARRAY_LEN(answers));
    tcase_add_test(tc, tcp_check_connects);
    tcase_add_loop_test(tc, refused, 0, 2);
    tcase_add_test(tc, times_out);
    tcase_add_test(tc, bad_target_refused_before_sending);
    tcase_add_loop_test(tc, cancel_means_silence, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
