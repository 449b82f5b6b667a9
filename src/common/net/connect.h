/* connect.h — reaching an exchange's upstream: a pooled keep-alive
 * connection, or DNS then a non-blocking connect over the addresses in
 * turn; the PROXY header and the TLS handshake a pool may ask for.  The
 * steps of the exchange driver for X_UPSTREAM, X_RESOLVE, X_CONNECT,
 * X_CONNECTED and X_UP_TLS (exchange_int.h): they return GH_OK / GH_AGAIN
 * / GH_ERROR, record failures with exchange_fail_upstream() (the driver
 * tries the next address or another server), and never change the
 * exchange's state.  The connection's and DNS's events go to the driver
 * (exchange_on_upstream, exchange_on_resolved). */
#ifndef GH_CONNECT_H
#define GH_CONNECT_H

struct exchange;

/* Takes an idle pooled connection to the exchange's destination, when it
 * may use one (its first try at forwarding).  Returns 1 when it did. */
int connect_pooled(struct exchange *ex);

/* Starts resolving the upstream's host; the answer goes to the driver
 * (ex->naddrs, or ex->dns_error), maybe before this returns. */
void connect_resolve(struct exchange *ex);

/* X_RESOLVE: GH_AGAIN while DNS has not answered, GH_OK with addresses,
 * GH_ERROR without (a 502 naming the host). */
int connect_resolved(struct exchange *ex);

/* Starts a connect to the next address that takes one.  GH_AGAIN: under
 * way; GH_ERROR: no address left. */
int connect_next(struct exchange *ex);

/* X_CONNECT: GH_AGAIN until the connect ends, then GH_OK, or GH_ERROR
 * (refused, unreachable: the next address may be tried). */
int connect_finish(struct exchange *ex);

/* X_CONNECTED: the connection is up (new or pooled): notes its address
 * and sends the PROXY header a pool asks for.  GH_OK or GH_ERROR. */
int connect_greet(struct exchange *ex);

/* X_UP_TLS: starts or continues the TLS handshake with the upstream.
 * GH_OK when done, GH_AGAIN, GH_ERROR (logged). */
int connect_tls(struct exchange *ex);

#endif
