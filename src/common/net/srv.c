/* srv.c — an SRV lookup and its targets' addresses (see srv.h).  Owns a
 * c-ares channel per call, driven with poll(2) until every query is
 * answered; the caller's thread waits.  The per-loop resolver (resolver.c)
 * is for the workers' lookups. */
#include "srv.h"
#include "util.h"

#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DNS_CLASS_IN 1
#define DNS_TYPE_SRV 33

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void library_init(void)
{
    ares_library_init(ARES_LIB_INIT_ALL);
}

/* One lookup's state, shared with the c-ares callbacks. */
struct job {
    struct srv_node *out;
    unsigned max, n;
    int status;                  /* of the SRV query */
    struct ares_srv_reply *srv;  /* its answer */
};

/* Runs the channel until nothing is pending, or stop is set. */
static int drive(ares_channel ch, const atomic_int *stop)
{
    for (;;) {
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        struct pollfd p[ARES_GETSOCK_MAXNUM];
        struct timeval tv, *tvp;
        int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM), n = 0, ms;

        if (stop && atomic_load(stop)) {
            ares_cancel(ch);
            return -1;
        }
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            /* the bits by hand: c-ares's macros shift a signed 1 by up to 31 */
            unsigned b = (unsigned)bits;
            short ev = (short)((b & (1u << i) ? POLLIN : 0) |
                               (b & (1u << (i + ARES_GETSOCK_MAXNUM)) ? POLLOUT : 0));
            if (ev)
                p[n++] = (struct pollfd){.fd = socks[i], .events = ev};
        }
        if (!n)
            return 0;
        tvp = ares_timeout(ch, NULL, &tv);
        ms = tvp ? (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 100;
        /* at most 100 ms at a time, so that stop is seen soon */
        if (poll(p, (nfds_t)n, GH_MIN(ms, 100)) < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < n; i++)
            ares_process_fd(ch, (p[i].revents & (POLLIN | POLLERR | POLLHUP)) ? p[i].fd : ARES_SOCKET_BAD,
                            (p[i].revents & POLLOUT) ? p[i].fd : ARES_SOCKET_BAD);
        ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
    }
}

static void on_srv(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct job *j = arg;

    GH_UNUSED(timeouts);
    j->status = status;
    if (status == ARES_SUCCESS && ares_parse_srv_reply(abuf, alen, &j->srv) != ARES_SUCCESS) {
        j->status = ARES_EBADRESP;
        j->srv = NULL;
    }
}

/* A target's addresses: the first one, into the node the query was for. */
static void on_addr(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    struct srv_node *nd = arg;

    GH_UNUSED(timeouts);
    if (status == ARES_SUCCESS && res)
        for (struct ares_addrinfo_node *a = res->nodes; a; a = a->ai_next)
            if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
                a->ai_addrlen <= sizeof(nd->addr)) {
                memcpy(&nd->addr, a->ai_addr, a->ai_addrlen);
                if (a->ai_family == AF_INET6)
                    ((struct sockaddr_in6 *)&nd->addr)->sin6_port = htons(nd->port);
                else
                    ((struct sockaddr_in *)&nd->addr)->sin_port = htons(nd->port);
                break;
            }
    if (res)
        ares_freeaddrinfo(res);
}

static int by_name(const void *a, const void *b)
{
    const struct srv_node *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : (int)x->port - (int)y->port;
}

/* The targets of the lowest priority into j->out, their addresses asked. */
static void ask_targets(ares_channel ch, struct job *j)
{
    unsigned short best = 0xffff;
    struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};

    for (struct ares_srv_reply *r = j->srv; r; r = r->next)
        if (r->priority < best)
            best = r->priority;
    for (struct ares_srv_reply *r = j->srv; r && j->n < j->max; r = r->next) {
        struct srv_node *nd = &j->out[j->n];
        size_t len = strlen(r->host);
        if (r->priority != best || !len || len >= sizeof(nd->name) || !strcmp(r->host, "."))
            continue; /* "." means: no such service here (RFC 2782) */
        memset(nd, 0, sizeof(*nd));
        memcpy(nd->name, r->host, len);
        if (nd->name[len - 1] == '.')
            nd->name[len - 1] = '\0';
        nd->port = r->port;
        j->n++;
    }
    /* after the list is final: each callback writes its own node */
    for (unsigned i = 0; i < j->n; i++)
        ares_getaddrinfo(ch, j->out[i].name, NULL, &hints, on_addr, &j->out[i]);
}

int srv_resolve(const struct resolver_conf *conf, const char *name, struct srv_node *out,
                unsigned max, const atomic_int *stop, char *err, size_t errlen)
{
    struct ares_options o = {.timeout = (int)conf->timeout, .tries = (int)conf->attempts};
    struct job j = {.out = out, .max = max, .status = ARES_ETIMEOUT};
    ares_channel ch;
    unsigned kept = 0;
    int st;

    pthread_once(&once, library_init);
    if ((st = ares_init_options(&ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES)) != ARES_SUCCESS) {
        gh_fmt(err, errlen, "c-ares: %s", ares_strerror(st));
        return -1;
    }
    if (conf->nameservers && (st = ares_set_servers_ports_csv(ch, conf->nameservers)) != ARES_SUCCESS) {
        gh_fmt(err, errlen, "name servers %s: %s", conf->nameservers, ares_strerror(st));
        ares_destroy(ch);
        return -1;
    }
    ares_query(ch, name, DNS_CLASS_IN, DNS_TYPE_SRV, on_srv, &j);
    if (drive(ch, stop) == 0 && j.status == ARES_SUCCESS) {
        ask_targets(ch, &j);
        if (drive(ch, stop) < 0)
            j.n = 0;
    }
    ares_destroy(ch);
    if (j.srv)
        ares_free_data(j.srv);
    if (j.status != ARES_SUCCESS) {
        gh_fmt(err, errlen, "%s", ares_strerror(j.status));
        return -1;
    }
    for (unsigned i = 0; i < j.n; i++)
        if (out[i].addr.ss_family)
            out[kept++] = out[i];
    if (!kept) {
        gh_fmt(err, errlen, "no SRV target with an address");
        return -1;
    }
    qsort(out, kept, sizeof(*out), by_name);
    return (int)kept;
}
