/* exchange.c — what a front-end may ask of an exchange (exchange.h), and the
 * core's serialising of heads and access-log lines for it.
 * Owns the exchange's edit arena and local-answer memory; the buffers belong
 * to the client's connection (its protocol's). */
#include "exchange.h"
#include "cache_xfer.h"
#include "exchange_int.h"
#include "hop.h"
#include "log.h"
#include "util.h"
#include "worker.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <unistd.h>

static void log_copy(char *dst, size_t cap, const char *src, size_t len);

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

void exchange_set_field(struct exchange *ex, const char *name, const char *value, size_t len)
{
    add_edit(ex, 0, 0, name, NULL, 0);
    add_edit(ex, 1, 0, name, value, len);
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


void exchange_respond(struct exchange *ex, int status, const char *content_type,
                      const char *extra, const char *body, size_t len)
{
    size_t k;

    if (ex->decision != DECIDE_NONE)
        return;
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
    log_copy(ex->filter, sizeof(ex->filter), note, strlen(note));
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
    log_copy(ex->user, sizeof(ex->user), user, strlen(user));
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

void *exchange_scratch(struct exchange *ex)
{
    return ex->scratch;
}

void exchange_queue(struct exchange *ex, uint32_t timeout_ms)
{
    if (ex->decision != DECIDE_NONE)
        return;
    ex->decision = DECIDE_QUEUE;
    ex->queue_until = loop_now(ex->conn->w->loop) + timeout_ms;
}

void exchange_send_proxy_header(struct exchange *ex, int version)
{
    ex->proxy_header = (uint8_t)(version == 2 ? 2 : 1);
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

/* ---- serialising heads ---- */

/* Whether the field name at (name, len) is listed in a Connection field. */
static int listed_in_connection(const struct http_head *h, const char *base, const char *name,
                                size_t len)
{
    char tmp[128];

    if (len >= sizeof(tmp))
        return 0;
    memcpy(tmp, name, len);
    tmp[len] = '\0';
    for (int i = http1_find(h, base, "connection", 0); i >= 0;
         i = http1_find(h, base, "connection", i + 1))
        if (http1_list_has(base + h->fields[i].value.off, h->fields[i].value.len, tmp))
            return 1;
    return 0;
}

/* Which edits copy_fields() applies. */
#define EDITS_NONE (-1)
#define EDITS_REQUEST 0
#define EDITS_RESPONSE 1

static int removed_by_edit(const struct exchange *ex, int side, const char *name, size_t len)
{
    for (unsigned i = 0; i < ex->nedits; i++) {
        const struct field_edit *e = &ex->edits[i];
        if (!e->add && e->response == side && e->name_len == len &&
            strncasecmp(ex->arena + e->name_off, name, len) == 0)
            return 1;
    }
    return 0;
}

/* Writes the added fields of one side. */
static int put_added(const struct exchange *ex, int side, struct buf *out);

/* Copies the end-to-end fields of h (hop-by-hop, framing and Connection-listed
 * fields are dropped). Returns 0, or -1 when out is full. */
static int copy_fields(const struct exchange *ex, const struct http_head *h, const char *base,
                       struct buf *out, int side)
{
    int has_connection = http1_find(h, base, "connection", 0) >= 0;

    for (unsigned i = 0; i < h->nfields; i++) {
        const struct http_field *f = &h->fields[i];
        const char *name = base + f->name.off;
        if (http1_is_hop_by_hop(name, f->name.len) || gh_strcaseeq(name, f->name.len, "content-length") ||
            (has_connection && listed_in_connection(h, base, name, f->name.len)) ||
            (side == EDITS_REQUEST && (hop_dropped(name, f->name.len) ||
                                       (ex->drop && ex->drop(name, f->name.len)))) ||
            (side != EDITS_NONE && removed_by_edit(ex, side, name, f->name.len)))
            continue;
        if (buf_room(out) < (size_t)f->name.len + f->value.len + 4)
            buf_compact(out);
        if (buf_room(out) < (size_t)f->name.len + f->value.len + 4)
            return -1;
        buf_append(out, name, f->name.len);
        buf_append(out, ": ", 2);
        buf_append(out, base + f->value.off, f->value.len);
        buf_append(out, "\r\n", 2);
    }
    return 0;
}

static int put(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(struct buf *out, const char *fmt, ...)
{
    va_list ap;
    int n;

    buf_compact(out);
    va_start(ap, fmt);
    n = vsnprintf(buf_tail(out), buf_room(out), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= buf_room(out))
        return -1;
    out->end += (uint32_t)n;
    return 0;
}

/* Appends n bytes; -1 when out cannot hold them.  The head writers below
 * use these rather than put() on every request: formatting with vsnprintf
 * was 3.5 % of a proxied request's CPU. */
static int put_mem(struct buf *out, const char *p, size_t n)
{
    if (buf_room(out) < n)
        buf_compact(out);
    if (buf_room(out) < n)
        return -1;
    buf_append(out, p, n);
    return 0;
}

#define put_lit(out, lit) put_mem((out), (lit), sizeof(lit) - 1)

static int put_u64(struct buf *out, uint64_t v)
{
    char t[24], *p = t + sizeof(t);

    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    return put_mem(out, p, (size_t)(t + sizeof(t) - p));
}

/* "name: value\r\n" */
static int put_field(struct buf *out, const char *name, size_t nlen, const char *value, size_t vlen)
{
    return put_mem(out, name, nlen) | put_lit(out, ": ") | put_mem(out, value, vlen) |
           put_lit(out, "\r\n");
}

/* "Via: 1.x name\r\n" */
static int put_via(struct buf *out, int minor, const char *name)
{
    char v[10] = "Via: 1.0 ";

    v[7] = (char)('0' + (minor ? 1 : 0));
    return put_mem(out, v, 9) | put_mem(out, name, strlen(name)) | put_lit(out, "\r\n");
}

/* Towards a parent proxy: the loop marks the request arrived with, then
 * ours, all named in Connection so that a proxy which is not a gatehouse
 * drops them instead of passing them on to origins (RFC 9110 7.6.1). */
static int put_hop_marks(const struct exchange *ex, struct buf *out)
{
    const struct http_head *r = &ex->req;
    const char *base = exchange_base(ex);
    int rc = 0;

    for (unsigned i = 0; i < r->nfields; i++)
        if (hop_is_mark(base + r->fields[i].name.off, r->fields[i].name.len))
            rc |= put_field(out, HOP_FIELD, sizeof(HOP_FIELD) - 1, base + r->fields[i].value.off,
                            r->fields[i].value.len);
    return rc | put_field(out, HOP_FIELD, sizeof(HOP_FIELD) - 1, hop_token(), 32) |
           put_lit(out, "Connection: " HOP_FIELD "\r\n");
}

static int put_added(const struct exchange *ex, int side, struct buf *out)
{
    int rc = 0;

    for (unsigned i = 0; i < ex->nedits; i++) {
        const struct field_edit *e = &ex->edits[i];
        if (e->add && e->response == side)
            rc |= put_field(out, ex->arena + e->name_off, e->name_len, ex->arena + e->value_off,
                            e->value_len);
    }
    return rc;
}

int exchange_write_request_head(struct exchange *ex, struct buf *out)
{
    const struct http_head *r = &ex->req;
    const char *base = exchange_base(ex);
    int rc, up;

    rc = put_mem(out, base + r->method.off, r->method.len) | put_lit(out, " ");
    if (ex->target_off >= 0)
        rc |= put_mem(out, ex->arena + ex->target_off, (size_t)ex->target_len);
    else
        rc |= put_mem(out, base + r->target.off, r->target.len);
    rc |= put_lit(out, " HTTP/1.1\r\n");
    if (rc < 0 || copy_fields(ex, r, base, out, EDITS_REQUEST) < 0)
        return -1;
    if (!(r->flags & HTTP_F_HAS_HOST) && !removed_by_edit(ex, EDITS_REQUEST, "host", 4))
        rc |= put(out, strchr(ex->host, ':') ? "Host: [%s]:%u\r\n" : "Host: %s:%u\r\n", ex->host,
                  ex->port);
    if (!ex->omit_via)
        rc |= put_via(out, r->minor_version, ex->cfg->via_name);
    /* A protocol upgrade (WebSocket) is asked for again, hop by hop. */
    if ((r->flags & HTTP_F_CONN_UPGRADE) && (r->flags & HTTP_F_HAS_UPGRADE) &&
        r->minor_version >= 1 && (up = http1_find(r, base, "upgrade", 0)) >= 0) {
        rc |= put(out, "Connection: upgrade\r\nUpgrade: %.*s\r\n", (int)r->fields[up].value.len,
                  base + r->fields[up].value.off);
        ex->upgrade = 1;
    }
    rc |= put_added(ex, EDITS_REQUEST, out);
    if (ex->to_proxy)
        rc |= put_hop_marks(ex, out);
    if (r->framing == HTTP_BODY_LENGTH)
        rc |= put_lit(out, "Content-Length: ") | put_u64(out, r->content_length) | put_lit(out, "\r\n");
    else if (r->framing == HTTP_BODY_CHUNKED)
        rc |= put_lit(out, "Transfer-Encoding: chunked\r\n");
    rc |= put_lit(out, "\r\n");
    return rc ? -1 : 0;
}

int exchange_write_response_head(struct exchange *ex, struct buf *out, int client_close)
{
    const struct http_head *h = &ex->resp;
    const char *base = exchange_response_base(ex);
    int chunk_out = 0, rc, cl;

    /* Client framing: keep the connection where the body's end can be told. */
    if (h->framing == HTTP_BODY_CHUNKED || h->framing == HTTP_BODY_CLOSE) {
        if (ex->req.minor_version >= 1)
            chunk_out = 1;
        else
            client_close = 1;
    }
    ex->client_close = client_close;
    rc = put_lit(out, "HTTP/1.1 ") | put_u64(out, (uint64_t)h->status) | put_lit(out, " ") |
         put_mem(out, base + h->reason.off, h->reason.len) | put_lit(out, "\r\n");
    if (rc < 0 || copy_fields(ex, h, base, out, EDITS_RESPONSE) < 0)
        return -1;
    rc |= put_added(ex, EDITS_RESPONSE, out);
    rc |= put_via(out, h->minor_version, ex->cfg->via_name);
    if (h->framing == HTTP_BODY_LENGTH)
        rc |= put_lit(out, "Content-Length: ") | put_u64(out, h->content_length) | put_lit(out, "\r\n");
    else if (h->framing == HTTP_BODY_NONE && (cl = http1_find(h, base, "content-length", 0)) >= 0)
        rc |= put_field(out, "Content-Length", 14, base + h->fields[cl].value.off,
                        h->fields[cl].value.len);
    else if (chunk_out)
        rc |= put_lit(out, "Transfer-Encoding: chunked\r\n");
    if (client_close)
        rc |= put_lit(out, "Connection: close\r\n");
    else if (ex->req.minor_version == 0)
        rc |= put_lit(out, "Connection: keep-alive\r\n");
    rc |= put_lit(out, "\r\n");
    body_init(&ex->respb, h->framing, h->content_length, chunk_out);
    ex->respb.big_ok = 1; /* a response body: no head is read after it */
    return rc ? -1 : 0;
}

/* An interim response is relayed with the response's field removals (what
 * the front-end hides from every response) but not its additions, which
 * belong to the final response (a Set-Cookie, Strict-Transport-Security). */
int exchange_write_interim_head(struct exchange *ex, struct buf *out)
{
    const struct http_head *h = &ex->resp;
    const char *base = exchange_response_base(ex);
    int rc;

    rc = put_lit(out, "HTTP/1.1 ") | put_u64(out, (uint64_t)h->status) | put_lit(out, " ") |
         put_mem(out, base + h->reason.off, h->reason.len) | put_lit(out, "\r\n");
    if (rc < 0 || copy_fields(ex, h, base, out, EDITS_RESPONSE) < 0)
        return -1;
    rc |= put_via(out, h->minor_version, ex->cfg->via_name);
    rc |= put_lit(out, "\r\n");
    return rc ? -1 : 0;
}

int exchange_write_switch_head(struct exchange *ex, struct buf *out)
{
    const struct http_head *h = &ex->resp;
    const char *base = buf_head(ex->up->in);
    int rc, up = http1_find(h, base, "upgrade", 0);

    if (up < 0)
        return -1;
    rc = put(out, "HTTP/1.1 101 %.*s\r\n", (int)h->reason.len, base + h->reason.off);
    if (rc < 0 || copy_fields(ex, h, base, out, EDITS_RESPONSE) < 0)
        return -1;
    rc |= put(out, "Via: 1.1 %s\r\nConnection: upgrade\r\nUpgrade: %.*s\r\n\r\n",
              ex->cfg->via_name, (int)h->fields[up].value.len, base + h->fields[up].value.off);
    return rc ? -1 : 0;
}

/* ---- access log ---- */

void exchange_log(struct exchange *ex)
{
    char line[2048], when[40];
    size_t n;
    const struct gh_config *c = ex->cfg;

    if (!log_access_enabled() || !ex->log_req[0])
        return;
    log_clf_time(when, sizeof(when));
    n = gh_fmt(line, sizeof(line), "%s - %s [%s] \"%s\" %d ", ex->conn->peer_text,
               ex->user[0] ? ex->user : "-", when, ex->log_req,
               ex->status ? ex->status : 0);
    if (ex->resp_body_bytes)
        n += gh_fmt(line + n, sizeof(line) - n, "%llu", (unsigned long long)ex->resp_body_bytes);
    else
        n += gh_fmt(line + n, sizeof(line) - n, "-");
    if (c->log_format != LOG_FORMAT_COMMON)
        n += gh_fmt(line + n, sizeof(line) - n, " \"%s\" \"%s\"",
                    ex->log_referer[0] ? ex->log_referer : "-",
                    ex->log_agent[0] ? ex->log_agent : "-");
    if (c->log_format == LOG_FORMAT_GATEHOUSE)
        n += gh_fmt(line + n, sizeof(line) - n,
                    " listener=%s mode=%s in=%llu out=%llu ms=%llu upstream=%s filter=%s why=%s",
                    ex->lst ? ex->lst->name : "-", ex->lst ? ex->lst->fe->name : "-",
                    (unsigned long long)ex->bytes_in, (unsigned long long)ex->bytes_out,
                    (unsigned long long)(gh_now_ms() - ex->start_ms),
                    ex->up_addr[0] ? ex->up_addr : ex->label[0] ? ex->label : "-",
                    ex->filter[0] ? ex->filter : "-", ex->why ? ex->why : "-");
    if (n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    log_access_write(line, n);
}

void exchange_end(struct exchange *ex)
{
    if (ex->lst && ex->lst->fe->finished)
        ex->lst->fe->finished(ex);
    exchange_log(ex);
}

/* Keeps a printable copy of a request value for the log: quotes and
 * control bytes are replaced so a line cannot be forged. */
static void log_copy(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = GH_MIN(len, cap - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') ? '_' : (char)ch;
    }
    dst[n] = '\0';
}

void exchange_reset(struct exchange *ex)
{
    struct conn *c = ex->conn;
    char *arena = ex->arena;
    uint32_t cap = ex->arena_cap;

    if (ex->cx)
        cache_xfer_end(ex);
    if (!ex->local_borrowed)
        free(ex->local_mem);
    if (ex->local_fd >= 0)
        close(ex->local_fd);
    for (int d = 0; d < 2; d++)
        for (int e = 0; e < 2; e++)
            if (ex->tpipe[d][e] > 0)
                close(ex->tpipe[d][e]);
    buf_put(ex->uphead);
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

void exchange_note_request(struct exchange *ex)
{
    const struct http_head *r = &ex->req;
    const char *base = exchange_base(ex);
    char tmp[600];
    size_t n;
    int i;

    ex->req_is_head = r->method.len == 4 && memcmp(base + r->method.off, "HEAD", 4) == 0;
    if (!log_access_enabled()) {
        gh_cat(ex->log_req, sizeof(ex->log_req), 0, "-", 1); /* "a request was read" */
        return;
    }
    n = gh_cat(tmp, sizeof(tmp), 0, base + r->method.off, r->method.len);
    n = gh_cat(tmp, sizeof(tmp), n, " ", 1);
    n = gh_cat(tmp, sizeof(tmp), n, base + r->target.off, GH_MIN(r->target.len, 500u));
    n = gh_cat(tmp, sizeof(tmp), n, r->minor_version ? " HTTP/1.1" : " HTTP/1.0", 9);
    log_copy(ex->log_req, sizeof(ex->log_req), tmp, n);
    if ((i = http1_find(r, base, "referer", 0)) >= 0)
        log_copy(ex->log_referer, sizeof(ex->log_referer), base + r->fields[i].value.off,
                 r->fields[i].value.len);
    if ((i = http1_find(r, base, "user-agent", 0)) >= 0)
        log_copy(ex->log_agent, sizeof(ex->log_agent), base + r->fields[i].value.off,
                 r->fields[i].value.len);
}
