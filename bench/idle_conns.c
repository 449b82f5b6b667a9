/* bench/idle_conns.c — hold N idle keep-alive connections open on a server.
 *
 * Opens N connections to HOST:PORT (at most -c connecting at once), sends one
 * keep-alive GET on each, reads its response whole, and then keeps every
 * connection open and idle. Prints "ready OK FAILED" on stdout once every
 * connection is idle or has failed, then holds until it is signalled or the
 * hold time runs out. Used by bench/run.sh for the memory scenario; it
 * measures nothing itself.
 *
 *   idle_conns -p PORT [-h 127.0.0.1] [-n 10000] [-u /1k] [-c 200] [-t 120]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One client connection; owned by the conns array. */
struct conn {
    int fd;
    int state;      /* S_* below */
    size_t got;     /* bytes of the response read so far */
    size_t want;    /* head + body length once the head is in; 0 before */
    char *head;     /* the response head while it is being read; NULL after */
};

enum {
    S_FREE,       /* not opened yet */
    S_CONNECTING, /* transient: connect() in progress */
    S_READING,    /* transient: request sent, response being read */
    S_IDLE,       /* the goal: response read, connection kept open */
    S_FAILED      /* refused, reset or closed by the server */
};

#define HEAD_MAX 8192

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns the Content-Length of a complete head, or 0 when it has none. */
static size_t content_length(const char *head)
{
    for (const char *p = strchr(head, '\n'); p; p = strchr(p + 1, '\n'))
        if (strncasecmp(p + 1, "content-length:", 15) == 0)
            return (size_t)strtoull(p + 16, NULL, 10);
    return 0;
}

static void fail(struct conn *c, int *live)
{
    close(c->fd);
    free(c->head);
    c->head = NULL;
    c->state = S_FAILED;
    (*live)--;
}

/* Reads what is there; returns 1 when the whole response is in, 0 for more,
 * -1 on error or an early close. */
static int read_response(struct conn *c)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n == 0)
            return -1;
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        if (c->want == 0) {
            size_t room = HEAD_MAX - 1 - c->got, take = (size_t)n < room ? (size_t)n : room;
            memcpy(c->head + c->got, buf, take);
            c->head[c->got + take] = '\0';
            char *end = strstr(c->head, "\r\n\r\n");
            if (!end) {
                if (take < (size_t)n)
                    return -1; /* head too large */
                c->got += take;
                continue;
            }
            if (strncmp(c->head, "HTTP/1.1 200", 12) != 0)
                return -1;
            c->want = (size_t)(end + 4 - c->head) + content_length(c->head);
            free(c->head);
            c->head = NULL;
        }
        c->got += (size_t)n;
        if (c->got >= c->want)
            return 1;
    }
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *path = "/1k";
    int port = 0, n = 10000, inflight_max = 200, opt;
    double hold = 120;
    while ((opt = getopt(argc, argv, "h:p:n:u:c:t:")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'n': n = atoi(optarg); break;
        case 'u': path = optarg; break;
        case 'c': inflight_max = atoi(optarg); break;
        case 't': hold = atof(optarg); break;
        default:
            fprintf(stderr, "usage: idle_conns -p PORT [-h HOST] [-n N] [-u PATH] [-c CONCURRENT] [-t HOLD]\n");
            return 2;
        }
    }
    if (port <= 0 || n <= 0 || inflight_max <= 0) {
        fprintf(stderr, "idle_conns: -p PORT is required; -n and -c must be positive\n");
        return 2;
    }

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max : (rlim_t)n + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "idle_conns: %s is not an IPv4 address\n", host);
        return 2;
    }
    char req[512];
    int reqlen = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: idle_conns\r\n\r\n",
                          path, host, port);

    struct conn *conns = calloc((size_t)n, sizeof(*conns));
    int ep = epoll_create1(0);
    if (!conns || ep < 0) {
        perror("idle_conns");
        return 1;
    }
    int next = 0, live = 0, idle = 0, failed = 0, inflight = 0;
    double deadline = now() + 120; /* the opening phase gets 120 s at most */

    while ((idle + failed < n) && now() < deadline) {
        while (inflight < inflight_max && next < n) {
            struct conn *c = &conns[next];
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (c->fd < 0) {
                fprintf(stderr, "idle_conns: socket: %s (connection %d)\n", strerror(errno), next);
                c->state = S_FAILED;
                failed++;
                next++;
                continue;
            }
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
                close(c->fd);
                c->state = S_FAILED;
                failed++;
                next++;
                continue;
            }
            c->state = S_CONNECTING;
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)next};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            live++;
            inflight++;
            next++;
        }
        struct epoll_event evs[256];
        int k = epoll_wait(ep, evs, 256, 1000);
        for (int i = 0; i < k; i++) {
            struct conn *c = &conns[evs[i].data.u32];
            if (c->state == S_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof(err);
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err || write(c->fd, req, (size_t)reqlen) != reqlen) {
                    fail(c, &live);
                    failed++;
                    inflight--;
                    continue;
                }
                c->state = S_READING;
                c->head = malloc(HEAD_MAX);
                c->head[0] = '\0';
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            } else if (c->state == S_READING) {
                int r = read_response(c);
                if (r < 0) {
                    fail(c, &live);
                    failed++;
                    inflight--;
                } else if (r > 0) {
                    c->state = S_IDLE;
                    idle++;
                    inflight--;
                }
            } else if (c->state == S_IDLE) {
                /* The server closed an idle connection (a timeout): count it. */
                char b[256];
                if (read(c->fd, b, sizeof(b)) <= 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    fail(c, &live);
                    idle--;
                    failed++;
                }
            }
        }
    }
    printf("ready %d %d\n", idle, failed);
    fflush(stdout);

    /* Hold, watching for servers that close idle connections. */
    deadline = now() + hold;
    while (now() < deadline) {
        struct epoll_event evs[256];
        int k = epoll_wait(ep, evs, 256, 1000);
        for (int i = 0; i < k; i++) {
            struct conn *c = &conns[evs[i].data.u32];
            char b[256];
            if (c->state == S_IDLE && read(c->fd, b, sizeof(b)) <= 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                fail(c, &live);
                idle--;
                failed++;
                printf("closed %d %d\n", idle, failed);
                fflush(stdout);
            }
        }
    }
    return 0;
}
