/* apt.c — the apt profile (see apt.h). */
#include "apt.h"
#include "hostname.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static int starts_with(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

enum cache_class apt_classify(const char *path, size_t len)
{
    static const char *const archive[] = {".deb", ".udeb", ".dsc", ".diff.gz", NULL};
    static const char *const index[] = {"Packages", "Sources", "Translation-", "Contents-", NULL};
    const char *slash = len ? memrchr(path, '/', len) : NULL;
    const char *name = slash ? slash + 1 : path;
    size_t nlen = len - (size_t)(name - path);

    /* by-hash/<algorithm>/<digest>: the name is the content's hash */
    for (size_t i = 0; i + 9 <= len; i++)
        if (memcmp(path + i, "/by-hash/", 9) == 0)
            return CACHE_CLASS_IMMUTABLE;
    for (const char *const *a = archive; *a; a++)
        if (ends_with(name, nlen, *a))
            return CACHE_CLASS_IMMUTABLE;
    if (memmem(name, nlen, ".tar.", 5) || ends_with(name, nlen, ".tar"))
        return CACHE_CLASS_IMMUTABLE;
    if ((nlen == 9 && memcmp(name, "InRelease", 9) == 0) || (nlen == 7 && memcmp(name, "Release", 7) == 0) ||
        (nlen == 11 && memcmp(name, "Release.gpg", 11) == 0))
        return CACHE_CLASS_REVALIDATE;
    for (const char *const *x = index; *x; x++)
        if (starts_with(name, nlen, *x))
            return CACHE_CLASS_REVALIDATE;
    return CACHE_CLASS_DEFAULT;
}

const char *const apt_cache_keys[] = {"apt", "mirrors", NULL};

int apt_load(struct apt_profile *a, struct cache_rules *r, const config_setting_t *cache, char *err,
             size_t errlen)
{
    memset(a, 0, sizeof(*a));
    if (!cache || !config_setting_is_group(cache))
        return 0; /* cache = true, false or absent: no profile */
    if (config_get_bool(cache, "apt", &a->on, err, errlen) < 0 ||
        config_get_strings(cache, "mirrors", 0, &a->mirrors, &a->nmirrors, err, errlen) < 0)
        return -1;
    for (unsigned i = 0; i < a->nmirrors; i++) {
        char *name = hostname_config(a->mirrors[i]);
        if (!name) {
            for (char *p = a->mirrors[i]; *p; p++) /* named in lower case, as always */
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            config_error(err, errlen,
                         config_setting_get_elem(config_setting_get_member(cache, "mirrors"), i),
                         "'mirrors': '%s' is not a host name", a->mirrors[i]);
            return -1;
        }
        free(a->mirrors[i]);
        a->mirrors[i] = name;
    }
    if (!a->on)
        return 0;
    r->classify = apt_classify;
    if (r->stale_if_unreachable < 0)
        r->stale_if_unreachable = 7 * 86400; /* unless the policy says otherwise */
    return 0;
}

void apt_free(struct apt_profile *a)
{
    config_strings_free(a->mirrors);
    memset(a, 0, sizeof(*a));
}

const struct cache_rules *apt_rules_for(const struct apt_profile *a, const struct cache_rules *r,
                                        const char *host, size_t len)
{
    if (!r->enabled)
        return NULL;
    if (!a->on || !a->nmirrors)
        return r;
    for (unsigned i = 0; i < a->nmirrors; i++)
        if (strlen(a->mirrors[i]) == len && strncasecmp(a->mirrors[i], host, len) == 0)
            return r;
    return NULL;
}
