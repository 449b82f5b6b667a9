/* ops.c — serving /metrics and the dashboard (see ops.h).  What they show
 * is metrics.c's, dashboard.c's and the collectors'; this file only
 * matches the path, checks the ACL and answers. */
#include "ops.h"
#include "acl.h"
#include "dashboard.h"
#include "exchange_int.h"
#include "metrics.h"
#include "util.h"

#include <stdlib.h>

/* Whether the request's path (without its query) is `path`; *query
 * points past the '?', *qlen its length (0: none). */
static int path_is(const struct exchange *ex, const char *path, const char **query, size_t *qlen)
{
    const struct http_head *r = &ex->req;
    const char *t = exchange_base(ex) + r->target.off;
    size_t n = 0, want = strlen(path);

    while (n < r->target.len && t[n] != '?')
        n++;
    if (n != want || memcmp(t, path, n) != 0)
        return 0;
    *query = n < r->target.len ? t + n + 1 : "";
    *qlen = n < r->target.len ? r->target.len - n - 1 : 0;
    return 1;
}

/* The `since=N` of a query (0 when absent). */
static uint64_t since_of(const char *q, size_t len)
{
    const char *p = memmem(q, len, "since=", 6);

    return p && (p == q || p[-1] == '&') ? strtoull(p + 6, NULL, 10) : 0;
}

static void respond(struct exchange *ex, const char *type, struct text *o)
{
    exchange_respond(ex, 200, type, "Cache-Control: no-store\r\n", o->p ? o->p : "", o->len);
    free(o->p);
}

int ops_serve(struct exchange *ex)
{
    const struct listener_conf *l = ex->lst;
    const char *q = "";
    size_t qlen = 0;
    char data[300];
    struct text o = {0};
    int metrics, page = 0, json = 0;

    if (!l || (!l->metrics_path && !l->dashboard_path))
        return 0;
    if (ex->req.target.len == 0 || exchange_base(ex)[ex->req.target.off] != '/')
        return 0; /* absolute-form: a forward request, not for us */
    metrics = l->metrics_path && path_is(ex, l->metrics_path, &q, &qlen);
    if (!metrics && l->dashboard_path) {
        page = path_is(ex, l->dashboard_path, &q, &qlen);
        gh_fmt(data, sizeof(data), "%s%sdata", l->dashboard_path,
               l->dashboard_path[strlen(l->dashboard_path) - 1] == '/' ? "" : "/");
        json = !page && path_is(ex, data, &q, &qlen);
    }
    if (!metrics && !page && !json)
        return 0;
    if (!acl_match(l->ops_allow, exchange_client(ex))) {
        exchange_error(ex, 403, "not in metrics_allow");
        return 1;
    }
    if (metrics) {
        metrics_write(&o);
        respond(ex, "text/plain; version=0.0.4; charset=utf-8", &o);
    } else if (json) {
        dashboard_json(&o, since_of(q, qlen));
        respond(ex, "application/json", &o);
    } else {
        exchange_respond(ex, 200, "text/html; charset=utf-8",
                         "Cache-Control: no-store\r\n"
                         "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
                         "style-src 'unsafe-inline'; connect-src 'self'; img-src data:\r\n",
                         dashboard_page, strlen(dashboard_page));
    }
    return 1;
}
