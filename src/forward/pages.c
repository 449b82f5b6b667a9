/* pages.c — the forward proxy's own pages (see pages.h).  Generated from the
 * running configuration and counters; nothing is read from disk. */
#include "pages.h"
#include "exchange.h"
#include "process.h"
#include "stats.h"
#include "util.h"

#include <stdio.h>

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

static void status(struct exchange *ex)
{
    struct stats_total t;
    char body[2048];
    size_t n;
    uint64_t up_total;

    stats_snapshot(&t);
    up_total = t.upstream_connects + t.upstream_reuses;
    n = gh_fmt(body, sizeof(body),
               "<!DOCTYPE html>\n<html><head><title>gatehouse status</title></head><body>\n"
               "<h1>gatehouse %s</h1>\n<table>\n"
               "<tr><td>up</td><td>%llu s</td></tr>\n"
               "<tr><td>workers</td><td>%u</td></tr>\n"
               "<tr><td>open client connections</td><td>%llu</td></tr>\n"
               "<tr><td>connections accepted</td><td>%llu</td></tr>\n"
               "<tr><td>exchanges</td><td>%llu</td></tr>\n"
               "<tr><td>upstream connections opened</td><td>%llu</td></tr>\n"
               "<tr><td>upstream connections reused</td><td>%llu (%.1f%%)</td></tr>\n"
               "</table>\n<p>Browsers can configure themselves from <a href=\"/proxy.pac\">/proxy.pac</a>.</p>\n"
               "</body></html>\n",
               GATEHOUSE_VERSION, (unsigned long long)t.uptime_s, t.workers,
               (unsigned long long)t.active, (unsigned long long)t.accepted,
               (unsigned long long)t.exchanges, (unsigned long long)t.upstream_connects,
               (unsigned long long)t.upstream_reuses,
               up_total ? 100.0 * (double)t.upstream_reuses / (double)up_total : 0.0);
    exchange_respond(ex, 200, "text/html; charset=utf-8", "Cache-Control: no-store\r\n", body, n);
}

void pages_serve(struct exchange *ex)
{
    if (path_is(ex, "/proxy.pac") || path_is(ex, "/wpad.dat"))
        pac(ex);
    else if (path_is(ex, "/") || path_is(ex, "/status"))
        status(ex);
    else
        exchange_error(ex, 404, "this is a proxy: ask for an absolute URL (http://host/path)");
}
