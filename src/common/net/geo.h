/* geo.h — where a client is, from a MaxMind database (GeoLite2, GeoIP2 or
 * DB-IP .mmdb files) read with libmaxminddb.  Mechanism only: what a country
 * or continent means for routing or filtering is the front-ends' policy. */
#ifndef GH_GEO_H
#define GH_GEO_H

#include <libconfig.h>
#include <stddef.h>
#include <sys/socket.h>

/* An open database, memory-mapped; owned by the configuration generation
 * that opened it and shared read-only by all threads (lookups take no lock). */
struct geo;
struct gh_config;

/* Opens the database at path.  Returns NULL with "path: reason" in err when
 * the file cannot be read or is not a MaxMind database. */
struct geo *geo_open(const char *path, char *err, size_t errlen);

/* Unmaps and frees g (NULL is allowed). */
void geo_close(struct geo *g);

/* Looks up the client address sa (AF_INET or AF_INET6; an IPv4-mapped
 * ::ffff:a.b.c.d is looked up as the IPv4 address it carries).  Writes the
 * ISO 3166 country code ("DE", falling back to the registered country when
 * the record has none) and the continent code ("EU") as NUL-terminated
 * strings, empty when unknown.  Returns 1 when either was found, 0 when
 * neither was (no record, another family, or g NULL). */
int geo_lookup(const struct geo *g, const struct sockaddr *sa, char country[3], char continent[3]);

/* Reads the `geo` section of the configuration root (geo_conf.c): absent,
 * c->geo stays NULL; present, its `database` is opened into c->geo (closed
 * with the generation).  Returns 0, or -1 with "file:line: message" (a
 * missing or unreadable file, another section shape). */
int geo_conf_load(struct gh_config *c, const config_setting_t *root, char *err, size_t errlen);

#endif
