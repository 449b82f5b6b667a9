/* h2.h — HTTP/2 as the protocol of a client connection (conn.h), beside
 * HTTP/1 (h1.h): a TLS connection whose ALPN agreed on "h2", or a plain one
 * that opened with the HTTP/2 preface on a listener with `h2c`.  Each
 * request stream is an exchange like any other, through the same driver,
 * front-end, pools, cache and log; its request head is handed over in
 * HTTP/1.1 form and its answers come back in it (h2_head.h).  The framing
 * is libnghttp2's (h2_session.h); the connection (h2.c) reads and writes
 * its socket, keeps its deadlines and drains it with GOAWAY; each
 * exchange's client side (h2_exchange.c) moves its bodies through its
 * stream.  CONNECT over HTTP/2 (and RFC 8441's extended CONNECT) is
 * answered 501; Upgrade is a stream error (RFC 9113 8.2.2). */
#ifndef GH_H2_H
#define GH_H2_H

#include "conn.h"

extern const struct proto h2_proto;

#endif
