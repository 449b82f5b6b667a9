/* cache_conf.c — the cache's settings: the top-level `cache` section (the
 * store) and the `cache` setting of a route or a policy (its rules,
 * RFC 9213 target list included). */
#include "cache.h"
#include "cache_fleet.h"
#include "cache_targeted.h"
#include "config.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const store_keys[] = {"memory_mb",   "max_object_mb",     "lock_timeout",
                                         "purge_allow", "heuristic_percent", "heuristic_max",
                                         "disk_dir",    "disk_mb",           NULL};

/* Who may send PURGE when purge_allow is not set: this machine. */
static const char *const loopback[] = {"127.0.0.0/8", "::1/128", NULL};

int cache_conf_load(struct cache_conf *c, const config_setting_t *g, char *err, size_t errlen)
{
    long memory = 64, max_object = 16, percent = 10, hmax = 86400, disk = 1024;
    const char *disk_dir = NULL;
    uint32_t lock = 5000;

    c->purge_allow = acl_new();
    if (g && config_check_group(g, err, errlen, "'cache' must be a group { ... }") < 0)
        return -1;
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
    if (config_get_networks(g, "purge_allow", c->purge_allow, loopback, err, errlen) < 0)
        return -1;
    c->memory_bytes = (uint64_t)memory << 20;
    c->max_object_bytes = (uint64_t)max_object << 20;
    if (c->memory_bytes && c->max_object_bytes > c->memory_bytes / 4)
        c->max_object_bytes = c->memory_bytes / 4; /* one object never flushes the tier */
    c->lock_ms = lock;
    c->heuristic_percent = percent;
    c->heuristic_max = hmax;
    cache_fleet_subscribe();
    return 0;
}

void cache_conf_free(struct cache_conf *c)
{
    acl_free(c->purge_allow);
    c->purge_allow = NULL;
    free(c->disk_dir);
    c->disk_dir = NULL;
}

/* A rules group's keys: a policy's, and a route's, which adds its target list. */
static const char *const rule_keys[] = {
    "enabled", "key_query", "ttl", "bypass_cookies", "stale_if_unreachable", NULL};
static const char *const route_rule_keys[] = {
    "enabled",        "key_query", "ttl", "bypass_cookies", "stale_if_unreachable",
    "targeted_field", NULL};

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
    const char *one = t ? config_setting_get_string(t) : "CDN-Cache-Control";

    if (one) {
        /* the default, or one name; NULL-terminated, as config_get_strings' lists */
        r->targeted = xcalloc(2, sizeof(char *));
        r->targeted[0] = xstrdup(one);
        r->ntargeted = 1;
    } else if (config_get_strings(s, "targeted_field", 0, &r->targeted, &r->ntargeted, err,
                                  errlen) < 0) {
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

int cache_rules_load(struct cache_rules *r, const config_setting_t *s, int targets,
                     const char *const *own_keys, char *err, size_t errlen)
{
    long ttl = -1, stale = -1;

    memset(r, 0, sizeof(*r));
    r->include_query = 1;
    r->ttl = -1;
    r->stale_if_unreachable = -1;
    if (!s)
        return 0;
    if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
        r->enabled = config_setting_get_bool(s);
        return targets ? target_list(r, NULL, err, errlen) : 0;
    }
    if (config_check_group(s, err, errlen, "'cache' is true, false or a group { ... }") < 0)
        return -1;
    r->enabled = 1;
    if (config_check_keys(s, targets ? route_rule_keys : rule_keys, own_keys, err, errlen) < 0 ||
        config_get_bool(s, "enabled", &r->enabled, err, errlen) < 0 ||
        config_get_bool(s, "key_query", &r->include_query, err, errlen) < 0)
        return -1;
    if (config_get_int(s, "ttl", 0, 1000000000L, &ttl, err, errlen) < 0 ||
        config_get_int(s, "stale_if_unreachable", 0, 1000000000L, &stale, err, errlen) < 0)
        return -1;
    r->ttl = ttl;
    r->stale_if_unreachable = stale;
    if (targets && target_list(r, s, err, errlen) < 0)
        return -1;
    return config_get_strings(s, "bypass_cookies", 0, &r->bypass_cookies, &r->nbypass, err, errlen);
}

void cache_rules_free(struct cache_rules *r)
{
    config_strings_free(r->bypass_cookies);
    config_strings_free(r->targeted);
    memset(r, 0, sizeof(*r));
}
