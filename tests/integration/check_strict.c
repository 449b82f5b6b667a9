/* check_strict.c — hostile and ambiguous messages through a real gatehouse:
 * every malformed request is refused with its status before any byte of it
 * reaches the origin, and every invalid response becomes a 502.  The known
 * request-smuggling shapes are all here (CL.TE, TE.CL, TE.TE obfuscations,
 * duplicate and signed lengths, LF-only lines, NUL, smuggled pipelines). */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a case expects besides its status. */
#define PASSES 1     /* a valid message: the origin answers it */

struct req_case {
    const char *raw;
    size_t len;        /* some cases hold NUL bytes */
    int status;
    int flags;
};

#define R(s) s, sizeof(s) - 1

#define H "Host: a\r\n"
#define POST "POST /sink HTTP/1.1\r\n" H

static const struct req_case requests[] = {
    /* CL.TE and TE.CL */
    {R(POST "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nG"), 400, 0},
    {R(POST "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"), 400, 0},
    /* TE.TE: obfuscated codings */
    {R(POST "Transfer-Encoding: xchunked\r\n\r\n"), 501, 0},
    {R(POST "Transfer-Encoding: chunked, identity\r\n\r\n"), 501, 0},
    {R(POST "Transfer-Encoding: identity\r\n\r\n"), 501, 0},
    {R(POST "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: gzip\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n \r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer_Encoding: chunked\r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n"), 400, 0},
    {R("POST /sink HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400, 0},
    /* TE spellings that are valid and must be read the same way everywhere */
    {R(POST "Transfer-Encoding:  chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), 200, PASSES},
    {R(POST "Transfer-Encoding:\tchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), 200, PASSES},
    {R(POST "Transfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), 200, PASSES},
    {R(POST "Transfer-Encoding: chunked \r\n\r\n3\r\nabc\r\n0\r\n\r\n"), 200, PASSES},
    /* Content-Length */
    {R(POST "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), 400, 0},
    {R(POST "Content-Length: 5, 6\r\n\r\nhello!"), 400, 0},
    {R(POST "Content-Length: +5\r\n\r\nhello"), 400, 0},
    {R(POST "Content-Length: -5\r\n\r\nhello"), 400, 0},
    {R(POST "Content-Length: \r\n\r\nhello"), 400, 0},
    {R(POST "Content-Length: 0x5\r\n\r\nhello"), 400, 0},
    {R(POST "Content-Length: 5a\r\n\r\nhello"), 400, 0},
    {R(POST "Content-Length: 5 5\r\n\r\nhello"), 400, 0},
    {R(POST "Content-Length: 5.0\r\n\r\nhello"), 400, 0},
    {R(POST "Content-Length: 99999999999999999999999\r\n\r\n"), 400, 0},
    {R(POST "Content-Length : 5\r\n\r\nhello"), 400, 0},
    {R(POST "Content_Length: 5\r\n\r\nhello"), 400, 0},
    {R(POST "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"), 200, PASSES},
    {R(POST "Content-Length: 5, 5\r\n\r\nhello"), 200, PASSES},
    {R(POST "Content-Length:  5 \r\n\r\nhello"), 200, PASSES},
    {R(POST "Content-Length: 005\r\n\r\nhello"), 200, PASSES},
    /* chunked bodies whose framing is bad (the head was fine): they arrive
     * with the head, so they are checked before anything goes upstream */
    {R(POST "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\nhello\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n\r\nz\r\nhello\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n"), 400, 0},
    {R(POST "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: a\rb\r\n\r\n"), 400, 0},
    /* valid chunked variations */
    {R(POST "Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\n\r\n"), 200, PASSES},
    {R(POST "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"), 200, PASSES},
    {R(POST "Transfer-Encoding: chunked\r\n\r\n000005\r\nhello\r\n0\r\n\r\n"), 200, PASSES},
    {R(POST "Transfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"), 200, PASSES},
    /* a second request smuggled inside a body stays body */
    {R(POST "Content-Length: 32\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n"), 200, PASSES},
    /* line endings and control bytes */
    {R("GET /hello HTTP/1.1\n" H "\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\nHost: a\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\nHost: a\r\n\n"), 400, 0},
    {R("GET /hello HTTP/1.1\nHost: a\n\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\r\n" H "\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X: a\rb\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X: a\x00" "b\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X: a\x01" "b\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X: a\x7f" "b\r\n\r\n"), 400, 0},
    {R("GET /hel\x00lo HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X: \xc3\xa9t\xc3\xa9\r\n\r\n"), 200, PASSES},
    /* field lines */
    {R("GET /hello HTTP/1.1\r\n" H "X-Folded: a\r\n b\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X-Folded: a\r\n\tb\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n Host: a\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "No colon here\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H ": empty name\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X Y: 1\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X-Y : 1\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X(Y): 1\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X\"Y: 1\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X_Y: 1\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H "X-\xc3\xa9: 1\r\n\r\n"), 400, 0},
    /* Host */
    {R("GET /hello HTTP/1.1\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\n" H H "\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\nHost: a b\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\nHost: a:b\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\nHost: a:99999\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\nHost: a@b\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\nHost: [::1\r\n\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), 200, PASSES},
    {R("GET /hello HTTP/1.0\r\n\r\n"), 200, PASSES},
    {R("GET http://b/hello HTTP/1.1\r\nHost: a\r\n\r\n"), 200, PASSES},
    /* request lines */
    {R("GET  /hello HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET /hello  HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1 \r\n" H "\r\n"), 400, 0},
    {R(" GET /hello HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET\t/hello HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET /hello\tHTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET /hello\r\n" H "\r\n"), 400, 0},
    {R("GET /hello HTTP/1.1 extra\r\n" H "\r\n"), 400, 0},
    {R("G(T /hello HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET /hello HTTP/2.0\r\n" H "\r\n"), 505, 0},
    {R("GET /hello HTTP/0.9\r\n" H "\r\n"), 505, 0},
    {R("GET /hello HTTP/1.10\r\n" H "\r\n"), 400, 0},
    {R("GET /hello http/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET /hello HTTP/1.x\r\n" H "\r\n"), 400, 0},
    {R("GET /hel lo HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET /hello#frag HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET /h\xc3\xa9llo HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET * HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET a:443 HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET hello HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("CONNECT /hello HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("CONNECT a HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET http://a:0/ HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET http:///hello HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("GET ftp://a/hello HTTP/1.1\r\n" H "\r\n"), 400, 0},
    {R("TRACE /hello HTTP/1.1\r\n" H "\r\n"), 405, 0},
    {R("\r\nGET /hello HTTP/1.1\r\n" H "\r\n"), 200, PASSES},
    {R("OPTIONS * HTTP/1.1\r\n" H "Max-Forwards: 0\r\n\r\n"), 200, 0},
};

/* ---- the rig: an origin for requests, one for raw responses ---- */

struct resp_case {
    const char *raw;   /* what the origin sends */
    size_t len;
    int status;        /* what the client gets */
    const char *body;  /* the body it gets, or NULL to skip the check */
    int head;          /* ask with HEAD */
};

static const struct resp_case responses[] = {
    {R("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), 200, "hello", 0},
    {R("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 200, "", 0},
    {R("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"), 200, "ok", 0},
    {R("HTTP/1.1 200 \xc3\x9c\r\nContent-Length: 2\r\n\r\nok"), 200, "ok", 0},
    {R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), 200, "ok", 0},
    {R("HTTP/1.0 200 OK\r\n\r\nuntil close"), 200, "until close", 0},
    {R("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw"), 200, "raw", 0},
    {R("HTTP/1.1 204 No Content\r\n\r\n"), 204, "", 0},
    {R("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"), 304, "", 0},
    {R("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), 200, "", 1},
    {R("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), 200, "ok", 0},
    {R("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), 200, "ok", 0},
    {R("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"), 200, "ok", 0},
    {R("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), 502, NULL, 0},
    {R("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"), 502, NULL, 0},
    {R("HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok"), 502, NULL, 0},
    {R("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok"), 502, NULL, 0},
    {R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"), 502, NULL, 0},
    {R("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"), 502, NULL, 0},
    {R("HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 2\r\n\r\nok"), 502, NULL, 0},
    {R("HTTP/1.1 200 OK\r\nX: a\x00" "b\r\nContent-Length: 2\r\n\r\nok"), 502, NULL, 0},
    {R("HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok"), 502, NULL, 0},
    {R("HTTP/1.1 200 OK\r\nNo colon\r\nContent-Length: 2\r\n\r\nok"), 502, NULL, 0},
    {R("HTTP/1.1 200 OK\r\nX : 1\r\nContent-Length: 2\r\n\r\nok"), 502, NULL, 0},
    {R("HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"), 502, NULL, 0},
    {R("HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok"), 502, NULL, 0},
    {R("HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\nok"), 502, NULL, 0},
    {R("HTTP/2 200 OK\r\nContent-Length: 2\r\n\r\nok"), 502, NULL, 0},
    {R("ICY 200 OK\r\n\r\nok"), 502, NULL, 0},
    {R("garbage\r\n\r\n"), 502, NULL, 0},
    {R(""), 502, NULL, 0},
    {R("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"), 502, NULL, 0},
    {R("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 502, NULL, 0},
};

static struct origin origin, raw_origin;
static struct th_gatehouse gh;
static int rev_port;

/* The origin for requests: what reached it, and what it was sent. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strcmp(rq->path, "/headers") == 0) { /* the head as it arrived */
        origin_body(re, "text/plain", rq->head, rq->head_len);
    } else if (strcmp(rq->path, "/sink") == 0) { /* the body's length and sum */
        origin_text(re, "bytes=%" PRIu64 " sum=%" PRIu64 "\n", rq->body_len, rq->body_sum);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

/* The origin for responses: "GET /raw/N" gets responses[N] as written,
 * nothing added, then the connection closes. */
static void answer_raw(const struct origin_request *rq, struct origin_reply *re)
{
    uint64_t n;

    if (origin_path_num(rq, "/raw/", &n) && n < sizeof(responses) / sizeof(responses[0]))
        origin_raw(re, responses[n].raw, responses[n].len);
    else
        origin_raw(re, "", 0);
}

static void rig_start(void)
{
    char conf[2048];

    if (origin_start(&origin, "strict", answer) < 0 ||
        origin_start(&raw_origin, "raw", answer_raw) < 0)
        abort();
    rev_port = th_free_port();
    snprintf(
        conf, sizeof(conf),
        "workers = 1;\nlog = { access = \"@ACCESS@\"; };\n"
        "listeners = ( { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\"; } );\n"
        "pools = { app = { servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "          raw = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
        "routes = { r = ( { path = \"/\"; pool = \"app\"; }, { path = \"/raw/\"; pool = \"raw\"; } ); };\n",
        rev_port, origin.port, raw_origin.port);
    if (th_gatehouse_start(&gh, conf) < 0)
        abort();
}

static void rig_stop(void)
{
    rig_stop_clean(&gh);
    rig_origin_stop(&origin);
    rig_origin_stop(&raw_origin);
}

static int origin_requests(void)
{
    return th_log_lines(origin.log, 0, "origin strict ", NULL);
}

/* Sends raw bytes (len given: some cases hold NULs) and reads the answer. */
static int ask(const char *raw, size_t len, int is_head, struct tc_response *r)
{
    int fd = tc_connect("127.0.0.1", rev_port), rc;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tc_send_all(fd, raw, len), 0);
    rc = tc_read_response(fd, is_head, r);
    tc_close(fd);
    return rc;
}

START_TEST(request_table)
{
    const struct req_case *c = &requests[_i];
    struct tc_response r = {0};
    int before = origin_requests();
    int rc = ask(c->raw, c->len, 0, &r);
    ck_assert_msg(rc == 0, "case %d: no response", _i);
    ck_assert_msg(r.status == c->status, "case %d: got %d, want %d for %s", _i, r.status, c->status,
                  c->raw);
    if (c->flags & PASSES) {
        ck_assert_int_eq(origin_requests(), before + 1);
    } else if (c->status >= 400 && c->status != 405) {
        /* refused before any byte reached the origin */
        ck_assert_msg(origin_requests() == before, "case %d reached the origin", _i);
        ck_assert_int_eq(r.closed, 1);
    }
    tc_response_free(&r);
}
END_TEST

/* ---- body bytes that come with the head ---- */

/* Chunked bodies whose framing breaks inside what arrives with the head:
 * each is answered 400 and no origin sees any of the request.  Each has a
 * target of its own, so the origin's log tells. */
static const struct {
    const char *body;
    const char *why; /* the access log's reason */
} early_bad[] = {
    {"5\r\nhelloXX0\r\n\r\n", "missing CRLF after chunk data"},
    {"zz\r\nhello\r\n0\r\n\r\n", "chunk size expected"},
    {"5\r\nhello\r\nzz\r\n", "chunk size expected"},
    {"3\r\nabc\r\n3\r\ndef\r\n-1\r\n", "chunk size expected"},
    {"5\r\nhello\n0\r\n\r\n", "missing CRLF after chunk data"},
    {"5\nhello\r\n0\r\n\r\n", "bare LF in chunk size line"},
    {"5 \r\nhello\r\n0\r\n\r\n", "bad character after chunk size"},
    {"5;a\nb\r\nhello\r\n0\r\n\r\n", "bare LF in chunk extension"},
    {"5\r\nhello\r\n0\r\nX: a\rb\r\n\r\n", "bare CR in trailer"},
    {"5\r\nhello\r\n0\r\nX: a\nb\r\n\r\n", "bare LF in trailer"},
    {"10000000000000000\r\n", "chunk size has too many digits"},
    {"5\r\r\nhello\r\n0\r\n\r\n", "CR without LF after chunk size"},
    /* the framing is bad before the data it announces has come */
    {"0x10\r\n", "bad character after chunk size"},
    {"3\r\nabc\r\n\r\n", "chunk size expected"},
};

/* Waits until the origin has logged the /hello a request on a fresh
 * connection asked for: any request sent through gatehouse before it has
 * been logged by then too. */
static void origin_barrier(void)
{
    struct tc_response r = {0};
    const char *hello = "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    int before = th_log_lines(origin.log, 0, " GET /hello", NULL);

    ck_assert_int_eq(ask(hello, strlen(hello), 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    tc_response_free(&r);
    ck_assert_int_ge(th_log_lines(origin.log, before + 1, " GET /hello", NULL), before + 1);
}

START_TEST(early_body_checked)
{
    char raw[512], target[32], why[96];
    struct tc_response r = {0};
    int len;

    snprintf(target, sizeof(target), "/sink?early-%d", _i);
    len = snprintf(raw, sizeof(raw), "POST %s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n%s",
                   target, early_bad[_i].body);
    ck_assert_int_eq(ask(raw, (size_t)len, 0, &r), 0); /* one write: one read */
    ck_assert_msg(r.status == 400, "case %d: got %d", _i, r.status);
    ck_assert_int_eq(r.closed, 1);
    tc_response_free(&r);
    origin_barrier();
    ck_assert_msg(th_log_lines(origin.log, 0, target, NULL) == 0, "case %d reached the origin", _i);
    snprintf(why, sizeof(why), "why=%s", early_bad[_i].why);
    ck_assert_msg(th_log_lines(gh.access, 1, target, "\" 400 ", why, NULL) == 1,
                  "case %d: no 400 with '%s' in the access log", _i, why);
}
END_TEST

/* What is well framed goes on as it comes: a valid start goes upstream at
 * once and a later mistake is met there (the origin saw the head); a good
 * body in pieces, or followed by a pipelined request, is untouched. */
START_TEST(late_body_streamed)
{
    const char *head = "POST /sink?late HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
    const char *good = "POST /sink?good HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na";
    const char *pipelined = "POST /sink?pipe HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "2\r\nok\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n";
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", rev_port);

    /* a bad size line after a good chunk, once the head went upstream */
    ck_assert_int_eq(tc_send_all(fd, head, strlen(head)), 0);
    ck_assert_int_ge(th_log_lines(origin.log, 1, "/sink?late", NULL), 1);
    ck_assert_int_eq(tc_send_all(fd, "zz\r\n", 4), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_int_eq(r.status, 400);
    tc_response_free(&r);
    tc_close(fd);
    /* a good body whose chunk is cut by the first read */
    fd = tc_connect("127.0.0.1", rev_port);
    ck_assert_int_eq(tc_send_all(fd, good, strlen(good)), 0);
    ck_assert_int_ge(th_log_lines(origin.log, 1, "/sink?good", NULL), 1);
    ck_assert_int_eq(tc_send_all(fd, "bc\r\n0\r\n\r\n", 10), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "bytes=3 sum=294\n");
    tc_response_free(&r);
    tc_close(fd);
    /* a whole body and the next request in one read */
    fd = tc_connect("127.0.0.1", rev_port);
    ck_assert_int_eq(tc_send_all(fd, pipelined, strlen(pipelined)), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "bytes=2 sum=218\n");
    tc_response_free(&r);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "hello from strict\n");
    tc_response_free(&r);
    tc_close(fd);
}
END_TEST

START_TEST(smuggled_request_stays_body)
{
    const char *raw = POST "Content-Length: 32\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n";
    struct tc_response r = {0};

    ck_assert_int_eq(ask(raw, strlen(raw), 0, &r), 0);
    ck_assert_str_eq(r.body, "bytes=32 sum=2037\n");
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(origin.log, 0, "/admin", NULL), 0);
}
END_TEST

START_TEST(absolute_form_overrides_host)
{
    const char *raw = "GET http://real.example/headers HTTP/1.1\r\nHost: fake.example\r\n\r\n";
    struct tc_response r = {0};

    ck_assert_int_eq(ask(raw, strlen(raw), 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "GET /headers HTTP/1.1\r\n") && strstr(r.body, "Host: real.example\r\n") &&
                      !strstr(r.body, "fake.example"),
                  "origin got: %s", r.body);
    tc_response_free(&r);
}
END_TEST

START_TEST(response_table)
{
    const struct resp_case *c = &responses[_i];
    struct tc_response r = {0};
    char req[128];
    int rc;

    snprintf(req, sizeof(req), "%s /raw/%d HTTP/1.1\r\nHost: a\r\n\r\n", c->head ? "HEAD" : "GET", _i);
    rc = ask(req, strlen(req), c->head, &r);
    ck_assert_msg(rc == 0, "case %d: no response", _i);
    ck_assert_msg(r.status == c->status, "case %d: got %d, want %d", _i, r.status, c->status);
    if (c->body)
        ck_assert_msg(r.body_len == strlen(c->body) && memcmp(r.body, c->body, r.body_len) == 0,
                      "case %d: body %s", _i, r.body);
    if (c->status == 502) {
        char needle[64];
        snprintf(needle, sizeof(needle), " /raw/%d HTTP/1.1\" 502 ", _i);
        ck_assert_int_eq(th_log_lines(gh.access, 1, needle, NULL), 1);
    }
    tc_response_free(&r);
}
END_TEST

Suite *strict_suite(void)
{
    Suite *s = suite_create("strict");
    TCase *tc = tcase_create("messages");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, request_table, 0, (int)(sizeof(requests) / sizeof(requests[0])));
    tcase_add_loop_test(tc, response_table, 0, (int)(sizeof(responses) / sizeof(responses[0])));
    tcase_add_loop_test(tc, early_body_checked, 0, (int)(sizeof(early_bad) / sizeof(early_bad[0])));
    tcase_add_test(tc, late_body_streamed);
    tcase_add_test(tc, smuggled_request_stays_body);
    tcase_add_test(tc, absolute_form_overrides_host);
    suite_add_tcase(s, tc);
    return s;
}
