/* probe.h — one active health probe on a loop: a TCP connect, or an HTTP
 * GET (in plain text or over TLS; HTTP/1.1 or HTTP/2, h2_upstream.h) whose
 * status line is read back.
 *
 * The mechanism only: where to connect is resolved by the caller, and what
 * the answer means (which statuses are good, how many failures make a server
 * down) is the caller's policy.  A probe never blocks and runs one timer for
 * the whole of it (connect, request and status line). */
#ifndef GH_PROBE_H
#define GH_PROBE_H

#include <stdint.h>
#include <sys/socket.h>

struct loop;
struct probe;
struct tls_client;

struct probe_req {
    const struct sockaddr_storage *addr; /* where to connect (resolved by the caller) */
    int http;                            /* 0: a TCP connect is the whole check */
    const char *path;                    /* HTTP: request target */
    const char *host;                    /* HTTP: Host field value */
    uint32_t timeout_ms;                 /* connect + request + status line */
    struct tls_client *tls;              /* HTTP: speak TLS (verified as configured), NULL: plain */
    int h2;                              /* HTTP: over HTTP/2 (ALPN h2 with tls, else h2c) */
};

/* The outcome of a probe, called once.  status: the HTTP status (http), or 0
 * for a TCP check that connected.  error: NULL on success, else a short
 * static reason ("connection refused", "timed out", "invalid response",
 * "closed", ...).  The probe is gone when this runs: do not cancel it. */
typedef void (*probe_done)(void *arg, int status, const char *error);

/* Starts a probe on loop l.  The request's strings and address are copied;
 * they need not outlive the call.  cb is never called from inside
 * probe_start: even an immediate failure (socket(), a refused connect on
 * loopback) is reported from the loop.  Never returns NULL. */
struct probe *probe_start(struct loop *l, const struct probe_req *req, probe_done cb, void *arg);

/* Stops a probe that has not called back yet and frees it: no callback
 * after this.  Safe with NULL. */
void probe_cancel(struct probe *p);

/* 1 when `error` (given to a probe_done) means no connection was ever made,
 * so another address of the same server is worth trying. */
int probe_error_before_connect(const char *error);

#endif
