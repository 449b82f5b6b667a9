/* exchange.c — what a front-end may ask of an exchange (exchange.h); the
 * heads are exchange_head.c's and the access log exchange_log.c's.
 * Owns the exchange's edit arena and local-answer memory; the buffers belong
 * to the client's connection (its protocol's). */
#include "exchange.h"
#include "cache_xfer.h"
#include "compress.h"
#include "exchange_int.h"
#include "hop.h"
#include "intercept.h"
#include "log.h"
#include "util.h"
#include "worker.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- accessors ---- */

const struct http_head *exchange_request(const struct exchange *ex)
{
    return &ex->req;
}

const char *exchange_base(const struct exchange *ex)
{
    return buf_head(*ex->cin);
}

const struct gh_config *exchange_config(const struct exchange *ex)
{
    return ex->cfg;
}

const struct listener_conf *exchange_listener(const struct exchange *ex)
{
    return ex->lst;
}

const struct sockaddr_storage *exchange_client(const struct exchange *ex)
{
    return &ex->conn->peer;
}

const char *exchange_client_text(const struct exchange *ex)
{
    return ex->conn->peer_text;
}

void exchange_conn_set_user(struct exchange *ex, const char *user)
{
    free(ex->conn->auth_user);
    ex->conn->auth_user = xstrdup(user);
}

const char *exchange_conn_user(const struct exchange *ex)
{
    return ex->conn->auth_user;
}

void exchange_set_label(struct exchange *ex, const char *label)
{
    gh_cat_str(ex->label, sizeof(ex->label), 0, label);
}

int exchange_status(const struct exchange *ex)
{
    return ex->status;
}

int exchange_field(const struct exchange *ex, const char *name, char *dst, size_t cap)
{
    int i = http1_find(&ex->req, exchange_base(ex), name, 0);
    size_t n;

    if (i < 0)
        return -1;
    n = GH_MIN((size_t)ex->req.fields[i].value.len, cap - 1);
    memcpy(dst, exchange_str(ex, ex->req.fields[i].value), n);
    dst[n] = '\0';
    return (int)n;
}

const char *exchange_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 511: return "Network Authentication Required";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 508: return "Loop Detected";
    default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* ---- edits ---- */

static uint32_t arena_put(struct exchange *ex, const char *p, size_t n)
{
    uint32_t off = ex->arena_len;

    if (ex->arena_len + n > ex->arena_cap) {
        ex->arena_cap = (uint32_t)GH_MAX((size_t)ex->arena_cap * 2, ex->arena_len + n + 256);
        ex->arena = xrealloc(ex->arena, ex->arena_cap);
    }
    memcpy(ex->arena + off, p, n);
    ex->arena_len += (uint32_t)n;
    return off;
}

static void add_edit(struct exchange *ex, int add, int response, const char *name,
                     const char *value, size_t len)
{
    struct field_edit *e;

    if (ex->nedits == EXCHANGE_MAX_EDITS) {
        log_error("exchange: more than %d header edits; '%s' ignored", EXCHANGE_MAX_EDITS, name);
        return;
    }
    e = &ex->edits[ex->nedits++];
    e->add = (uint8_t)add;
    e->response = (uint8_t)response;
    e->name_len = (uint32_t)strlen(name);
    e->name_off = arena_put(ex, name, e->name_len);
    e->value_len = (uint32_t)len;
    e->value_off = add ? arena_put(ex, value, len) : 0;
}

void exchange_remove_field(struct exchange *ex, const char *name)
{
    add_edit(ex, 0, 0, name, NULL, 0);
}

void exchange_add_field(struct exchange *ex, const char *name, const char *value, size_t len)
{
    add_edit(ex, 1, 0, name, value, len);
}

/* The removal and the addition share one copy of the name in the arena
 * (four per request on a reverse listener: X-Forwarded-*, Forwarded). */
void exchange_set_field(struct exchange *ex, const char *name, const char *value, size_t len)
{
    struct field_edit *e;

    if (ex->nedits + 2 > EXCHANGE_MAX_EDITS) {
        add_edit(ex, 0, 0, name, NULL, 0);
        add_edit(ex, 1, 0, name, value, len);
        return;
    }
    e = &ex->edits[ex->nedits];
    e[0].add = 0;
    e[0].response = 0;
    e[0].name_len = (uint32_t)strlen(name);
    e[0].name_off = arena_put(ex, name, e[0].name_len);
    e[0].value_off = e[0].value_len = 0;
    e[1] = e[0];
    e[1].add = 1;
    e[1].value_len = (uint32_t)len;
    e[1].value_off = arena_put(ex, value, len);
    ex->nedits += 2;
}

void exchange_remove_response_field(struct exchange *ex, const char *name)
{
    add_edit(ex, 0, 1, name, NULL, 0);
}

void exchange_add_response_field(struct exchange *ex, const char *name, const char *value,
                                 size_t len)
{
    add_edit(ex, 1, 1, name, value, len);
}

void exchange_set_target(struct exchange *ex, const char *target, size_t len)
{
    ex->target_off = (int32_t)arena_put(ex, target, len);
    ex->target_len = (int32_t)len;
}

/* ---- local answers ---- */

/* Whether the client connection must close after a local answer: a request
 * body we would rather not read through is the usual reason. */
static int local_must_close(const struct exchange *ex)
{
    const struct http_head *r = &ex->req;

    if (r->framing == HTTP_BODY_CHUNKED)
        return 1;
    return r->framing == HTTP_BODY_LENGTH && r->content_length > (1u << 20);
}

static void local_head(struct exchange *ex, int status, const char *ctype, const char *extra,
                       uint64_t len)
{
    char head[2048];
    size_t n;

    ex->status = status;
    ex->decision = DECIDE_LOCAL;
    if (local_must_close(ex) || ex->conn->w->draining)
        ex->client_close = 1;
    exchange_note_type(ex, ctype, ctype ? strlen(ctype) : 0);
    n = gh_fmt(head, sizeof(head), "HTTP/1.1 %d %s\r\n", status, exchange_reason(status));
    if (ctype)
        n += gh_fmt(head + n, sizeof(head) - n, "Content-Type: %s\r\n", ctype);
    if (status >= 200 && status != 204 && status != 304)
        n += gh_fmt(head + n, sizeof(head) - n, "Content-Length: %llu\r\n", (unsigned long long)len);
    if (extra)
        n += gh_fmt(head + n, sizeof(head) - n, "%s", extra);
    n += gh_fmt(head + n, sizeof(head) - n, "%s\r\n",
                ex->client_close ? "Connection: close\r\n"
                : ex->req.minor_version == 0 ? "Connection: keep-alive\r\n"
                                             : "");
    buf_append(client_out(ex), head, n);
}


/* An intercepted TLS client understands no page: it gets one fatal alert
 * (sni_alert), and the connection is shut after it. */
static void refuse_tls(struct exchange *ex, int status)
{
    unsigned char alert[SNI_ALERT_LEN];

    ex->status = status;
    ex->decision = DECIDE_LOCAL;
    ex->client_close = 1;
    ex->bytes_in += buf_len(*ex->cin); /* the hello: read, never relayed */
    sni_alert(alert, status == 400 ? SNI_MALFORMED : SNI_HELLO, status >= 500);
    buf_append(client_out(ex), alert, sizeof(alert));
}

void exchange_respond(struct exchange *ex, int status, const char *content_type,
                      const char *extra, const char *body, size_t len)
{
    size_t k;

    if (ex->decision != DECIDE_NONE)
        return;
    if (ex->intercept_tls) {
        refuse_tls(ex, status);
        return;
    }
    local_head(ex, status, content_type, extra, len);
    if (ex->req_is_head || status == 204 || status == 304)
        return;
    k = buf_append(client_out(ex), body, len);
    ex->resp_body_bytes = len;
    if (k < len) {
        ex->local_mem_len = len - k;
        ex->local_mem = xmalloc(ex->local_mem_len);
        memcpy(ex->local_mem, body + k, ex->local_mem_len);
        ex->local_mem_off = 0;
    }
}

void exchange_respond_fd(struct exchange *ex, int status, const char *content_type,
                         const char *extra, int fd, uint64_t size)
{
    if (ex->decision != DECIDE_NONE) {
        close(fd);
        return;
    }
    local_head(ex, status, content_type, extra, size);
    if (ex->req_is_head) {
        close(fd);
        return;
    }
    ex->local_fd = fd;
    ex->local_left = size;
    ex->resp_body_bytes = size;
}

/* Copies text into dst with HTML's special characters escaped. */
static void html_escape(char *dst, size_t cap, const char *src)
{
    size_t o = 0;

    for (; *src && o + 7 < cap; src++) {
        const char *rep = *src == '<' ? "&lt;" : *src == '>' ? "&gt;" : *src == '&' ? "&amp;"
                          : *src == '"' ? "&quot;" : NULL;
        if (rep)
            o += gh_fmt(dst + o, cap - o, "%s", rep);
        else
            dst[o++] = *src;
    }
    dst[o] = '\0';
}

void exchange_error_detail(struct exchange *ex, int status, const char *why, const char *detail)
{
    char body[1536], esc[512] = "";
    size_t n;
    const char *reason = exchange_reason(status);

    if (why && !ex->why)
        ex->why = why;
    if (detail)
        html_escape(esc, sizeof(esc), detail);
    n = gh_fmt(body, sizeof(body),
               "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
               "<body><h1>%d %s</h1>\n<p>%s%s%s</p>\n<hr><p>gatehouse</p></body></html>\n",
               status, reason, status, reason, why ? why : reason, detail ? ": " : "", esc);
    exchange_respond(ex, status, "text/html; charset=utf-8", NULL, body, n);
}

void exchange_error(struct exchange *ex, int status, const char *why)
{
    exchange_error_detail(ex, status, why, NULL);
}

void exchange_tunnel(struct exchange *ex, const char *host, size_t hostlen, uint16_t port,
                     const char *label)
{
    exchange_forward(ex, host, hostlen, port, label);
    if (ex->decision == DECIDE_FORWARD)
        ex->decision = DECIDE_TUNNEL;
    /* the CONNECT's own target, for judging the tunnel's first bytes after
     * the head is gone (safe-search or a parent may change where it goes) */
    if (ex->req.form == HTTP_TARGET_AUTHORITY && ex->req.host.len < sizeof(ex->connect_host)) {
        memcpy(ex->connect_host, exchange_str(ex, ex->req.host), ex->req.host.len);
        ex->connect_host[ex->req.host.len] = '\0';
        ex->connect_port = ex->req.port;
    }
}

const struct sockaddr_storage *exchange_original_dst(const struct exchange *ex)
{
    return ex->conn->intercepted ? &ex->conn->orig_dst : NULL;
}

const struct sni_hello *exchange_intercepted_hello(const struct exchange *ex)
{
    return ex->intercept_tls ? &ex->hello : NULL;
}

void exchange_pin(struct exchange *ex, const struct sockaddr_storage *dst)
{
    char ip[INET6_ADDRSTRLEN];

    if (ex->decision != DECIDE_FORWARD && ex->decision != DECIDE_TUNNEL)
        return;
    ex->pinned = 1;
    ex->pin = *dst;
    /* pooled connections are the destination's, whatever name they served */
    intercept_ip_text(dst, ip, sizeof(ip));
    gh_fmt(ex->key, sizeof(ex->key), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip,
           intercept_port(dst));
}

const char *exchange_connect_target(const struct exchange *ex, uint16_t *port)
{
    if (port)
        *port = ex->connect_port;
    return ex->connect_host;
}

void exchange_tunnel_via(struct exchange *ex, const char *host, size_t hostlen, uint16_t port,
                         const char *label)
{
    exchange_tunnel(ex, host, hostlen, port, label);
    if (ex->decision == DECIDE_TUNNEL) {
        ex->parent_tunnel = 1;
        ex->to_proxy = 1;
    }
}

void exchange_forward_via(struct exchange *ex, const char *host, size_t hostlen, uint16_t port,
                          const char *label)
{
    exchange_forward(ex, host, hostlen, port, label);
    if (ex->decision == DECIDE_FORWARD)
        ex->to_proxy = 1;
}

void exchange_delay(struct exchange *ex, uint32_t ms)
{
    ex->answer_at = loop_now(ex->conn->w->loop) + ms;
}

void exchange_hold(struct exchange *ex, uint32_t ms)
{
    uint64_t until = loop_now(ex->conn->w->loop) + ms;

    if (until > ex->hold_until)
        ex->hold_until = until;
}

void exchange_drop(struct exchange *ex, const char *why)
{
    if (ex->decision != DECIDE_NONE)
        return;
    ex->decision = DECIDE_LOCAL;
    ex->unanswered = 1;
    ex->client_close = 1;
    exchange_error_reason(ex, why);
}

const char *exchange_filter(const struct exchange *ex)
{
    return ex->filter;
}

void exchange_bytes(const struct exchange *ex, uint64_t *in, uint64_t *out)
{
    *in = ex->bytes_in;
    *out = ex->bytes_out;
}

void exchange_meter(struct exchange *ex, const struct exchange_meter *m, void *arg)
{
    ex->meter = m;
    ex->meter_arg = arg;
}

const struct http_head *exchange_response(const struct exchange *ex)
{
    return &ex->resp;
}

const char *exchange_response_base(const struct exchange *ex)
{
    return ex->resp_base ? ex->resp_base : buf_head(ex->up->in);
}

int exchange_set_max_body(struct exchange *ex, uint64_t limit)
{
    if (!ex->max_body || limit < ex->max_body)
        ex->max_body = limit;
    if (ex->req.framing == HTTP_BODY_LENGTH && ex->req.content_length > ex->max_body) {
        ex->client_close = 1;
        exchange_error(ex, 413, "request body larger than the route allows");
        return 0;
    }
    return 1;
}

void exchange_omit_via(struct exchange *ex)
{
    ex->omit_via = 1;
}

void exchange_drop_fields(struct exchange *ex, int (*drop)(const char *name, size_t len))
{
    ex->drop = drop;
}

void exchange_set_filter(struct exchange *ex, const char *note)
{
    exchange_log_copy(ex->filter, sizeof(ex->filter), note, strlen(note));
    for (char *c = ex->filter; *c; c++)
        if (*c == ' ')
            *c = '_';
}

void exchange_error_reason(struct exchange *ex, const char *why)
{
    if (!ex->why)
        ex->why = why;
}

const char *exchange_user(const struct exchange *ex)
{
    return ex->user[0] ? ex->user : NULL;
}

void exchange_set_user(struct exchange *ex, const char *user)
{
    exchange_log_copy(ex->user, sizeof(ex->user), user, strlen(user));
    for (char *c = ex->user; *c; c++)
        if (*c == ' ')
            *c = '_'; /* one field in the log */
}

/* The upstream pool's key: the destination, and the client when each
 * connection announces it with a PROXY header. */
static void set_key(struct exchange *ex)
{
    const size_t cap = sizeof(ex->key);
    int v6 = strchr(ex->host, ':') != NULL;
    size_t n = gh_cat(ex->key, cap, 0, "[", v6 ? 1 : 0);
    n = gh_cat_str(ex->key, cap, n, ex->host);
    n = v6 ? gh_cat(ex->key, cap, n, "]:", 2) : gh_cat(ex->key, cap, n, ":", 1);
    n = gh_cat_u64(ex->key, cap, n, ex->port);
    if (ex->up_tls)
        n += gh_fmt(ex->key + n, cap - n, " tls@%p", (void *)ex->up_tls);
    if (ex->up_h2_streams)
        n = gh_cat_str(ex->key, cap, n, " h2");
    if (ex->proxy_header) {
        n = gh_cat_str(ex->key, cap, n, " for ");
        gh_cat_str(ex->key, cap, n, ex->conn->peer_text);
    }
}

void exchange_forward(struct exchange *ex, const char *host, size_t hostlen, uint16_t port,
                      const char *label)
{
    if (ex->decision != DECIDE_NONE)
        return;
    if (hostlen == 0 || hostlen >= sizeof(ex->host)) {
        exchange_error(ex, 400, "bad upstream host name");
        return;
    }
    ex->decision = DECIDE_FORWARD;
    memcpy(ex->host, host, hostlen);
    ex->host[hostlen] = '\0';
    ex->port = port;
    if (label)
        exchange_set_label(ex, label);
    set_key(ex);
}

void exchange_forward_peer(struct exchange *ex, const char *host, size_t hostlen, uint16_t port,
                           const char *label, const char *target, size_t tlen, const char *mark,
                           const struct sockaddr_storage *src)
{
    exchange_forward(ex, host, hostlen, port, label);
    if (ex->decision != DECIDE_FORWARD)
        return;
    ex->peer_hop = 1;
    ex->peer_target_off = (int32_t)arena_put(ex, target, tlen);
    ex->peer_target_len = (int32_t)tlen;
    ex->peer_mark_off = (int32_t)arena_put(ex, mark, strlen(mark));
    ex->peer_mark_len = (int32_t)strlen(mark);
    if (src) {
        ex->up_src = *src;
        ex->has_src = 1;
    }
}

void *exchange_scratch(struct exchange *ex)
{
    return ex->scratch;
}

void exchange_queue(struct exchange *ex, uint32_t timeout_ms)
{
    if (ex->decision != DECIDE_NONE)
        return;
    ex->decision = DECIDE_QUEUE;
    /* A queued exchange asks again at each look (queue_try runs resume()),
     * and its front end may queue it again: the deadline stays the first
     * one, or a caller that re-queues would never time out. */
    if (!ex->queued)
        ex->queue_until = loop_now(ex->conn->w->loop) + timeout_ms;
}

void exchange_send_proxy_header(struct exchange *ex, int version)
{
    ex->proxy_header = (uint8_t)(version == 2 ? 2 : 1);
    if (ex->host[0])
        set_key(ex);
}

void exchange_upstream_h2(struct exchange *ex, unsigned streams, unsigned conns)
{
    ex->up_h2_streams = (uint16_t)(streams ? streams : 1);
    ex->up_h2_conns = (uint8_t)(conns ? conns : 1);
    if (ex->host[0])
        set_key(ex);
}

void exchange_upstream_tls(struct exchange *ex, struct tls_client *tc)
{
    ex->up_tls = tc;
    if (ex->host[0])
        set_key(ex);
}

int exchange_is_tls(const struct exchange *ex)
{
    return ex->conn->tls;
}

const char *exchange_upstream_addr(const struct exchange *ex)
{
    return ex->up_addr;
}

/* ---- the core's own rules ---- */

static int method_is(const struct exchange *ex, const char *m)
{
    /* methods are case-sensitive (RFC 9110 9.1) */
    return ex->req.method.len == strlen(m) &&
           memcmp(exchange_str(ex, ex->req.method), m, ex->req.method.len) == 0;
}

int exchange_idempotent(const struct exchange *ex)
{
    static const char *const safe[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", NULL};

    if (ex->req.framing != HTTP_BODY_NONE &&
        !(ex->req.framing == HTTP_BODY_LENGTH && ex->req.content_length == 0))
        return 0;
    for (const char *const *m = safe; *m; m++)
        if (method_is(ex, *m))
            return 1;
    return 0;
}

int exchange_preflight(struct exchange *ex)
{
    int trace = method_is(ex, "TRACE"), options = method_is(ex, "OPTIONS"), i;
    char v[32];
    unsigned long n;
    char *end;

    if (hop_looped(&ex->req, exchange_base(ex))) {
        log_warn("forwarding loop: \"%s\" on listener %s came back to this gatehouse through "
                 "a parent proxy; answered 508 (check the parent settings)",
                 ex->log_req, ex->lst ? ex->lst->name : "-");
        exchange_error(ex, 508, "forwarding loop: the request came back through a parent proxy");
        return 1;
    }
    if (trace && !ex->cfg->allow_trace) {
        exchange_respond(ex, 405, "text/plain; charset=utf-8",
                         "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\n",
                         "TRACE is disabled\n", 18);
        ex->why = "TRACE is disabled";
        return 1;
    }
    if ((!trace && !options) || (i = exchange_field(ex, "max-forwards", v, sizeof(v))) < 0)
        return 0;
    n = strtoul(v, &end, 10);
    if (i == 0 || *end || v[0] < '0' || v[0] > '9') {
        exchange_error(ex, 400, "bad Max-Forwards");
        return 1;
    }
    if (n > 0) {
        char dec[24];
        size_t len = gh_fmt(dec, sizeof(dec), "%lu", n - 1);
        exchange_set_field(ex, "Max-Forwards", dec, len);
        return 0;
    }
    /* the last hop answers (RFC 9110 7.6.2) */
    if (options)
        exchange_respond(ex, 200, NULL, "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\n",
                         "", 0);
    else
        exchange_respond(ex, 200, "message/http", NULL, exchange_base(ex), ex->req.head_len);
    return 1;
}

void exchange_reset(struct exchange *ex)
{
    struct conn *c = ex->conn;
    char *arena = ex->arena;
    uint32_t cap = ex->arena_cap;

    if (ex->cx)
        cache_xfer_end(ex);
    compress_enc_free(ex->respb.z);
    body_release(&ex->reqb); /* a pipe that still held bytes: the body ended early */
    body_release(&ex->respb);
    if (!ex->local_borrowed)
        free(ex->local_mem);
    if (ex->local_fd >= 0)
        close(ex->local_fd);
    for (int d = 0; d < 2; d++)
        for (int e = 0; e < 2; e++)
            if (ex->tpipe[d][e] > 0)
                close(ex->tpipe[d][e]);
    buf_put(ex->uphead);
    buf_put(ex->fallhead);
    buf_put(ex->req_trailers);
    buf_put(ex->resp_trailers);
    /* all but the heads' field arrays (8 KB of the 13), which the parsers
     * fill and nothing reads past nfields */
    memset(ex, 0, offsetof(struct exchange, req));
    http1_head_clear(&ex->req);
    http1_head_clear(&ex->resp);
    memset(&ex->resp + 1, 0, (size_t)((char *)(ex + 1) - (char *)(&ex->resp + 1)));
    ex->conn = c;
    ex->arena = arena;
    ex->arena_cap = cap;
    ex->target_off = ex->target_len = -1;
    ex->local_fd = -1;
    memset(ex->tpipe, -1, sizeof(ex->tpipe));
}

void exchange_free(struct exchange *ex)
{
    exchange_reset(ex);
    free(ex->arena);
    ex->arena = NULL;
    ex->arena_cap = 0;
}

/* Spare exchanges, per thread: a keep-alive connection gives its exchange
 * back between requests.  None under AddressSanitizer, so that a use
 * after exchange_put() is caught rather than reading a spare. */
#if defined(__SANITIZE_ADDRESS__)
#define EXCHANGE_SPARES_MAX 0u
#else
#define EXCHANGE_SPARES_MAX 256u
#endif
static __thread struct exchange *spare_list;
static __thread unsigned spare_count;

struct exchange *exchange_get(struct conn *c)
{
    struct exchange *ex = spare_list;

    if (ex) {
        spare_list = ex->qnext;
        spare_count--;
    } else {
        ex = xcalloc(1, sizeof(*ex));
        ex->local_fd = -1;
        memset(ex->tpipe, -1, sizeof(ex->tpipe));
        exchange_reset(ex);
    }
    ex->conn = c;
    ex->qnext = NULL;
    return ex;
}

void exchange_put(struct exchange *ex)
{
    if (!ex)
        return;
    if (loop_timer_armed(&ex->timer)) /* ended without its driver: never armed then */
        loop_timer_cancel(ex->conn->w->loop, &ex->timer);
    if (loop_timer_armed(&ex->meter_timer))
        loop_timer_cancel(ex->conn->w->loop, &ex->meter_timer);
    if (spare_count + 1 > EXCHANGE_SPARES_MAX) { /* not >=: the max may be 0 */
        exchange_free(ex);
        free(ex);
        return;
    }
    exchange_reset(ex);
    ex->qnext = spare_list; /* the list's link while spare */
    spare_list = ex;
    spare_count++;
}

void exchange_trim(void)
{
    while (spare_list) {
        struct exchange *ex = spare_list;
        spare_list = ex->qnext;
        exchange_free(ex);
        free(ex);
    }
    spare_count = 0;
}
