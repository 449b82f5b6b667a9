/* http1.h — strict, incremental, zero-copy HTTP/1.1 message-head parser
 * (RFC 9112 / RFC 9110) and chunked-body decoder.
 *
 * The parser never copies: every field of a parsed head is a slice (offset and
 * length) into the caller's buffer, counted from the first byte of the head.
 * It owns no memory and does no I/O; serialising heads belongs to the modules
 * that forward them. */
#ifndef GH_HTTP1_H
#define GH_HTTP1_H

#include <stddef.h>
#include <stdint.h>

/* Parser results (same values as GH_ERROR / GH_AGAIN in util.h). */
#define HTTP1_ERROR (-1)
#define HTTP1_PARTIAL (-2)

/* Hard ceiling on header fields in one head; the configurable limit is lower. */
#define HTTP1_MAX_HEADERS 256

struct http_slice {
    uint32_t off; /* from the first byte of the head */
    uint32_t len;
};

struct http_field {
    struct http_slice name;
    struct http_slice value; /* leading and trailing whitespace trimmed */
};

/* Where a request's target came from (RFC 9112 section 3.2). */
enum http_target_form {
    HTTP_TARGET_ORIGIN,    /* "/path?query" */
    HTTP_TARGET_ABSOLUTE,  /* "http://host:port/path" */
    HTTP_TARGET_AUTHORITY, /* "host:port", CONNECT only */
    HTTP_TARGET_ASTERISK,  /* "*", OPTIONS only */
};

/* How the body that follows a head is delimited. */
enum http_framing {
    HTTP_BODY_NONE,    /* no body at all (also: HEAD responses, 1xx, 204, 304) */
    HTTP_BODY_LENGTH,  /* exactly content_length bytes */
    HTTP_BODY_CHUNKED, /* Transfer-Encoding ending in chunked */
    HTTP_BODY_CLOSE,   /* response read until the connection closes */
};

/* Flags derived from the fields while parsing. */
#define HTTP_F_CONN_CLOSE 0x0001u     /* Connection: close */
#define HTTP_F_CONN_KEEPALIVE 0x0002u /* Connection: keep-alive */
#define HTTP_F_CONN_UPGRADE 0x0004u   /* Connection: upgrade */
#define HTTP_F_EXPECT_CONTINUE 0x0008u
#define HTTP_F_HAS_HOST 0x0010u
#define HTTP_F_HAS_UPGRADE 0x0020u /* an Upgrade field is present */

/* Limits a client or an upstream cannot exceed. */
struct http1_limits {
    uint32_t max_line;        /* request or status line, bytes; over: 414 */
    uint32_t max_head;        /* whole head incl. final CRLF, bytes; over: 431 */
    uint32_t max_fields;      /* header fields; over: 431; <= HTTP1_MAX_HEADERS */
    int allow_underscore;     /* accept '_' in field names (default 0) */
};

/* One parsed message head: a request or a response. Owned by the caller,
 * usually embedded in an exchange; its slices point into the caller's buffer. */
struct http_head {
    /* request line */
    struct http_slice method;
    struct http_slice target;
    enum http_target_form form;
    /* parts of an absolute-form or authority-form target */
    struct http_slice scheme;    /* "http", empty otherwise */
    struct http_slice authority; /* "host:port" as written */
    struct http_slice host;      /* host without port, brackets removed for IPv6 */
    struct http_slice path;      /* origin-form part of an absolute target ("/" if empty: len 0;
                                  * "?q" for "http://h?q": write "/" before a path not starting with '/') */
    uint16_t port;               /* explicit or default (80 for http, 443 for https), 0 if none */
    /* status line */
    int status;
    struct http_slice reason;
    /* both */
    int minor_version; /* 0 or 1 (HTTP/1.0, HTTP/1.1) */
    unsigned nfields;
    struct http_field fields[HTTP1_MAX_HEADERS];
    /* derived */
    enum http_framing framing;
    uint64_t content_length;
    unsigned flags;      /* HTTP_F_* */
    uint32_t head_len;   /* bytes of the head, including the blank line */
    /* on error: the status to answer with (400, 414, 431, 501, 505; 502 for a
     * bad response) and a static string saying why, for the log */
    int error_status;
    const char *error;
};

/* Clears a head but for fields[] (written as fields are parsed, read only
 * below nfields): empty slices, HTTP_TARGET_ORIGIN, HTTP_BODY_NONE, no
 * error.  The parsers start with it. */
void http1_head_clear(struct http_head *h);

/* Parses a request head from buf[0..len).
 * Returns the head length (> 0) when complete, HTTP1_PARTIAL when more bytes
 * are needed (no limit exceeded yet), or HTTP1_ERROR with h->error_status and
 * h->error set.  Calling again with a longer buffer that starts with the same
 * bytes gives the same answer as parsing it whole. */
int http1_parse_request(const char *buf, size_t len, const struct http1_limits *lim, struct http_head *h);

/* Parses a response head to a request with method `req_method` (framing of a
 * HEAD response is NONE; of a 2xx CONNECT response is NONE). Same returns. A
 * response that is not valid HTTP/1.x gives HTTP1_ERROR with status 502.
 * (Only req_is_head is passed: the caller, which knows the method, treats a
 * 2xx answer to CONNECT as the start of a tunnel whatever the framing says.
 * Transfer-Encoding together with Content-Length is refused: 502.) */
int http1_parse_response(const char *buf, size_t len, const struct http1_limits *lim,
                         int req_is_head, struct http_head *h);

/* Index of the first field named `name` (case-insensitive), or -1. */
int http1_find(const struct http_head *h, const char *base, const char *name, int from);

/* Returns 1 if the comma-separated list value `v` holds `token`
 * (case-insensitive, optional whitespace around elements). */
int http1_list_has(const char *v, size_t vlen, const char *token);

/* The next element of the comma-separated list v[0..vlen) from *pos on,
 * trimmed of optional whitespace, as v[*start .. *start + *len) (empty
 * elements too); *pos moves past it.  Returns 0 once the list is done.
 * *pos starts at 0. */
int http1_list_next(const char *v, size_t vlen, size_t *pos, size_t *start, size_t *len);

/* Whether a field name is hop-by-hop by definition (Connection, Keep-Alive,
 * Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer,
 * Transfer-Encoding, Upgrade). Content-Length is not: it is framing, and the
 * forwarder rewrites it separately. */
int http1_is_hop_by_hop(const char *name, size_t len);

/* ---- chunked transfer coding ---- */

enum http_chunk_state {
    CHUNK_SIZE,       /* reading hex digits of a chunk size */
    CHUNK_EXT,        /* reading a chunk extension up to CRLF */
    CHUNK_SIZE_LF,    /* saw CR after size/extension, want LF */
    CHUNK_DATA,       /* `remaining` bytes of data follow (caller consumes) */
    CHUNK_DATA_CR,    /* want CR after data */
    CHUNK_DATA_LF,    /* want LF after data */
    CHUNK_TRAILER,    /* reading trailer lines after the last chunk */
    CHUNK_DONE,       /* the body is complete; nothing more belongs to it */
};

struct http_chunked {
    enum http_chunk_state state; /* starts at CHUNK_SIZE (zero-initialise) */
    uint64_t remaining;          /* data bytes left in the current chunk */
    uint32_t digits;             /* hex digits seen in the current size (CHUNK_TRAILER: 1 after a CR) */
    uint32_t ext_len;            /* bytes of the current extension, whitespace after the size included */
    uint32_t trailer_len;        /* bytes of trailers so far, their final CRLF included */
    uint32_t line_len;           /* bytes of the current trailer line */
    const char *error;           /* why, on HTTP1_ERROR; once set, every later call fails */
};

/* Limits of the chunked decoder. */
#define HTTP1_CHUNK_MAX_DIGITS 16     /* hex digits of a size (no overflow past 2^64-1 checked too) */
#define HTTP1_CHUNK_MAX_EXT 4096      /* bytes of extensions on one chunk line */
#define HTTP1_CHUNK_MAX_TRAILERS 8192 /* bytes of all trailers */

/* Consumes chunk framing from p[0..len) and stops at the first data byte, at
 * the end of the body, or at the end of the input. Returns the number of
 * framing bytes consumed (>= 0), or HTTP1_ERROR (c->error set).
 * After it returns, if c->state == CHUNK_DATA the next c->remaining bytes of
 * the stream are body data: the caller forwards as many as it can and reports
 * them with http1_chunked_data(). When c->state == CHUNK_DONE the body has
 * ended (trailers are consumed and discarded). */
long http1_chunked_parse(struct http_chunked *c, const char *p, size_t len);

/* Records that n (<= c->remaining) data bytes were consumed. */
void http1_chunked_data(struct http_chunked *c, uint64_t n);

#endif
