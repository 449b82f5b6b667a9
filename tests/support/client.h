/*
 * Tiny blocking HTTP/1.1 client for Gatehouse tests.
 *
 * Not a general client: it is meant to drive the proxy (or gh-origin) with
 * raw, hand-written requests and to look closely at what comes back.
 * Every socket made by tc_connect has 10 s send and receive timeouts, so a
 * test never hangs forever.
 *
 * Bytes read past the end of one response (pipelined responses) are kept in
 * a per-fd store and used by the next tc_read_response on the same fd; the
 * store is cleared by tc_close and by tc_connect.  Different threads may use
 * different fds at the same time; one fd must be used by one thread at a time.
 */
#ifndef GATEHOUSE_TESTS_CLIENT_H
#define GATEHOUSE_TESTS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct tc_response {
    /* Input: set by the caller before tc_read_response; kept by it. */
    int discard_body;           /* count and sum the body but do not store it */

    /* Output. */
    int status;                 /* status code of the (final) response */
    char head[16384];           /* raw head: status line + fields + blank line,
                                   NUL-terminated */
    size_t head_len;
    char *body;                 /* malloc'd, NUL-terminated decoded body; "" when
                                   discard_body is set; NULL if no head was read */
    size_t body_len;            /* decoded body bytes received (also counted when
                                   discard_body is set) */
    uint64_t body_sum;          /* sum of all decoded body bytes, always computed */
    int chunked;                /* body was chunked (and has been decoded) */
    int closed;                 /* the server closed after this response: it said
                                   Connection: close (or is HTTP/1.0 without
                                   keep-alive), or the body was delimited by
                                   close, or EOF/reset was seen on the socket */
    int truncated;              /* body ended early (EOF/error before the
                                   Content-Length or before the last chunk), or
                                   EOF in the middle of the head */
    int timed_out;              /* the receive timeout expired */
};

/* Connect over TCP to host (an IPv4 or IPv6 literal such as "127.0.0.1",
 * "::1" or "[::1]", or a name) and port.  Sets TCP_NODELAY and 10 s
 * SO_RCVTIMEO/SO_SNDTIMEO.  Returns the fd, or -1 on failure. */
int tc_connect(const char *host, int port);

/* Send all len bytes of buf (retrying short writes, never raising SIGPIPE).
 * Returns 0 on success, -1 on error or timeout. */
int tc_send_all(int fd, const void *buf, size_t len);

/* Read exactly one response from fd into r.  The caller zero-initialises r
 * once and may set r->discard_body; every other field is overwritten (any
 * body left in r from an earlier call must have been freed with
 * tc_response_free first).  Set is_head when the request was HEAD: the
 * response then has no body whatever its fields say.  Interim 1xx responses
 * (other than 101) are skipped.  The body is framed by chunked encoding
 * (decoded, trailers dropped), Content-Length, or the end of the connection;
 * 204, 304 and 101 responses have none.
 * Returns 0 when a head was read: the response is complete unless
 * r->truncated is set.  Returns -1 on error, timeout (r->timed_out), EOF
 * before a complete head (r->closed; r->truncated if part of a head came),
 * a malformed status line, or a head longer than sizeof(r->head) - 1. */
int tc_read_response(int fd, int is_head, struct tc_response *r);

/* Find header field name (case-insensitive) in r->head.  Returns a pointer to
 * the first such field's value with surrounding whitespace trimmed (not
 * NUL-terminated: use *len, which is set when len is non-NULL), or NULL when
 * the field is absent. */
const char *tc_header(const struct tc_response *r, const char *name, size_t *len);

/* Free r->body and set it to NULL (safe to call twice). */
void tc_response_free(struct tc_response *r);

/* Close fd and drop any leftover bytes stored for it. */
void tc_close(int fd);

/* Connect to host:port, send raw_request (its strlen), read one response
 * (treated as a HEAD response when raw_request starts with "HEAD "), close.
 * Returns tc_read_response's result, or -1 if connecting or sending failed. */
int tc_request(const char *host, int port, const char *raw_request, struct tc_response *r);

/* Sum of the first n bytes of the origin's pattern, byte[i] = 'a' + i % 26. */
uint64_t tc_pattern_sum(uint64_t n);

#endif
