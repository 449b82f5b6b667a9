/* filter.c — the forward mode's content filter (see filter.h).  Owns the
 * named lists of a configuration generation and each policy's rules; the
 * matching itself is the rules engine's (rules.c). */
#include "filter.h"
#include "auth.h"
#include "log.h"
#include "rules.h"
#include "urlpath.h"
#include "util.h"

#include <stdlib.h>
#include <strings.h>

static const char *const list_keys[] = {"path", "format", NULL};
static const char *const rule_keys[] = {"clients", "users", "groups", "when", "block", "allow",
                                        "default", "block_types", "block_extensions",
                                        "safe_search", NULL};

/* ---- lists ---- */

static void warn_line(void *ctx, const char *msg)
{
    (void)ctx;
    log_warn("%s", msg);
}

static int parse_format(const char *s, enum rules_format *f)
{
    static const struct {
        const char *name;
        enum rules_format f;
    } names[] = {{"auto", RULES_AUTO},       {"domains", RULES_DOMAINS}, {"hosts", RULES_HOSTS},
                 {"adblock", RULES_ADBLOCK}, {"urls", RULES_URLS},       {"regex", RULES_REGEX}};

    for (unsigned i = 0; i < GH_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i].name) == 0) {
            *f = names[i].f;
            return 0;
        }
    return -1;
}

struct list_set *lists_load(const struct gh_config *cfg, config_t *file, char *err, size_t errlen)
{
    struct list_set *ls = xcalloc(1, sizeof(*ls));
    config_setting_t *g = config_lookup(file, "lists");

    if (!g)
        return ls;
    if (config_check_group(g, err, errlen,
                           "'lists' must be a group { name = { path = \"...\"; }; }") < 0)
        goto fail;
    ls->l = xcalloc((size_t)config_setting_length(g) + 1, sizeof(*ls->l));
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *lg = config_setting_get_elem(g, (unsigned)i);
        const char *path = NULL, *format = "auto";
        enum rules_format f;
        char *full, msg[512];
        if (config_check_group(lg, err, errlen, "list '%s' must be a group { path = \"...\"; }",
                               config_setting_name(lg)) < 0 ||
            config_check_keys(lg, list_keys, NULL, err, errlen) < 0 ||
            config_get_string(lg, "path", &path, err, errlen) < 0 ||
            config_get_string(lg, "format", &format, err, errlen) < 0)
            goto fail;
        if (!path) {
            config_error(err, errlen, lg, "list '%s' needs a 'path'", config_setting_name(lg));
            goto fail;
        }
        if (parse_format(format, &f) < 0) {
            config_error(err, errlen, config_setting_get_member(lg, "format"),
                         "unknown list format '%s' (auto, domains, hosts, adblock, urls, regex)", format);
            goto fail;
        }
        full = config_path(cfg, path);
        ls->l[ls->n] = rulelist_load(config_setting_name(lg), full, f, warn_line, NULL, msg, sizeof(msg));
        free(full);
        if (!ls->l[ls->n]) {
            config_error(err, errlen, config_setting_get_member(lg, "path"), "list '%s': %s",
                         config_setting_name(lg), msg);
            goto fail;
        }
        log_info("list '%s': %zu rules", config_setting_name(lg), rulelist_size(ls->l[ls->n]));
        ls->n++;
    }
    return ls;
fail:
    lists_free(ls);
    return NULL;
}

void lists_free(struct list_set *ls)
{
    if (!ls)
        return;
    for (unsigned i = 0; i < ls->n; i++)
        rulelist_free(ls->l[i]);
    free(ls->l);
    free(ls);
}

static struct rulelist *find_list(const struct list_set *ls, const char *name)
{
    for (unsigned i = 0; i < ls->n; i++)
        if (strcmp(rulelist_name(ls->l[i]), name) == 0)
            return ls->l[i];
    return NULL;
}

/* ---- rules ---- */

static int lists_of(const config_setting_t *g, const char *key, const struct list_set *ls,
                    struct rulelist ***out, unsigned *n, char *err, size_t errlen)
{
    char **names;
    unsigned count;
    int rc = config_get_strings(g, key, 0, &names, &count, err, errlen);

    *out = xcalloc(count + 1, sizeof(**out));
    *n = 0;
    for (unsigned i = 0; rc == 0 && i < count; i++) {
        (*out)[i] = find_list(ls, names[i]);
        if (!(*out)[i]) {
            config_error(err, errlen, config_setting_get_member(g, key),
                         "'%s' names list '%s', which is not defined in 'lists'", key, names[i]);
            rc = -1;
        } else {
            (*n)++;
        }
    }
    config_strings_free(names);
    return rc;
}

static int load_rule(struct filter_rule *r, const config_setting_t *g, const struct list_set *ls,
                     char *err, size_t errlen)
{
    const char *dflt = "allow";
    char **when = NULL;
    unsigned nwhen = 0;
    int rc = -1;

    if (config_check_group(g, err, errlen,
                           "each 'filter' entry must be a group { block = [ ... ]; }") < 0)
        return -1;
    if (config_check_keys(g, rule_keys, NULL, err, errlen) < 0 ||
        config_get_strings(g, "users", 0, &r->users, &r->nusers, err, errlen) < 0 ||
        config_get_strings(g, "groups", 0, &r->groups, &r->ngroups, err, errlen) < 0 ||
        config_get_strings(g, "block_types", 0, &r->types, &r->ntypes, err, errlen) < 0 ||
        config_get_strings(g, "block_extensions", 0, &r->extensions, &r->nextensions, err, errlen) <
            0 ||
        lists_of(g, "block", ls, &r->block, &r->nblock, err, errlen) < 0 ||
        lists_of(g, "allow", ls, &r->allow, &r->nallow, err, errlen) < 0 ||
        config_get_string(g, "default", &dflt, err, errlen) < 0 ||
        config_get_bool(g, "safe_search", &r->safe_search, err, errlen) < 0 ||
        config_get_strings(g, "when", 0, &when, &nwhen, err, errlen) < 0)
        goto out;
    if (strcmp(dflt, "allow") != 0 && strcmp(dflt, "block") != 0) {
        config_error(err, errlen, config_setting_get_member(g, "default"),
                     "'default' is \"allow\" or \"block\", not '%s'", dflt);
        goto out;
    }
    r->default_block = dflt[0] == 'b';
    r->when = xcalloc(nwhen + 1, sizeof(*r->when));
    for (unsigned i = 0; i < nwhen; i++) {
        char msg[256];
        if (window_parse(when[i], &r->when[i], msg, sizeof(msg)) < 0) {
            config_error(err, errlen, config_setting_get_member(g, "when"), "%s", msg);
            goto out;
        }
        r->nwhen++;
    }
    if (config_setting_get_member(g, "clients") &&
        config_get_networks(g, "clients", r->clients = acl_new(), NULL, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    config_strings_free(when);
    return rc;
}

int filter_load(struct filter *f, const config_setting_t *list, const struct list_set *ls,
                char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    if (!list)
        return 0;
    if (!config_setting_is_list(list)) {
        config_error(err, errlen, list, "'filter' must be a list ( { block = [ ... ]; }, ... )");
        return -1;
    }
    f->r = xcalloc((size_t)config_setting_length(list) + 1, sizeof(*f->r));
    for (int i = 0; i < config_setting_length(list); i++) {
        f->n++;
        if (load_rule(&f->r[i], config_setting_get_elem(list, (unsigned)i), ls, err, errlen) < 0)
            return -1;
    }
    return 0;
}

void filter_free(struct filter *f)
{
    for (unsigned i = 0; i < f->n; i++) {
        struct filter_rule *r = &f->r[i];
        acl_free(r->clients);
        config_strings_free(r->users);
        config_strings_free(r->groups);
        config_strings_free(r->types);
        config_strings_free(r->extensions);
        free(r->when);
        free(r->block);
        free(r->allow);
    }
    free(f->r);
    memset(f, 0, sizeof(*f));
}

/* ---- deciding ---- */

static int listed(char **names, unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static int applies(const struct filter_rule *r, const struct sockaddr_storage *client,
                   const char *user, const struct auth_groups *groups, const struct tm *now)
{
    int ok;

    if (r->clients && !acl_match(r->clients, client))
        return 0;
    if (r->nusers && !(user && listed(r->users, r->nusers, user)))
        return 0;
    if (r->ngroups) {
        ok = 0;
        for (unsigned i = 0; i < r->ngroups && user && !ok; i++)
            ok = auth_in_group(groups, user, r->groups[i]);
        if (!ok)
            return 0;
    }
    if (r->nwhen) {
        ok = 0;
        for (unsigned i = 0; i < r->nwhen && !ok; i++)
            ok = window_contains(&r->when[i], now);
        if (!ok)
            return 0;
    }
    return 1;
}

const struct filter_rule *filter_select(const struct filter *f, const struct sockaddr_storage *client,
                                        const char *user, const struct auth_groups *groups,
                                        const struct tm *now)
{
    for (unsigned i = 0; i < f->n; i++)
        if (applies(&f->r[i], client, user, groups, now))
            return &f->r[i];
    return NULL;
}

/* One reading of the request: allow lists, then block lists, then the
 * rule's default. */
static void decide(const struct filter_rule *r, const char *host, size_t hostlen, const char *path,
                   size_t pathlen, struct filter_verdict *v)
{
    const char *rule = NULL;

    for (unsigned i = 0; i < r->nallow; i++)
        if (rulelist_match(r->allow[i], host, hostlen, path, pathlen, &rule) != RULES_NONE) {
            v->block = 0;
            v->category = rulelist_name(r->allow[i]);
            v->rule = rule ? rule : "";
            return;
        }
    for (unsigned i = 0; i < r->nblock; i++) {
        enum rules_verdict m = rulelist_match(r->block[i], host, hostlen, path, pathlen, &rule);
        if (m == RULES_NONE)
            continue;
        v->block = m == RULES_BLOCK; /* an "@@" exception inside a block list allows */
        v->category = rulelist_name(r->block[i]);
        v->rule = rule ? rule : "";
        return;
    }
    v->block = r->default_block;
    v->category = "default";
    v->rule = "";
}

void filter_check(const struct filter_rule *r, const char *host, size_t hostlen, const char *path,
                  size_t pathlen, struct filter_verdict *v)
{
    size_t plen = pathlen;
    const char *q = pathlen ? memchr(path, '?', pathlen) : NULL, *why;
    char bare[URLPATH_MAX];
    struct filter_verdict v2;
    long n;

    decide(r, host, hostlen, path, pathlen, v);
    if (q)
        plen = (size_t)(q - path);
    if (v->block || !plen || !memchr(path, ';', plen))
        return;
    /* Tomcat and Jetty map "/secret;v=1/file" to /secret/file: a path with
     * parameters is judged that way too, and blocked if either reading is */
    n = urlpath_normalize(path, pathlen, URLPATH_VIEW | URLPATH_NO_PARAMS, bare, sizeof(bare), &why);
    if (n < 0)
        return; /* cannot happen: the view is longer than what it gives */
    decide(r, host, hostlen, bare, (size_t)n, &v2);
    if (v2.block)
        *v = v2;
}

/* Whether the extension ext[0..n) is one the rule refuses. */
static int refused_extension(const struct filter_rule *r, const char *ext, size_t n)
{
    for (unsigned i = 0; n && i < r->nextensions; i++) {
        const char *e = r->extensions[i] + (r->extensions[i][0] == '.');
        if (strlen(e) == n && strncasecmp(e, ext, n) == 0)
            return 1;
    }
    return 0;
}

int filter_refuses_extension(const struct filter_rule *r, const char *path, size_t len)
{
    const char *ext;
    size_t n = urlpath_extension(path, len, 0, &ext);

    if (refused_extension(r, ext, n))
        return 1;
    n = urlpath_extension(path, len, URLPATH_NO_PARAMS, &ext);
    return refused_extension(r, ext, n);
}

int filter_refuses_type(const struct filter_rule *r, const char *ctype, size_t len)
{
    size_t n = 0;

    while (n < len && ctype[n] != ';' && ctype[n] != ' ')
        n++;
    for (unsigned i = 0; i < r->ntypes; i++)
        if (strlen(r->types[i]) == n && strncasecmp(r->types[i], ctype, n) == 0)
            return 1;
    return 0;
}
