/* deny.c — deny and allow rules: parsing a list and judging a request
 * (see deny.h).  Owns each rule's compiled patterns, network sets and
 * lists of words.  The request's normal forms and its client's place come
 * from the view (protect.c), made once however many rules ask. */
#include "deny.h"
#include "config.h"
#include "exchange.h"
#include "hostname.h"
#include "iptrie.h"
#include "log.h"
#include "protect_int.h"
#include "util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>

/* Bounds a pattern's backtracking so one hostile request cannot pin a
 * worker; a match that hits the limit counts as no match. */
#define REGEX_MATCH_LIMIT 1000000

static const char *const rule_keys[] = {
    "name",       "action", "method",  "path_prefix", "path",     "query",         "host",
    "header",     "value",  "user_agent", "country",  "continent", "networks",     "networks_file",
    NULL};

/* ---- reading a rule ---- */

/* A string or a list of them, into a NULL-terminated array (NULL, 0 when
 * absent). */
static int words(const config_setting_t *g, const char *key, char ***out, unsigned *n, char *err,
                 size_t errlen)
{
    const config_setting_t *s = config_setting_get_member(g, key);

    *out = NULL;
    *n = 0;
    if (s && config_setting_type(s) == CONFIG_TYPE_STRING) {
        if (!*config_setting_get_string(s)) {
            config_error(err, errlen, s, "'%s' must not be empty", key);
            return -1;
        }
        *out = xcalloc(2, sizeof(char *));
        (*out)[0] = xstrdup(config_setting_get_string(s));
        *n = 1;
        return 0;
    }
    if (config_get_strings(g, key, CONFIG_NONEMPTY, out, n, err, errlen) < 0) {
        if (s) /* the shape wanted, with the one-string form */
            config_error(err, errlen, s, "'%s' must be a string or a non-empty list of strings",
                         key);
        return -1;
    }
    return 0;
}

static pcre2_code *pattern(const config_setting_t *g, const char *key, char *err, size_t errlen,
                           int *bad)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    const char *text;
    PCRE2_SIZE off;
    pcre2_code *re;
    int code;

    if (!s)
        return NULL;
    if (config_setting_type(s) != CONFIG_TYPE_STRING || !*(text = config_setting_get_string(s))) {
        config_error(err, errlen, s, "'%s' must be a pattern (a PCRE2 regular expression)", key);
        *bad = 1;
        return NULL;
    }
    re = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR why[160];
        pcre2_get_error_message(code, why, sizeof(why));
        config_error(err, errlen, s, "'%s': %s at offset %zu", key, (const char *)why, (size_t)off);
        *bad = 1;
        return NULL;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT the interpreter runs it */
    return re;
}

/* country = [ "DE", "FR" ], continent = [ "EU" ]: two-letter codes. */
static int codes(const config_setting_t *g, const char *key, char (**out)[3], unsigned *n,
                 char *err, size_t errlen)
{
    char **w;

    if (words(g, key, &w, n, err, errlen) < 0)
        return -1;
    *out = *n ? xcalloc(*n, sizeof(**out)) : NULL;
    for (unsigned i = 0; i < *n; i++) {
        if (strlen(w[i]) != 2 || !isalpha((unsigned char)w[i][0]) ||
            !isalpha((unsigned char)w[i][1])) {
            config_error(err, errlen, config_setting_get_member(g, key),
                         "'%s': '%s' is not a two-letter code", key, w[i]);
            config_strings_free(w);
            return -1;
        }
        (*out)[i][0] = (char)toupper((unsigned char)w[i][0]);
        (*out)[i][1] = (char)toupper((unsigned char)w[i][1]);
    }
    config_strings_free(w);
    return 0;
}

/* networks = [ ... ] and networks_file = "path" (or a list): one set. */
static int networks(const struct gh_config *c, struct deny_rule *r, const config_setting_t *g,
                    char *err, size_t errlen)
{
    char **list, **files, msg[512];
    unsigned n, nf;
    int rc = -1;

    if (words(g, "networks", &list, &n, err, errlen) < 0)
        return -1;
    if (words(g, "networks_file", &files, &nf, err, errlen) < 0) {
        config_strings_free(list);
        return -1;
    }
    if (n || nf)
        r->nets = iptrie_new();
    for (unsigned i = 0; i < n; i++)
        if (iptrie_add(r->nets, list[i], msg, sizeof(msg)) < 0) {
            config_error(err, errlen, config_setting_get_member(g, "networks"), "'networks': %s",
                         msg);
            goto out;
        }
    for (unsigned i = 0; i < nf; i++) {
        char *path = config_path(c, files[i]);
        long got = iptrie_add_file(r->nets, path, msg, sizeof(msg));
        free(path);
        if (got < 0) {
            config_error(err, errlen, config_setting_get_member(g, "networks_file"), "%s", msg);
            goto out;
        }
    }
    rc = 0;
out:
    config_strings_free(list);
    config_strings_free(files);
    return rc;
}

/* path_prefix entries, kept in the normal form paths are judged in. */
static int prefixes(struct deny_rule *r, const config_setting_t *g, char *err, size_t errlen)
{
    if (words(g, "path_prefix", &r->prefixes, &r->nprefixes, err, errlen) < 0)
        return -1;
    for (unsigned i = 0; i < r->nprefixes; i++) {
        char norm[URLPATH_MAX];
        const char *why = NULL;
        long n;
        if (r->prefixes[i][0] != '/' || strchr(r->prefixes[i], '?') ||
            (n = urlpath_normalize(r->prefixes[i], strlen(r->prefixes[i]), URLPATH_VIEW, norm,
                                   sizeof(norm), &why)) < 0) {
            config_error(err, errlen, config_setting_get_member(g, "path_prefix"),
                         "'path_prefix': '%s' is not a path (\"/admin/\")", r->prefixes[i]);
            return -1;
        }
        free(r->prefixes[i]);
        r->prefixes[i] = xstrndup(norm, (size_t)n);
    }
    return 0;
}

/* host entries in hostname.h's normal form ("Example.ORG." is example.org). */
static int hosts(struct deny_rule *r, const config_setting_t *g, char *err, size_t errlen)
{
    if (words(g, "host", &r->hosts, &r->nhosts, err, errlen) < 0)
        return -1;
    for (unsigned i = 0; i < r->nhosts; i++) {
        char *h = hostname_config(r->hosts[i]);
        if (!h) {
            config_error(err, errlen, config_setting_get_member(g, "host"),
                         "'host': '%s' is not a host name", r->hosts[i]);
            return -1;
        }
        free(r->hosts[i]);
        r->hosts[i] = h;
    }
    return 0;
}

static int action(struct deny_rule *r, const config_setting_t *g, char *err, size_t errlen)
{
    const char *a = "deny";

    if (config_get_string(g, "action", &a, err, errlen) < 0)
        return -1;
    if (strcmp(a, "deny") == 0)
        r->action = DENY_DENY;
    else if (strcmp(a, "close") == 0)
        r->action = DENY_CLOSE;
    else if (strcmp(a, "allow") == 0)
        r->action = DENY_ALLOW;
    else {
        config_error(err, errlen, config_setting_get_member(g, "action"),
                     "'action' is \"deny\", \"close\" or \"allow\", not '%s'", a);
        return -1;
    }
    return 0;
}

/* The name, the log's notes and the counters. */
static int naming(struct deny_rule *r, const config_setting_t *g, const char *list, unsigned i,
                  char *err, size_t errlen)
{
    static const char *const verb[] = {"deny", "close", "allow"};
    const char *name = NULL;
    char buf[160];

    if (config_get_string(g, "name", &name, err, errlen) < 0)
        return -1;
    if (name && (!*name || strpbrk(name, " \t\r\n\"\\"))) {
        config_error(err, errlen, config_setting_get_member(g, "name"),
                     "'name' is one word without quotes");
        return -1;
    }
    if (name)
        r->name = xstrdup(name);
    else {
        gh_fmt(buf, sizeof(buf), "%s#%u", list, i + 1);
        r->name = xstrdup(buf);
    }
    gh_fmt(buf, sizeof(buf), "%s:%s", verb[r->action], r->name);
    r->note = xstrdup(buf);
    gh_fmt(buf, sizeof(buf), "%s by rule %s", r->action == DENY_CLOSE ? "closed" : "denied",
           r->name);
    r->why = xstrdup(buf);
    r->st = pstats_get(PS_DENY, r->name);
    return 0;
}

static int load_rule(const struct gh_config *c, struct deny_rule *r, const config_setting_t *g,
                     const char *list, unsigned i, char *err, size_t errlen)
{
    const char *header = NULL;
    int bad = 0;

    if (config_check_group(g, err, errlen, "deny_rules '%s': each rule is a group { ... }",
                           list) < 0 ||
        config_check_keys(g, rule_keys, NULL, err, errlen) < 0 || action(r, g, err, errlen) < 0 ||
        naming(r, g, list, i, err, errlen) < 0 ||
        words(g, "method", &r->methods, &r->nmethods, err, errlen) < 0 ||
        prefixes(r, g, err, errlen) < 0 || hosts(r, g, err, errlen) < 0 ||
        codes(g, "country", &r->countries, &r->ncountries, err, errlen) < 0 ||
        codes(g, "continent", &r->continents, &r->ncontinents, err, errlen) < 0 ||
        config_get_string(g, "header", &header, err, errlen) < 0)
        return -1;
    r->header = header ? xstrdup(header) : NULL;
    r->path = pattern(g, "path", err, errlen, &bad);
    if (!bad)
        r->query = pattern(g, "query", err, errlen, &bad);
    if (!bad)
        r->agent = pattern(g, "user_agent", err, errlen, &bad);
    if (!bad)
        r->value = pattern(g, "value", err, errlen, &bad);
    if (bad || networks(c, r, g, err, errlen) < 0)
        return -1;
    if (r->value && !r->header) {
        config_error(err, errlen, config_setting_get_member(g, "value"),
                     "'value' is a pattern for the field that 'header' names");
        return -1;
    }
    if ((r->ncountries || r->ncontinents) && !c->geo) {
        config_error(err, errlen, g, "rule %s: 'country' and 'continent' need geo = { database "
                                     "= \"...mmdb\"; }", r->name);
        return -1;
    }
    if (!r->nmethods && !r->nprefixes && !r->nhosts && !r->path && !r->query && !r->agent &&
        !r->header && !r->ncountries && !r->ncontinents && !r->nets) {
        config_error(err, errlen, g,
                     "rule %s matches nothing in particular: give it a criterion (for every "
                     "client, networks = [ \"0.0.0.0/0\", \"::/0\" ])",
                     r->name);
        return -1;
    }
    return 0;
}

int deny_list_load(const struct gh_config *c, struct deny_list *l, const config_setting_t *s,
                   char *err, size_t errlen)
{
    l->name = xstrdup(config_setting_name(s));
    if (!config_setting_is_list(s)) {
        config_error(err, errlen, s, "deny_rules '%s' must be a list ( { ... }, { ... } )",
                     l->name);
        return -1;
    }
    l->n = (unsigned)config_setting_length(s);
    l->r = xcalloc(l->n ? l->n : 1, sizeof(*l->r));
    for (unsigned i = 0; i < l->n; i++)
        if (load_rule(c, &l->r[i], config_setting_get_elem(s, i), l->name, i, err, errlen) < 0)
            return -1;
    return 0;
}

void deny_list_free(struct deny_list *l)
{
    for (unsigned i = 0; i < l->n; i++) {
        struct deny_rule *r = &l->r[i];
        free(r->name);
        free(r->note);
        free(r->why);
        free(r->header);
        config_strings_free(r->methods);
        config_strings_free(r->prefixes);
        config_strings_free(r->hosts);
        pcre2_code_free(r->path);
        pcre2_code_free(r->query);
        pcre2_code_free(r->agent);
        pcre2_code_free(r->value);
        free(r->countries);
        free(r->continents);
        iptrie_free(r->nets);
    }
    free(l->r);
    free(l->name);
}

/* ---- judging ---- */

/* Each worker's match data and context, made on first use. */
struct matcher {
    pcre2_match_data *md;
    pcre2_match_context *mc;
};
static pthread_key_t matcher_key;
static pthread_once_t matcher_once = PTHREAD_ONCE_INIT;

static void matcher_free(void *p)
{
    struct matcher *m = p;

    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->mc);
    free(m);
}

static void make_key(void)
{
    pthread_key_create(&matcher_key, matcher_free);
}

static int matches(const pcre2_code *re, const char *s, size_t len)
{
    struct matcher *m;

    pthread_once(&matcher_once, make_key);
    m = pthread_getspecific(matcher_key);
    if (!m) {
        m = xcalloc(1, sizeof(*m));
        m->md = pcre2_match_data_create(1, NULL);
        m->mc = pcre2_match_context_create(NULL);
        if (!m->md || !m->mc)
            log_fatal("out of memory");
        pcre2_set_match_limit(m->mc, REGEX_MATCH_LIMIT);
        pthread_setspecific(matcher_key, m);
    }
    return pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, m->md, m->mc) >= 0;
}

static int method_in(const struct deny_rule *r, const struct http_head *h, const char *base)
{
    for (unsigned i = 0; i < r->nmethods; i++)
        if (strlen(r->methods[i]) == h->method.len &&
            memcmp(r->methods[i], base + h->method.off, h->method.len) == 0)
            return 1;
    return 0;
}

/* A field named r->header present (and, with `value`, one whose value
 * matches). */
static int header_in(const struct deny_rule *r, const struct http_head *h, const char *base)
{
    for (int i = http1_find(h, base, r->header, 0); i >= 0; i = http1_find(h, base, r->header, i + 1))
        if (!r->value || matches(r->value, base + h->fields[i].value.off, h->fields[i].value.len))
            return 1;
    return 0;
}

static int agent_in(const struct deny_rule *r, const struct http_head *h, const char *base)
{
    int i = http1_find(h, base, "user-agent", 0);

    if (i < 0)
        return matches(r->agent, "", 0); /* no User-Agent is the empty one */
    return matches(r->agent, base + h->fields[i].value.off, h->fields[i].value.len);
}

static int host_in(const struct deny_rule *r, const struct protect_view *v)
{
    for (unsigned i = 0; i < r->nhosts; i++)
        if (hostname_under(v->host, v->hostlen, r->hosts[i], strlen(r->hosts[i])))
            return 1;
    return 0;
}

static int prefix_in(const struct deny_rule *r, const struct protect_view *v)
{
    for (unsigned i = 0; i < r->nprefixes; i++) {
        size_t n = strlen(r->prefixes[i]);
        if (n <= v->pathlen && memcmp(v->norm, r->prefixes[i], n) == 0)
            return 1;
    }
    return 0;
}

static int place_in(const struct deny_rule *r, struct protect_view *v)
{
    protect_view_geo(v);
    for (unsigned i = 0; i < r->ncountries; i++)
        if (memcmp(r->countries[i], v->country, 3) == 0)
            return 1;
    for (unsigned i = 0; i < r->ncontinents; i++)
        if (memcmp(r->continents[i], v->continent, 3) == 0)
            return 1;
    return 0;
}

/* Whether every criterion of r holds, the cheap ones first. */
static int rule_matches(const struct deny_rule *r, struct protect_view *v)
{
    const struct http_head *h = exchange_request(v->ex);
    const char *base = exchange_base(v->ex);

    if (r->nmethods && !method_in(r, h, base))
        return 0;
    if (r->nets && !iptrie_match(r->nets, &v->client))
        return 0;
    if (r->header && !header_in(r, h, base))
        return 0;
    if (r->nhosts && !host_in(r, v))
        return 0;
    if ((r->nprefixes || r->path || r->query) && protect_view_norm(v) < 0)
        return 0;
    if (r->nprefixes && !prefix_in(r, v))
        return 0;
    if (r->agent && !agent_in(r, h, base))
        return 0;
    if (r->path && !matches(r->path, v->norm, v->pathlen))
        return 0;
    if (r->query) {
        size_t q = v->pathlen < (size_t)v->normlen ? v->pathlen + 1 : v->pathlen;
        if (!matches(r->query, v->norm + q, (size_t)v->normlen - q))
            return 0;
    }
    if ((r->ncountries || r->ncontinents) && !place_in(r, v))
        return 0;
    return 1;
}

const struct deny_rule *deny_judge(const struct deny_list *l, struct protect_view *v,
                                   const struct deny_rule **allow)
{
    const struct deny_rule *deny = NULL;

    *allow = NULL;
    for (unsigned i = 0; i < l->n; i++) {
        const struct deny_rule *r = &l->r[i];
        if ((deny && r->action != DENY_ALLOW) || !rule_matches(r, v))
            continue;
        if (r->action == DENY_ALLOW) {
            *allow = r;
            return deny;
        }
        deny = r;
    }
    return deny;
}
