/* pools_origin.h — what the pools suites (check_pools.c and
 * check_pools_reload.c) share: the origins' answers, a request on a new
 * connection, the answers an origin holds, and a server's entry as the
 * status page writes it. */
#ifndef GH_ITEST_POOLS_ORIGIN_H
#define GH_ITEST_POOLS_ORIGIN_H

#include "common.h"

#include <stddef.h>

/* Every origin of the pools suites ("one", "two", "three"; "good",
 * "hung", "holder"): /hello, /headers (the head as it arrived),
 * /redirect (to its own address), /ws (a WebSocket echo), /hold (answers
 * "held" once /release is asked of the same origin, or after a minute),
 * /inflight ("inflight=N peak=M"), and 404 for the rest. */
void pools_answer(const struct origin_request *rq, struct origin_reply *re);

/* One GET on a new connection to 127.0.0.1:port (extra: more head lines,
 * each ending in CRLF, or NULL); returns the status, the answer in r. */
int pools_get(int port, const char *host, const char *path, const char *extra,
              struct tc_response *r);

/* How many answers origin o holds now, and the most it held at once. */
void pools_held(const struct origin *o, unsigned *now, unsigned *peak);
/* Polls until origin o holds `want` answers (5 s at most); 1 if it did. */
int pools_holds(const struct origin *o, unsigned want);
/* Lets every answer origin o holds go. */
void pools_release(const struct origin *o);

/* A server's entry on the status page, from its address to its state. */
void pools_server_state(char *dst, size_t cap, int port, const char *state);

#endif
