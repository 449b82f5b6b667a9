/* exchange.h — one request and its response, as a front-end sees it.
 *
 * The core parses the request head and calls the listener's front-end
 * (frontend.handle).  The front-end reads the request through the accessors
 * below and decides, before returning, with exactly one of:
 *   exchange_respond() / exchange_error()   answer locally;
 *   static_serve() (static.h)               answer from a directory;
 *   exchange_forward()                      send it to an upstream host:port.
 * It may edit the header fields sent upstream first.  It never touches a
 * socket: the core moves the bytes (exchange_drive.c). */
#ifndef GH_EXCHANGE_H
#define GH_EXCHANGE_H

#include "config.h"
#include "http1.h"

#include <stdint.h>
#include <sys/socket.h>

struct exchange;

/* The parsed request head and the buffer its slices point into. */
const struct http_head *exchange_request(const struct exchange *ex);
const char *exchange_base(const struct exchange *ex);
/* A slice of the request head as a pointer (not NUL-terminated). */
static inline const char *exchange_str(const struct exchange *ex, struct http_slice s)
{
    return exchange_base(ex) + s.off;
}
/* Copies a request field's value into dst (NUL-terminated, truncated);
 * returns its length or -1 when absent. */
int exchange_field(const struct exchange *ex, const char *name, char *dst, size_t cap);

const struct gh_config *exchange_config(const struct exchange *ex);
const struct listener_conf *exchange_listener(const struct exchange *ex);
const struct sockaddr_storage *exchange_client(const struct exchange *ex);
/* The client address as text ("127.0.0.1", "::1"). */
const char *exchange_client_text(const struct exchange *ex);
/* Remembers that the client's connection is authenticated as `user`, for
 * the connection-based schemes (Negotiate, RFC 4559 section 6: a browser
 * sends no more tokens on a connection that has been authenticated); a
 * later call replaces it.  exchange_conn_user() gives it back to the
 * connection's later exchanges, or NULL. */
void exchange_conn_set_user(struct exchange *ex, const char *user);
const char *exchange_conn_user(const struct exchange *ex);

/* ---- answering locally ---- */

/* Answers with a complete response. `extra` holds additional header lines,
 * each ending in "\r\n" (may be NULL). The body is copied. */
void exchange_respond(struct exchange *ex, int status, const char *content_type,
                      const char *extra, const char *body, size_t len);
/* Answers with the standard error page for `status`; `why` (static string)
 * goes to the access log as the reason. */
void exchange_error(struct exchange *ex, int status, const char *why);
/* The same, with `detail` (copied, HTML-escaped) shown on the page after
 * the reason, e.g. the host that could not be resolved. */
void exchange_error_detail(struct exchange *ex, int status, const char *why, const char *detail);

/* ---- forwarding ---- */

/* Replaces the request target sent upstream (e.g. absolute-form to
 * origin-form). The bytes are copied. */
void exchange_set_target(struct exchange *ex, const char *target, size_t len);
/* Header edits applied when the head is sent upstream: remove every field
 * named `name`; set (remove, then add) or add a field. Values are copied. */
void exchange_remove_field(struct exchange *ex, const char *name);
void exchange_set_field(struct exchange *ex, const char *name, const char *value, size_t len);
void exchange_add_field(struct exchange *ex, const char *name, const char *value, size_t len);

/* The same edits for the response relayed to the client (reverse mode:
 * hiding Server, adding Strict-Transport-Security...). */
void exchange_remove_response_field(struct exchange *ex, const char *name);
void exchange_add_response_field(struct exchange *ex, const char *name, const char *value,
                                 size_t len);

/* Sends the request to host:port (a name, resolved asynchronously, or an IP
 * literal), reusing a pooled keep-alive connection when one is idle.
 * `label` names the upstream in the access log (copied). */
void exchange_forward(struct exchange *ex, const char *host, size_t hostlen, uint16_t port,
                      const char *label);

/* Sends the request to a peer of the same fleet at host:port (reverse
 * mode's cache sharding), as exchange_forward, but with the request-target
 * `target` (tlen bytes, absolute form, so the peer files it under the same
 * cache key), the field line `mark` ("Name: value") added, and, when src
 * is not NULL, from that source address (the peer knows its peers by
 * address).  Should the peer fail before answering, the head that
 * frontend.upstream_failed's choice gets is the one exchange_forward would
 * have sent: the request's own target, no mark, the kernel's source. */
void exchange_forward_peer(struct exchange *ex, const char *host, size_t hostlen, uint16_t port,
                           const char *label, const char *target, size_t tlen, const char *mark,
                           const struct sockaddr_storage *src);

/* Opens a byte tunnel to host:port (CONNECT): the core connects, answers
 * "200 Connection established" and relays both ways. */
void exchange_tunnel(struct exchange *ex, const char *host, size_t hostlen, uint16_t port,
                     const char *label);

/* The host (as the client wrote it, without port) and port of the CONNECT
 * this exchange tunnels, kept for the tunnel's life; "" and 0 when it is no
 * CONNECT tunnel (or the host was over 255 bytes). */
const char *exchange_connect_target(const struct exchange *ex, uint16_t *port);

/* ---- transparent listeners (intercepted connections) ---- */

/* Where the client of an intercepted connection meant to go (its address
 * and port, before the router redirected it), or NULL when the exchange's
 * connection was not intercepted. */
const struct sockaddr_storage *exchange_original_dst(const struct exchange *ex);

/* An intercepted TLS connection has no request: the exchange stands for
 * the connection, and this is its ClientHello as read (sni.h; the result
 * says whether it was read whole, and if not why).  NULL for any other
 * exchange.  The front-end answers with exchange_error (the client gets a
 * fatal TLS alert instead of a page) or exchange_tunnel (no answer is
 * sent; the hello is relayed first). */
struct sni_hello;
const struct sni_hello *exchange_intercepted_hello(const struct exchange *ex);

/* After exchange_forward or exchange_tunnel: the host named there is
 * resolved only to check that dst (an intercepted connection's original
 * destination) is among its addresses, and the connection goes to dst
 * alone, never to another address of the name.  When the name does not
 * resolve to dst, the exchange gets 409 and the error log a line naming
 * the name, the client and dst (Squid's host_verify_strict). */
void exchange_pin(struct exchange *ex, const struct sockaddr_storage *dst);

/* Opens a tunnel to the request's authority through a parent proxy at
 * host:port: the core sends the (edited) CONNECT there, with the loop mark
 * (hop.h), and, when the parent answers 2xx, answers the client 200 and
 * relays; otherwise 502. */
void exchange_tunnel_via(struct exchange *ex, const char *host, size_t hostlen, uint16_t port,
                         const char *label);

/* Sends the request to a parent proxy at host:port, as exchange_forward
 * (the front-end keeps the absolute-form target).  The request carries the
 * loop mark (hop.h), so that a parent leading back here is caught. */
void exchange_forward_via(struct exchange *ex, const char *host, size_t hostlen, uint16_t port,
                          const char *label);

/* Holds a local answer back for ms milliseconds (slowing down password
 * guessing) without holding up the worker. */
void exchange_delay(struct exchange *ex, uint32_t ms);

/* Holds the exchange, whatever is decided, for ms milliseconds before it
 * is acted on (a rate limit's delay): the worker serves others meanwhile.
 * A longer hold asked for later wins. */
void exchange_hold(struct exchange *ex, uint32_t ms);

/* Closes the client connection without an answer (a deny rule's "close");
 * `why` (static, or the generation's) goes to the access log. */
void exchange_drop(struct exchange *ex, const char *why);

/* The filter= note of the access log ("" for none). */
const char *exchange_filter(const struct exchange *ex);

/* ---- metering the bytes an exchange moves ---- */

/* Directions of an exchange's bytes. */
#define METER_UP 0   /* from the client: a request body, a tunnel's client side */
#define METER_DOWN 1 /* to the client: a response body, a tunnel's server side */

/* What counts an exchange's bytes (forward mode's bandwidth limits and
 * daily quotas); its functions run on the exchange's worker. */
struct exchange_meter {
    /* How many bytes direction dir may read now, at most want: a count
     * (0 with *wait_ms set: ask again then), or -1 when the exchange must
     * end now, with *why (static or the generation's) for the log. */
    int64_t (*grant)(void *arg, int dir, uint64_t want, uint32_t *wait_ms, const char **why);
    /* n bytes were read in direction dir. */
    void (*charge)(void *arg, int dir, uint64_t n);
};

/* Meters the exchange's bodies and tunnel: every read from either side is
 * asked of m first and charged to it after; a direction out of allowance
 * stops reading (the bytes it holds still go) and the exchange waits on a
 * timer, never on the worker.  arg (the front-end's, e.g. its scratch)
 * is handed to m's functions. */
void exchange_meter(struct exchange *ex, const struct exchange_meter *m, void *arg);

/* Records why an exchange got the answer it got, for the access log
 * (a static string), when the answer itself was not exchange_error(). */
void exchange_error_reason(struct exchange *ex, const char *why);

/* Names the authenticated user for the access log (copied). */
void exchange_set_user(struct exchange *ex, const char *user);
/* The authenticated user, or NULL. */
const char *exchange_user(const struct exchange *ex);

/* Bytes read from the client and written to it so far (heads, bodies,
 * tunnels), as the access log's in= and out= count them. */
void exchange_bytes(const struct exchange *ex, uint64_t *in, uint64_t *out);

/* Answers with a file body streamed from fd (taken: closed by the core). */
void exchange_respond_fd(struct exchange *ex, int status, const char *content_type,
                         const char *extra, int fd, uint64_t size);

/* The standard reason phrase of a status code ("Not Found"). */
const char *exchange_reason(int status);

/* Names what answered, for the access log's upstream field (copied). */
void exchange_set_label(struct exchange *ex, const char *label);

/* The upstream's response head and the buffer its slices point into (for
 * frontend.response). */
const struct http_head *exchange_response(const struct exchange *ex);
const char *exchange_response_base(const struct exchange *ex);

/* Lowers the request-body limit for this exchange (a route's).  A declared
 * Content-Length over it is answered 413 at once (returns 0); a streamed
 * body that grows past it is cut off with 413 later (returns 1). */
int exchange_set_max_body(struct exchange *ex, uint64_t limit);

/* Compresses the response by cc (a route's, alive as long as the
 * configuration generation): the client's Accept-Encoding is read now,
 * the response's own rules once its head is in (compress.h).  NULL or a
 * disabled cc: the response is left alone. */
struct compress_conf;
void exchange_compress(struct exchange *ex, const struct compress_conf *cc);

/* Adds no Via field to the forwarded request (anonymity). */
void exchange_omit_via(struct exchange *ex);

/* Leaves out of the forwarded request every field whose name drop()
 * accepts (anonymity's family of fields, matched the way servers read
 * names).  One such filter per exchange; it takes no edit slot. */
void exchange_drop_fields(struct exchange *ex, int (*drop)(const char *name, size_t len));

/* Records the filter's decision for the access log's filter= field
 * ("block:adult", "allow"; copied). */
void exchange_set_filter(struct exchange *ex, const char *note);

/* The protocol the client speaks on this exchange's connection, as the
 * access log's proto= field and the metrics' `proto` label name it
 * ("http/1.1"; HTTP/2 adds "h2"). */
const char *exchange_proto(const struct exchange *ex);

/* Notes the answer's media type (a Content-Type value, parameters
 * dropped) for the squid log's type field. */
void exchange_note_type(struct exchange *ex, const char *type, size_t len);


/* Milliseconds since the request's head was read. */
uint64_t exchange_elapsed_ms(const struct exchange *ex);

/* The status the client will get or got, 0 if undecided. */
int exchange_status(const struct exchange *ex);

/* ---- for front-ends that balance over several servers ---- */

#define EXCHANGE_SCRATCH 256
/* EXCHANGE_SCRATCH bytes of the front-end's own notes on this exchange (the
 * server it chose, the servers it tried), zeroed for every exchange. */
void *exchange_scratch(struct exchange *ex);

/* Parks the exchange until a server frees up: the core calls
 * frontend.resume again (when an exchange of this worker ends, and every
 * few milliseconds) until it decides, or answers 503 after timeout_ms.
 * The time counts from the first call: resume may queue it again, and
 * that keeps the deadline it has. */
void exchange_queue(struct exchange *ex, uint32_t timeout_ms);

/* Announces the client with a PROXY protocol header (version 1 or 2) at the
 * start of each new upstream connection; a pooled connection is then reused
 * only for the same client address. */
void exchange_send_proxy_header(struct exchange *ex, int version);

/* Whether the request may be repeated safely (RFC 9110 9.2.2: GET, HEAD,
 * OPTIONS, TRACE, PUT, DELETE) and carries no body. */
int exchange_idempotent(const struct exchange *ex);

/* Speaks TLS to the upstream (tls.h's client settings: verification, SNI);
 * pooled connections are kept apart from plain ones. */
struct tls_client;
void exchange_upstream_tls(struct exchange *ex, struct tls_client *tc);
/* Speak HTTP/2 to the upstream (after exchange_forward): up to `streams`
 * at once on each of at most `conns` connections per server, shared by
 * the worker's exchanges; over TLS (exchange_upstream_tls) by ALPN, else
 * h2c with prior knowledge. */
void exchange_upstream_h2(struct exchange *ex, unsigned streams, unsigned conns);

/* Whether the client reached us over TLS (for X-Forwarded-Proto, HSTS). */
int exchange_is_tls(const struct exchange *ex);

/* Whether the client presented a certificate that verified against the
 * listener's client_ca (verify_client "optional" or "required"). */
int exchange_client_verified(const struct exchange *ex);

/* The address of the upstream connection used ("10.0.0.5:8080"), "" before. */
const char *exchange_upstream_addr(const struct exchange *ex);

#endif
