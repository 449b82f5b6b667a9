/* hostcheck.h — what `gatehouse -t` checks beyond the file itself, on this
 * machine, as the service would meet it: the service user exists; every
 * log file can be opened (and its directory searched by the service user,
 * who reopens it after rotation); the disk cache's directory can be made
 * and written by the service user; every file a reload reads again (TLS
 * certificates and keys) is readable by the service user with its
 * supplementary groups (ssl-cert); every listen address is one of this
 * machine's.  Also the service user's name, for process.c. */
#ifndef GH_HOSTCHECK_H
#define GH_HOSTCHECK_H

struct gh_config;

/* The account the daemon runs as: `user`, else "gatehouse" when that
 * account exists, else "nobody". */
const char *hostcheck_user_name(const struct gh_config *c);

/* Runs every check; each failure is printed to stderr as "gatehouse:
 * file: what is wrong".  Returns the number of failures. */
int hostcheck_run(const struct gh_config *c);

#endif
