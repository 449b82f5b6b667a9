/* anonymity.c — header stripping per policy (see anonymity.h).  Works only
 * through the exchange's edit list; never touches the request bytes. */
#include "anonymity.h"
#include "config.h"
#include "exchange.h"
#include "hostname.h"
#include "util.h"

#include <stdlib.h>
#include <strings.h>

/* Fields that tell a site who the client is or what network it sits in. */
static const char *const revealing[] = {
    "X-Forwarded-For", "Forwarded",    "Via",         "From",       "Client-IP",
    "X-Client-IP",     "X-Real-IP",    "True-Client-IP", "X-Cluster-Client-IP",
    "X-Originating-IP", "X-Remote-IP", "X-Remote-Addr", "CF-Connecting-IP",
    "X-Forwarded-Host", "X-Forwarded-Server", "X-Proxy-ID", NULL};

static char **string_list(const config_setting_t *l, unsigned *n, const char *what, char *err,
                          size_t errlen)
{
    char **out;

    if (!config_setting_is_array(l) && !config_setting_is_list(l)) {
        config_error(err, errlen, l, "'%s' must be a list of strings", what);
        return NULL;
    }
    *n = (unsigned)config_setting_length(l);
    out = xcalloc(*n ? *n : 1, sizeof(char *));
    for (unsigned i = 0; i < *n; i++) {
        const char *s = config_setting_get_string_elem(l, (int)i);
        if (!s || !*s) {
            config_error(err, errlen, l, "'%s' entries must be non-empty strings", what);
            for (unsigned k = 0; k < i; k++)
                free(out[k]);
            free(out);
            return NULL;
        }
        out[i] = xstrdup(s);
    }
    return out;
}

int anonymity_load(struct anonymity *a, const config_setting_t *p, char *err, size_t errlen)
{
    const char *level = "off", *ua = "Mozilla/5.0";
    config_setting_t *s;

    memset(a, 0, sizeof(*a));
    if (config_get_string(p, "anonymity", &level, err, errlen) < 0 ||
        config_get_string(p, "user_agent", &ua, err, errlen) < 0)
        return -1;
    if (strcmp(level, "off") == 0)
        a->level = ANON_OFF;
    else if (strcmp(level, "standard") == 0)
        a->level = ANON_STANDARD;
    else if (strcmp(level, "strict") == 0)
        a->level = ANON_STRICT;
    else {
        config_error(err, errlen, config_setting_get_member(p, "anonymity"),
                     "unknown anonymity '%s' (off, standard, strict)", level);
        return -1;
    }
    a->user_agent = xstrdup(ua);
    if ((s = config_setting_get_member(p, "anonymity_remove")) &&
        !(a->remove = string_list(s, &a->nremove, "anonymity_remove", err, errlen)))
        return -1;
    if ((s = config_setting_get_member(p, "strip_cookies")) &&
        !(a->cookie_domains = string_list(s, &a->ncookie, "strip_cookies", err, errlen)))
        return -1;
    for (unsigned i = 0; i < a->ncookie; i++) { /* ".Tracker.Example." is tracker.example */
        char *name = hostname_config(a->cookie_domains[i]);
        if (!name) {
            config_error(err, errlen, config_setting_get_elem(s, i),
                         "'strip_cookies': '%s' is not a host name", a->cookie_domains[i]);
            return -1;
        }
        free(a->cookie_domains[i]);
        a->cookie_domains[i] = name;
    }
    if ((s = config_setting_get_member(p, "anonymity_replace"))) {
        /* ( ( "Accept-Language", "en" ), ... ) */
        if (!config_setting_is_list(s)) {
            config_error(err, errlen, s, "'anonymity_replace' must be ( ( \"Field\", \"value\" ), ... )");
            return -1;
        }
        a->nreplace = (unsigned)config_setting_length(s);
        a->replace = xcalloc(2 * (a->nreplace ? a->nreplace : 1), sizeof(char *));
        for (unsigned i = 0; i < a->nreplace; i++) {
            config_setting_t *pair = config_setting_get_elem(s, i);
            const char *name = pair ? config_setting_get_string_elem(pair, 0) : NULL;
            const char *value = pair ? config_setting_get_string_elem(pair, 1) : NULL;
            if (!name || !value || config_setting_length(pair) != 2) {
                config_error(err, errlen, pair ? pair : s,
                             "'anonymity_replace' entries are ( \"Field\", \"value\" )");
                return -1;
            }
            a->replace[2 * i] = xstrdup(name);
            a->replace[2 * i + 1] = xstrdup(value);
        }
    }
    return 0;
}

void anonymity_free(struct anonymity *a)
{
    for (unsigned i = 0; i < a->nremove; i++)
        free(a->remove[i]);
    for (unsigned i = 0; i < 2 * a->nreplace; i++)
        free(a->replace[i]);
    for (unsigned i = 0; i < a->ncookie; i++)
        free(a->cookie_domains[i]);
    free(a->remove);
    free(a->replace);
    free(a->cookie_domains);
    free(a->user_agent);
}

/* The host of a Referer URL, or NULL. */
static const char *referer_host(const char *v, size_t *len)
{
    const char *h = strstr(v, "://"), *end;

    if (!h)
        return NULL;
    h += 3;
    end = h + strcspn(h, "/:?#");
    *len = (size_t)(end - h);
    return h;
}

void anonymity_apply(const struct anonymity *a, struct exchange *ex, const char *host, size_t hostlen)
{
    char v[1024];
    size_t rl;
    const char *rh;

    if (a->level >= ANON_STANDARD) {
        for (const char *const *f = revealing; *f; f++)
            exchange_remove_field(ex, *f);
        exchange_omit_via(ex);
    }
    if (a->level == ANON_STRICT) {
        exchange_set_field(ex, "User-Agent", a->user_agent, strlen(a->user_agent));
        if (exchange_field(ex, "referer", v, sizeof(v)) >= 0 &&
            (!(rh = referer_host(v, &rl)) || rl != hostlen || strncasecmp(rh, host, hostlen) != 0))
            exchange_remove_field(ex, "Referer");
        for (unsigned i = 0; i < a->ncookie; i++)
            if (hostname_under(host, hostlen, a->cookie_domains[i], strlen(a->cookie_domains[i])))
                exchange_remove_field(ex, "Cookie");
    }
    for (unsigned i = 0; i < a->nremove; i++)
        exchange_remove_field(ex, a->remove[i]);
    for (unsigned i = 0; i < a->nreplace; i++)
        exchange_set_field(ex, a->replace[2 * i], a->replace[2 * i + 1], strlen(a->replace[2 * i + 1]));
}
