/* check_http1.c — tests of the HTTP/1.x head parser and chunked decoder.
 *
 * Heads come from tables of inputs with their expected outcome.  Each input is
 * parsed whole and as every prefix: a prefix must answer PARTIAL or the error
 * the whole input gives (and, once it holds the whole head, the same head
 * length).  Every parse reads from a heap copy of exactly the bytes offered,
 * so an ASan build catches a read past the end.  Chunked bodies are decoded
 * fed whole, byte by byte and in odd steps, and the data compared. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "http1.h"

Suite *http1_suite(void);

static const struct http1_limits lim_default = { 8192, 16384, 100, 0 };
static const struct http1_limits lim_small = { 32, 128, 3, 0 };
static const struct http1_limits lim_underscore = { 8192, 16384, 100, 1 };

/* One head and what parsing it must give.  Unset slices expect "". */
struct head_case {
    const char *name;
    const char *in;
    size_t len;
    const struct http1_limits *lim; /* NULL: lim_default */
    int ret;                        /* 0: success; HTTP1_ERROR or HTTP1_PARTIAL */
    int status;                     /* error_status with HTTP1_ERROR */
    size_t early;                   /* error from this prefix length on (0: unchecked) */
    size_t tail;                    /* bytes after the head (body, next message) */
    int req_is_head;                /* responses: answer to HEAD */
    /* on success */
    const char *method, *target, *scheme, *authority, *host, *path, *reason;
    enum http_target_form form;
    int port, v10, code;
    enum http_framing framing;
    uint64_t cl;
    unsigned flags, nfields;
};

#define IN(s) .in = (s), .len = sizeof(s) - 1
#define ERR(st) .ret = HTTP1_ERROR, .status = (st)
#define PARTIAL .ret = HTTP1_PARTIAL
#define GET_ROOT .method = "GET", .target = "/"
#define RL "GET / HTTP/1.1\r\n"
#define HOST "Host: example.com\r\n"
#define HF HTTP_F_HAS_HOST

/* ---- requests ---- */

static const struct head_case req_cases[] = {
    /* the request line and its target forms */
    { "simple GET", IN(RL HOST "\r\n"), GET_ROOT, .flags = HF, .nfields = 1 },
    { "1.0 without Host", IN("GET /x?y=1 HTTP/1.0\r\n\r\n"), .method = "GET", .target = "/x?y=1", .v10 = 1 },
    { "1.0 with Host", IN("HEAD / HTTP/1.0\r\nHost: a\r\n\r\n"), .method = "HEAD", .target = "/", .v10 = 1, .flags = HF, .nfields = 1 },
    { "leading CRLFs", IN("\r\n\r\n" RL HOST "\r\n"), GET_ROOT, .flags = HF, .nfields = 1 },
    { "lowercase method is a token", IN("get / HTTP/1.1\r\n" HOST "\r\n"), .method = "get", .target = "/", .flags = HF, .nfields = 1 },
    { "odd but legal target bytes", IN("GET /a|b{c}'\"^ HTTP/1.1\r\n" HOST "\r\n"), .method = "GET", .target = "/a|b{c}'\"^", .flags = HF, .nfields = 1 },
    { "body is not examined", IN("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n\0\n\r x"), .tail = 5, .method = "POST", .target = "/p", .framing = HTTP_BODY_LENGTH, .cl = 5, .flags = HF, .nfields = 2 },
    { "pipelined next request", IN(RL HOST "\r\n" RL), .tail = 16, GET_ROOT, .flags = HF, .nfields = 1 },
    { "absolute-form", IN("GET http://example.com/a?b HTTP/1.1\r\n" HOST "\r\n"), .method = "GET", .target = "http://example.com/a?b", .form = HTTP_TARGET_ABSOLUTE, .scheme = "http", .authority = "example.com", .host = "example.com", .path = "/a?b", .port = 80, .flags = HF, .nfields = 1 },
    { "absolute-form https with port, no path", IN("GET https://Example.com:8443 HTTP/1.1\r\n" HOST "\r\n"), .method = "GET", .target = "https://Example.com:8443", .form = HTTP_TARGET_ABSOLUTE, .scheme = "https", .authority = "Example.com:8443", .host = "Example.com", .port = 8443, .flags = HF, .nfields = 1 },
    { "absolute-form uppercase scheme", IN("GET HTTPS://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), .method = "GET", .target = "HTTPS://a/", .form = HTTP_TARGET_ABSOLUTE, .scheme = "HTTPS", .authority = "a", .host = "a", .path = "/", .port = 443, .flags = HF, .nfields = 1 },
    { "absolute-form IPv6 with port", IN("GET http://[::1]:8080/x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), .method = "GET", .target = "http://[::1]:8080/x", .form = HTTP_TARGET_ABSOLUTE, .scheme = "http", .authority = "[::1]:8080", .host = "::1", .path = "/x", .port = 8080, .flags = HF, .nfields = 1 },
    { "absolute-form IPv6 default port", IN("GET http://[2001:db8::10.0.0.1]/ HTTP/1.1\r\n" HOST "\r\n"), .method = "GET", .target = "http://[2001:db8::10.0.0.1]/", .form = HTTP_TARGET_ABSOLUTE, .scheme = "http", .authority = "[2001:db8::10.0.0.1]", .host = "2001:db8::10.0.0.1", .path = "/", .port = 80, .flags = HF, .nfields = 1 },
    { "absolute-form query without path", IN("GET http://a?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"), .method = "GET", .target = "http://a?x=1", .form = HTTP_TARGET_ABSOLUTE, .scheme = "http", .authority = "a", .host = "a", .path = "?x=1", .port = 80, .flags = HF, .nfields = 1 },
    { "CONNECT authority-form", IN("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), .method = "CONNECT", .target = "example.com:443", .form = HTTP_TARGET_AUTHORITY, .authority = "example.com:443", .host = "example.com", .port = 443, .flags = HF, .nfields = 1 },
    { "CONNECT IPv6", IN("CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n\r\n"), .method = "CONNECT", .target = "[::1]:22", .form = HTTP_TARGET_AUTHORITY, .authority = "[::1]:22", .host = "::1", .port = 22, .flags = HF, .nfields = 1 },
    { "CONNECT port 65535", IN("CONNECT a:65535 HTTP/1.1\r\nHost: a:65535\r\n\r\n"), .method = "CONNECT", .target = "a:65535", .form = HTTP_TARGET_AUTHORITY, .authority = "a:65535", .host = "a", .port = 65535, .flags = HF, .nfields = 1 },
    { "OPTIONS *", IN("OPTIONS * HTTP/1.1\r\n" HOST "\r\n"), .method = "OPTIONS", .target = "*", .form = HTTP_TARGET_ASTERISK, .flags = HF, .nfields = 1 },
    { "OPTIONS origin-form", IN("OPTIONS /x HTTP/1.1\r\n" HOST "\r\n"), .method = "OPTIONS", .target = "/x", .flags = HF, .nfields = 1 },

    { "bare LF ends request line", IN("GET / HTTP/1.1\nHost: a\r\n\r\n"), ERR(400), .early = 15 },
    { "bare LF as first byte", IN("\nGET / HTTP/1.1\r\n" HOST "\r\n"), ERR(400), .early = 1 },
    { "bare CR in request line", IN("GET /\r HTTP/1.1\r\n" HOST "\r\n"), ERR(400), .early = 7 },
    { "CR LF CR before request line", IN("\r\n\rGET / HTTP/1.1\r\n" HOST "\r\n"), ERR(400), .early = 4 },
    { "NUL in target", IN("GET /a\0b HTTP/1.1\r\n" HOST "\r\n"), ERR(400), .early = 7 },
    { "HTAB separator", IN("GET\t/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400), .early = 4 },
    { "double SP", IN("GET  / HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "trailing SP", IN("GET / HTTP/1.1 \r\n" HOST "\r\n"), ERR(400) },
    { "SP in target", IN("GET /a b HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "leading SP", IN(" GET / HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "method not a token", IN("GE(T / HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "no version", IN("GET /\r\n" HOST "\r\n"), ERR(400) },
    { "lowercase version", IN("GET / http/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "two-digit minor", IN("GET / HTTP/1.10\r\n" HOST "\r\n"), ERR(400) },
    { "version without minor", IN("GET / HTTP/1\r\n" HOST "\r\n"), ERR(400) },
    { "HTTP/2.0 is 505", IN("GET / HTTP/2.0\r\n" HOST "\r\n"), ERR(505) },
    { "HTTP/1.2 is 505", IN("GET / HTTP/1.2\r\n" HOST "\r\n"), ERR(505) },
    { "HTTP/0.9 is 505", IN("GET / HTTP/0.9\r\n\r\n"), ERR(505) },
    { "HTTP/2 preface is 505", IN("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), ERR(505) },
    { "fragment in target", IN("GET /a#b HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "DEL in target", IN("GET /a\x7f HTTP/1.1\r\n" HOST "\r\n"), ERR(400), .early = 7 },
    { "UTF-8 in target", IN("GET /caf\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n"), ERR(400), .early = 9 },
    { "target without slash", IN("GET example.com HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "ftp scheme", IN("GET ftp://a/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "scheme without //", IN("GET http:/a/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "asterisk with GET", IN("GET * HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form empty host", IN("GET http:///x HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form port only", IN("GET http://:80/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form userinfo", IN("GET http://u:p@a/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form port 0", IN("GET http://a:0/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form port 65536", IN("GET http://a:65536/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form port of 6 digits", IN("GET http://a:000080/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form port not digits", IN("GET http://a:8o/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form empty port", IN("GET http://a:/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form empty IPv6", IN("GET http://[]/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form unclosed IPv6", IN("GET http://[::1/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form IPv6 without colon", IN("GET http://[1.2.3.4]/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form IPv6 zone", IN("GET http://[fe80::1%25eth0]/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "absolute-form percent in host", IN("GET http://a%2eb/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "CONNECT origin-form", IN("CONNECT / HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "CONNECT without port", IN("CONNECT example.com HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "CONNECT absolute-form", IN("CONNECT http://a:443/ HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "CONNECT asterisk", IN("CONNECT * HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "CONNECT empty host", IN("CONNECT :443 HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "CONNECT userinfo", IN("CONNECT u@a:443 HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "CONNECT port 0", IN("CONNECT a:0 HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "CONNECT port 99999", IN("CONNECT a:99999 HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "CONNECT empty port", IN("CONNECT a: HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "CONNECT path after port", IN("CONNECT a:443/x HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },
    { "CONNECT IPv6 without port", IN("CONNECT [::1] HTTP/1.1\r\n" HOST "\r\n"), ERR(400) },

    /* field lines */
    { "HTAB before value", IN(RL HOST "Transfer-Encoding:\tchunked\r\n\r\n"), GET_ROOT, .framing = HTTP_BODY_CHUNKED, .flags = HF, .nfields = 2 },
    { "empty values", IN(RL HOST "X-A:\r\nX-B: \t \r\n\r\n"), GET_ROOT, .flags = HF, .nfields = 3 },
    { "obs-text and HTAB inside value", IN(RL HOST "X-A: caf\xc3\xa9\tau lait\r\n\r\n"), GET_ROOT, .flags = HF, .nfields = 2 },
    { "every tchar in a name", IN(RL HOST "!#$%&'*+-.^`|~09azAZ: v\r\n\r\n"), GET_ROOT, .flags = HF, .nfields = 2 },
    { "underscore allowed", IN(RL HOST "X_Real_IP: 1\r\n\r\n"), .lim = &lim_underscore, GET_ROOT, .flags = HF, .nfields = 2 },
    { "underscore refused", IN(RL HOST "X_Real_IP: 1\r\n\r\n"), ERR(400) },
    { "obs-fold", IN(RL HOST "X-A: a\r\n b\r\n\r\n"), ERR(400) },
    { "obs-fold with HTAB", IN(RL HOST "X-A: a\r\n\tb\r\n\r\n"), ERR(400) },
    { "whitespace before first field", IN(RL " Host: a\r\n\r\n"), ERR(400) },
    { "space before colon", IN(RL HOST "Transfer-Encoding : chunked\r\n\r\n"), ERR(400) },
    { "HTAB before colon", IN(RL "Host\t: a\r\n\r\n"), ERR(400) },
    { "no colon", IN(RL HOST "X-A a\r\n\r\n"), ERR(400) },
    { "empty name", IN(RL HOST ": a\r\n\r\n"), ERR(400) },
    { "name not a token", IN(RL HOST "X(A): a\r\n\r\n"), ERR(400) },
    { "NUL in value", IN(RL HOST "X-A: a\0b\r\n\r\n"), ERR(400), .early = 42 },
    { "control byte in value", IN(RL HOST "X-A: a\x01" "b\r\n\r\n"), ERR(400), .early = 42 },
    { "DEL in value", IN(RL HOST "X-A: a\x7f\r\n\r\n"), ERR(400), .early = 42 },
    { "bare CR in value", IN(RL HOST "X-A: a\rb\r\n\r\n"), ERR(400), .early = 43 },
    { "bare LF ends field", IN(RL "Host: a\nX-A: b\r\n\r\n"), ERR(400), .early = 24 },
    { "bare LF ends head", IN(RL HOST "\n"), ERR(400), .early = 36 },
    { "CR CR ends head", IN(RL HOST "\r\r\n"), ERR(400), .early = 37 },
    { "head not finished", IN(RL HOST), PARTIAL },
    { "nothing yet", IN(""), PARTIAL },
    { "only empty lines", IN("\r\n\r\n\r\n"), PARTIAL },

    /* Host */
    { "Host empty", IN(RL "Host:\r\n\r\n"), GET_ROOT, .flags = HF, .nfields = 1 },
    { "Host with port", IN(RL "Host: a.example:8080\r\n\r\n"), GET_ROOT, .flags = HF, .nfields = 1 },
    { "no Host on 1.1", IN(RL "X-A: b\r\n\r\n"), ERR(400) },
    { "two Hosts", IN(RL HOST HOST "\r\n"), ERR(400) },
    { "two Hosts on 1.0", IN("GET / HTTP/1.0\r\n" HOST "Host: other\r\n\r\n"), ERR(400) },
    { "Host with space", IN(RL "Host: a b\r\n\r\n"), ERR(400) },
    { "Host with path", IN(RL "Host: a/b\r\n\r\n"), ERR(400) },
    { "Host with userinfo", IN(RL "Host: u@a\r\n\r\n"), ERR(400) },
    { "Host with empty port", IN(RL "Host: a:\r\n\r\n"), ERR(400) },

    /* Content-Length */
    { "Content-Length 0", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: 0\r\n\r\n"), .method = "POST", .target = "/", .flags = HF, .nfields = 2 },
    { "Content-Length list of equals", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: 5, 5,5\r\n\r\n"), .method = "POST", .target = "/", .framing = HTTP_BODY_LENGTH, .cl = 5, .flags = HF, .nfields = 2 },
    { "Content-Length twice, equal", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: 7\r\ncontent-length: 007\r\n\r\n"), .method = "POST", .target = "/", .framing = HTTP_BODY_LENGTH, .cl = 7, .flags = HF, .nfields = 3 },
    { "Content-Length max uint64", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: 18446744073709551615\r\n\r\n"), .method = "POST", .target = "/", .framing = HTTP_BODY_LENGTH, .cl = UINT64_MAX, .flags = HF, .nfields = 2 },
    { "Content-Length on 1.0", IN("POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"), .tail = 3, .method = "POST", .target = "/", .v10 = 1, .framing = HTTP_BODY_LENGTH, .cl = 3, .nfields = 1 },
    { "Content-Length +5", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: +5\r\n\r\n"), ERR(400) },
    { "Content-Length -1", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: -1\r\n\r\n"), ERR(400) },
    { "Content-Length 0x5", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: 0x5\r\n\r\n"), ERR(400) },
    { "Content-Length 5 5", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: 5 5\r\n\r\n"), ERR(400) },
    { "Content-Length 5, 6", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: 5, 6\r\n\r\n"), ERR(400) },
    { "Content-Length twice, differing", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), ERR(400) },
    { "Content-Length empty", IN("POST / HTTP/1.1\r\n" HOST "Content-Length:\r\n\r\n"), ERR(400) },
    { "Content-Length empty element", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: 5,\r\n\r\n"), ERR(400) },
    { "Content-Length overflow", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: 18446744073709551616\r\n\r\n"), ERR(400) },

    /* Transfer-Encoding */
    { "chunked", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"), .method = "POST", .target = "/", .framing = HTTP_BODY_CHUNKED, .flags = HF, .nfields = 2 },
    { "Chunked in capitals, OWS after", IN("POST / HTTP/1.1\r\n" HOST "transfer-encoding: CHUNKED \t\r\n\r\n"), .method = "POST", .target = "/", .framing = HTTP_BODY_CHUNKED, .flags = HF, .nfields = 2 },
    { "gzip, chunked", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip, chunked\r\n\r\n"), .method = "POST", .target = "/", .framing = HTTP_BODY_CHUNKED, .flags = HF, .nfields = 2 },
    { "codings over two fields", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: x-gzip\r\nTransfer-Encoding: chunked\r\n\r\n"), .method = "POST", .target = "/", .framing = HTTP_BODY_CHUNKED, .flags = HF, .nfields = 3 },
    { "TE and CL", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), ERR(400) },
    { "CL and TE", IN("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), ERR(400) },
    { "chunked, identity", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, identity\r\n\r\n"), ERR(501) },
    { "identity alone", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: identity\r\n\r\n"), ERR(501) },
    { "unknown coding", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: br, chunked\r\n\r\n"), ERR(501) },
    { "gzip alone", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\n\r\n"), ERR(400) },
    { "chunked, gzip", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, gzip\r\n\r\n"), ERR(400) },
    { "chunked twice", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, chunked\r\n\r\n"), ERR(400) },
    { "chunked in two fields", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), ERR(400) },
    { "chunked then gzip field", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"), ERR(400) },
    { "coding with parameter", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked;q=1\r\n\r\n"), ERR(400) },
    { "TE empty", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding:\r\n\r\n"), ERR(400) },
    { "TE empty element", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked,\r\n\r\n"), ERR(400) },
    { "TE quoted", IN("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: \"chunked\"\r\n\r\n"), ERR(400) },
    { "TE on 1.0", IN("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), ERR(400) },

    /* Connection, Expect, Upgrade */
    { "Connection: close", IN(RL HOST "Connection: close\r\n\r\n"), GET_ROOT, .flags = HF | HTTP_F_CONN_CLOSE, .nfields = 2 },
    { "Connection list over fields", IN(RL HOST "Connection: Keep-Alive , foo\r\nUpgrade: websocket\r\nconnection: UPGRADE\r\n\r\n"), GET_ROOT, .flags = HF | HTTP_F_CONN_KEEPALIVE | HTTP_F_CONN_UPGRADE | HTTP_F_HAS_UPGRADE, .nfields = 4 },
    { "Connection token inside a word", IN(RL HOST "Connection: closed, x-close\r\n\r\n"), GET_ROOT, .flags = HF, .nfields = 2 },
    { "Expect: 100-continue", IN("PUT /f HTTP/1.1\r\n" HOST "Expect: 100-Continue\r\nContent-Length: 10\r\n\r\n"), .method = "PUT", .target = "/f", .framing = HTTP_BODY_LENGTH, .cl = 10, .flags = HF | HTTP_F_EXPECT_CONTINUE, .nfields = 3 },
    { "Expect: other", IN(RL HOST "Expect: 200-ok\r\n\r\n"), GET_ROOT, .flags = HF, .nfields = 2 },

    /* limits (lim_small: line 32, head 128, fields 3) */
    { "line of exactly max_line", IN("GET /234567890123456789 HTTP/1.1\r\nHost: a\r\n\r\n"), .lim = &lim_small, .method = "GET", .target = "/234567890123456789", .flags = HF, .nfields = 1 },
    { "line over max_line, unfinished", IN("GET /2345678901234567890 HTTP/1.1"), .lim = &lim_small, ERR(414), .early = 33 },
    { "line over max_line", IN("GET /2345678901234567890 HTTP/1.1\r\nHost: a\r\n\r\n"), .lim = &lim_small, ERR(414), .early = 33 },
    { "long line, bad byte first", IN("GET /2\x01" "4567890123456789 HTTP/1.1\r\n"), .lim = &lim_small, ERR(400), .early = 7 },
    { "fields up to max_fields", IN("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"), .lim = &lim_small, GET_ROOT, .flags = HF, .nfields = 3 },
    { "fields over max_fields", IN("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), .lim = &lim_small, ERR(431), .early = 43 },
    { "head of exactly max_head", IN("GET / HTTP/1.1\r\nHost: a\r\nA: 234567890123456789012345678901234567890\r\n"
                                     "B: 2345678901234567890123456789012345678901234567890123\r\n\r\n"), .lim = &lim_small, GET_ROOT, .flags = HF, .nfields = 3 },
    { "head one over max_head", IN("GET / HTTP/1.1\r\nHost: a\r\nA: 234567890123456789012345678901234567890\r\n"
                                   "B: 23456789012345678901234567890123456789012345678901234\r\n\r\n"), .lim = &lim_small, ERR(431), .early = 128 },
    { "empty lines over max_head", IN("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                                      "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                                      "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                                      "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"),
      .lim = &lim_small, ERR(431), .early = 128 },
};

/* ---- responses ---- */

static const struct head_case resp_cases[] = {
    { "200 with length", IN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), .tail = 5, .code = 200, .reason = "OK", .framing = HTTP_BODY_LENGTH, .cl = 5, .nfields = 1 },
    { "200 chunked", IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), .code = 200, .reason = "OK", .framing = HTTP_BODY_CHUNKED, .nfields = 1 },
    { "200 gzip, chunked", IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), .code = 200, .reason = "OK", .framing = HTTP_BODY_CHUNKED, .nfields = 1 },
    { "unknown coding passes", IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: br, chunked\r\n\r\n"), .code = 200, .reason = "OK", .framing = HTTP_BODY_CHUNKED, .nfields = 1 },
    { "chunked not last: close", IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), .code = 200, .reason = "OK", .framing = HTTP_BODY_CLOSE, .nfields = 1 },
    { "gzip only: close", IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), .code = 200, .reason = "OK", .framing = HTTP_BODY_CLOSE, .nfields = 1 },
    { "no framing: close", IN("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody"), .tail = 4, .code = 200, .reason = "OK", .framing = HTTP_BODY_CLOSE, .flags = HTTP_F_CONN_CLOSE, .nfields = 1 },
    { "1.0 close", IN("HTTP/1.0 200 OK\r\n\r\n"), .code = 200, .reason = "OK", .v10 = 1, .framing = HTTP_BODY_CLOSE },
    { "length 0", IN("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), .code = 200, .reason = "OK", .nfields = 1 },
    { "length list of equals", IN("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n"), .code = 200, .reason = "OK", .framing = HTTP_BODY_LENGTH, .cl = 5, .nfields = 1 },
    { "204", IN("HTTP/1.1 204 No Content\r\n\r\n"), .code = 204, .reason = "No Content" },
    { "304 ignores length", IN("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"), .code = 304, .reason = "Not Modified", .nfields = 1 },
    { "100 Continue", IN("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), .tail = 17, .code = 100, .reason = "Continue" },
    { "101 upgrade", IN("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"), .code = 101, .reason = "Switching Protocols", .flags = HTTP_F_CONN_UPGRADE | HTTP_F_HAS_UPGRADE, .nfields = 2 },
    { "HEAD with length", IN("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"), .req_is_head = 1, .code = 200, .reason = "OK", .nfields = 1 },
    { "HEAD with chunked", IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), .req_is_head = 1, .code = 200, .reason = "OK", .nfields = 1 },
    { "no reason", IN("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n"), .code = 200, .framing = HTTP_BODY_LENGTH, .cl = 1, .nfields = 1 },
    { "empty reason", IN("HTTP/1.1 404 \r\nContent-Length: 1\r\n\r\n"), .code = 404, .framing = HTTP_BODY_LENGTH, .cl = 1, .nfields = 1 },
    { "reason with HTAB and obs-text", IN("HTTP/1.1 404 Nicht\tgefunden \xfc\r\nContent-Length: 1\r\n\r\n"), .code = 404, .reason = "Nicht\tgefunden \xfc", .framing = HTTP_BODY_LENGTH, .cl = 1, .nfields = 1 },
    { "status 999", IN("HTTP/1.1 999 X\r\n\r\n"), .code = 999, .reason = "X", .framing = HTTP_BODY_CLOSE },

    { "TE and CL", IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), ERR(502) },
    { "differing lengths", IN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), ERR(502) },
    { "bad length", IN("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n"), ERR(502) },
    { "chunked twice", IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"), ERR(502) },
    { "TE in 1.0", IN("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), ERR(502) },
    { "two-digit status", IN("HTTP/1.1 20 OK\r\n\r\n"), ERR(502) },
    { "four-digit status", IN("HTTP/1.1 2000 OK\r\n\r\n"), ERR(502) },
    { "status under 100", IN("HTTP/1.1 099 Low\r\n\r\n"), ERR(502) },
    { "no SP after status", IN("HTTP/1.1 200OK\r\n\r\n"), ERR(502) },
    { "double SP", IN("HTTP/1.1  200 OK\r\n\r\n"), ERR(502) },
    { "HTTP/2.0", IN("HTTP/2.0 200 OK\r\n\r\n"), ERR(502) },
    { "HTTP/2", IN("HTTP/2 200 OK\r\n\r\n"), ERR(502) },
    { "lowercase version", IN("http/1.1 200 OK\r\n\r\n"), ERR(502) },
    { "not HTTP", IN("ICY 200 OK\r\n\r\n"), ERR(502) },
    { "empty line first", IN("\r\nHTTP/1.1 200 OK\r\n\r\n"), ERR(502) },
    { "bare LF", IN("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"), ERR(502), .early = 16 },
    { "obs-fold", IN("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n"), ERR(502) },
    { "NUL in field", IN("HTTP/1.1 200 OK\r\nX-A: \0\r\n\r\n"), ERR(502), .early = 23 },
    { "space before colon", IN("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n"), ERR(502) },
    { "too many fields", IN("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"), .lim = &lim_small, ERR(502) },
    { "status line too long", IN("HTTP/1.1 200 OKOKOKOKOKOKOKOKOKOK\r\n\r\n"), .lim = &lim_small, ERR(502), .early = 33 },
    { "unfinished", IN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"), PARTIAL },
};

/* ---- running a head case ---- */

/* Parses in[0..len) from a heap copy of exactly len bytes; returns the copy
 * (which the head's slices point into) for the caller to free. */
static char *parse_copy(const char *in, size_t len, int is_request, int req_is_head,
                        const struct http1_limits *lim, struct http_head *h, int *ret)
{
    char *copy = malloc(len ? len : 1);

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, in, len);
    if (is_request)
        *ret = http1_parse_request(copy, len, lim, h);
    else
        *ret = http1_parse_response(copy, len, lim, req_is_head, h);
    return copy;
}

static void check_slice(const char *base, struct http_slice s, const char *want, const char *what,
                        const char *name)
{
    const char *w = want ? want : "";
    size_t wl = strlen(w);

    ck_assert_msg(s.len == wl && memcmp(base + s.off, w, wl) == 0, "%s: %s is \"%.*s\", want \"%s\"", name,
                  what, (int)s.len, base + s.off, w);
}

static void check_result(const struct head_case *c, const char *base, const struct http_head *h, int ret)
{
    int want = c->ret ? c->ret : (int)(c->len - c->tail);

    ck_assert_msg(ret == want, "%s: returned %d, want %d (%s)", c->name, ret, want, h->error ? h->error : "");
    if (ret == HTTP1_ERROR) {
        ck_assert_msg(h->error_status == c->status, "%s: status %d, want %d (%s)", c->name, h->error_status,
                      c->status, h->error);
        ck_assert_msg(h->error != NULL, "%s: no reason given", c->name);
        return;
    }
    if (ret == HTTP1_PARTIAL)
        return;
    ck_assert_uint_eq(h->head_len, (unsigned)ret);
    check_slice(base, h->method, c->method, "method", c->name);
    check_slice(base, h->target, c->target, "target", c->name);
    check_slice(base, h->scheme, c->scheme, "scheme", c->name);
    check_slice(base, h->authority, c->authority, "authority", c->name);
    check_slice(base, h->host, c->host, "host", c->name);
    check_slice(base, h->path, c->path, "path", c->name);
    check_slice(base, h->reason, c->reason, "reason", c->name);
    ck_assert_msg(h->form == c->form, "%s: form %d, want %d", c->name, h->form, c->form);
    ck_assert_msg(h->port == c->port, "%s: port %u, want %d", c->name, h->port, c->port);
    ck_assert_msg(h->minor_version == (c->v10 ? 0 : 1), "%s: minor version %d", c->name, h->minor_version);
    ck_assert_msg(h->status == c->code, "%s: status %d, want %d", c->name, h->status, c->code);
    ck_assert_msg(h->framing == c->framing, "%s: framing %d, want %d", c->name, h->framing, c->framing);
    ck_assert_msg(h->content_length == c->cl, "%s: content_length %llu, want %llu", c->name,
                  (unsigned long long)h->content_length, (unsigned long long)c->cl);
    ck_assert_msg(h->flags == c->flags, "%s: flags %#x, want %#x", c->name, h->flags, c->flags);
    ck_assert_msg(h->nfields == c->nfields, "%s: %u fields, want %u", c->name, h->nfields, c->nfields);
    ck_assert_ptr_null(h->error);
    ck_assert_int_eq(h->error_status, 0);
}

static void run_case(const struct head_case *c, int is_request)
{
    const struct http1_limits *lim = c->lim ? c->lim : &lim_default;
    static struct http_head h; /* 4 KiB of fields: keep it off the stack */
    size_t head_len = c->ret ? SIZE_MAX : c->len - c->tail, k;
    char *copy;
    int r;

    /* Every prefix: PARTIAL, or the whole input's error, or (once the head
     * is in) the same head length. */
    for (k = 0; k < c->len; k++) {
        copy = parse_copy(c->in, k, is_request, c->req_is_head, lim, &h, &r);
        free(copy);
        if (k >= head_len)
            ck_assert_msg(r == (int)head_len, "%s: prefix %zu returned %d", c->name, k, r);
        else if (c->early && k >= c->early)
            ck_assert_msg(r == HTTP1_ERROR && h.error_status == c->status,
                          "%s: prefix %zu returned %d/%d, want early error %d", c->name, k, r, h.error_status,
                          c->status);
        else if (c->early)
            ck_assert_msg(r == HTTP1_PARTIAL, "%s: prefix %zu returned %d (%s), want PARTIAL", c->name, k, r,
                          h.error ? h.error : "");
        else
            ck_assert_msg(r == HTTP1_PARTIAL || (c->ret == HTTP1_ERROR && r == HTTP1_ERROR &&
                                                 h.error_status == c->status),
                          "%s: prefix %zu returned %d (%s, %d)", c->name, k, r, h.error ? h.error : "",
                          h.error_status);
    }
    copy = parse_copy(c->in, c->len, is_request, c->req_is_head, lim, &h, &r);
    check_result(c, copy, &h, r);
    free(copy);
}

START_TEST(test_request_table)
{
    run_case(&req_cases[_i], 1);
}
END_TEST

START_TEST(test_response_table)
{
    run_case(&resp_cases[_i], 0);
}
END_TEST

/* The slices count from buf[0], leading empty lines included. */
START_TEST(test_request_offsets)
{
    static const char in[] = "\r\nGET /x HTTP/1.1\r\nHost:  a \r\n\r\n";
    static struct http_head h;

    ck_assert_int_eq(http1_parse_request(in, sizeof(in) - 1, &lim_default, &h), (int)sizeof(in) - 1);
    ck_assert_uint_eq(h.method.off, 2);
    ck_assert_uint_eq(h.target.off, 6);
    ck_assert_uint_eq(h.fields[0].name.off, 19);
    ck_assert_uint_eq(h.fields[0].name.len, 4);
    ck_assert_uint_eq(h.fields[0].value.off, 26);
    ck_assert_uint_eq(h.fields[0].value.len, 1);
}
END_TEST

/* A head that does not fit never gets PARTIAL once max_head bytes are in, and
 * max_fields above the hard ceiling is clamped to it. */
START_TEST(test_limits_never_partial)
{
    static char big[20000];
    static struct http_head h;
    struct http1_limits lim = { 8192, 4096, 100000, 0 };
    size_t n = 0;
    unsigned i;

    n += (size_t)sprintf(big + n, "GET / HTTP/1.1\r\nHost: a\r\n");
    while (n < 4096)
        n += (size_t)sprintf(big + n, "X-Filler: %s\r\n", "0123456789");
    ck_assert_int_eq(http1_parse_request(big, 4096, &lim, &h), HTTP1_ERROR);
    ck_assert_int_eq(h.error_status, 431);

    lim.max_head = 20000;
    n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (i = 0; i < HTTP1_MAX_HEADERS; i++)
        n += (size_t)sprintf(big + n, "A: 1\r\n");
    n += (size_t)sprintf(big + n, "\r\n");
    ck_assert_int_eq(http1_parse_request(big, n, &lim, &h), HTTP1_ERROR);
    ck_assert_int_eq(h.error_status, 431);
}
END_TEST

/* Every byte value inside a field value and inside the request line, at
 * every offset of a line that also crosses the start-line limit: what the
 * line scan refuses (controls, a CR or LF alone; HTAB and obs-text on the
 * request line) is refused with its reason, and the start-line limit fires
 * on the first byte past it whatever the bytes before it are. */
START_TEST(test_scan_every_byte)
{
    static struct http_head h;
    char in[128];
    int c, r, n;

    for (c = 0; c < 256; c++) {
        int ok = c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f);
        const char *why = c == '\r' ? "bare CR" : c == '\n' ? "bare LF" : "forbidden byte in head";

        n = snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: a\r\nX-A: 0123456789%c9\r\n\r\n", 'z');
        in[n - 6] = (char)c;
        free(parse_copy(in, (size_t)n, 1, 0, &lim_default, &h, &r));
        if (ok)
            ck_assert_msg(r == n, "byte 0x%02x in a field value: %d (%s)", c, r, h.error ? h.error : "");
        else
            ck_assert_msg(r == HTTP1_ERROR && strcmp(h.error, why) == 0, "byte 0x%02x in a field value: %d %s",
                          c, r, h.error ? h.error : "");

        n = snprintf(in, sizeof(in), "GET /abcdefghij%ck HTTP/1.1\r\nHost: a\r\n\r\n", 'z');
        in[15] = (char)c;
        free(parse_copy(in, (size_t)n, 1, 0, &lim_default, &h, &r));
        if (c >= 0x21 && c <= 0x7e)
            ck_assert_msg(r == HTTP1_ERROR ? strcmp(h.error, why) != 0 : r == n, "byte 0x%02x in a target: %d",
                          c, r);
        else if (c != ' ')
            ck_assert_msg(r == HTTP1_ERROR && strcmp(h.error, why) == 0, "byte 0x%02x in a target: %d %s", c, r,
                          h.error ? h.error : "");
    }
    /* In a field name: tchar of RFC 9110 (but '_' unless allowed), else
     * whitespace or a bad character, after the line scan's own refusals. */
    for (c = 0; c < 256; c++) {
        int tchar = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c && strchr("!#$%&'*+-.^_`|~", c));
        int scan = c < 0x20 ? c != '\t' : c == 0x7f;

        n = snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: a\r\nX-%cA: 1\r\n\r\n", 'z');
        in[27] = (char)c;
        if (c == ':' || scan)
            continue;
        for (int under = 0; under <= 1; under++) {
            free(parse_copy(in, (size_t)n, 1, 0, under ? &lim_underscore : &lim_default, &h, &r));
            if (tchar && (c != '_' || under))
                ck_assert_msg(r == n, "byte 0x%02x in a field name: %d (%s)", c, r, h.error ? h.error : "");
            else
                ck_assert_msg(r == HTTP1_ERROR && strcmp(h.error, c == ' ' || c == '\t' ? "whitespace in field name"
                                                                                   : "bad character in field name") == 0,
                              "byte 0x%02x in a field name: %d %s", c, r, h.error ? h.error : "");
        }
    }
    /* lim_small: a 32-byte start line.  32 bytes pass, the 33rd is 414 even
     * when it would be refused for itself; a control before it is 400. */
    for (n = 20; n <= 40; n++) {
        size_t len;

        memset(in, 'a', sizeof(in));
        memcpy(in, "GET /", 5);
        memcpy(in + n - 9, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
        len = (size_t)n + 13;
        free(parse_copy(in, len, 1, 0, &lim_small, &h, &r));
        if (n <= 32)
            ck_assert_msg(r == (int)len, "start line of %d bytes: %d (%s)", n, r, h.error ? h.error : "");
        else
            ck_assert_msg(r == HTTP1_ERROR && h.error_status == 414, "start line of %d bytes: %d", n, r);
        if (n <= 32)
            continue;
        in[32] = '\x01';
        free(parse_copy(in, len, 1, 0, &lim_small, &h, &r));
        ck_assert_msg(r == HTTP1_ERROR && h.error_status == 414, "line %d, control at 32: %d %d", n, r,
                      h.error_status);
        in[31] = '\x01';
        free(parse_copy(in, len, 1, 0, &lim_small, &h, &r));
        ck_assert_msg(r == HTTP1_ERROR && h.error_status == 400, "line %d, control at 31: %d %d", n, r,
                      h.error_status);
    }
}
END_TEST

/* ---- property: prefixes agree with the whole, on generated inputs ---- */

static uint32_t rng_state;

static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

static size_t gen_head(char *out, size_t cap, int is_request)
{
    static const char *const parts[] = {
        "GET ", "CONNECT ", "OPTIONS ", "/", "*", "http://a", "[::1]", ":443", " HTTP/1.1", " HTTP/1.0",
        "HTTP/1.1 200 OK", "HTTP/1.0 204 X", "\r\n", "\r\n", "\r\n", "\r", "\n", "Host: a\r\n",
        "Content-Length: 5\r\n", "Content-Length: 5, 6\r\n", "Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding: gzip\r\n", "Connection: close\r\n", "X_Y: z\r\n", " ", "\t", ":", ",", "#",
        "\0", "a", "\xff",
    };
    size_t n = 0, k = 1 + rng() % 12, i;

    if (rng() % 2) {
        n = (size_t)snprintf(out, cap, "%s", is_request ? "GET / HTTP/1.1\r\nHost: a\r\n" : "HTTP/1.1 200 OK\r\n");
    }
    for (i = 0; i < k; i++) {
        const char *p = parts[rng() % (sizeof(parts) / sizeof(parts[0]))];
        size_t l = p[0] ? strlen(p) : 1;
        if (n + l >= cap)
            break;
        memcpy(out + n, p, l);
        n += l;
    }
    if (rng() % 2 && n + 2 < cap) {
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    return n;
}

START_TEST(test_prefix_property)
{
    static struct http_head h;
    char in[256];
    int iter;

    rng_state = 12345u + (uint32_t)_i;
    for (iter = 0; iter < 4000; iter++) {
        int is_request = iter % 2;
        const struct http1_limits *lim = iter % 3 ? &lim_default : &lim_small;
        size_t n = gen_head(in, sizeof(in), is_request), k;
        char *copy;
        int whole, status, r;

        copy = parse_copy(in, n, is_request, 0, lim, &h, &whole);
        free(copy);
        status = h.error_status;
        for (k = 0; k < n; k++) {
            copy = parse_copy(in, k, is_request, 0, lim, &h, &r);
            free(copy);
            if (whole > 0 && k >= (size_t)whole)
                ck_assert_int_eq(r, whole);
            else if (whole == HTTP1_ERROR && r == HTTP1_ERROR)
                ck_assert_msg(h.error_status == status, "iteration %d prefix %zu: status %d, whole %d", iter, k,
                              h.error_status, status);
            else
                ck_assert_msg(r == HTTP1_PARTIAL, "iteration %d prefix %zu: %d, whole %d (%s)", iter, k, r, whole,
                              h.error ? h.error : "");
        }
    }
}
END_TEST

/* ---- helpers ---- */

START_TEST(test_find)
{
    static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nX-AB: 3\r\n\r\n";
    static struct http_head h;

    ck_assert_int_gt(http1_parse_request(in, sizeof(in) - 1, &lim_default, &h), 0);
    ck_assert_int_eq(http1_find(&h, in, "x-A", 0), 1);
    ck_assert_int_eq(http1_find(&h, in, "X-A", 2), 2);
    ck_assert_int_eq(http1_find(&h, in, "X-A", 3), -1);
    ck_assert_int_eq(http1_find(&h, in, "x-ab", -5), 3);
    ck_assert_int_eq(http1_find(&h, in, "X", 0), -1);
    ck_assert_int_eq(http1_find(&h, in, "Host", 0), 0);
}
END_TEST

START_TEST(test_list_has)
{
    ck_assert_int_eq(http1_list_has("close", 5, "close"), 1);
    ck_assert_int_eq(http1_list_has("Keep-Alive, Upgrade", 19, "upgrade"), 1);
    ck_assert_int_eq(http1_list_has(" a ,\tb\t, c", 10, "b"), 1);
    ck_assert_int_eq(http1_list_has("a,,c", 4, "c"), 1);
    ck_assert_int_eq(http1_list_has("closed", 6, "close"), 0);
    ck_assert_int_eq(http1_list_has("close", 4, "close"), 0);
    ck_assert_int_eq(http1_list_has("x-close", 7, "close"), 0);
    ck_assert_int_eq(http1_list_has("", 0, "close"), 0);
    ck_assert_int_eq(http1_list_has(",", 1, ""), 0);
}
END_TEST

START_TEST(test_hop_by_hop)
{
    static const char *const yes[] = { "Connection", "keep-alive", "Proxy-Connection", "proxy-authenticate",
                                       "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "UPGRADE" };
    static const char *const no[] = { "Content-Length", "Host", "Trailers", "T", "Keep-Alive2", "" };
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(http1_is_hop_by_hop(yes[i], strlen(yes[i])), "%s", yes[i]);
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!http1_is_hop_by_hop(no[i], strlen(no[i])), "%s", no[i]);
    ck_assert(!http1_is_hop_by_hop("Connection", 4));
}
END_TEST

/* ---- chunked decoder ---- */

enum { DEC_DONE, DEC_ERROR, DEC_MORE };

struct chunk_case {
    const char *name;
    const char *in;
    size_t len;
    int result;       /* DEC_* */
    const char *data; /* decoded body (DEC_DONE, DEC_MORE) */
    size_t tail;      /* bytes after the body, left unconsumed */
};

/* Feeds in[0..len) at most `step` new bytes at a time, the way a relay would:
 * framing through http1_chunked_parse, data taken by the caller.  Stores the
 * data in out and the bytes the body used in *used. */
static int decode(const char *in, size_t len, size_t step, char *out, size_t *outlen, size_t *used,
                  const char **why)
{
    struct http_chunked c;
    size_t off = 0, end = 0;

    memset(&c, 0, sizeof(c));
    *outlen = 0;
    while (c.state != CHUNK_DONE) {
        if (off == end) {
            if (end == len)
                break;
            end = end + step < len ? end + step : len;
        }
        if (c.state == CHUNK_DATA) {
            size_t n = end - off < c.remaining ? end - off : (size_t)c.remaining;
            ck_assert_int_eq(http1_chunked_parse(&c, in + off, end - off), 0);
            memcpy(out + *outlen, in + off, n);
            *outlen += n;
            off += n;
            http1_chunked_data(&c, n);
        } else {
            char *copy = malloc(end - off);
            long r;
            ck_assert_ptr_nonnull(copy);
            memcpy(copy, in + off, end - off);
            r = http1_chunked_parse(&c, copy, end - off);
            free(copy);
            if (r == HTTP1_ERROR) {
                ck_assert_ptr_nonnull(c.error);
                *why = c.error;
                ck_assert_int_eq(http1_chunked_parse(&c, "0\r\n\r\n", 5), HTTP1_ERROR);
                return DEC_ERROR;
            }
            ck_assert(r >= 0 && (size_t)r <= end - off);
            off += (size_t)r;
            /* All framing offered is consumed unless data or the end is next. */
            ck_assert(off == end || c.state == CHUNK_DATA || c.state == CHUNK_DONE);
        }
    }
    *used = off;
    if (c.state == CHUNK_DONE)
        ck_assert_int_eq(http1_chunked_parse(&c, "x", 1), 0);
    return c.state == CHUNK_DONE ? DEC_DONE : DEC_MORE;
}

static const struct chunk_case chunk_cases[] = {
    { "one chunk", IN("5\r\nhello\r\n0\r\n\r\n"), DEC_DONE, "hello" },
    { "two chunks", IN("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), DEC_DONE, "hello world" },
    { "hex digits both cases", IN("A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n"), DEC_DONE, "0123456789abcdefghijk" },
    { "many one-byte chunks", IN("1\r\na\r\n1\r\nb\r\n1\r\nc\r\n1\r\nd\r\n1\r\ne\r\n1\r\nf\r\n1\r\ng\r\n1\r\nh\r\n"
                                 "1\r\ni\r\n1\r\nj\r\n1\r\nk\r\n1\r\nl\r\n0\r\n\r\n"), DEC_DONE, "abcdefghijkl" },
    { "leading zeros", IN("0005\r\nhello\r\n000\r\n\r\n"), DEC_DONE, "hello" },
    { "sixteen digits", IN("0000000000000003\r\nabc\r\n0\r\n\r\n"), DEC_DONE, "abc" },
    { "data holding CRLF", IN("4\r\n\r\n\r\n\r\n0\r\n\r\n"), DEC_DONE, "\r\n\r\n" },
    { "extensions", IN("5;name=value\r\nhello\r\n3;a;b=\"c d\"\r\nabc\r\n0;last\r\n\r\n"), DEC_DONE, "helloabc" },
    { "whitespace before extension", IN("5 ;a=1\r\nhello\r\n2\t; x\r\nhi\r\n0 \t;z\r\n\r\n"), DEC_DONE, "hellohi" },
    { "extension with obs-text and HTAB", IN("2;x=\xe9\t1\r\nhi\r\n0\r\n\r\n"), DEC_DONE, "hi" },
    { "trailers", IN("3\r\nabc\r\n0\r\nX-Sum: 1\r\nY-Other: \tz\xff\r\n\r\n"), DEC_DONE, "abc" },
    { "empty body", IN("0\r\n\r\n"), DEC_DONE, "" },
    { "next message left alone", IN("2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"), DEC_DONE, "hi", .tail = 18 },
    { "unfinished data", IN("5\r\nhel"), DEC_MORE, "hel" },
    { "unfinished trailer", IN("0\r\nX: 1\r\n\r"), DEC_MORE, "" },
    { "unfinished size", IN("1f"), DEC_MORE, "" },

    { "0x prefix", IN("0x5\r\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "negative", IN("-5\r\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "plus sign", IN("+5\r\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "whitespace before size", IN(" 5\r\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "whitespace inside size", IN("1 0\r\n0123456789abcdef\r\n0\r\n\r\n"), DEC_ERROR },
    { "whitespace inside size, then extension", IN("1 0;x\r\n0123456789abcdef\r\n0\r\n\r\n"), DEC_ERROR },
    { "whitespace without extension", IN("5 \r\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "no size", IN("\r\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "seventeen digits", IN("00000000000000005\r\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "overflow", IN("10000000000000000\r\n"), DEC_ERROR },
    { "seventeen F", IN("FFFFFFFFFFFFFFFFF\r\n"), DEC_ERROR },
    { "non-hex digit", IN("5g\r\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "bare LF after size", IN("5\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "CR without LF after size", IN("5\rhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "bare LF in extension", IN("5;a\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "NUL in extension", IN("5;a\0\r\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "control in extension", IN("5;a\x01\r\nhello\r\n0\r\n\r\n"), DEC_ERROR },
    { "data longer than size", IN("5\r\nhelloX\r\n0\r\n\r\n"), DEC_ERROR },
    { "data shorter than size", IN("5\r\nhell\r\n0\r\n\r\n"), DEC_ERROR },
    { "bare LF after data", IN("5\r\nhello\n0\r\n\r\n"), DEC_ERROR },
    { "CR without LF after data", IN("5\r\nhello\r0\r\n\r\n"), DEC_ERROR },
    { "bare LF ends body", IN("5\r\nhello\r\n0\r\n\n"), DEC_ERROR },
    { "bare LF in trailer", IN("0\r\nX: 1\n\r\n"), DEC_ERROR },
    { "bare CR in trailer", IN("0\r\nX: 1\rY: 2\r\n\r\n"), DEC_ERROR },
    { "NUL in trailer", IN("0\r\nX: \0\r\n\r\n"), DEC_ERROR },
};

static void run_chunk_case(const struct chunk_case *c, size_t step)
{
    char *out = malloc(c->len + 1);
    const char *why = NULL;
    size_t outlen = 0, used = 0;
    int r;

    ck_assert_ptr_nonnull(out);
    r = decode(c->in, c->len, step, out, &outlen, &used, &why);
    ck_assert_msg(r == c->result, "%s (step %zu): result %d, want %d (%s)", c->name, step, r, c->result,
                  why ? why : "");
    if (r != DEC_ERROR) {
        ck_assert_msg(outlen == strlen(c->data) && memcmp(out, c->data, outlen) == 0,
                      "%s (step %zu): data \"%.*s\", want \"%s\"", c->name, step, (int)outlen, out, c->data);
    }
    if (r == DEC_DONE)
        ck_assert_msg(used == c->len - c->tail, "%s (step %zu): used %zu, want %zu", c->name, step, used,
                      c->len - c->tail);
    free(out);
}

START_TEST(test_chunk_table)
{
    static const size_t steps[] = { 1, 2, 3, 5, 7, SIZE_MAX };
    size_t i;

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        run_chunk_case(&chunk_cases[_i], steps[i] == SIZE_MAX ? chunk_cases[_i].len : steps[i]);
}
END_TEST

/* body_check_ahead, the look at the body bytes that came with a head
 * before anything goes upstream, agrees with the decoder on every case,
 * on every prefix: a prefix of a good body is never refused, and once a
 * prefix of a bad one is refused every longer one is too. */
START_TEST(test_chunk_check_ahead)
{
    const struct chunk_case *c = &chunk_cases[_i];
    struct body b;
    int refused = 0;

    body_init(&b, HTTP_BODY_CHUNKED, 0, 1);
    for (size_t n = 0; n <= c->len; n++) {
        const char *why = NULL;
        int rc = body_check_ahead(&b, c->in, n, &why);
        if (c->result != DEC_ERROR)
            ck_assert_msg(rc == 0, "%s: prefix of %zu refused (%s)", c->name, n, why);
        ck_assert_msg(rc == 0 || why, "%s: refused without a reason", c->name);
        ck_assert_msg(!(refused && rc == 0), "%s: prefix of %zu passes after a shorter one failed",
                      c->name, n);
        refused |= rc < 0;
    }
    ck_assert_msg(refused == (c->result == DEC_ERROR), "%s: check %s, decoder %d", c->name,
                  refused ? "refused" : "passed", c->result);
    /* bodies of other framings have nothing to check */
    body_init(&b, HTTP_BODY_LENGTH, 5, 0);
    ck_assert_int_eq(body_check_ahead(&b, c->in, c->len, &(const char *){NULL}), 0);
}
END_TEST

/* Extension and trailer limits, at and one past the bound. */
START_TEST(test_chunk_limits)
{
    size_t cap = HTTP1_CHUNK_MAX_TRAILERS + 64, n, outlen, used;
    char *in = malloc(cap), *out = malloc(cap);
    const char *why = NULL;
    int over;

    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    for (over = 0; over <= 1; over++) {
        /* ';' and the extension count: HTTP1_CHUNK_MAX_EXT bytes in all */
        n = (size_t)sprintf(in, "1;");
        memset(in + n, 'a', HTTP1_CHUNK_MAX_EXT - 1 + (size_t)over);
        n += HTTP1_CHUNK_MAX_EXT - 1 + (size_t)over;
        n += (size_t)sprintf(in + n, "\r\nx\r\n0\r\n\r\n");
        ck_assert_int_eq(decode(in, n, n, out, &outlen, &used, &why), over ? DEC_ERROR : DEC_DONE);
        ck_assert_int_eq(decode(in, n, 1, out, &outlen, &used, &why), over ? DEC_ERROR : DEC_DONE);

        /* every trailer byte counts, the final CRLF included */
        n = (size_t)sprintf(in, "0\r\n");
        while (n < 3 + HTTP1_CHUNK_MAX_TRAILERS - 2 - 40)
            n += (size_t)sprintf(in + n, "X: 0123456789\r\n");
        memcpy(in + n, "Y: ", 3);
        memset(in + n + 3, 'b', HTTP1_CHUNK_MAX_TRAILERS + 3 - n - 4 - 3 + (size_t)over);
        n = HTTP1_CHUNK_MAX_TRAILERS + 3 - 4 + (size_t)over;
        n += (size_t)sprintf(in + n, "\r\n\r\n");
        ck_assert_uint_eq(n, 3 + HTTP1_CHUNK_MAX_TRAILERS + (size_t)over);
        ck_assert_int_eq(decode(in, n, n, out, &outlen, &used, &why), over ? DEC_ERROR : DEC_DONE);
    }
    free(in);
    free(out);
}
END_TEST

/* The decoder's own contract: 0 in DATA and DONE, the largest size, a
 * sticky error, chunked_data clamped to what remains. */
START_TEST(test_chunk_contract)
{
    struct http_chunked c;

    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(http1_chunked_parse(&c, "FFFFFFFFFFFFFFFF\r\nab", 20), 18);
    ck_assert_int_eq(c.state, CHUNK_DATA);
    ck_assert(c.remaining == UINT64_MAX);
    ck_assert_int_eq(http1_chunked_parse(&c, "ab", 2), 0);
    http1_chunked_data(&c, 2);
    ck_assert(c.remaining == UINT64_MAX - 2);
    http1_chunked_data(&c, UINT64_MAX);
    ck_assert_int_eq(c.state, CHUNK_DATA_CR);
    ck_assert_int_eq(http1_chunked_parse(&c, "\r\n0;x\r\n\r\nrest", 13), 9);
    ck_assert_int_eq(c.state, CHUNK_DONE);
    ck_assert_int_eq(http1_chunked_parse(&c, "rest", 4), 0);

    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(http1_chunked_parse(&c, "z", 1), HTTP1_ERROR);
    ck_assert_ptr_nonnull(c.error);
    ck_assert_int_eq(http1_chunked_parse(&c, "5\r\n", 3), HTTP1_ERROR);
}
END_TEST

/* Random bodies, encoded with random chunk sizes, extensions and trailers,
 * decoded in random steps. */
START_TEST(test_chunk_random)
{
    static char body[4096], enc[100000], out[4096];
    int iter;

    rng_state = 777u;
    for (iter = 0; iter < 300; iter++) {
        size_t blen = rng() % sizeof(body), n = 0, off = 0, outlen, used, i;
        const char *why = NULL;

        for (i = 0; i < blen; i++)
            body[i] = (char)(rng() & 0xff);
        while (off < blen) {
            size_t cl = 1 + rng() % 300;
            if (cl > blen - off)
                cl = blen - off;
            n += (size_t)sprintf(enc + n, rng() % 2 ? "%zx" : "%zX", cl);
            if (rng() % 3 == 0)
                n += (size_t)sprintf(enc + n, " ;ext=%u", (unsigned)rng() % 100);
            n += (size_t)sprintf(enc + n, "\r\n");
            memcpy(enc + n, body + off, cl);
            n += cl;
            off += cl;
            n += (size_t)sprintf(enc + n, "\r\n");
        }
        n += (size_t)sprintf(enc + n, "0\r\n%s\r\n", rng() % 2 ? "X-T: 1\r\n" : "");
        ck_assert_int_eq(decode(enc, n, 1 + rng() % 40, out, &outlen, &used, &why), DEC_DONE);
        ck_assert_uint_eq(used, n);
        ck_assert_uint_eq(outlen, blen);
        ck_assert(memcmp(out, body, blen) == 0);
    }
}
END_TEST

Suite *http1_suite(void)
{
    Suite *s = suite_create("http1");
    TCase *tc = tcase_create("requests");

    tcase_add_loop_test(tc, test_request_table, 0, (int)(sizeof(req_cases) / sizeof(req_cases[0])));
    tcase_add_test(tc, test_request_offsets);
    tcase_add_test(tc, test_limits_never_partial);
    tcase_add_test(tc, test_scan_every_byte);
    suite_add_tcase(s, tc);

    tc = tcase_create("responses");
    tcase_add_loop_test(tc, test_response_table, 0, (int)(sizeof(resp_cases) / sizeof(resp_cases[0])));
    suite_add_tcase(s, tc);

    tc = tcase_create("prefixes");
    tcase_add_loop_test(tc, test_prefix_property, 0, 4);
    suite_add_tcase(s, tc);

    tc = tcase_create("helpers");
    tcase_add_test(tc, test_find);
    tcase_add_test(tc, test_list_has);
    tcase_add_test(tc, test_hop_by_hop);
    suite_add_tcase(s, tc);

    tc = tcase_create("chunked");
    tcase_add_loop_test(tc, test_chunk_table, 0, (int)(sizeof(chunk_cases) / sizeof(chunk_cases[0])));
    tcase_add_loop_test(tc, test_chunk_check_ahead, 0,
                        (int)(sizeof(chunk_cases) / sizeof(chunk_cases[0])));
    tcase_add_test(tc, test_chunk_limits);
    tcase_add_test(tc, test_chunk_contract);
    tcase_add_test(tc, test_chunk_random);
    suite_add_tcase(s, tc);
    return s;
}
