/* pages.h — what the forward proxy answers about itself when a client asks
 * it directly (origin-form): proxy auto-configuration and a status page. */
#ifndef GH_PAGES_H
#define GH_PAGES_H

struct acl;
struct exchange;

/* Answers /proxy.pac and /wpad.dat (a PAC file naming this proxy as the
 * client reached it), / and /status (a small status page: the counters,
 * the protections' too, and the bans in force), 404 otherwise.  A DELETE
 * of /status?ban=KEY (or ?ban=*) from a client in `admins` lifts bans. */
void pages_serve(struct exchange *ex, const struct acl *admins);

#endif
