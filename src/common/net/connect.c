/* connect.c — an exchange reaching its upstream (see connect.h).  Owns the
 * exchange's upstream connection while it is being made; the driver
 * (exchange_drive.c) decides, from what these return, what comes next. */
#include "connect.h"
#include "h2_link.h"
#include "intercept.h"
#include "exchange_int.h"
#include "log.h"
#include "proxyproto.h"
#include "relay.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

int connect_pooled(struct exchange *ex)
{
    struct worker *w = ex->conn->w;

    if (ex->up || ex->retried || ex->up_h2_streams || (ex->naddrs != 0 && !ex->pin_ok) ||
        ex->decision != DECIDE_FORWARD || (ex->pinned && !ex->pin_ok))
        return 0; /* a pinned exchange checks its host's addresses first */
    ex->up = upstream_take(w->pool, ex->key);
    if (!ex->up)
        return 0;
    ex->up_reused = 1;
    atomic_fetch_add_explicit(&w->stats.upstream_reuses, 1, memory_order_relaxed);
    upstream_own(ex->up, ex, exchange_on_upstream);
    ex->up->writable = 1;
    return 1;
}

void connect_resolve(struct exchange *ex)
{
    ex->dns_error = NULL;
    ex->rq = resolver_lookup(ex->conn->w->resolver, ex->host, ex->port, exchange_on_resolved, ex);
}

/* A pinned exchange's host resolved (or did not): it goes on to the pin
 * alone when the pin is among the addresses, else it gets 409 and the
 * error log says why. */
static int check_pin(struct exchange *ex)
{
    char ip[INET6_ADDRSTRLEN];
    unsigned n = ex->naddrs;

    for (unsigned i = 0; i < ex->naddrs; i++)
        if (intercept_same_ip(&ex->addrs[i], &ex->pin)) {
            ex->addrs[0] = ex->pin;
            ex->naddrs = 1;
            ex->addr_next = 0;
            ex->pin_ok = 1;
            return GH_OK;
        }
    intercept_ip_text(&ex->pin, ip, sizeof(ip));
    log_info("intercepted connection from %s to %s port %u refused: it names %s, which %s %s",
             ex->conn->peer_text, ip, intercept_port(&ex->pin), ex->host,
             n ? "does not resolve to" : "cannot be resolved to check it against", ip);
    ex->naddrs = 0;
    exchange_fail(ex, 409,
                  n ? "the requested host does not resolve to the original destination"
                             : "the requested host cannot be resolved to check the original "
                               "destination");
    ex->fail.detail = ex->host;
    return GH_ERROR;
}

int connect_resolved(struct exchange *ex)
{
    const char *why = ex->dns_error ? ex->dns_error : "cannot resolve the upstream host";

    if (ex->rq)
        return GH_AGAIN;
    if (ex->pinned && !ex->pin_ok)
        return check_pin(ex);
    if (ex->naddrs)
        return GH_OK;
    exchange_fail_upstream(ex, 502, why, RETRY_OTHER, 0);
    ex->fail.detail = ex->host; /* the page names the host the client asked for */
    return GH_ERROR;
}

int connect_next(struct exchange *ex)
{
    while (ex->addr_next < ex->naddrs) {
        if (ex->up_h2_streams) {
            struct h2_link_want want = {ex->cfg, &ex->addrs[ex->addr_next++], ex->key, ex->host,
                                        ex->up_tls, ex->up_h2_streams, ex->up_h2_conns};
            ex->up = h2_link_stream(ex->conn->w, &want);
        } else {
            ex->up = upstream_connect_from(ex->conn->w, &ex->addrs[ex->addr_next++], ex->key,
                                           ex->has_src ? &ex->up_src : NULL);
        }
        if (ex->up)
            break;
    }
    if (!ex->up)
        return exchange_fail_upstream(ex, 502, "upstream connect failed", RETRY_OTHER, 0);
    ex->up_reused = 0;
    ex->up_greeted = 0;
    upstream_own(ex->up, ex, exchange_on_upstream);
    return GH_AGAIN;
}

int connect_finish(struct exchange *ex)
{
    struct upconn *u = ex->up;
    int err;

    /* writable, or an error or hang-up (which the connect's result names) */
    if (!u->writable && u->readable != READY_END)
        return GH_AGAIN;
    err = upstream_connect_result(u);
    if (!err)
        return GH_OK;
    log_debug("connect %s (%s): %s", ex->key, u->addr_text, strerror(err));
    return exchange_fail_upstream(
        ex, 502, err == ECONNREFUSED ? "upstream connection refused" : "upstream connect failed",
        RETRY_ADDR | RETRY_OTHER, 0);
}

/* Announces the client on a fresh upstream connection.  The header is the
 * first thing written to an empty socket buffer, so it goes at once. */
static int send_proxy_header(struct exchange *ex)
{
    const struct sockaddr_storage *local = conn_local(ex->conn);
    char hdr[PROXYPROTO_MAX];
    size_t n;

    if (!local)
        return -1;
    n = proxyproto_write(ex->proxy_header, &ex->conn->peer, local, hdr, sizeof(hdr));
    return n && send(ex->up->io.fd, hdr, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

int connect_greet(struct exchange *ex)
{
    ex->up->connected = 1;
    ex->uphead_sent = 0;
    gh_cat_str(ex->up_addr, sizeof(ex->up_addr), 0, ex->up->addr_text);
    if (ex->proxy_header && !ex->up_reused && !ex->up_greeted && send_proxy_header(ex) < 0)
        return exchange_fail_upstream(ex, 502, "upstream write failed", RETRY_OTHER, 0);
    ex->up_greeted = 1;
    return GH_OK;
}

int connect_tls(struct exchange *ex)
{
    int fd = ex->up->io.fd, want_write, rc;
    const char *why = NULL;

    if (!tls_io_ssl(fd)) {
        SSL *ssl = tls_client_ssl(ex->up_tls, ex->host);
        if (!ssl)
            return exchange_fail(ex, 502, "cannot start TLS to the upstream");
        tls_io_attach(fd, ssl);
    }
    rc = tls_io_handshake(fd, &want_write, &why);
    if (rc == GH_ERROR) {
        log_info("TLS to %s (%s): %s", ex->key, ex->up->addr_text, why);
        return exchange_fail_upstream(ex, 502, why, RETRY_OTHER, 0);
    }
    return rc;
}
