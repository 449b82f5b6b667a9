/* iptrie.h — a set of IPv4 and IPv6 networks for deny and allow rules: a
 * binary trie per family, so one lookup costs at most the prefix length
 * (32 or 128 steps) however many networks the set holds, and 100,000
 * networks load from a file in a few tens of milliseconds.  A set is built
 * once, with the configuration generation that names it, and only read
 * after that: a reload builds a new one, and the generation swap replaces
 * it whole, never half-loaded. */
#ifndef GH_IPTRIE_H
#define GH_IPTRIE_H

#include <stddef.h>
#include <sys/socket.h>

struct iptrie;

struct iptrie *iptrie_new(void);
void iptrie_free(struct iptrie *t);

/* Adds "10.0.0.0/8", "2001:db8::/32", or a bare address (a host).  Bits
 * past the prefix are ignored ("10.1.2.3/8" is 10.0.0.0/8).  Returns 0,
 * or -1 with "bad network 'x' (...)" in err. */
int iptrie_add(struct iptrie *t, const char *cidr, char *err, size_t errlen);

/* Adds every network of a file: one a line, blank lines and '#' comments
 * (whole lines, or after a network) skipped, spaces around ignored.
 * Returns the networks added, or -1 with "path:line: bad network 'x'" or
 * "path: why it cannot be read" in err (nothing is half-added that a
 * caller keeps: it frees the set). */
long iptrie_add_file(struct iptrie *t, const char *path, char *err, size_t errlen);

/* Whether the address falls in one of the networks.  An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is looked up as the IPv4 address it carries. */
int iptrie_match(const struct iptrie *t, const struct sockaddr_storage *ss);

/* Networks added, and the trie's bytes. */
size_t iptrie_count(const struct iptrie *t);
size_t iptrie_bytes(const struct iptrie *t);

#endif
