/* check_hello.c — what a CONNECT tunnel must start with where the policy
 * filters: a TLS ClientHello that gatehouse reads whole, however the client
 * cuts it into records and however large it is (up to 64 KiB), naming a
 * host the lists allow.  Anything else is closed, with a TLS alert when the
 * client spoke TLS, and the access log says why.
 *
 * The hellos are real ones made by OpenSSL in this process (custom
 * extensions pad them, or add an encrypted_client_hello extension), cut
 * into records here.  Where a tunnel must work, the test finishes the
 * handshake against stunnel and fetches a page through it, so the re-cut
 * hello is shown to be one a real server accepts. */
#include "common.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct origin origin;
static struct th_gatehouse gh;
static char dir[128];
static pid_t tls_pid, banner_pid;
static int tls_port, banner_port;
static int school, relaxed, strict, open_gw; /* the forward listeners */

/* What a refused TLS tunnel gets back: one fatal alert, then the end. */
static const unsigned char access_denied[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 49};
static const unsigned char decode_error[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 50};

#define BANNER "SSH-2.0-gatehouse-test\r\n"

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "hello rig: %s failed\n", what);
        abort();
    }
}

/* The web server behind stunnel, the far end of the TLS tunnels. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

/* A server that speaks first, as SSH, SMTP and FTP servers do: its banner
 * on each connection, then an echo of what it reads, one client at a time. */
static void banner_serve(int lfd)
{
    for (;;) {
        char buf[4096];
        ssize_t n;
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        if (send(c, BANNER, strlen(BANNER), MSG_NOSIGNAL) > 0)
            while ((n = recv(c, buf, sizeof(buf), 0)) > 0 &&
                   send(c, buf, (size_t)n, MSG_NOSIGNAL) == n)
                ;
        close(c);
    }
}

static void banner_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    must(lfd >= 0, "socket");
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    must(bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 16) == 0, "bind");
    must(getsockname(lfd, (struct sockaddr *)&a, &len) == 0, "getsockname");
    banner_port = ntohs(a.sin_port);
    banner_pid = fork();
    must(banner_pid >= 0, "fork");
    if (banner_pid == 0) {
        /* Check's own SIGTERM handler would stop the whole run */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the run */
        banner_serve(lfd);
        _exit(0);
    }
    close(lfd);
}

static void rig_start(void)
{
    char out[512], path[256], log[256], conf[4096];
    FILE *f;

    strcpy(dir, "/tmp/gh-hello-XXXXXX");
    must(mkdtemp(dir) != NULL, "mkdtemp");
    chmod(dir, 0755);
    snprintf(path, sizeof(path), "%s/adult.txt", dir);
    f = fopen(path, "w");
    must(f != NULL, path);
    fputs("bad.example\n.worse.example\n", f);
    fclose(f);
    chmod(path, 0644);
    must(th_sh(out, sizeof(out),
               "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
               "-subj /CN=localhost -days 2 -keyout %s/key.pem -out %s/cert.pem 2>&1",
               dir, dir) == 0,
         "openssl req");
    must(origin_start(&origin, "ho", answer) == 0, "origin");
    banner_start();
    school = th_free_port();
    relaxed = th_free_port();
    strict = th_free_port();
    open_gw = th_free_port();
    tls_port = th_free_port();
    snprintf(
        conf, sizeof(conf),
        "log = { access = \"@ACCESS@\"; };\n"
        /* the wait for a tunnel's first bytes */
        "timeouts = { client_header = 3; };\n"
        /* names other than localhost (/etc/hosts) never resolve here */
        "resolver = { nameservers = [ \"127.0.0.1:%d\" ]; timeout = 0.3; attempts = 1; };\n"
        "listeners = (\n"
        "  { name = \"school\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"school\"; },\n"
        "  { name = \"relaxed\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"relaxed\"; },\n"
        "  { name = \"strict\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"strict\"; },\n"
        "  { name = \"open\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"open\"; }\n"
        ");\n"
        "lists = { adult = { path = \"%s/adult.txt\"; }; };\n"
        "policies = {\n"
        "  school = { connect_ports = ( \"1024-65535\" ); filter = ( { block = [ \"adult\" ]; } ); };\n"
        "  relaxed = { connect_ports = ( \"1024-65535\" ); filter = ( { block = [ \"adult\" ]; } );\n"
        "              tunnel_non_tls = true; tunnel_ech = \"allow\"; };\n"
        "  strict = { connect_ports = ( \"1024-65535\" ); filter = ( { block = [ \"adult\" ]; } );\n"
        "             tunnel_non_tls = ( %d ); tunnel_ech = \"refuse\"; };\n"
        "  open = { connect_ports = ( \"1024-65535\" ); };\n"
        "};\n",
        th_free_port(), school, relaxed, strict, open_gw, dir, banner_port);
    must(th_gatehouse_start(&gh, conf) == 0, "gatehouse");
    snprintf(path, sizeof(path), "%s/stunnel.conf", dir);
    f = fopen(path, "w");
    must(f != NULL, "stunnel.conf");
    fprintf(f,
            "foreground = yes\npid =\n[t]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
            "cert = %s/cert.pem\nkey = %s/key.pem\n",
            tls_port, origin.port, dir, dir);
    fclose(f);
    snprintf(log, sizeof(log), "%s/stunnel.log", dir);
    tls_pid = th_spawn(log, (char *const[]){"stunnel", path, NULL});
    must(th_wait_port(tls_port) == 0, "stunnel");
}

static void rig_stop(void)
{
    th_reap(tls_pid);
    th_reap(banner_pid);
    rig_stop_clean(&gh);
    rig_origin_stop(&origin);
    th_sh(NULL, 0, "rm -rf %s", dir);
}

/* ---- a TLS client whose ClientHello the test re-cuts ---- */

#define HELLO_CAP (200 * 1024)
#define PAD_TYPE 0x4447 /* a private extension type, ignored by servers */
#define ECH_TYPE 0xfe0d /* encrypted_client_hello */

struct tclient {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rb, *wb;
    unsigned char *msg; /* the ClientHello handshake message, without records */
    size_t len;
};

static unsigned char zeros[60000];

/* Adds `*(size_t *)arg` bytes of padding, or a made-up encrypted_client_hello
 * (outer type, HPKE suite, config id, 32-byte key, 200-byte payload), the
 * way a browser's "GREASE" one looks. */
static int add_ext(SSL *s, unsigned int type, unsigned int context, const unsigned char **out,
                   size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
    static unsigned char ech[1 + 4 + 1 + 2 + 32 + 2 + 200];

    (void)s, (void)context, (void)x, (void)chainidx, (void)al;
    if (type == ECH_TYPE) {
        memset(ech, 0x5a, sizeof(ech));
        memcpy(ech, "\x00\x00\x01\x00\x01\x42\x00\x20", 8);
        ech[8 + 32] = 0x00, ech[8 + 32 + 1] = 200;
        *out = ech;
        *outlen = sizeof(ech);
        return 1;
    }
    *out = zeros;
    *outlen = *(size_t *)arg;
    return 1;
}

/* Starts a handshake naming sni (NULL: no server_name), padded with about
 * `pad` bytes (in extensions of up to 60000), with an ECH extension when
 * asked, and keeps the ClientHello OpenSSL wrote, without its records. */
static void tc_hello(struct tclient *c, const char *sni, size_t pad, int ech)
{
    static size_t pads[3];
    unsigned char *raw = malloc(HELLO_CAP);
    int n, i = 0;
    size_t off = 0;

    memset(c, 0, sizeof(*c));
    c->msg = malloc(HELLO_CAP);
    c->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
    for (; pad > 0 && i < 3; i++) {
        pads[i] = pad > sizeof(zeros) ? sizeof(zeros) : pad;
        pad -= pads[i];
        ck_assert_int_eq(SSL_CTX_add_custom_ext(c->ctx, PAD_TYPE + (unsigned)i,
                                                SSL_EXT_CLIENT_HELLO, add_ext, NULL, &pads[i], NULL,
                                                NULL),
                         1);
    }
    if (ech)
        ck_assert_int_eq(SSL_CTX_add_custom_ext(c->ctx, ECH_TYPE, SSL_EXT_CLIENT_HELLO, add_ext,
                                                NULL, NULL, NULL, NULL),
                         1);
    c->ssl = SSL_new(c->ctx);
    c->rb = BIO_new(BIO_s_mem());
    c->wb = BIO_new(BIO_s_mem());
    SSL_set_bio(c->ssl, c->rb, c->wb);
    if (sni)
        SSL_set_tlsext_host_name(c->ssl, sni);
    SSL_set_connect_state(c->ssl);
    ck_assert_int_eq(SSL_do_handshake(c->ssl), -1); /* it waits for the server */
    n = BIO_read(c->wb, raw, HELLO_CAP);
    ck_assert_int_gt(n, 5);
    /* strip OpenSSL's own records (several when the hello is over 16 KiB) */
    while (off + 5 <= (size_t)n) {
        size_t rl = (size_t)raw[off + 3] << 8 | raw[off + 4];
        ck_assert_int_eq(raw[off], 0x16);
        memcpy(c->msg + c->len, raw + off + 5, rl);
        c->len += rl;
        off += 5 + rl;
    }
    ck_assert_uint_eq(off, (size_t)n);
    free(raw);
}

static void tc_free(struct tclient *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    free(c->msg);
}

/* Where `what` starts in the hello (asserted present). */
static size_t hello_find(const struct tclient *c, const char *what)
{
    const unsigned char *at = memmem(c->msg, c->len, what, strlen(what));

    ck_assert_msg(at != NULL, "'%s' is not in the hello", what);
    return (size_t)(at - c->msg);
}

/* Writes msg[0..len) as handshake records that end at each of the cut
 * offsets (in increasing order; the last record ends at len), record type
 * `type` for the second record when not 0x16.  Returns the bytes. */
static size_t frame_types(const unsigned char *msg, size_t len, const size_t *cuts, size_t ncuts,
                          unsigned char second_type, unsigned char *out)
{
    size_t from = 0, n = 0;

    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        ck_assert(to > from && to - from <= 16384 && to <= len);
        out[n++] = i == 1 ? second_type : 0x16;
        out[n++] = 0x03;
        out[n++] = 0x01;
        out[n++] = (unsigned char)((to - from) >> 8);
        out[n++] = (unsigned char)(to - from);
        memcpy(out + n, msg + from, to - from);
        n += to - from;
        from = to;
    }
    return n;
}

static size_t frame(const struct tclient *c, const size_t *cuts, size_t ncuts, unsigned char *out)
{
    return frame_types(c->msg, c->len, cuts, ncuts, 0x16, out);
}

/* The hello in records of `step` bytes each (the last may be shorter). */
static size_t frame_every(const struct tclient *c, size_t step, unsigned char *out)
{
    size_t n = 0;

    for (size_t from = 0; from < c->len; from += step) {
        size_t k = c->len - from < step ? c->len - from : step;
        memcpy(out + n, "\x16\x03\x01", 3);
        out[n + 3] = (unsigned char)(k >> 8);
        out[n + 4] = (unsigned char)k;
        memcpy(out + n + 5, c->msg + from, k);
        n += 5 + k;
    }
    return n;
}

/* Sends what OpenSSL has written since (the rest of its handshake). */
static void flush_out(struct tclient *c, int fd)
{
    unsigned char buf[16384];
    int n;

    while ((n = BIO_read(c->wb, buf, sizeof(buf))) > 0)
        ck_assert_int_eq(tc_send_all(fd, buf, (size_t)n), 0);
}

/* After the (re-cut) hello went out on fd: finishes the handshake through
 * the tunnel, asks for /hello and returns the response (malloc'd). */
static char *tc_finish(struct tclient *c, int fd)
{
    static const char req[] = "GET /hello HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n";
    char *resp = calloc(1, 65536);
    size_t got = 0;
    unsigned char buf[16384];
    ssize_t n;
    int rc;

    while ((rc = SSL_do_handshake(c->ssl)) != 1) {
        ck_assert_msg(SSL_get_error(c->ssl, rc) == SSL_ERROR_WANT_READ, "handshake failed");
        flush_out(c, fd);
        n = recv(fd, buf, sizeof(buf), 0);
        ck_assert_msg(n > 0, "the tunnel closed during the handshake");
        BIO_write(c->rb, buf, (int)n);
    }
    ck_assert_int_eq(SSL_write(c->ssl, req, (int)strlen(req)), (int)strlen(req));
    flush_out(c, fd);
    for (;;) {
        rc = SSL_read(c->ssl, resp + got, (int)(65535 - got));
        if (rc > 0) {
            got += (size_t)rc;
            continue;
        }
        if (SSL_get_error(c->ssl, rc) != SSL_ERROR_WANT_READ)
            break;
        flush_out(c, fd);
        n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        BIO_write(c->rb, buf, (int)n);
    }
    return resp;
}

/* ---- the tunnel ---- */

/* Opens a tunnel to host:port through a listener; `tag` is its user agent,
 * which finds its access-log line. */
static int tunnel(int listener, const char *host, int port, const char *tag)
{
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    int fd = tc_connect("127.0.0.1", listener);
    char req[512], est[64];

    ck_assert_int_ge(fd, 0);
    snprintf(req, sizeof(req), "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: %s\r\n\r\n",
             host, port, host, port, tag);
    ck_assert_int_eq(tc_send_all(fd, req, strlen(req)), 0);
    ck_assert_int_eq(recv(fd, est, strlen(ok), MSG_WAITALL), (ssize_t)strlen(ok));
    ck_assert_int_eq(memcmp(est, ok, strlen(ok)), 0);
    return fd;
}

/* Reads what the tunnel gives until its end: the byte count, or -1 when it
 * stays open (the socket's receive timeout). */
static ssize_t read_to_end(int fd, unsigned char *buf, size_t cap)
{
    size_t got = 0;

    for (;;) {
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return (ssize_t)got;
        if (n < 0)
            return -1;
        got += (size_t)n;
        if (got == cap)
            return (ssize_t)got;
    }
}

/* The tunnel on fd was closed after one alert (NULL: after nothing). */
static void assert_refused(int fd, const unsigned char *alert)
{
    unsigned char buf[4096];
    ssize_t n = read_to_end(fd, buf, sizeof(buf));

    ck_assert_msg(n >= 0, "the tunnel stayed open");
    if (alert) {
        ck_assert_msg(n == 7 && memcmp(buf, alert, 7) == 0,
                      "expected one alert, got %zd bytes starting %02x", n, n > 0 ? buf[0] : 0);
    } else {
        ck_assert_int_eq(n, 0);
    }
    tc_close(fd);
}

/* Sends a hello cut as given through `listener` to the TLS origin, as
 * CONNECT `host`, and expects it refused with `alert`. */
static void send_refused(int listener, const char *host, const unsigned char *bytes, size_t n,
                         const char *tag, const unsigned char *alert)
{
    int fd = tunnel(listener, host, tls_port, tag);

    ck_assert_int_eq(tc_send_all(fd, bytes, n), 0);
    assert_refused(fd, alert);
}

/* The access log has one line for tag with every needle. */
static int logged(const char *tag, const char *a, const char *b)
{
    char t[128];

    snprintf(t, sizeof(t), "\"%s\"", tag);
    return th_log_lines(gh.access, 1, t, a, b, NULL);
}

/* Sends the client's re-cut hello through `listener` as CONNECT `host`
 * and expects the page from the origin behind stunnel. */
static void send_works(int listener, const char *host, struct tclient *c,
                       const unsigned char *bytes, size_t n, const char *tag)
{
    int fd = tunnel(listener, host, tls_port, tag);
    char *resp;

    ck_assert_int_eq(tc_send_all(fd, bytes, n), 0);
    resp = tc_finish(c, fd);
    ck_assert_msg(strstr(resp, "hello from ho") != NULL, "%s: got '%.200s'", tag, resp);
    free(resp);
    tc_close(fd);
    ck_assert_int_eq(logged(tag, "\" 200 ", "why=-"), 1);
}

/* ---- the tests ---- */

#define BLOCKED_SNI "filter=block-sni:adult", "why=TLS server name blocked by the filter"

/* Today's evasion: the blocked name in a hello cut in two records. */
START_TEST(blocked_name_in_two_records)
{
    struct tclient c;
    unsigned char *out = malloc(HELLO_CAP);
    size_t name, cut;

    tc_hello(&c, "www.bad.example", 0, 0);
    name = hello_find(&c, "www.bad.example");
    /* inside the name */
    cut = name + 6;
    send_refused(school, "localhost", out, frame(&c, &cut, 1, out), "two-in-name", access_denied);
    ck_assert_int_eq(logged("two-in-name", BLOCKED_SNI), 1);
    /* inside the server_name extension's header (type, lengths) */
    cut = name - 7;
    send_refused(school, "localhost", out, frame(&c, &cut, 1, out), "two-in-ext", access_denied);
    ck_assert_int_eq(logged("two-in-ext", BLOCKED_SNI), 1);
    /* inside the handshake header, and just after the random */
    cut = 2;
    send_refused(school, "localhost", out, frame(&c, &cut, 1, out), "two-in-header", access_denied);
    ck_assert_int_eq(logged("two-in-header", BLOCKED_SNI), 1);
    cut = 4 + 2 + 32;
    send_refused(school, "localhost", out, frame(&c, &cut, 1, out), "two-after-random",
                 access_denied);
    ck_assert_int_eq(logged("two-after-random", BLOCKED_SNI), 1);
    tc_free(&c);
    free(out);
}
END_TEST

START_TEST(blocked_name_in_many_records)
{
    struct tclient c;
    unsigned char *out = malloc(HELLO_CAP);
    size_t cuts[3];

    tc_hello(&c, "www.worse.example", 0, 0);
    send_refused(school, "localhost", out, frame_every(&c, 1, out), "one-byte-records",
                 access_denied);
    ck_assert_int_eq(logged("one-byte-records", BLOCKED_SNI), 1);
    send_refused(school, "localhost", out, frame_every(&c, 7, out), "seven-byte-records",
                 access_denied);
    ck_assert_int_eq(logged("seven-byte-records", BLOCKED_SNI), 1);
    cuts[0] = 1, cuts[1] = hello_find(&c, "worse"), cuts[2] = cuts[1] + 3;
    send_refused(school, "localhost", out, frame(&c, cuts, 3, out), "four-records", access_denied);
    ck_assert_int_eq(logged("four-records", BLOCKED_SNI), 1);
    tc_free(&c);
    free(out);
}
END_TEST

/* A hello past 16 KiB comes in several records as OpenSSL writes it. */
START_TEST(blocked_name_in_padded_hellos)
{
    struct tclient c;
    unsigned char *out = malloc(HELLO_CAP);
    static const size_t pads[] = {20000, 40000, 64000};
    char tag[32];

    for (size_t i = 0; i < 3; i++) {
        tc_hello(&c, "www.bad.example", pads[i], 0);
        ck_assert_uint_gt(c.len, pads[i]);
        snprintf(tag, sizeof(tag), "padded-%zu", pads[i]);
        send_refused(school, "localhost", out, frame_every(&c, 16384, out), tag, access_denied);
        ck_assert_int_eq(logged(tag, BLOCKED_SNI), 1);
        tc_free(&c);
    }
    free(out);
}
END_TEST

/* An allowed name, cut every way, still reaches the TLS origin. */
START_TEST(allowed_name_cut_up_works)
{
    struct tclient c;
    unsigned char *out = malloc(HELLO_CAP);
    size_t cut;

    tc_hello(&c, "good.example", 0, 0);
    cut = hello_find(&c, "good.example") + 3;
    send_works(school, "localhost", &c, out, frame(&c, &cut, 1, out), "ok-two");
    tc_free(&c);
    tc_hello(&c, "good.example", 0, 0);
    send_works(school, "localhost", &c, out, frame_every(&c, 1, out), "ok-one-byte");
    tc_free(&c);
    tc_hello(&c, "good.example", 0, 0);
    send_works(school, "localhost", &c, out, frame_every(&c, 100, out), "ok-hundred");
    tc_free(&c);
    /* 60 KB of padding: five records */
    tc_hello(&c, "good.example", 60000, 0);
    send_works(school, "localhost", &c, out, frame_every(&c, 16384, out), "ok-padded");
    tc_free(&c);
    free(out);
}
END_TEST

/* Over 64 KiB is refused as soon as the handshake header says so.  (No
 * real client can make one: extensions are at most 64 KiB in all.) */
START_TEST(hello_over_64k_is_refused)
{
    struct tclient c = {0};
    unsigned char *out = malloc(HELLO_CAP);
    int fd;

    c.msg = calloc(1, HELLO_CAP);
    c.len = 4 + 70000;
    memcpy(c.msg, "\x01\x01\x11\x70", 4); /* ClientHello, 70000 bytes */
    send_refused(school, "localhost", out, frame_every(&c, 16384, out), "too-large", access_denied);
    ck_assert_int_eq(
        logged("too-large", "filter=refuse-tunnel:too-large", "why=ClientHello over 64 KiB"), 1);
    /* the first record alone says it: nothing more is waited for */
    fd = tunnel(school, "localhost", tls_port, "too-large-first");
    ck_assert_int_eq(tc_send_all(fd, out, 5 + 16384), 0);
    assert_refused(fd, access_denied);
    ck_assert_int_eq(logged("too-large-first", "why=ClientHello over 64 KiB", NULL), 1);
    free(c.msg);
    free(out);
}
END_TEST

/* Plain HTTP inside a CONNECT: refused where the policy filters, unless the
 * policy allows tunnels that are not TLS (to that port). */
START_TEST(not_tls_is_refused)
{
    static const char get[] = "GET /hello HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n";
    struct tc_response r = {0};
    int fd;

    fd = tunnel(school, "localhost", origin.port, "plain-school");
    ck_assert_int_eq(tc_send_all(fd, get, strlen(get)), 0);
    assert_refused(fd, NULL);
    ck_assert_int_eq(
        logged("plain-school", "filter=refuse-tunnel:not-tls", "why=tunnel is not TLS"), 1);
    /* SSH's first bytes */
    fd = tunnel(school, "localhost", origin.port, "ssh-school");
    ck_assert_int_eq(tc_send_all(fd, "SSH-2.0-OpenSSH_9.2\r\n", 21), 0);
    assert_refused(fd, NULL);
    ck_assert_int_eq(logged("ssh-school", "why=tunnel is not TLS", NULL), 1);
    /* tunnel_non_tls = ( banner port ): the origin's port is not in it */
    fd = tunnel(strict, "localhost", origin.port, "plain-strict");
    ck_assert_int_eq(tc_send_all(fd, get, strlen(get)), 0);
    assert_refused(fd, NULL);
    ck_assert_int_eq(logged("plain-strict", "why=tunnel is not TLS", NULL), 1);
    /* tunnel_non_tls = true */
    fd = tunnel(relaxed, "localhost", origin.port, "plain-relaxed");
    ck_assert_int_eq(tc_send_all(fd, get, strlen(get)), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_str_eq(r.body, "hello from ho\n");
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_eq(logged("plain-relaxed", "\" 200 ", "why=-"), 1);
    /* no filter, no inspection */
    fd = tunnel(open_gw, "localhost", origin.port, "plain-open");
    ck_assert_int_eq(tc_send_all(fd, get, strlen(get)), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_str_eq(r.body, "hello from ho\n");
    tc_response_free(&r);
    tc_close(fd);
}
END_TEST

/* A server that speaks first is no TLS server. */
START_TEST(server_speaking_first_is_not_tls)
{
    char buf[64];
    int fd;

    fd = tunnel(school, "localhost", banner_port, "banner-school");
    assert_refused(fd, NULL);
    ck_assert_int_eq(logged("banner-school", "filter=refuse-tunnel:not-tls",
                            "why=tunnel is not TLS (the server spoke first)"),
                     1);
    /* allowed to this port: the banner, then an echo */
    fd = tunnel(strict, "localhost", banner_port, "banner-strict");
    ck_assert_int_eq(recv(fd, buf, strlen(BANNER), MSG_WAITALL), (ssize_t)strlen(BANNER));
    ck_assert_int_eq(memcmp(buf, BANNER, strlen(BANNER)), 0);
    ck_assert_int_eq(tc_send_all(fd, "ping", 4), 0);
    ck_assert_int_eq(recv(fd, buf, 4, MSG_WAITALL), 4);
    ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
    tc_close(fd);
}
END_TEST

/* Encrypted Client Hello: the outer name must be the host the client
 * CONNECTed to (a browser's "GREASE" ECH), unless the policy says. */
START_TEST(encrypted_client_hello)
{
    struct tclient c;
    unsigned char *out = malloc(HELLO_CAP);
    size_t cut;

    /* a decoy outer name: the real one is hidden */
    tc_hello(&c, "cover.example", 0, 1);
    cut = hello_find(&c, "cover") + 2;
    send_refused(school, "localhost", out, frame(&c, &cut, 1, out), "ech-decoy", access_denied);
    ck_assert_int_eq(logged("ech-decoy", "filter=refuse-tunnel:ech",
                            "why=encrypted ClientHello hides the server name"),
                     1);
    tc_free(&c);
    /* the outer name is the CONNECT's: passes, any spelling */
    tc_hello(&c, "LocalHost.", 0, 1);
    send_works(school, "localhost", &c, out, frame_every(&c, 16384, out), "ech-same");
    tc_free(&c);
    /* tunnel_ech = "allow": the decoy passes the lists... */
    tc_hello(&c, "cover.example", 0, 1);
    send_works(relaxed, "localhost", &c, out, frame_every(&c, 16384, out), "ech-allowed");
    tc_free(&c);
    /* ...unless it is itself blocked */
    tc_hello(&c, "www.bad.example", 0, 1);
    send_refused(relaxed, "localhost", out, frame_every(&c, 16384, out), "ech-blocked-decoy",
                 access_denied);
    ck_assert_int_eq(logged("ech-blocked-decoy", BLOCKED_SNI), 1);
    tc_free(&c);
    /* tunnel_ech = "refuse": every one */
    tc_hello(&c, "localhost", 0, 1);
    send_refused(strict, "localhost", out, frame_every(&c, 16384, out), "ech-strict",
                 access_denied);
    ck_assert_int_eq(logged("ech-strict", "filter=refuse-tunnel:ech",
                            "why=encrypted ClientHello refused by policy"),
                     1);
    tc_free(&c);
    free(out);
}
END_TEST

/* No server_name: refused when the CONNECT named a host, fine for an
 * address (clients send no SNI for IP literals). */
START_TEST(hello_without_a_name)
{
    struct tclient c;
    unsigned char *out = malloc(HELLO_CAP);

    tc_hello(&c, NULL, 0, 0);
    send_refused(school, "localhost", out, frame_every(&c, 16384, out), "no-sni-name",
                 access_denied);
    ck_assert_int_eq(
        logged("no-sni-name", "filter=refuse-tunnel:no-sni", "why=ClientHello names no server"), 1);
    tc_free(&c);
    tc_hello(&c, NULL, 0, 0);
    send_works(school, "127.0.0.1", &c, out, frame_every(&c, 16384, out), "no-sni-address");
    tc_free(&c);
    free(out);
}
END_TEST

/* The name is judged in its normal form, and a name no resolver would
 * accept is refused. */
START_TEST(server_name_normal_form)
{
    struct tclient c;
    unsigned char *out = malloc(HELLO_CAP);
    size_t at;

    tc_hello(&c, "WWW.Bad.Example.", 0, 0);
    send_refused(school, "localhost", out, frame_every(&c, 16384, out), "sni-spelling",
                 access_denied);
    ck_assert_int_eq(logged("sni-spelling", BLOCKED_SNI), 1);
    tc_free(&c);
    tc_hello(&c, "www.bad.example..", 0, 0);
    send_refused(school, "localhost", out, frame_every(&c, 16384, out), "sni-two-dots",
                 access_denied);
    ck_assert_int_eq(logged("sni-two-dots", "filter=refuse-tunnel:bad-sni",
                            "why=ClientHello server name is not a valid host name"),
                     1);
    tc_free(&c);
    /* a NUL inside the name: "www\0bad.example" */
    tc_hello(&c, "www.bad.example", 0, 0);
    at = hello_find(&c, "www.bad.example");
    c.msg[at + 3] = 0;
    send_refused(school, "localhost", out, frame_every(&c, 16384, out), "sni-nul", access_denied);
    ck_assert_int_eq(logged("sni-nul", "filter=refuse-tunnel:bad-sni", NULL), 1);
    tc_free(&c);
    free(out);
}
END_TEST

START_TEST(malformed_hellos)
{
    struct tclient c;
    unsigned char *out = malloc(HELLO_CAP);
    size_t n, cut;

    tc_hello(&c, "good.example", 0, 0);
    /* a second record of another type (application data) inside the hello */
    cut = 50;
    n = frame_types(c.msg, c.len, &cut, 1, 0x17, out);
    send_refused(school, "localhost", out, n, "bad-interleaved", decode_error);
    ck_assert_int_eq(
        logged("bad-interleaved", "filter=refuse-tunnel:malformed", "why=malformed ClientHello"),
        1);
    /* the handshake is no ClientHello */
    c.msg[0] = 2;
    send_refused(school, "localhost", out, frame_every(&c, 16384, out), "bad-type", decode_error);
    ck_assert_int_eq(logged("bad-type", "why=malformed ClientHello", NULL), 1);
    c.msg[0] = 1;
    /* the session id claims more than 32 bytes */
    c.msg[4 + 2 + 32] = 33;
    send_refused(school, "localhost", out, frame_every(&c, 16384, out), "bad-session-id",
                 decode_error);
    ck_assert_int_eq(logged("bad-session-id", "why=malformed ClientHello", NULL), 1);
    tc_free(&c);
    /* an empty record */
    tc_hello(&c, "good.example", 0, 0);
    memcpy(out, "\x16\x03\x01\x00\x00", 5);
    n = 5 + frame_every(&c, 16384, out + 5);
    send_refused(school, "localhost", out, n, "bad-empty-record", decode_error);
    ck_assert_int_eq(logged("bad-empty-record", "why=malformed ClientHello", NULL), 1);
    /* the client ends in the middle of its hello */
    {
        int fd = tunnel(school, "localhost", tls_port, "bad-cut-short");
        n = frame_every(&c, 16384, out);
        ck_assert_int_eq(tc_send_all(fd, out, n / 2), 0);
        shutdown(fd, SHUT_WR);
        assert_refused(fd, decode_error);
        ck_assert_int_eq(
            logged("bad-cut-short", "filter=refuse-tunnel:malformed", "why=ClientHello cut short"),
            1);
    }
    tc_free(&c);
    free(out);
}
END_TEST

/* The wait for the first bytes is bounded (client_header, 3 s here). */
START_TEST(silent_client)
{
    struct tclient c;
    unsigned char *out = malloc(HELLO_CAP);
    int fd;

    fd = tunnel(school, "localhost", tls_port, "silent");
    assert_refused(fd, NULL);
    ck_assert_int_eq(logged("silent", "filter=refuse-tunnel:timeout", "why=no ClientHello in time"),
                     1);
    /* half a hello, then nothing */
    tc_hello(&c, "good.example", 0, 0);
    fd = tunnel(school, "localhost", tls_port, "silent-half");
    ck_assert_int_eq(tc_send_all(fd, out, frame_every(&c, 16384, out) / 2), 0);
    assert_refused(fd, access_denied);
    ck_assert_int_eq(logged("silent-half", "why=no ClientHello in time", NULL), 1);
    tc_free(&c);
    /* a client that says nothing and leaves is just closed */
    fd = tunnel(school, "localhost", tls_port, "silent-leaves");
    shutdown(fd, SHUT_WR);
    assert_refused(fd, NULL);
    ck_assert_int_eq(logged("silent-leaves", "\" 200 ", "why=-"), 1);
    free(out);
}
END_TEST

/* The real clients: curl reaches the TLS origin through the filtered
 * listener; openssl s_client naming a blocked host is told access denied. */
START_TEST(real_clients)
{
    char out[8192];

    ck_assert_int_eq(
        th_sh(out, sizeof(out),
              "curl -sS -k -A curl-through -x http://127.0.0.1:%d https://localhost:%d/hello 2>&1",
              school, tls_port),
        0);
    ck_assert_str_eq(out, "hello from ho\n");
    ck_assert_int_eq(logged("curl-through", "\" 200 ", "why=-"), 1);
    th_sh(out, sizeof(out),
          "echo | timeout 10 openssl s_client -proxy 127.0.0.1:%d -connect localhost:%d "
          "-servername www.worse.example 2>&1",
          school, tls_port);
    ck_assert_msg(strstr(out, "alert access denied") != NULL && !strstr(out, "BEGIN CERTIFICATE"),
                  "s_client: %s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "CONNECT localhost:", "filter=block-sni:adult",
                                  "\"-\" listener=school", NULL),
                     1);
}
END_TEST

/* Without a filter a tunnel is a byte pipe: nothing is judged. */
START_TEST(no_filter_no_inspection)
{
    struct tclient c;
    unsigned char *out = malloc(HELLO_CAP);

    tc_hello(&c, "www.bad.example", 0, 1);
    send_works(open_gw, "localhost", &c, out, frame_every(&c, 3, out), "open-anything");
    tc_free(&c);
    free(out);
}
END_TEST

Suite *hello_suite(void)
{
    Suite *s = suite_create("hello");
    TCase *tc = tcase_create("hello");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, blocked_name_in_two_records);
    tcase_add_test(tc, blocked_name_in_many_records);
    tcase_add_test(tc, blocked_name_in_padded_hellos);
    tcase_add_test(tc, allowed_name_cut_up_works);
    tcase_add_test(tc, hello_over_64k_is_refused);
    tcase_add_test(tc, not_tls_is_refused);
    tcase_add_test(tc, server_speaking_first_is_not_tls);
    tcase_add_test(tc, encrypted_client_hello);
    tcase_add_test(tc, hello_without_a_name);
    tcase_add_test(tc, server_name_normal_form);
    tcase_add_test(tc, malformed_hellos);
    tcase_add_test(tc, silent_client);
    tcase_add_test(tc, real_clients);
    tcase_add_test(tc, no_filter_no_inspection);
    suite_add_tcase(s, tc);
    return s;
}
