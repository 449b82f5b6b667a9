/* redis_loop.h — hiredis's asynchronous contexts driven by a worker's own
 * event loop (loop.h), as hiredis's adapters/ae.h drives them on Redis's
 * ae loop: hiredis says when it wants to read or write, the loop says when
 * the socket is ready, and hiredis's cleanup hook unregisters the socket.
 * Owns the small record that joins a context to a loop, nothing else. */
#ifndef GH_REDIS_LOOP_H
#define GH_REDIS_LOOP_H

#include <hiredis/async.h>

struct loop;

/* Attaches ac (just made by redisAsyncConnect*, without error) to loop l:
 * from now on its reads and writes happen on l's thread when l runs, and
 * freeing ac (redisAsyncFree, or hiredis on an error) unregisters it.
 * Returns 0, or -1 when ac has an adapter already (ac is left as it was). */
int redis_loop_attach(struct loop *l, redisAsyncContext *ac);

#endif
