/* origin_request.h — the test origin's requests, as the server side sees
 * them: origin.c reads each one off a connection (the head, then the whole
 * body), which logs it, hands it to the handler, and frees it.  Tests
 * include origin.h, not this. */
#ifndef GH_TEST_ORIGIN_REQUEST_H
#define GH_TEST_ORIGIN_REQUEST_H

#include "origin.h"

#include <stddef.h>
#include <stdint.h>

/* One client connection; its thread owns it. */
struct origin_conn {
    int fd;
    uint64_t id;       /* from 1, in accept order */
    uint64_t nreq;     /* requests read on it so far */
    size_t start, end; /* unread bytes are buf[start, end) */
    char buf[64 * 1024];
};

/* A request the library answers itself, as it cannot be read. */
struct origin_bad {
    int status; /* 400, 431 or 501; 0: none */
    const char *why;
    int http_minor;
};

/* Reads the next request off c for origin `name` on `port`: logs its line
 * (origin.h), sends "100 Continue" when it expects one, reads its body.
 * Returns it, or NULL when the connection is done: at its end, or after a
 * request that cannot be read, which *bad then describes (status 0 when
 * there is none). */
struct origin_request *origin_request_read(struct origin_conn *c, const char *name, int port,
                                           struct origin_bad *bad);
/* Frees what origin_request_read returned. */
void origin_request_free(struct origin_request *rq);

#endif
