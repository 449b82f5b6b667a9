/* apt.h — the forward mode's apt profile for the cache: which files of a
 * Debian or Ubuntu archive never change under their URL and which are
 * indexes to revalidate, and which hosts count as mirrors.  Its settings,
 * `apt` and `mirrors`, sit in a policy's `cache` group beside the cache's
 * own; the core cache knows nothing of them: it sees a classifier and a
 * stale window in the policy's cache rules. */
#ifndef GH_APT_H
#define GH_APT_H

#include "cache.h"
#include "config.h"

#include <stddef.h>

/* A policy's apt profile. */
struct apt_profile {
    int on; /* apt = true: archive files immutable, indexes revalidated */
    /* the profile only for these hosts, in hostname.h's normal form,
     * NULL-terminated (NULL: any host) */
    char **mirrors;
    unsigned nmirrors;
};

/* The keys the profile reads from a policy's `cache` group (for
 * cache_rules_load's own_keys). */
extern const char *const apt_cache_keys[];

/* Archive files (.deb, .udeb, .dsc, .tar.*, .diff.gz, by-hash/) are
 * immutable; InRelease, Release, Release.gpg, Packages*, Sources*,
 * Translation* and Contents* are revalidated; anything else is default. */
enum cache_class apt_classify(const char *path, size_t len);

/* Reads the profile from a policy's setting `cache` (NULL, a bool or a
 * group that cache_rules_load has read into r) and finishes r: with
 * `apt = true`, the profile's classifier and, unless the policy sets
 * stale_if_unreachable, a week of it (a mirror that is down should not
 * stop installs of what was fetched before).  Mirrors are kept in
 * hostname.h's normal form ("Deb.Example." is deb.example).  Returns 0, or
 * -1 with "file:line: ..." in err (a mirror that is not a host name, at
 * its own line). */
int apt_load(struct apt_profile *a, struct cache_rules *r, const config_setting_t *cache, char *err,
             size_t errlen);
void apt_free(struct apt_profile *a);

/* The rules that apply to a request for host (in normal form): NULL when
 * the policy does not cache, or its apt profile is limited to mirrors and
 * host is not one. */
const struct cache_rules *apt_rules_for(const struct apt_profile *a, const struct cache_rules *r,
                                        const char *host, size_t len);

#endif
