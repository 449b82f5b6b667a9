/* geo.c — country and continent of a client address (see geo.h).  Owns the
 * mapped database and the translation of a socket address into a lookup;
 * it knows nothing of configuration or of what a country is used for. */
#include "geo.h"

#include <maxminddb.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct geo {
    MMDB_s mmdb; /* read-only after MMDB_open, so safe to share */
};

struct geo *geo_open(const char *path, char *err, size_t errlen)
{
    struct geo *g = calloc(1, sizeof(*g));
    int status, e;

    if (!g) {
        fprintf(stderr, "gatehouse: out of memory\n");
        abort();
    }
    errno = 0;
    status = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
    if (status == MMDB_SUCCESS)
        return g;
    e = errno;
    /* "No such file or directory" says more than "Error opening the
     * specified MaxMind DB file" */
    if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) && e)
        snprintf(err, errlen, "%s: %s", path, strerror(e));
    else
        snprintf(err, errlen, "%s: %s", path, MMDB_strerror(status));
    free(g);
    return NULL;
}

void geo_close(struct geo *g)
{
    if (!g)
        return;
    MMDB_close(&g->mmdb);
    free(g);
}

/* Copies a two-letter code found at the path into out; anything else (no
 * such key, another type, a malformed value) leaves out empty.  Returns 1
 * when a code was copied. */
static int code_at(MMDB_entry_s *entry, char out[3], const char *map, const char *key)
{
    MMDB_entry_data_s data;
    const char *s;

    if (MMDB_get_value(entry, &data, map, key, NULL) != MMDB_SUCCESS || !data.has_data ||
        data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2)
        return 0;
    s = data.utf8_string;
    if (s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
        return 0;
    out[0] = s[0];
    out[1] = s[1];
    out[2] = '\0';
    return 1;
}

int geo_lookup(const struct geo *g, const struct sockaddr *sa, char country[3], char continent[3])
{
    struct sockaddr_in v4;
    MMDB_lookup_result_s res;
    int mmdb_error = MMDB_SUCCESS;

    country[0] = continent[0] = '\0';
    if (!g || !sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
        return 0;
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        /* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.  Not
         * every database aliases ::ffff:0:0/96 to its IPv4 subtree, so look
         * the IPv4 address up directly. */
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            memset(&v4, 0, sizeof(v4));
            v4.sin_family = AF_INET;
            v4.sin_port = s6->sin6_port;
            memcpy(&v4.sin_addr, s6->sin6_addr.s6_addr + 12, 4);
            sa = (const struct sockaddr *)&v4;
        }
    }
    res = MMDB_lookup_sockaddr(&g->mmdb, sa, &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS || !res.found_entry)
        return 0;
    if (!code_at(&res.entry, country, "country", "iso_code"))
        code_at(&res.entry, country, "registered_country", "iso_code");
    code_at(&res.entry, continent, "continent", "code");
    return country[0] || continent[0];
}
