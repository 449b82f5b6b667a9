/* protect_conf.c — the protections' configuration (see protect.h): the
 * `protection` section's keys (the table sizes, how IPv6 clients are
 * grouped), the named `rate_limits`, `deny_rules` (deny.c reads each rule)
 * and `bans` of a generation, and a place's references to them.  Using
 * them is protect.c's. */
#include "config.h"
#include "keytab.h"
#include "protect_int.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static const struct config_key protection_keys[] = {
    /* name, kind and field, range, default as README.md writes it */
    {"max_keys", CONFIG_U32(protection.max_keys), 1000, 100000000, "1000000", NULL, NULL, NULL},
    {"max_bans", CONFIG_U32(protection.max_bans), 16, 10000000, "10000", NULL, NULL, NULL},
    {"ipv6_prefix", CONFIG_U32(protection.ipv6_prefix), 1, 128, "64", NULL, NULL, NULL},
    {"ipv4_prefix", CONFIG_U32(protection.ipv4_prefix), 1, 32, "32", NULL, NULL, NULL},
    {0},
};

const struct config_section protection_section = {"protection", protection_keys};

static const char *const limit_keys[] = {"rate",   "per",       "burst",   "algorithm",
                                         "key",    "action",    "max_delay", "headers",
                                         "ipv6_prefix", "ipv4_prefix", "shared", NULL};
static const char *const ban_keys[] = {"events", "count", "within", "duration", "key",
                                       "ipv6_prefix", "ipv4_prefix", NULL};

/* ---- the process's tables ---- */

static struct keytab *table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static uint32_t table_keys = 1000000, table_bans = 10000;

static void make_tables(void)
{
    table = keytab_new(table_keys, NULL);
    bans_init(table_bans);
}

struct keytab *protect_table(void)
{
    pthread_once(&table_once, make_tables);
    return table;
}

/* ---- keys ---- */

/* key = "client" | "header:Name" | "cookie:name" | "user" | "route", and
 * the prefixes that group client addresses. */
static int load_key(const struct gh_config *c, struct pkey *k, const config_setting_t *g,
                    char *err, size_t errlen)
{
    const char *key = "client";
    long v6 = c->protection.ipv6_prefix, v4 = c->protection.ipv4_prefix;

    if (config_get_string(g, "key", &key, err, errlen) < 0 ||
        config_get_int(g, "ipv6_prefix", 1, 128, &v6, err, errlen) < 0 ||
        config_get_int(g, "ipv4_prefix", 1, 32, &v4, err, errlen) < 0)
        return -1;
    k->v6_bits = (uint8_t)v6;
    k->v4_bits = (uint8_t)v4;
    if (strcmp(key, "client") == 0)
        k->kind = PK_CLIENT;
    else if (strcmp(key, "user") == 0)
        k->kind = PK_USER;
    else if (strcmp(key, "route") == 0)
        k->kind = PK_ROUTE;
    else if (strncmp(key, "header:", 7) == 0 && key[7] && !strpbrk(key + 7, " :\t"))
        k->kind = PK_HEADER, k->name = xstrdup(key + 7);
    else if (strncmp(key, "cookie:", 7) == 0 && key[7] && !strpbrk(key + 7, " ;=\t"))
        k->kind = PK_COOKIE, k->name = xstrdup(key + 7);
    else {
        config_error(err, errlen, config_setting_get_member(g, "key"),
                     "'key' is \"client\", \"header:Name\", \"cookie:name\", \"user\" or "
                     "\"route\", not '%s'",
                     key);
        return -1;
    }
    return 0;
}

/* "prefix" followed by name, copied. */
static char *notef(const char *prefix, const char *name)
{
    char buf[160];

    gh_fmt(buf, sizeof(buf), "%s%s", prefix, name);
    return xstrdup(buf);
}

/* ---- rate_limits ---- */

static int load_algorithm(struct plimit *l, const config_setting_t *g, char *err, size_t errlen)
{
    const char *algo = "token_bucket", *act = "reject";
    uint32_t delay = 1000;

    if (config_get_string(g, "algorithm", &algo, err, errlen) < 0 ||
        config_get_string(g, "action", &act, err, errlen) < 0 ||
        config_get_seconds(g, "max_delay", 0.001, 60, &delay, err, errlen) < 0)
        return -1;
    if (strcmp(algo, "sliding_window") == 0)
        l->rule.sliding = 1;
    else if (strcmp(algo, "token_bucket") != 0) {
        config_error(err, errlen, config_setting_get_member(g, "algorithm"),
                     "'algorithm' is \"token_bucket\" or \"sliding_window\", not '%s'", algo);
        return -1;
    }
    if (strcmp(act, "delay") == 0 && !l->rule.sliding)
        l->rule.max_delay_us = (uint64_t)delay * 1000u;
    else if (strcmp(act, "reject") != 0 || l->rule.sliding) {
        config_error(err, errlen, config_setting_get_member(g, "action"),
                     strcmp(act, "delay") == 0
                         ? "'action' = \"delay\" needs the token bucket: a window has no turn to wait for"
                         : "'action' is \"reject\" or \"delay\", not '%s'",
                     act);
        return -1;
    }
    if (config_setting_get_member(g, "max_delay") && !l->rule.max_delay_us) {
        config_error(err, errlen, config_setting_get_member(g, "max_delay"),
                     "'max_delay' is for action = \"delay\"");
        return -1;
    }
    return 0;
}

static int load_limit(const struct gh_config *c, struct plimit *l, const config_setting_t *g,
                      char *err, size_t errlen)
{
    long rate = 0, burst = 0;
    uint32_t per = 1000;

    l->name = xstrdup(config_setting_name(g));
    if (config_check_group(g, err, errlen, "rate_limits '%s' must be a group { rate = 10; }",
                           l->name) < 0 ||
        config_check_keys(g, limit_keys, NULL, err, errlen) < 0 ||
        config_get_int(g, "rate", 1, 1000000000, &rate, err, errlen) < 0 ||
        config_get_int(g, "burst", 1, 1000000000, &burst, err, errlen) < 0 ||
        config_get_seconds(g, "per", 0.001, 31 * 86400, &per, err, errlen) < 0 ||
        config_get_bool(g, "headers", &l->headers, err, errlen) < 0 ||
        config_get_bool(g, "shared", &l->shared, err, errlen) < 0 ||
        load_algorithm(l, g, err, errlen) < 0 || load_key(c, &l->key, g, err, errlen) < 0)
        return -1;
    if (!rate) {
        config_error(err, errlen, g, "rate_limits '%s' needs 'rate' (requests per 'per' seconds)",
                     l->name);
        return -1;
    }
    if (l->shared && !c->fleet.address) {
        config_error(err, errlen, config_setting_get_member(g, "shared"),
                     "rate_limits '%s': 'shared' needs the fleet's store (fleet.address)", l->name);
        return -1;
    }
    l->fleet_ns = notef("fleet:", l->name);
    l->rule.rate = (uint32_t)rate;
    l->rule.burst = (uint32_t)(burst ? burst : rate);
    l->rule.per_us = (uint64_t)per * 1000u;
    l->note = notef("ratelimit:", l->name);
    l->why = notef("rate limit exceeded: ", l->name);
    l->st = pstats_get(PS_RATE, l->name);
    return 0;
}

/* ---- bans ---- */

static int load_events(struct pban *b, const config_setting_t *g, char *err, size_t errlen)
{
    static const char *const names[] = {"4xx", "denied", "auth", "limited", NULL};
    char **ev;
    unsigned n;

    if (config_get_strings(g, "events", CONFIG_NONEMPTY, &ev, &n, err, errlen) < 0)
        return -1;
    if (!ev) {
        config_error(err, errlen, g, "bans '%s' needs 'events' [ \"4xx\", \"denied\", \"auth\", "
                                     "\"limited\" ]", b->name);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned k;
        for (k = 0; names[k] && strcmp(names[k], ev[i]) != 0; k++)
            ;
        if (!names[k]) {
            config_error(err, errlen, config_setting_get_member(g, "events"),
                         "'events': '%s' is not \"4xx\", \"denied\", \"auth\" or \"limited\"",
                         ev[i]);
            config_strings_free(ev);
            return -1;
        }
        b->events |= 1u << k; /* PEV_4XX, PEV_DENIED, PEV_AUTH, PEV_LIMITED in that order */
    }
    config_strings_free(ev);
    return 0;
}

static int load_ban(const struct gh_config *c, struct pban *b, const config_setting_t *g,
                    char *err, size_t errlen)
{
    long count = 0;
    uint32_t within = 60000, duration = 600000;

    b->name = xstrdup(config_setting_name(g));
    if (config_check_group(g, err, errlen, "bans '%s' must be a group { events = [ \"4xx\" ]; "
                                           "count = 20; }", b->name) < 0 ||
        config_check_keys(g, ban_keys, NULL, err, errlen) < 0 ||
        load_events(b, g, err, errlen) < 0 ||
        config_get_int(g, "count", 1, 1000000, &count, err, errlen) < 0 ||
        config_get_seconds(g, "within", 0.001, 86400, &within, err, errlen) < 0 ||
        config_get_seconds(g, "duration", 0.001, 31 * 86400, &duration, err, errlen) < 0 ||
        load_key(c, &b->key, g, err, errlen) < 0)
        return -1;
    if (!count) {
        config_error(err, errlen, g, "bans '%s' needs 'count' (events that ban)", b->name);
        return -1;
    }
    b->rule = (struct ban_rule){b->name, (uint32_t)count, within, duration};
    b->note = notef("ban:", b->name);
    b->why = notef("banned by ", b->name);
    b->st = pstats_get(PS_BAN, b->name);
    return 0;
}

/* ---- the sections ---- */

/* Reads the group `name` of the root, each member with load(). */
static int each(struct gh_config *c, const config_setting_t *root, const char *name, void **arr,
                size_t size, unsigned *n,
                int (*load)(struct gh_config *c, void *item, const config_setting_t *g, char *err,
                            size_t errlen),
                char *err, size_t errlen)
{
    const config_setting_t *g = config_setting_get_member(root, name);

    if (!g)
        return 0;
    if (config_check_group(g, err, errlen, "'%s' must be a group { name = ...; }", name) < 0)
        return -1;
    *n = (unsigned)config_setting_length(g);
    *arr = xcalloc(*n ? *n : 1, size);
    for (unsigned i = 0; i < *n; i++)
        if (load(c, (char *)*arr + i * size, config_setting_get_elem(g, i), err, errlen) < 0)
            return -1;
    return 0;
}

static int limit_item(struct gh_config *c, void *item, const config_setting_t *g, char *err,
                      size_t errlen)
{
    return load_limit(c, item, g, err, errlen);
}

static int list_item(struct gh_config *c, void *item, const config_setting_t *g, char *err,
                     size_t errlen)
{
    return deny_list_load(c, item, g, err, errlen);
}

static int ban_item(struct gh_config *c, void *item, const config_setting_t *g, char *err,
                    size_t errlen)
{
    return load_ban(c, item, g, err, errlen);
}

int protect_conf_load(struct gh_config *c, const config_setting_t *root, char *err, size_t errlen)
{
    struct protect_conf *p = c->protect = xcalloc(1, sizeof(*p));
    static atomic_int sized;

    if (!atomic_exchange(&sized, 1)) { /* the first generation sizes the tables; a restart resizes */
        table_keys = c->protection.max_keys;
        table_bans = c->protection.max_bans;
    }
    p->geo = c->geo;
    if (each(c, root, "rate_limits", (void **)&p->limits, sizeof(*p->limits), &p->nlimits,
             limit_item, err, errlen) < 0 ||
        each(c, root, "deny_rules", (void **)&p->lists, sizeof(*p->lists), &p->nlists, list_item,
             err, errlen) < 0 ||
        each(c, root, "bans", (void **)&p->bans, sizeof(*p->bans), &p->nbans, ban_item, err,
             errlen) < 0)
        return -1;
    protect_table(); /* made now, by the thread that loads the first generation */
    protect_fleet_subscribe();
    return 0;
}

void protect_conf_free(struct gh_config *c)
{
    struct protect_conf *p = c->protect;

    if (!p)
        return;
    for (unsigned i = 0; i < p->nlimits; i++) {
        free(p->limits[i].name);
        free(p->limits[i].note);
        free(p->limits[i].why);
        free(p->limits[i].fleet_ns);
        free(p->limits[i].key.name);
    }
    for (unsigned i = 0; i < p->nlists; i++)
        deny_list_free(&p->lists[i]);
    for (unsigned i = 0; i < p->nbans; i++) {
        free(p->bans[i].name);
        free(p->bans[i].note);
        free(p->bans[i].why);
        free(p->bans[i].key.name);
    }
    free(p->limits);
    free(p->lists);
    free(p->bans);
    free(p);
    c->protect = NULL;
}

/* ---- a place's references ---- */

/* Resolves the names of the setting `key` of g against arr (items of size
 * bytes whose first member is their name). */
static int refs(const config_setting_t *g, const char *key, const void *arr, size_t size,
                unsigned n, const void ***out, unsigned *nout, char *err, size_t errlen)
{
    char **names;
    unsigned k;

    if (config_get_strings(g, key, 0, &names, nout, err, errlen) < 0)
        return -1;
    *out = *nout ? xcalloc(*nout, sizeof(void *)) : NULL;
    for (unsigned i = 0; i < *nout; i++) {
        for (k = 0; k < n && strcmp(*(char *const *)((const char *)arr + k * size), names[i]); k++)
            ;
        if (k == n) {
            config_error(err, errlen,
                         config_setting_get_elem(config_setting_get_member(g, key), i),
                         "'%s': '%s' is not defined in '%s'", key, names[i], key);
            config_strings_free(names);
            return -1;
        }
        (*out)[i] = (const char *)arr + k * size;
    }
    config_strings_free(names);
    return 0;
}

int protect_refs_load(const struct gh_config *c, const config_setting_t *g,
                      struct protect_refs *r, char *err, size_t errlen)
{
    const struct protect_conf *p = c->protect;

    memset(r, 0, sizeof(*r));
    if (!g)
        return 0;
    if (refs(g, "deny_rules", p->lists, sizeof(*p->lists), p->nlists, (const void ***)&r->lists,
             &r->nlists, err, errlen) < 0 ||
        refs(g, "bans", p->bans, sizeof(*p->bans), p->nbans, (const void ***)&r->bans, &r->nbans,
             err, errlen) < 0 ||
        refs(g, "rate_limits", p->limits, sizeof(*p->limits), p->nlimits,
             (const void ***)&r->limits, &r->nlimits, err, errlen) < 0)
        return -1;
    if (r->nbans > 1) {
        config_error(err, errlen, config_setting_get_member(g, "bans"),
                     "'bans': one ban rule per place (this listener's, and its route's or "
                     "policy's)");
        return -1;
    }
    return 0;
}

void protect_refs_free(struct protect_refs *r)
{
    free(r->lists);
    free(r->bans);
    free(r->limits);
    memset(r, 0, sizeof(*r));
}
