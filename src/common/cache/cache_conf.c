/* cache_conf.c — the cache's settings: the top-level `cache` section (the
 * store) and the `cache` setting of a route or a policy (its rules,
 * RFC 9213 target list included). */
#include "cache.h"
#include "cache_targeted.h"
#include "config.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const store_keys[] = {"memory_mb",   "max_object_mb",     "lock_timeout",
                                         "purge_allow", "heuristic_percent", "heuristic_max",
                                         "disk_dir",    "disk_mb",           NULL};

static int acl_list(struct acl *a, const config_setting_t *list, const char *what, char *err,
                    size_t errlen)
{
    char msg[200];

    if (!config_setting_is_array(list) && !config_setting_is_list(list)) {
        config_error(err, errlen, list, "'%s' must be a list of networks", what);
        return -1;
    }
    for (int i = 0; i < config_setting_length(list); i++) {
        const char *net = config_setting_get_string_elem(list, i);
        if (!net || acl_add(a, net, msg, sizeof(msg)) < 0) {
            config_error(err, errlen, list, "'%s': %s", what,
                         net ? msg : "entries are networks such as \"10.0.0.0/8\"");
            return -1;
        }
    }
    return 0;
}

int cache_conf_load(struct cache_conf *c, const config_setting_t *g, char *err, size_t errlen)
{
    long memory = 64, max_object = 16, percent = 10, hmax = 86400, disk = 1024;
    const char *disk_dir = NULL;
    uint32_t lock = 5000;
    const config_setting_t *pa;
    char msg[100];

    c->purge_allow = acl_new();
    if (g && !config_setting_is_group(g)) {
        config_error(err, errlen, g, "'cache' must be a group { ... }");
        return -1;
    }
    if (g && (config_check_keys(g, store_keys, NULL, err, errlen) < 0 ||
              config_get_int(g, "memory_mb", 0, 1L << 20, &memory, err, errlen) < 0 ||
              config_get_int(g, "max_object_mb", 1, 1L << 20, &max_object, err, errlen) < 0 ||
              config_get_seconds(g, "lock_timeout", 0, 600, &lock, err, errlen) < 0 ||
              config_get_int(g, "heuristic_percent", 0, 100, &percent, err, errlen) < 0 ||
              config_get_int(g, "heuristic_max", 0, 1L << 30, &hmax, err, errlen) < 0 ||
              config_get_string(g, "disk_dir", &disk_dir, err, errlen) < 0 ||
              config_get_int(g, "disk_mb", 1, 1L << 30, &disk, err, errlen) < 0))
        return -1;
    if (disk_dir && disk_dir[0] != '/') {
        config_error(err, errlen, config_setting_get_member(g, "disk_dir"),
                     "'disk_dir' must be an absolute path");
        return -1;
    }
    c->disk_dir = disk_dir ? xstrdup(disk_dir) : NULL;
    c->disk_bytes = (uint64_t)disk << 20;
    pa = g ? config_setting_get_member(g, "purge_allow") : NULL;
    if (pa) {
        if (acl_list(c->purge_allow, pa, "purge_allow", err, errlen) < 0)
            return -1;
    } else {
        acl_add(c->purge_allow, "127.0.0.0/8", msg, sizeof(msg));
        acl_add(c->purge_allow, "::1/128", msg, sizeof(msg));
    }
    c->memory_bytes = (uint64_t)memory << 20;
    c->max_object_bytes = (uint64_t)max_object << 20;
    if (c->memory_bytes && c->max_object_bytes > c->memory_bytes / 4)
        c->max_object_bytes = c->memory_bytes / 4; /* one object never flushes the tier */
    c->lock_ms = lock;
    c->heuristic_percent = percent;
    c->heuristic_max = hmax;
    return 0;
}

void cache_conf_free(struct cache_conf *c)
{
    acl_free(c->purge_allow);
    c->purge_allow = NULL;
    free(c->disk_dir);
    c->disk_dir = NULL;
}

static const char *const rule_keys[] = {
    "enabled", "key_query", "ttl", "bypass_cookies", "stale_if_unreachable", NULL};
static const char *const forward_keys[] = {"apt", "mirrors", NULL};
static const char *const route_keys[] = {"targeted_field", NULL};

/* Copies a list of strings; returns 0 or -1 with err. */
static int string_list(const config_setting_t *list, const char *what, char ***out, unsigned *n,
                       char *err, size_t errlen)
{
    if (!config_setting_is_array(list) && !config_setting_is_list(list)) {
        config_error(err, errlen, list, "'%s' must be a list of strings", what);
        return -1;
    }
    *n = (unsigned)config_setting_length(list);
    *out = xcalloc(*n ? *n : 1, sizeof(char *));
    for (unsigned i = 0; i < *n; i++) {
        const char *v = config_setting_get_string_elem(list, (int)i);
        if (!v || !*v) {
            config_error(err, errlen, list, "'%s' entries are non-empty strings", what);
            return -1;
        }
        (*out)[i] = xstrdup(v);
    }
    return 0;
}

/* A field name: one token (RFC 9110 section 5.1). */
static int field_name(const char *s)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";

    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(tchar, *p)))
            return 0;
    return *s != '\0';
}

/* targeted_field: a name or a list of names (RFC 9213's target list). */
static int target_list(struct cache_rules *r, const config_setting_t *s, char *err, size_t errlen)
{
    const config_setting_t *t = s ? config_setting_get_member(s, "targeted_field") : NULL;
    const char *one;

    if (!t) {
        r->targeted = xcalloc(1, sizeof(char *));
        r->targeted[0] = xstrdup("CDN-Cache-Control");
        r->ntargeted = 1;
        return 0;
    }
    if ((one = config_setting_get_string(t))) {
        r->targeted = xcalloc(1, sizeof(char *));
        r->targeted[0] = xstrdup(one);
        r->ntargeted = 1;
    } else if (string_list(t, "targeted_field", &r->targeted, &r->ntargeted, err, errlen) < 0) {
        return -1;
    }
    if (r->ntargeted > CACHE_TARGETS_MAX) {
        config_error(err, errlen, t, "'targeted_field' names at most %d fields", CACHE_TARGETS_MAX);
        return -1;
    }
    for (unsigned i = 0; i < r->ntargeted; i++)
        if (!field_name(r->targeted[i])) {
            config_error(err, errlen, t, "'targeted_field': \"%s\" is not a field name",
                         r->targeted[i]);
            return -1;
        }
    return 0;
}

int cache_rules_load(struct cache_rules *r, const config_setting_t *s, int forward, char *err,
                     size_t errlen)
{
    const config_setting_t *m;
    long ttl = -1, stale = -1;

    memset(r, 0, sizeof(*r));
    r->include_query = 1;
    r->ttl = -1;
    r->stale_if_unreachable = -1;
    if (!s)
        return 0;
    if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
        r->enabled = config_setting_get_bool(s);
        return forward ? 0 : target_list(r, NULL, err, errlen);
    }
    if (!config_setting_is_group(s)) {
        config_error(err, errlen, s, "'cache' is true, false or a group { ... }");
        return -1;
    }
    r->enabled = 1;
    if (config_check_keys(s, rule_keys, forward ? forward_keys : route_keys, err, errlen) < 0 ||
        config_get_bool(s, "enabled", &r->enabled, err, errlen) < 0 ||
        config_get_bool(s, "key_query", &r->include_query, err, errlen) < 0 ||
        (forward && config_get_bool(s, "apt", &r->apt, err, errlen) < 0))
        return -1;
    if (config_get_int(s, "ttl", 0, 1000000000L, &ttl, err, errlen) < 0 ||
        config_get_int(s, "stale_if_unreachable", 0, 1000000000L, &stale, err, errlen) < 0)
        return -1;
    r->ttl = ttl;
    r->stale_if_unreachable = stale;
    if (!forward && target_list(r, s, err, errlen) < 0)
        return -1;
    if ((m = config_setting_get_member(s, "bypass_cookies")) &&
        string_list(m, "bypass_cookies", &r->bypass_cookies, &r->nbypass, err, errlen) < 0)
        return -1;
    if (forward && (m = config_setting_get_member(s, "mirrors"))) {
        if (string_list(m, "mirrors", &r->mirrors, &r->nmirrors, err, errlen) < 0)
            return -1;
        for (unsigned i = 0; i < r->nmirrors; i++)
            for (char *p = r->mirrors[i]; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    return 0;
}

void cache_rules_free(struct cache_rules *r)
{
    for (unsigned i = 0; i < r->nbypass; i++)
        free(r->bypass_cookies[i]);
    free(r->bypass_cookies);
    for (unsigned i = 0; i < r->nmirrors; i++)
        free(r->mirrors[i]);
    free(r->mirrors);
    for (unsigned i = 0; i < r->ntargeted; i++)
        free(r->targeted[i]);
    free(r->targeted);
    memset(r, 0, sizeof(*r));
}
