/* origin.h — a real HTTP/1.1 origin server whose answers the test writes.
 *
 * A test starts an origin with a handler of its own, written in the test
 * file beside the requests and the assertions:
 *
 *     static void answer(const struct origin_request *rq, struct origin_reply *re)
 *     {
 *         if (strcmp(rq->path, "/hello") == 0) {
 *             origin_text(re, "hello from %s\n", rq->name);
 *         } else {
 *             origin_status(re, 404);
 *             origin_text(re, "not found\n");
 *         }
 *     }
 *     ...
 *     origin_start(&o, "o1", answer);
 *
 * The origin is a new process of the test program itself (forked and
 * exec'ed, so it starts clean whatever threads the test runs) listening on
 * 127.0.0.1 (or the address given), one thread per connection, keep-alive
 * as the client asks.  Its handler sees the program's code and constant
 * data and what the request brings, not values the test computed at run
 * time.  The library owns what any HTTP/1.1 server does, the same for
 * every test:
 *
 * - It reads the request head, then the whole body (Content-Length or
 *   chunked, its trailers in rq->trailers) before it calls the handler; an
 *   "Expect: 100-continue" with no body bytes yet gets "100 Continue".
 * - A malformed request is answered by the library, not the handler, and
 *   the connection closed: 400 "bad request: <why>\n" (no Host in
 *   HTTP/1.1, both Content-Length and Transfer-Encoding, a bad length, a bad
 *   line, a bad chunk), 501 for a transfer coding other than chunked, 431
 *   for a head over 60 KiB.
 * - It writes one line per request to its log (struct origin's `log`), as
 *       origin NAME conn=<id> req=<n> <METHOD> <target>
 *   so a test reads what reached the origin, and in what order.
 * - Every answer starts with the status line and, unless the handler calls
 *   origin_bare, these identity fields, in this order:
 *       Server: gh-origin
 *       X-Origin: NAME
 *       X-Conn-Id: <the connection's number in this origin, from 1>
 *       X-Conn-Requests: <the request's number on its connection, from 1>
 *   then the handler's own fields in the order it added them, then
 *   Content-Type when a body helper named one, then the framing
 *   (Content-Length, or Transfer-Encoding: chunked), then "Connection:
 *   close" when the origin will close (or "Connection: keep-alive" to an
 *   HTTP/1.0 client it keeps).  1xx, 204 and 304 answers carry no body and
 *   no framing; an answer to HEAD carries GET's head and no body.
 *
 * Handlers run in the origin's connection threads, several at once: what
 * they share (a counter) must be atomic.  An origin's state lives in its
 * own process: the test reads it through requests and the log. */
#ifndef GH_TEST_ORIGIN_H
#define GH_TEST_ORIGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One request, read whole; valid while the handler runs. */
struct origin_request {
    const char *method; /* "GET" */
    const char *target; /* as sent: "/a?b", "http://h:1/a", "h:443" */
    const char *path;   /* the target's path: scheme://authority, query and fragment cut */
    const char *query;  /* what follows '?', "" when nothing does */
    const char *head;   /* the head as received, request line to blank line */
    size_t head_len;
    int http_minor;    /* HTTP/1.0 or HTTP/1.1 */
    int keep_alive;    /* the client lets the connection go on */
    const char *body;  /* the body (dechunked), its first 64 KiB, NUL-terminated */
    uint64_t body_len; /* every body byte received */
    uint64_t body_sum; /* the sum of those bytes */
    const char *trailers; /* a chunked body's trailer lines ("name: value\n"), "" none */
    const char *name;  /* the origin's name */
    int port;          /* the port it listens on */
    uint64_t conn_id;  /* as in X-Conn-Id and X-Conn-Requests */
    uint64_t conn_request;
};

/* The answer the handler builds; owned by the library. */
struct origin_reply;

/* The handler: reads rq, fills re.  Untouched, re is a 200 with no body. */
typedef void origin_fn(const struct origin_request *rq, struct origin_reply *re);

/* A running origin.  It may live in shared memory (a test process restarts
 * an origin the fixture started): only the process that starts or stops it
 * writes it. */
struct origin {
    pid_t pid;
    int port;
    char name[64];
    char addr[64];
    char log[192]; /* /tmp/gh-origin-NAME-PID.log, new at each start */
    origin_fn *answer;
};

/* ---- starting and stopping ---- */

/* Starts origin `name` (no spaces) answering with `answer`, a function of
 * this program, on 127.0.0.1, on a port the kernel picks; 0 with o filled
 * (it listens on return), or -1. */
int origin_start(struct origin *o, const char *name, origin_fn *answer);
/* The same on another numeric address ("::1"). */
int origin_start_at(struct origin *o, const char *name, const char *addr, origin_fn *answer);
/* Stops o (if running) and starts it again on the same port with the same
 * handler and a fresh state.  Called inside a test, the new process joins
 * the runner's process group, so it outlives the test as the fixture's
 * origins do.  0 or -1. */
int origin_restart(struct origin *o);
/* SIGTERM, then waits for it (when it is this process's child). */
void origin_stop(struct origin *o);

/* For a program that is an origin (gh-origin): a listening socket on
 * addr:port ([::1] brackets allowed, port 0: the kernel picks) with the
 * bound port in *bound; -1 on error.  origin_serve then serves on it in
 * this process until SIGTERM or SIGINT (exit status 0); its log is stderr. */
int origin_listen(const char *addr, int port, int *bound);
void origin_serve(int lfd, const char *name, int port, origin_fn *answer) __attribute__((noreturn));

/* ---- reading the request ---- */

/* The value of the nth (from 0) request field `name` (any case), trimmed,
 * into out; 0, or -1 when there is no such field. */
int origin_field(const struct origin_request *rq, const char *name, int nth, char *out, size_t cap);
/* The value of the nth (from 0) query parameter `name`, '+' and %XX
 * decoded, into out; 0, or -1 when there is no such parameter. */
int origin_query(const struct origin_request *rq, const char *name, int nth, char *out, size_t cap);
/* 1 when the path is `prefix` followed by a decimal number (into *n). */
int origin_path_num(const struct origin_request *rq, const char *prefix, uint64_t *n);
/* A line (a newline is added) in the origin's log. */
void origin_log(const struct origin_request *rq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- building the answer ---- */

/* The status code (default 200); the reason phrase is the usual one. */
void origin_status(struct origin_reply *re, int code);
/* Adds a field line, "Name: value" without CRLF. */
void origin_add(struct origin_reply *re, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* No identity fields: the head holds the status line, the handler's fields,
 * Content-Type and the framing, and nothing else. */
void origin_bare(struct origin_reply *re);
/* Appends formatted text to the body; Content-Type: text/plain unless
 * already named. */
void origin_text(struct origin_reply *re, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends bytes to the body; Content-Type: ctype (NULL: none) unless
 * already named. */
void origin_body(struct origin_reply *re, const char *ctype, const void *p, size_t n);
/* After the body so far, n bytes of the pattern byte[i] = 'a' + i % 26
 * (tc_pattern_sum knows their sum), streamed; Content-Type:
 * application/octet-stream unless already named. */
void origin_pattern(struct origin_reply *re, uint64_t n);
/* Sends the body chunked (chunk sizes cycling 1, 7, 4096, 65536). */
void origin_chunked(struct origin_reply *re);
/* Sends the body without framing, delimited by closing the connection. */
void origin_until_close(struct origin_reply *re);
/* Announces the whole body but sends only its first n bytes, then closes:
 * an origin that dies mid-response. */
void origin_cut(struct origin_reply *re, uint64_t n);
/* Closes the connection after this answer. */
void origin_close(struct origin_reply *re);
/* The answer is exactly these bytes, nothing added; then the connection
 * closes. */
void origin_raw(struct origin_reply *re, const void *p, size_t n);
/* Sends bytes at once, ahead of the answer (an interim response). */
void origin_send(struct origin_reply *re, const void *p, size_t n);
/* Takes the connection over (a protocol after a 101): returns its socket.
 * Nothing more is sent; the library closes it when the handler returns. */
int origin_take(struct origin_reply *re);

/* ---- holding answers until the test lets them go ---- */

/* Blocks the calling handler until origin_release runs in the same origin
 * (another request's handler), or 60 s pass. */
void origin_hold(void);
/* Lets every held handler go. */
void origin_release(void);
/* How many handlers are held now, and the most there ever were at once. */
void origin_holding(unsigned *now, unsigned *peak);
/* Answers /hold ("held" once released) and /release ("released"), the
 * paths tests use for the two.  Returns 1 when rq was one of them. */
int origin_hold_paths(const struct origin_request *rq, struct origin_reply *re);

#endif
