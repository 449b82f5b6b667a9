/* tunnel.h — an exchange that became a byte stream: after "200 Connection
 * established" to a CONNECT, or after an upstream's "101 Switching
 * Protocols".  Each direction ends on its own (half-close is passed on);
 * the tunnel is over when both have ended.  The step of the exchange
 * driver for X_TUNNEL (exchange_int.h): it returns GH_AGAIN / GH_DONE /
 * GH_ERROR and never changes the exchange's state.
 *
 * A tunnel takes its client's end as a raw byte stream from the
 * connection's protocol (proto.raw: HTTP/1 hands over its socket, so
 * splice(2) can move the bytes); a protocol without one to give (HTTP/2)
 * refuses, and will tunnel in a stream of its own. */
#ifndef GH_TUNNEL_H
#define GH_TUNNEL_H

struct exchange;

/* X_TUNNEL: opens the tunnel on the first call (pipes; the client's
 * "200 Connection established" for a CONNECT), then moves what it can
 * both ways; bytes already buffered on either side go first.  A CONNECT
 * tunnel whose front-end judges its first bytes (frontend.tunnel_hello)
 * moves nothing until judged.  Returns GH_AGAIN; GH_DONE when both ways
 * have ended, or the client left before saying anything, or the
 * front-end refused the tunnel (ex->refused: a TLS alert is queued for
 * the client, whose connection is to be shut); GH_ERROR (the connection
 * closes, ex->fail.why). */
int tunnel_step(struct exchange *ex);

/* X_TUNNEL's deadline for its first bytes passed (timeouts.client_header):
 * the front-end judges what came (SNI_TIMEOUT), then the tunnel moves on
 * as tunnel_step() does, with its returns. */
int tunnel_hello_expired(struct exchange *ex);

#endif
