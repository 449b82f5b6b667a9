/* hostname.h — the one normal form of a host name, used by every comparison
 * a filter, a route or an ACL makes on a name (lists, safe-search, cookie
 * domains, parent domains, SNI).  Two spellings a resolver treats as the
 * same host ("Blocked.Example.", "0x7f.1" and "127.0.0.1") normalise to the
 * same bytes, and a spelling no resolver would accept is refused rather
 * than compared. */
#ifndef GH_HOSTNAME_H
#define GH_HOSTNAME_H

#include <stddef.h>

/* Room for any normal form: 253 bytes of name, or an IPv6 literal, plus NUL. */
#define HOSTNAME_MAX 256

/* Writes the normal form of host[0..len) into out (cap bytes, at least
 * HOSTNAME_MAX to hold every valid name) and terminates it:
 *   - ASCII lower case, and one trailing dot removed ("a.example." is
 *     "a.example");
 *   - an IPv4 address in any form inet_aton(3) reads ("0x7f.1",
 *     "2130706433", "0177.0.0.1") as a dotted quad;
 *   - an IPv6 literal, with or without brackets, as inet_ntop(3) writes it
 *     (no brackets).
 * Returns the length, or -1 when host is not a DNS name or an IP literal:
 * empty, an empty label (a leading dot, ".." anywhere, two trailing dots),
 * a label over 63 bytes, a name over 253, a byte other than letters, digits,
 * '-' and '_', or an all-numeric last label that is not an IPv4 address. */
int hostname_normalize(const char *host, size_t len, char *out, size_t cap);

/* Whether host[0..len) is domain or a name below it ("a.example" is under
 * "example"; "badexample" is not).  Both in normal form; a leading '.' on
 * domain is ignored.  An IP literal is only ever under itself. */
int hostname_under(const char *host, size_t len, const char *domain, size_t dlen);

/* Normalises a name written in the configuration (a parent's domains, a
 * cookie domain, a list entry): as hostname_normalize, but a leading '.'
 * ("the domain and below", in Squid's and cookies' spelling) is dropped
 * first.  Returns a new string, or NULL when the name is not valid. */
char *hostname_config(const char *name);

#endif
