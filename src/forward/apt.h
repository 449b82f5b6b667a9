/* apt.h — the forward mode's apt profile for the cache: which files of a
 * Debian or Ubuntu archive never change under their URL and which are
 * indexes to revalidate, and which hosts count as mirrors. */
#ifndef GH_APT_H
#define GH_APT_H

#include "cache.h"
#include "config.h"

#include <stddef.h>

/* Archive files (.deb, .udeb, .dsc, .tar.*, .diff.gz, by-hash/) are
 * immutable; InRelease, Release, Release.gpg, Packages*, Sources*,
 * Translation* and Contents* are revalidated; anything else is default. */
enum cache_class apt_classify(const char *path, size_t len);

/* Finishes a policy's cache rules after loading from the setting `cache`:
 * the apt profile's classifier; unless the policy sets stale_if_unreachable,
 * a week of it (a mirror that is down should not stop installs of what was
 * fetched before); and its mirrors in hostname.h's normal form
 * ("Deb.Example." is deb.example).
 * Returns 0, or -1 with "file:line: ..." in err for a mirror that is not a
 * host name. */
int apt_rules_init(struct cache_rules *r, const config_setting_t *cache, char *err, size_t errlen);

/* The rules that apply to a request for host (in normal form): NULL when
 * the policy does not cache, or its apt profile is limited to mirrors and
 * host is not one. */
const struct cache_rules *apt_rules_for(const struct cache_rules *r, const char *host, size_t len);

#endif
