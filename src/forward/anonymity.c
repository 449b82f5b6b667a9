/* anonymity.c — header stripping per policy (see anonymity.h).  Owns the
 * table of revealing fields and the reading of Referer.  Works only through
 * the exchange's edits; never touches the request bytes. */
#include "anonymity.h"
#include "config.h"
#include "exchange.h"
#include "hostname.h"
#include "util.h"

#include <stdlib.h>
#include <strings.h>

/* The fields `standard` removes: those that tell a site who the client is
 * or what network it sits in.  Servers and frameworks read the client's
 * address from any of them (X-Forwarded-For and Forwarded are the common
 * ones; the others are those of load balancers, CDNs and application
 * servers: Akamai, Cloudflare, Fastly, Fly, Google, Azure, Envoy, WebLogic,
 * Rackspace...).  The README prints exactly this table, and a unit test
 * holds them together. */
static const char *const revealing[] = {
    "X-Forwarded-For",   "Forwarded",          "X-Forwarded",          "Forwarded-For",
    "Forwarded-For-IP",  "X-Forwarded-For-Original", "X-Original-Forwarded-For",
    "X-Real-IP",         "X-Real-Client-IP",   "Client-IP",            "X-Client-IP",
    "True-Client-IP",    "X-Cluster-Client-IP", "Proxy-Client-IP",     "WL-Proxy-Client-IP",
    "X-ProxyUser-Ip",    "X-Originating-IP",   "X-Remote-IP",          "X-Remote-Addr",
    "CF-Connecting-IP",  "CF-Connecting-IPv6", "CF-Pseudo-IPv4",       "Fastly-Client-IP",
    "Fly-Client-IP",     "X-Appengine-User-IP", "X-Azure-ClientIP",    "X-Azure-SocketIP",
    "X-Envoy-External-Address", "HTTP_CLIENT_IP", "HTTP_X_FORWARDED_FOR",
    "Via",               "From",               "X-Forwarded-Host",     "X-Forwarded-Server",
    "X-Proxy-ID",        NULL};

const char *const *anonymity_standard_fields(void)
{
    return revealing;
}

/* A byte of a field name as servers compare it: lower case, '_' read as
 * '-' (CGI turns both into the same variable). */
static char server_byte(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c == '_' ? '-' : c;
}

/* Whether a request field is one of the table's, in any spelling a server
 * would take for it.  Runs for every field of every request in standard
 * mode: most names differ from an entry at the first byte. */
static int is_revealing(const char *name, size_t len)
{
    for (const char *const *r = revealing; *r; r++) {
        size_t i = 0;
        while (i < len && (*r)[i] && server_byte(name[i]) == server_byte((*r)[i]))
            i++;
        if (i == len && (*r)[i] == '\0')
            return 1;
    }
    return 0;
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
    if (config_get_strings(p, "anonymity_remove", 0, &a->remove, &a->nremove, err, errlen) < 0 ||
        config_get_strings(p, "strip_cookies", 0, &a->cookie_domains, &a->ncookie, err, errlen) < 0)
        return -1;
    for (unsigned i = 0; i < a->ncookie; i++) { /* ".Tracker.Example." is tracker.example */
        char *name = hostname_config(a->cookie_domains[i]);
        if (!name) {
            config_error(err, errlen,
                         config_setting_get_elem(config_setting_get_member(p, "strip_cookies"), i),
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
    config_strings_free(a->remove);
    for (unsigned i = 0; i < 2 * a->nreplace; i++)
        free(a->replace[i]);
    free(a->replace);
    config_strings_free(a->cookie_domains);
    free(a->user_agent);
}

/* The host of an absolute http(s) URL, as a server parsing the Referer
 * would find it: "scheme://host[:port]" then '/', '?', '#' or the end.
 * Returns the host's length (brackets kept for an IPv6 literal) with *h
 * set, or -1 for anything a server could read two ways or that a user
 * agent must not send: no "://", another scheme, user info (RFC 9110
 * 10.1.3 forbids it, and it may carry a password), a '\\' in the
 * authority (browsers read it as '/', other parsers do not), whitespace or
 * control bytes, an empty host, a bracketed host that is no IPv6 literal,
 * or a port that is not a number up to 65535. */
static int url_host(const char *v, size_t len, const char **h)
{
    const char *p, *end = v + len, *a, *host_end;
    size_t sl;
    unsigned long port = 0;

    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f)
            return -1;
    if (len > 8 && strncasecmp(v, "https://", 8) == 0)
        sl = 8;
    else if (len > 7 && strncasecmp(v, "http://", 7) == 0)
        sl = 7;
    else
        return -1;
    a = v + sl;
    p = a;
    while (p < end && *p != '/' && *p != '?' && *p != '#') {
        if (*p == '\\' || *p == '@')
            return -1;
        p++;
    }
    if (*a == '[') {
        host_end = memchr(a, ']', (size_t)(p - a));
        if (!host_end || !memchr(a, ':', (size_t)(host_end - a)))
            return -1;
        host_end++;
    } else {
        host_end = memchr(a, ':', (size_t)(p - a));
        if (!host_end)
            host_end = p;
    }
    if (host_end == a)
        return -1;
    if (host_end < p) { /* ":port", possibly empty (RFC 3986 3.2.3) */
        if (*host_end != ':')
            return -1;
        for (const char *d = host_end + 1; d < p; d++) {
            if (*d < '0' || *d > '9' || (port = port * 10 + (unsigned long)(*d - '0')) > 65535)
                return -1;
        }
    }
    *h = a;
    return (int)(host_end - a);
}

int anonymity_referer_same_host(const char *v, size_t len, const char *host, size_t hostlen)
{
    char a[HOSTNAME_MAX], b[HOSTNAME_MAX];
    const char *h;
    int n = url_host(v, len, &h), m;

    if (n < 0 || (n = hostname_normalize(h, (size_t)n, a, sizeof(a))) < 0 ||
        (m = hostname_normalize(host, hostlen, b, sizeof(b))) < 0)
        return 0;
    return n == m && memcmp(a, b, (size_t)n) == 0;
}

/* strict: every Referer field is judged; those naming another host are
 * dropped and the others kept (a server may read the first, the last, or
 * all of several).  Nothing is touched when all pass. */
static void judge_referers(struct exchange *ex, const char *host, size_t hostlen)
{
    const struct http_head *r = exchange_request(ex);
    const char *base = exchange_base(ex);
    int i, cross = 0;

    for (i = http1_find(r, base, "referer", 0); i >= 0; i = http1_find(r, base, "referer", i + 1))
        if (!anonymity_referer_same_host(base + r->fields[i].value.off, r->fields[i].value.len,
                                         host, hostlen))
            cross = 1;
    if (!cross)
        return;
    exchange_remove_field(ex, "Referer");
    for (i = http1_find(r, base, "referer", 0); i >= 0; i = http1_find(r, base, "referer", i + 1))
        if (anonymity_referer_same_host(base + r->fields[i].value.off, r->fields[i].value.len,
                                        host, hostlen))
            exchange_add_field(ex, "Referer", base + r->fields[i].value.off,
                               r->fields[i].value.len);
}

void anonymity_apply(const struct anonymity *a, struct exchange *ex, const char *host, size_t hostlen)
{
    if (a->level >= ANON_STANDARD) {
        exchange_drop_fields(ex, is_revealing);
        exchange_omit_via(ex);
    }
    if (a->level == ANON_STRICT) {
        exchange_set_field(ex, "User-Agent", a->user_agent, strlen(a->user_agent));
        judge_referers(ex, host, hostlen);
        for (unsigned i = 0; i < a->ncookie; i++)
            if (hostname_under(host, hostlen, a->cookie_domains[i], strlen(a->cookie_domains[i])))
                exchange_remove_field(ex, "Cookie");
    }
    for (unsigned i = 0; i < a->nremove; i++)
        exchange_remove_field(ex, a->remove[i]);
    for (unsigned i = 0; i < a->nreplace; i++)
        exchange_set_field(ex, a->replace[2 * i], a->replace[2 * i + 1], strlen(a->replace[2 * i + 1]));
}
