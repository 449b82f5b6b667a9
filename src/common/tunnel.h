/* tunnel.h — an exchange that became a byte stream: after "200 Connection
 * established" to a CONNECT, or after an upstream's "101 Switching
 * Protocols".  Each direction ends on its own (half-close is passed on); the
 * session closes when both have ended, or when the tunnel idles too long. */
#ifndef GH_TUNNEL_H
#define GH_TUNNEL_H

struct session;

/* Enters S_TUNNEL; bytes already buffered on either side go first. */
void tunnel_begin(struct session *s);

/* Moves what it can both ways. */
void tunnel_drive(struct session *s);

#endif
