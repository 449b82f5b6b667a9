/* pages.c — the forward proxy's own pages (see pages.h).  Generated from the
 * running configuration and counters; nothing is read from disk. */
#include "pages.h"
#include "acl.h"
#include "bans.h"
#include "exchange.h"
#include "keytab.h"
#include "protect.h"
#include "pstats.h"
#include "process.h"
#include "stats.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int path_is(const struct exchange *ex, const char *want)
{
    const struct http_head *r = exchange_request(ex);
    const char *t = exchange_str(ex, r->target);
    size_t n = strcspn(t, "?");

    if (n > r->target.len)
        n = r->target.len;
    return n == strlen(want) && memcmp(t, want, n) == 0;
}

/* "host:port" the client used to reach us: its Host field, else the
 * listener's first address. */
static void proxy_name(const struct exchange *ex, char *dst, size_t cap)
{
    char host[256];
    const char *p;

    if (exchange_field(ex, "host", host, sizeof(host)) > 0) {
        for (p = host; *p; p++)
            if (!(*p == '.' || *p == ':' || *p == '-' || *p == '[' || *p == ']' ||
                  (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
                break;
        if (!*p) {
            gh_fmt(dst, cap, "%s", host);
            return;
        }
    }
    gh_fmt(dst, cap, "%s", exchange_listener(ex)->addrs[0].text);
}

static void pac(struct exchange *ex)
{
    char me[300], body[1024];
    size_t n;

    proxy_name(ex, me, sizeof(me));
    n = gh_fmt(body, sizeof(body),
               "// Proxy auto-configuration from gatehouse\n"
               "function FindProxyForURL(url, host) {\n"
               "  if (isPlainHostName(host) || host == \"localhost\" ||\n"
               "      shExpMatch(host, \"127.*\") || host == \"[::1]\")\n"
               "    return \"DIRECT\";\n"
               "  return \"PROXY %s\";\n"
               "}\n",
               me);
    exchange_respond(ex, 200, "application/x-ns-proxy-autoconfig", "Cache-Control: max-age=300\r\n",
                     body, n);
}

/* A growing page. */
/* Text with HTML's special characters escaped. */
static void put_text(struct text *o, const char *s)
{
    for (; *s; s++)
        text_printf(o, "%s",
                    *s == '<'   ? "&lt;"
                    : *s == '>' ? "&gt;"
                    : *s == '&' ? "&amp;"
                    : *s == '"' ? "&quot;"
                                : (char[]){*s, 0});
}

/* One row per protection's name: its kind, its name, its counters. */
static void put_pstats(const struct pstats *p, void *arg)
{
    struct text *o = arg;
    const char *const *names = pstats_counter_names(p->kind);

    text_printf(o, "<tr><td>%s</td><td>", pstats_kind_name(p->kind));
    put_text(o, p->name);
    text_printf(o, "</td><td>");
    for (unsigned i = 0; names[i]; i++)
        text_printf(o, "%s%s %llu", i ? ", " : "", names[i],
                    (unsigned long long)atomic_load_explicit(&p->c[i], memory_order_relaxed));
    text_printf(o, "</td></tr>\n");
}

/* The protections' counters and the bans in force. */
static void put_protection(struct text *o)
{
    struct ban_info *b = xcalloc(256, sizeof(*b));
    size_t n = bans_list(b, 256, gh_now_ms());
    struct keytab_stats ks;

    keytab_stats(protect_table(), &ks);
    text_printf(o,
                "<h2>Protection</h2>\n<p>tracked keys: %llu of %llu (%llu evicted)</p>\n"
                "<table>\n<tr><th>kind</th><th>name</th><th>counters</th></tr>\n",
                (unsigned long long)ks.keys, (unsigned long long)ks.capacity,
                (unsigned long long)ks.evicted);
    pstats_each(put_pstats, o);
    text_printf(o,
                "</table>\n<h2>Bans in force: %zu</h2>\n<table>\n"
                "<tr><th>rule</th><th>key</th><th>seconds left</th><th>refused</th></tr>\n",
                n);
    for (size_t i = 0; i < GH_MIN(n, (size_t)256); i++) {
        text_printf(o, "<tr><td>");
        put_text(o, b[i].rule);
        text_printf(o, "</td><td>");
        put_text(o, b[i].key);
        text_printf(o, "</td><td>%llu</td><td>%llu</td></tr>\n",
                    (unsigned long long)((b[i].left_ms + 999) / 1000),
                    (unsigned long long)b[i].refused);
    }
    text_printf(o, "</table>\n<p>An address in the policy's status_allow lifts a ban with "
                   "<code>curl -X DELETE 'http://proxy/status?ban=KEY'</code> (<code>ban=*</code>: "
                   "all).</p>\n");
    free(b);
}

static void status(struct exchange *ex)
{
    struct stats_total t;
    struct text o = {.p = xmalloc(4096), .cap = 4096};
    uint64_t up_total;

    stats_snapshot(&t);
    up_total = t.upstream_connects + t.upstream_reuses;
    text_printf(&o,
                "<!DOCTYPE html>\n<html><head><title>gatehouse status</title></head><body>\n"
                "<h1>gatehouse %s</h1>\n<table>\n"
                "<tr><td>up</td><td>%llu s</td></tr>\n"
                "<tr><td>workers</td><td>%u</td></tr>\n"
                "<tr><td>open client connections</td><td>%llu</td></tr>\n"
                "<tr><td>connections accepted</td><td>%llu</td></tr>\n"
                "<tr><td>exchanges</td><td>%llu</td></tr>\n"
                "<tr><td>upstream connections opened</td><td>%llu</td></tr>\n"
                "<tr><td>upstream connections reused</td><td>%llu (%.1f%%)</td></tr>\n"
                "</table>\n",
                GATEHOUSE_VERSION, (unsigned long long)t.uptime_s, t.workers,
                (unsigned long long)t.active, (unsigned long long)t.accepted,
                (unsigned long long)t.exchanges, (unsigned long long)t.upstream_connects,
                (unsigned long long)t.upstream_reuses,
                up_total ? 100.0 * (double)t.upstream_reuses / (double)up_total : 0.0);
    put_protection(&o);
    text_printf(
        &o, "<p>Browsers can configure themselves from <a href=\"/proxy.pac\">/proxy.pac</a>.</p>\n"
            "</body></html>\n");
    exchange_respond(ex, 200, "text/html; charset=utf-8", "Cache-Control: no-store\r\n", o.p,
                     o.len);
    free(o.p);
}

/* DELETE /status?ban=KEY: lifts bans, for the policy's status_allow. */
static void lift(struct exchange *ex, const struct acl *admins)
{
    const struct http_head *r = exchange_request(ex);
    const char *t = exchange_str(ex, r->target), *q = memchr(t, '?', r->target.len);
    char body[64];
    long n;

    if (!acl_match(admins, exchange_client(ex))) {
        exchange_error(ex, 403, "lifting bans: client not in the policy's status_allow");
        return;
    }
    n = q ? protect_lift_query(q + 1, r->target.len - (size_t)(q + 1 - t)) : -1;
    if (n < 0) {
        exchange_error(ex, 400, "DELETE /status lifts bans: ?ban=KEY or ?ban=*");
        return;
    }
    exchange_respond(ex, 200, "application/json", "Cache-Control: no-store\r\n", body,
                     gh_fmt(body, sizeof(body), "{\"lifted\":%ld}\n", n));
}

void pages_serve(struct exchange *ex, const struct acl *admins)
{
    const struct http_head *r = exchange_request(ex);

    if (path_is(ex, "/status") &&
        gh_strcaseeq(exchange_str(ex, r->method), r->method.len, "DELETE"))
        lift(ex, admins);
    else if (path_is(ex, "/proxy.pac") || path_is(ex, "/wpad.dat"))
        pac(ex);
    else if (path_is(ex, "/") || path_is(ex, "/status"))
        status(ex);
    else
        exchange_error(ex, 404, "this is a proxy: ask for an absolute URL (http://host/path)");
}
