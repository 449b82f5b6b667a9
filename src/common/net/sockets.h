/* sockets.h — the listening sockets of all workers, bound by the main thread.
 *
 * Each listener address gets one SO_REUSEPORT socket per worker, so the
 * kernel spreads connections across workers without a shared accept lock.
 * The set survives reloads: an address present before and after keeps its
 * sockets (no connection is refused during a reload); a new address is bound;
 * a removed one is handed back to the workers to close. */
#ifndef GH_SOCKETS_H
#define GH_SOCKETS_H

#include "config.h"
#include "worker.h"

struct socket_set;

struct socket_set *sockets_new(unsigned nworkers);

/* Binds every address of c not yet bound.  On failure nothing new stays bound,
 * err names the listener and address ("listener 'site': cannot bind
 * 127.0.0.1:80: Address already in use") and -1 is returned.  On success,
 * addresses c no longer has are forgotten (their workers close them). */
int sockets_bind(struct socket_set *set, const struct gh_config *c, char *err, size_t errlen);

/* Builds the update for worker i: a reference to c and its sockets. */
struct worker_update *sockets_update(const struct socket_set *set, struct gh_config *c, unsigned i);

/* Frees the table (not the sockets: workers own and close them). */
void sockets_free(struct socket_set *set);

#endif
