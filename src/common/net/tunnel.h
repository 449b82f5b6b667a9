/* tunnel.h — an exchange that became a byte stream: after "200 Connection
 * established" to a CONNECT, or after an upstream's "101 Switching
 * Protocols".  Each direction ends on its own (half-close is passed on); the
 * session closes when both have ended, or when the tunnel idles too long. */
#ifndef GH_TUNNEL_H
#define GH_TUNNEL_H

struct session;

/* Enters S_TUNNEL; bytes already buffered on either side go first. */
void tunnel_begin(struct session *s);

/* Moves what it can both ways.  A CONNECT tunnel whose front-end judges
 * its first bytes (frontend.tunnel_hello) moves nothing until judged. */
void tunnel_drive(struct session *s);

/* The wait for a tunnel's first bytes ended (timeouts.client_header): the
 * front-end judges what came (SNI_TIMEOUT). */
void tunnel_hello_expired(struct session *s);

#endif
