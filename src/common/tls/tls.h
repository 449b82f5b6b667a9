/* tls.h — TLS with OpenSSL.
 *
 * Two halves:
 *  - contexts built from the configuration (tls_ctx.c): a listener's server
 *    side (certificates chosen by SNI, protocols and ciphers, session
 *    tickets whose keys rotate and are shared by every worker, OCSP
 *    stapling, client-certificate verification) and a pool's client side
 *    (verification against system or configured CAs, SNI, an optional
 *    client certificate).  Built once per configuration generation, in the
 *    main thread, then shared read-only by the workers; OpenSSL objects are
 *    fetched there, never per connection.
 *  - per-connection I/O (tls_io.c): a socket that carries TLS is registered
 *    with its SSL object, and the core's reads and writes on that socket go
 *    through it (io_read / io_write), so the rest of the core still speaks
 *    in descriptors.
 */
#ifndef GH_TLS_H
#define GH_TLS_H

#include "config.h"

#include <openssl/ssl.h>
#include <sys/types.h>

/* ---- contexts (tls_ctx.c) ---- */

struct tls_server;
struct tls_client;

/* Parses a listener's `tls = { ... }` group and loads every file it names.
 * `h2`: the listener speaks HTTP/2, so ALPN offers "h2" first by default
 * and `alpn` may name it.  Returns NULL with "file:line: message" in err
 * naming the file at fault (unreadable, a key that does not match its
 * certificate, a protocol the listener does not speak...).  An expired or
 * not yet valid certificate is loaded with a warning in the log. */
struct tls_server *tls_server_load(const struct gh_config *cfg, const config_setting_t *g, int h2,
                                   char *err, size_t errlen);
/* Drops the generation's reference: t goes when the last SSL made from it
 * is freed too, so handshakes still running on an old generation are safe. */
void tls_server_free(struct tls_server *t);

/* A new server-side SSL for an accepted connection (SSL_accept state), or
 * NULL.  The certificate is chosen by the ClientHello's SNI; an unknown
 * name without a default certificate fails the handshake with the reason
 * SSL_R_TLSV1_UNRECOGNIZED_NAME first in the error queue. */
SSL *tls_server_ssl(struct tls_server *t);

/* The request field that carries a verified client certificate's subject
 * upstream ("X-Client-Subject"), or NULL when client certificates are not
 * asked for. */
const char *tls_server_subject_field(const struct tls_server *t);

/* Milliseconds a client may take to complete the handshake. */
uint32_t tls_server_handshake_timeout(const struct tls_server *t);

/* Parses a pool's `tls = { ... }` group (an empty group: verify against the
 * system CAs, SNI from the server's name).  NULL with err. */
struct tls_client *tls_client_load(const struct gh_config *cfg, const config_setting_t *g,
                                   char *err, size_t errlen);
void tls_client_free(struct tls_client *t);

/* A new client-side SSL (SSL_connect state) for a server named `host` (a
 * name or an IP literal): SNI and certificate name checks use the
 * configured name when set, else `host` (IP literals get no SNI and are
 * checked as addresses).  NULL on failure. */
SSL *tls_client_ssl(struct tls_client *t, const char *host);

/* ---- per-connection I/O (tls_io.c) ---- */

/* Sizes the descriptor table for up to max_fds descriptors; called once at
 * start-up, after the descriptor limit is raised. */
void tls_io_init(unsigned max_fds);

/* Attaches ssl to socket fd (takes ownership of ssl); io_read and io_write
 * on fd then go through it. */
void tls_io_attach(int fd, SSL *ssl);
/* The SSL attached to fd, or NULL. */
SSL *tls_io_ssl(int fd);
/* Sends close_notify on fd now, never blocking: the end of the stream, to
 * be sent before the TCP half-close (shutdown(SHUT_WR)), after which it
 * could not go.  Returns GH_OK when it went (or was sent before, or fd has
 * no TLS, or its handshake never finished), GH_AGAIN when the socket must
 * become writable first (call again then), GH_ERROR when it cannot be
 * sent. */
int tls_io_close_notify(int fd);
/* Sends close_notify (best effort, never blocks) and frees the SSL
 * attached to fd, if any.  Call before close(fd). */
void tls_io_detach(int fd);

/* Advances the handshake on fd.  Returns GH_OK when complete, GH_AGAIN
 * when it must wait (*want_write set when it waits for the socket to be
 * writable), or GH_ERROR with a short reason in *why ("no certificate for
 * this name", "protocol version"...). */
int tls_io_handshake(int fd, int *want_write, const char **why);

/* read(2) and send(2) for the core: through TLS when fd has an SSL.
 * Returns bytes moved, 0 at end of stream (read), or -1 with errno
 * (EAGAIN when TLS must wait, either way). */
ssize_t io_read(int fd, void *p, size_t n);
ssize_t io_write(int fd, const void *p, size_t n);
/* sendmsg(2) of an iovec: through TLS (a record per piece) when fd has an SSL. */
struct iovec;
ssize_t io_writev(int fd, const struct iovec *iov, int n);

/* Whether ALPN agreed on `proto` ("h2") for the connection on fd. */
int tls_io_alpn_is(int fd, const char *proto);

/* Whether the peer on fd presented a certificate that verified. */
int tls_io_peer_verified(int fd);
/* A verified peer certificate's subject as one line ("CN=alice,O=Example"),
 * or 0 when there is none.  Returns the length written. */
size_t tls_io_peer_subject(int fd, char *dst, size_t cap);

#endif
