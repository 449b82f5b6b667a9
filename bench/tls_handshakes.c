/* tls_handshakes.c — full TLS handshakes per second against one server
 * (bench/tls.sh).  Keeps CONNS connections in flight on one epoll loop: each
 * connects, completes a fresh handshake (no session cache, no tickets, so
 * never a resumption), then closes and is replaced.  Stops after SECONDS or
 * MAX handshakes, whichever comes first, and prints
 *   RESULT handshakes=N seconds=S rate=R failures=F
 * Usage: tls_handshakes -p PORT [-c CONNS] [-t SECONDS] [-n MAX] [-s SNI] */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    SSL *ssl;
};

static SSL_CTX *ctx;
static struct sockaddr_in to;
static const char *sni = "localhost";
static long done_count, failures;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int start(int ep, struct conn *c)
{
    int one = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EINPROGRESS) {
        close(c->fd);
        return -1;
    }
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, sni);
    SSL_set_connect_state(c->ssl);
    return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void finish(struct conn *c)
{
    SSL_free(c->ssl);
    close(c->fd);
    c->ssl = NULL;
}

/* Moves the handshake on; 1 when the connection is over (done or failed). */
static int step(struct conn *c)
{
    int r = SSL_do_handshake(c->ssl);

    if (r == 1) {
        done_count++;
        return 1;
    }
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 0;
    default:
        ERR_clear_error();
        failures++;
        return 1;
    }
}

int main(int argc, char **argv)
{
    int port = 0, conns = 16, opt, ep;
    double seconds = 5, t0;
    long max = 10000000;
    struct conn *cs;
    struct epoll_event evs[256];

    while ((opt = getopt(argc, argv, "p:c:t:n:s:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 'n': max = atol(optarg); break;
        case 's': sni = optarg; break;
        default:
            fprintf(stderr, "usage: tls_handshakes -p PORT [-c CONNS] [-t SECONDS] [-n MAX] [-s SNI]\n");
            return 2;
        }
    }
    if (port <= 0 || conns <= 0 || conns > 4096)
        return 2;
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* a self-signed bench certificate */
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ep = epoll_create1(0);
    cs = calloc((size_t)conns, sizeof(*cs));
    for (int i = 0; i < conns; i++)
        if (start(ep, &cs[i]) < 0)
            failures++;
    t0 = now_s();
    while (now_s() - t0 < seconds && done_count < max && failures < 1000) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c->ssl || !step(c))
                continue;
            finish(c);
            if (start(ep, c) < 0)
                failures++;
        }
    }
    double el = now_s() - t0;
    printf("RESULT handshakes=%ld seconds=%.2f rate=%.1f failures=%ld\n", done_count, el,
           (double)done_count / el, failures);
    return failures >= 1000 ? 1 : 0;
}
