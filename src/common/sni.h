/* sni.h — reading the server name from a TLS ClientHello without
 * terminating TLS, so a forward proxy can filter HTTPS by name. */
#ifndef GH_SNI_H
#define GH_SNI_H

#include <stddef.h>

#define SNI_FOUND 1
#define SNI_NONE 0      /* not TLS, or a ClientHello without a server name */
#define SNI_PARTIAL (-2) /* give more bytes */
#define SNI_BAD (-1)    /* TLS, but a malformed ClientHello */

/* Looks for the host_name entry of the server_name extension in the first
 * TLS record(s) of a connection, p[0..len).  On SNI_FOUND, *name and *namelen
 * point into p. */
int sni_parse(const unsigned char *p, size_t len, const char **name, size_t *namelen);

#endif
