/* proxy_auth.h — proxy authentication of a forward request (407): Basic
 * against the policy's users (a file, a directory), Negotiate (Kerberos)
 * with the user's groups from the directory, failures counted and held
 * back (auth_delay.h), and a Kerberos login remembered for the rest of
 * its connection. */
#ifndef GH_PROXY_AUTH_H
#define GH_PROXY_AUTH_H

#include "exchange.h"
#include "policy.h"

/* Checks the client's proxy credentials under policy p (which has users).
 * Returns 1 when the request may go on (its user set), 0 when it was
 * answered (407, perhaps held back) or parked while the directory is
 * asked (the front end's resume() calls this again). */
int proxy_authenticate(struct exchange *ex, const struct policy *p);

#endif
