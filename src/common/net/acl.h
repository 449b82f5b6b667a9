/* acl.h — address lists: CIDR prefixes, IPv4 and IPv6, matched against a
 * client address.  Used by the forward mode's client rules today and by any
 * later rule that names networks. */
#ifndef GH_ACL_H
#define GH_ACL_H

#include <stddef.h>
#include <sys/socket.h>

struct acl;

struct acl *acl_new(void);
void acl_free(struct acl *a);

/* Adds "10.0.0.0/8", "::1/128", or a bare address (a host prefix).
 * Returns 0, or -1 with a message in err. */
int acl_add(struct acl *a, const char *cidr, char *err, size_t errlen);

/* 1 when the address falls in one of the prefixes.  IPv4-mapped IPv6
 * addresses match IPv4 prefixes. */
int acl_match(const struct acl *a, const struct sockaddr_storage *ss);

/* Number of prefixes. */
unsigned acl_count(const struct acl *a);

#endif
