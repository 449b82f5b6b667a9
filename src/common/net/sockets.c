/* sockets.c — binding listener addresses once per worker (see sockets.h).
 * Owns the address table; the descriptors belong to the workers once handed. */
#include "sockets.h"
#include "intercept.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

struct bound {
    char addr[64];
    int *fds;           /* one per worker */
    int seen;           /* in the configuration being bound */
    int fresh;          /* bound by the current sockets_bind() call */
    struct bound *next;
};

struct socket_set {
    unsigned nworkers;
    struct bound *head;
};

struct socket_set *sockets_new(unsigned nworkers)
{
    struct socket_set *s = xcalloc(1, sizeof(*s));
    s->nworkers = nworkers;
    return s;
}

static int open_one(const struct listen_addr *a, int reuseport)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, e;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (a->ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    /* for TPROXY; REDIRECT needs none, so a refusal (no CAP_NET_ADMIN) is
     * not an error */
    if (a->transparent)
        (void)intercept_allow_foreign(fd, a->ss.ss_family);
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
        (reuseport && listen(fd, 4096) < 0)) {
        e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Binds all worker sockets of one address.  A first bind without
 * SO_REUSEPORT proves nobody else holds the port: with SO_REUSEPORT alone, a
 * second gatehouse of the same user would silently share it. */
static struct bound *bind_addr(const struct socket_set *set, const struct listen_addr *a)
{
    struct bound *b;
    int probe = open_one(a, 0);

    if (probe < 0)
        return NULL;
    close(probe);
    b = xcalloc(1, sizeof(*b));
    b->fds = xcalloc(set->nworkers, sizeof(int));
    gh_fmt(b->addr, sizeof(b->addr), "%s", a->text);
    for (unsigned i = 0; i < set->nworkers; i++) {
        b->fds[i] = open_one(a, 1);
        if (b->fds[i] < 0) {
            int e = errno;
            while (i-- > 0)
                close(b->fds[i]);
            free(b->fds);
            free(b);
            errno = e;
            return NULL;
        }
    }
    return b;
}

static struct bound *find(const struct socket_set *set, const char *addr)
{
    for (struct bound *b = set->head; b; b = b->next)
        if (strcmp(b->addr, addr) == 0)
            return b;
    return NULL;
}

static void drop(struct socket_set *set, int close_fds, int (*which)(const struct bound *))
{
    struct bound **pp = &set->head;

    while (*pp) {
        struct bound *b = *pp;
        if (!which(b)) {
            pp = &b->next;
            continue;
        }
        *pp = b->next;
        if (close_fds)
            for (unsigned i = 0; i < set->nworkers; i++)
                close(b->fds[i]);
        free(b->fds);
        free(b);
    }
}

static int is_fresh(const struct bound *b) { return b->fresh; }
static int is_unseen(const struct bound *b) { return !b->seen; }

int sockets_bind(struct socket_set *set, const struct gh_config *c, char *err, size_t errlen)
{
    for (struct bound *b = set->head; b; b = b->next)
        b->seen = b->fresh = 0;
    for (unsigned i = 0; i < c->nlisteners; i++) {
        const struct listener_conf *l = &c->listeners[i];
        for (unsigned k = 0; k < l->naddrs; k++) {
            struct bound *b = find(set, l->addrs[k].text);
            if (!b) {
                b = bind_addr(set, &l->addrs[k]);
                if (!b) {
                    gh_fmt(err, errlen, "%s:%d: listener '%s': cannot listen on %s: %s", c->path,
                           l->line, l->name, l->addrs[k].text, strerror(errno));
                    drop(set, 1, is_fresh);
                    return -1;
                }
                b->fresh = 1;
                b->next = set->head;
                set->head = b;
            }
            b->seen = 1;
        }
    }
    drop(set, 0, is_unseen);
    return 0;
}

struct worker_update *sockets_update(const struct socket_set *set, struct gh_config *c, unsigned i)
{
    struct worker_update *u = xcalloc(1, sizeof(*u));

    u->cfg = config_ref(c);
    for (unsigned li = 0; li < c->nlisteners; li++) {
        const struct listener_conf *l = &c->listeners[li];
        for (unsigned k = 0; k < l->naddrs && u->nsocks < GH_ARRAY_LEN(u->socks); k++) {
            struct bound *b = find(set, l->addrs[k].text);
            if (!b)
                continue;
            u->socks[u->nsocks].fd = b->fds[i];
            gh_fmt(u->socks[u->nsocks].name, sizeof(u->socks[0].name), "%s", l->name);
            gh_fmt(u->socks[u->nsocks].addr, sizeof(u->socks[0].addr), "%s", b->addr);
            u->nsocks++;
        }
    }
    return u;
}

void sockets_free(struct socket_set *set)
{
    struct bound *b, *next;

    if (!set)
        return;
    for (b = set->head; b; b = next) {
        next = b->next;
        free(b->fds);
        free(b);
    }
    free(set);
}
