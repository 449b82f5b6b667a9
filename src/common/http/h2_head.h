/* h2_head.h — HTTP/2 fields and HTTP/1.1 heads, both ways.
 *
 * An HTTP/2 request's fields become an HTTP/1.1 request head in a buffer,
 * which http1.c then parses like any client's, with the same strict rules
 * and limits: the rest of the core never sees HTTP/2.  The translation
 * refuses, as a stream error, whatever HTTP/1.1 cannot carry or a server
 * could read another way (RFC 9113 8.2 and 8.3): a name that is not a
 * lower-case token, a value with CR, LF, NUL or another control byte or
 * with whitespace at either end, connection-specific fields, a te other
 * than "trailers", a Host that differs from :authority, userinfo in
 * :authority, a pseudo-field it does not know.  This is the h2-to-h1
 * smuggling surface: a refused request never reaches an origin.
 *
 * The other way, the HTTP/1 heads the core writes for a client (the
 * response, interim ones, local answers) and trailer lines become HTTP/2
 * fields: names lower-cased, connection-specific fields left out.
 * Owns no memory but the buffers a request head is written into. */
#ifndef GH_H2_HEAD_H
#define GH_H2_HEAD_H

#include "buf.h"
#include "http1.h"

#include <nghttp2/nghttp2.h>
#include <stdint.h>

/* An HTTP/2 request's head being written as HTTP/1.1.  Owned by its
 * stream (h2_session.c); zeroed to start. */
struct h2_reqhead {
    struct buf *out;    /* the head, taken at the first field */
    struct buf *cookie; /* the cookie crumbs, joined with "; " (RFC 9113 8.2.3) */
    nghttp2_rcbuf *method, *path, *authority; /* kept until the request line */
    uint32_t decoded;   /* bytes of names and values so far */
    uint8_t line_done;  /* the request line and Host are written */
    uint8_t overflow;   /* the head outgrew its buffer: the request gets 431 */
    uint8_t has_cl;     /* a content-length came */
    uint8_t connect;    /* :method CONNECT (refused: no tunnels over HTTP/2) */
    uint8_t te_trailers;
    const char *error;  /* why the request is malformed (a stream error) */
};

/* Takes one field of the request, pseudo-fields first (nghttp2 enforces
 * the order).  Returns 0, or -1 with r->error: the request is malformed
 * and must go nowhere.  A head past its buffer only sets r->overflow. */
int h2_reqhead_field(struct h2_reqhead *r, nghttp2_rcbuf *name, nghttp2_rcbuf *value);

/* The fields are all in; `body`: DATA may follow (the HEADERS frame did
 * not end the stream), so a request without content-length is sent on
 * chunked.  Returns 0 (r->out holds the head, its blank line included,
 * unless r->overflow or r->connect), or -1 with r->error. */
int h2_reqhead_end(struct h2_reqhead *r, int body);

/* Drops what r holds but r->out (rcbufs, the cookie buffer). */
void h2_reqhead_clear(struct h2_reqhead *r);

/* One trailer field of a request, appended as "name: value\r\n" to *lines
 * (a buffer taken when NULL).  Fields a trailer may not carry (RFC 9110
 * 6.5.1: framing, routing, authentication, connection-specific...) are
 * dropped.  Returns 0, or -1 with *why: malformed (a stream error). */
int h2_trailer_field(struct buf **lines, const uint8_t *name, size_t nlen, const uint8_t *value,
                     size_t vlen, const char **why);

/* The HTTP/1 response head at the start of p[0..len) (interim or final,
 * as the core wrote it) as HTTP/2 fields in nv[0..max): ":status" first,
 * then its fields with names lower-cased in place (p is written),
 * connection-specific ones left out.  `status` (4 bytes) receives the
 * status digits nv[0] points to.  Returns the head's length with *n and
 * *code set, HTTP1_PARTIAL, or HTTP1_ERROR. */
int h2_resphead_nv(char *p, size_t len, int req_is_head, nghttp2_nv *nv, size_t max, size_t *n,
                   int *code, char *status);

/* Trailer lines as body.h keeps them ("Name: value\r\n"..., maybe the
 * blank line) as HTTP/2 fields in nv[0..max), names lower-cased in place:
 * lines that are not a field, and fields a trailer may not carry, left
 * out.  Returns how many. */
size_t h2_trailers_nv(struct buf *lines, nghttp2_nv *nv, size_t max);

#endif
