/* intercept.h — connections a router redirected to a transparent listener:
 * where the client meant to go, and whether an address is that place.
 *
 * nftables' REDIRECT (and DNAT) rewrites the destination, and conntrack
 * remembers the original: SO_ORIGINAL_DST (IPv4) or IP6T_SO_ORIGINAL_DST
 * (IPv6) reads it back.  TPROXY leaves the destination alone and delivers
 * the connection to a socket with IP_TRANSPARENT: the socket's own local
 * address is then the original destination.  Owns no state. */
#ifndef GH_INTERCEPT_H
#define GH_INTERCEPT_H

#include <stddef.h>
#include <sys/socket.h>

/* The destination the client of accepted socket fd connected to before any
 * redirect, into *out (its port included): conntrack's original tuple, or,
 * without one (TPROXY with no conntrack), the socket's local address.
 * Returns 0, or -1 when neither can be had. */
int intercept_original_dst(int fd, struct sockaddr_storage *out);

/* Whether a and b hold the same IP address (ports ignored; an IPv4-mapped
 * IPv6 address is its IPv4 address). */
int intercept_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* Whether a and b are the same address and port. */
int intercept_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* The port of a, host order. */
unsigned intercept_port(const struct sockaddr_storage *a);

/* Writes a's IP address as text ("198.51.100.10", "2001:db8::1") into dst. */
void intercept_ip_text(const struct sockaddr_storage *a, char *dst, size_t cap);

/* Whether the client of an intercepted connection is a socket of this
 * host, connected from peer to dst (the original destination), that
 * belongs to this process's user: gatehouse's own connection out, which
 * the router sent back to it (a rule without the exemption for its user).
 * Asks the kernel (sock_diag); 0 when it cannot tell. */
int intercept_is_own(const struct sockaddr_storage *peer, const struct sockaddr_storage *dst);

/* Lets listening socket fd accept connections for addresses that are not
 * the host's (TPROXY: IP_TRANSPARENT or IPV6_TRANSPARENT; needs
 * CAP_NET_ADMIN, so before privileges are dropped).  Returns 0 or -1. */
int intercept_allow_foreign(int fd, int family);

#endif
