/* h2_link.h — HTTP/2 connections to a pool's servers, shared by the
 * exchanges of one worker: a few connections per server (a pool's
 * h2_connections), each carrying up to h2_max_streams streams at once
 * (h2_upstream.h), over TLS with ALPN "h2" or in plain text with prior
 * knowledge (h2c).
 *
 * An exchange reaches its stream through a local socket pair: it gets an
 * upstream connection (upstream.h) on one end and speaks HTTP/1.1 on it
 * exactly as to an HTTP/1 server, while the link moves those bytes to and
 * from the stream.  A stream that fails (RST_STREAM, refused, a GOAWAY,
 * the connection lost) closes the exchange's end with no answer or a
 * truncated one, which the exchange accounts for (retry, another server,
 * passive health) as it does for an HTTP/1 server that closed: so does a
 * connection without the server's SETTINGS within the connect timeout.
 * A link carrying no stream closes after the upstream keep-alive timeout;
 * it holds the configuration generation it was made with (its TLS client
 * settings are that generation's) until it is freed.  This
 * first version costs two descriptors and a copy per stream; the stream
 * could be the exchange's upstream directly, with proxy.c and body.c
 * reading and writing buffers instead of a socket.
 *
 * Owns the links of the calling worker (thread-local), their connections,
 * sessions and pairs' ends. */
#ifndef GH_H2_LINK_H
#define GH_H2_LINK_H

#include "upstream.h"

#include <sys/socket.h>

struct tls_client;
struct gh_config;

/* What an exchange asks for. */
struct h2_link_want {
    struct gh_config *cfg;               /* the generation `tls` is of: the link
                                          * keeps a reference while it lives, and
                                          * its timeouts (upstream_connect, for
                                          * the server's SETTINGS; upstream_keepalive,
                                          * idle) */
    const struct sockaddr_storage *addr; /* the server */
    const char *key;                     /* the destination's key (upstream.h) */
    const char *host;                    /* for TLS: SNI and the certificate's name */
    struct tls_client *tls;              /* NULL: h2c */
    unsigned max_streams, max_conns;
};

/* A connection for one exchange, already connected, on which it writes a
 * request and reads the answer in HTTP/1.1; NULL with errno.  Its stream
 * is opened on a link to the server with room (made when there are fewer
 * than max_conns), or waits for room on the least busy one. */
struct upconn *h2_link_stream(struct worker *w, const struct h2_link_want *want);

/* Closes the calling worker's links (at the worker's exit). */
void h2_link_close_all(void);

/* How many links the calling worker holds, and streams on them. */
unsigned h2_link_count(unsigned *streams);

#endif
