/* origin_reply.h — the test origin's answers, as the server side sees them:
 * origin.c makes one for each request, hands it to the test's handler
 * (which builds it with the functions in origin.h), sends it and frees it.
 * Tests include origin.h, not this. */
#ifndef GH_TEST_ORIGIN_REPLY_H
#define GH_TEST_ORIGIN_REPLY_H

#include "origin.h"

#include <stddef.h>
#include <stdint.h>

/* Who an answer goes to, and what the request allows. */
struct origin_reply_to {
    int fd;           /* the connection */
    int is_head;      /* GET's head, no body */
    int http_minor;   /* 0: a kept connection says keep-alive */
    int keep;         /* the client lets the connection go on */
    const char *name; /* for X-Origin */
    uint64_t conn_id; /* for X-Conn-Id and X-Conn-Requests */
    uint64_t nreq;
};

/* A 200 with no body, no fields; aborts when memory is out. */
struct origin_reply *origin_reply_new(const struct origin_reply_to *to);
/* Sends it as origin.h describes; 1 when the connection may go on, 0 when
 * it is to be closed. */
int origin_reply_send(const struct origin_reply *re);
void origin_reply_free(struct origin_reply *re);

/* Writes all n bytes (retrying short writes, never raising SIGPIPE); 0 or
 * -1. */
int origin_write_all(int fd, const void *p, size_t n);

#endif
