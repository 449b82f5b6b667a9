/* cache_policy.c — Cache-Control parsing, storability, freshness lifetime,
 * current age and the serve/revalidate decision of a shared cache (RFC 9111
 * sections 3, 4.2 and 5.2; stale-* from RFC 5861, immutable from RFC 8246).
 * Dates are parsed in cache_date.c; this file owns no memory and no state. */
#include "cache_policy.h"

#include "cache_int.h"
#include "util.h"

#include <stddef.h>
#include <string.h>

/* ---- lists ---- */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int cache_list_next(const char *v, size_t len, size_t *pos, size_t *s, size_t *n)
{
    size_t i = *pos, b, e;
    int quoted = 0;

    for (;;) {
        if (i >= len)
            return 0;
        b = i;
        for (; i < len; i++) {
            if (quoted && v[i] == '\\' && i + 1 < len)
                i++;
            else if (v[i] == '"')
                quoted = !quoted;
            else if (v[i] == ',' && !quoted)
                break;
        }
        e = i;
        if (i < len)
            i++; /* the comma */
        while (b < e && is_ows(v[b]))
            b++;
        while (e > b && is_ows(v[e - 1]))
            e--;
        if (e > b) {
            *pos = i;
            *s = b;
            *n = e - b;
            return 1;
        }
    }
}

/* ---- Cache-Control ---- */

void cache_cc_init(struct cache_control *cc)
{
    cc->flags = 0;
    cc->max_age = cc->s_maxage = CACHE_UNSET;
    cc->stale_while_revalidate = cc->stale_if_error = CACHE_UNSET;
    cc->max_stale = cc->min_fresh = CACHE_UNSET;
}

/* delta-seconds = 1*DIGIT, also accepted quoted.  Returns the value (capped at
 * CACHE_DELTA_MAX, section 1.2.2) or CACHE_UNSET when malformed. */
static int64_t delta_seconds(const char *v, size_t n)
{
    int64_t x = 0;
    size_t i;

    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    if (n == 0)
        return CACHE_UNSET;
    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return CACHE_UNSET;
        if (x < CACHE_DELTA_MAX)
            x = x * 10 + (v[i] - '0');
    }
    return x < CACHE_DELTA_MAX ? x : CACHE_DELTA_MAX;
}

enum dir_kind {
    D_FLAG,  /* no value (a value, as in no-cache="f", is ignored) */
    D_FRESH, /* max-age, s-maxage: a bad value means stale */
    D_DELTA, /* a bad value is ignored */
    D_STALE, /* max-stale: no value means any staleness */
};

static const struct directive {
    const char *name;
    enum dir_kind kind;
    unsigned flag;
    size_t off; /* of the int64_t member, valued kinds */
} directives[] = {
    {"max-age", D_FRESH, 0, offsetof(struct cache_control, max_age)},
    {"s-maxage", D_FRESH, 0, offsetof(struct cache_control, s_maxage)},
    {"stale-while-revalidate", D_DELTA, 0, offsetof(struct cache_control, stale_while_revalidate)},
    {"stale-if-error", D_DELTA, 0, offsetof(struct cache_control, stale_if_error)},
    {"max-stale", D_STALE, 0, offsetof(struct cache_control, max_stale)},
    {"min-fresh", D_DELTA, 0, offsetof(struct cache_control, min_fresh)},
    {"no-store", D_FLAG, CACHE_CC_NO_STORE, 0},
    {"no-cache", D_FLAG, CACHE_CC_NO_CACHE, 0},
    {"private", D_FLAG, CACHE_CC_PRIVATE, 0},
    {"public", D_FLAG, CACHE_CC_PUBLIC, 0},
    {"must-revalidate", D_FLAG, CACHE_CC_MUST_REVALIDATE, 0},
    {"proxy-revalidate", D_FLAG, CACHE_CC_PROXY_REVALIDATE, 0},
    {"immutable", D_FLAG, CACHE_CC_IMMUTABLE, 0},
    {"only-if-cached", D_FLAG, CACHE_CC_ONLY_IF_CACHED, 0},
    {"no-transform", D_FLAG, CACHE_CC_NO_TRANSFORM, 0},
    {"must-understand", D_FLAG, CACHE_CC_MUST_UNDERSTAND, 0},
};

static void apply(struct cache_control *cc, const struct directive *d, const char *val, size_t vlen,
                  int has_val)
{
    int64_t *slot = (int64_t *)(void *)((char *)cc + d->off);
    int64_t x;

    if (d->kind == D_FLAG) {
        cc->flags |= d->flag;
        return;
    }
    if (*slot != CACHE_UNSET)
        return; /* the first occurrence wins */
    x = has_val ? delta_seconds(val, vlen) : CACHE_UNSET;
    if (d->kind == D_STALE && !has_val)
        x = CACHE_DELTA_MAX;
    if (x == CACHE_UNSET && d->kind == D_FRESH) {
        x = 0;
        cc->flags |= CACHE_CC_INVALID;
    }
    *slot = x;
}

void cache_cc_parse_value(const char *v, size_t len, struct cache_control *cc)
{
    size_t pos = 0, s, n, ne, vs, i;

    while (cache_list_next(v, len, &pos, &s, &n)) {
        const char *e = v + s;
        const char *eq = memchr(e, '=', n);

        ne = eq ? (size_t)(eq - e) : n;
        while (ne > 0 && is_ows(e[ne - 1]))
            ne--;
        vs = eq ? (size_t)(eq - e) + 1 : n;
        while (vs < n && is_ows(e[vs]))
            vs++;
        for (i = 0; i < GH_ARRAY_LEN(directives); i++)
            if (gh_strcaseeq(e, ne, directives[i].name)) {
                apply(cc, &directives[i], e + vs, n - vs, eq != NULL);
                break;
            }
    }
}

void cache_cc_parse(const struct http_head *h, const char *base, struct cache_control *cc)
{
    int i;

    cache_cc_init(cc);
    for (i = http1_find(h, base, "cache-control", 0); i >= 0;
         i = http1_find(h, base, "cache-control", i + 1))
        cache_cc_parse_value(base + h->fields[i].value.off, h->fields[i].value.len, cc);
}

/* ---- requests and responses ---- */

static int has_field(const struct http_head *h, const char *base, const char *name)
{
    return http1_find(h, base, name, 0) >= 0;
}

void cache_req_parse(struct cache_req_info *r, const struct http_head *req, const char *base)
{
    const char *m = base + req->method.off;
    size_t n = req->method.len;
    int i;

    memset(r, 0, sizeof(*r));
    if (n == 3 && memcmp(m, "GET", 3) == 0)
        r->method = CACHE_M_GET;
    else if (n == 4 && memcmp(m, "HEAD", 4) == 0)
        r->method = CACHE_M_HEAD;
    else if ((n == 7 && memcmp(m, "OPTIONS", 7) == 0) || (n == 5 && memcmp(m, "TRACE", 5) == 0))
        r->method = CACHE_M_SAFE;
    else
        r->method = CACHE_M_UNSAFE;
    cache_cc_parse(req, base, &r->cc);
    /* RFC 9111 section 5.4: Pragma: no-cache means Cache-Control: no-cache
     * when the request has no Cache-Control (HTTP/1.0 reloads). */
    if (!has_field(req, base, "cache-control"))
        for (i = http1_find(req, base, "pragma", 0); i >= 0;
             i = http1_find(req, base, "pragma", i + 1))
            if (http1_list_has(base + req->fields[i].value.off, req->fields[i].value.len,
                               "no-cache"))
                r->cc.flags |= CACHE_CC_NO_CACHE;
    r->has_authorization = has_field(req, base, "authorization");
    r->has_conditional =
        has_field(req, base, "if-none-match") || has_field(req, base, "if-modified-since");
    r->has_range = has_field(req, base, "range");
}

/* The first field named `name` parsed as an HTTP-date, or CACHE_UNSET when
 * absent; `invalid` when present but not a date. */
static int64_t date_field(const struct http_head *h, const char *base, const char *name,
                          int64_t now, int64_t invalid)
{
    int i = http1_find(h, base, name, 0);
    int64_t t;

    if (i < 0)
        return CACHE_UNSET;
    t = cache_http_date(base + h->fields[i].value.off, h->fields[i].value.len, now);
    return t == CACHE_UNSET ? invalid : t;
}

void cache_meta_parse(struct cache_meta *m, const struct http_head *resp, const char *base,
                      int64_t request_time, int64_t response_time)
{
    size_t pos = 0, s, n;
    int i;

    memset(m, 0, sizeof(*m));
    m->status = resp->status;
    m->request_time = request_time;
    m->response_time = response_time;
    cache_cc_parse(resp, base, &m->cc);
    m->date = date_field(resp, base, "date", response_time, CACHE_UNSET);
    m->expires = date_field(resp, base, "expires", response_time, 0);
    m->last_modified = date_field(resp, base, "last-modified", response_time, CACHE_UNSET);
    m->age = CACHE_UNSET;
    i = http1_find(resp, base, "age", 0);
    if (i >= 0 &&
        cache_list_next(base + resp->fields[i].value.off, resp->fields[i].value.len, &pos, &s, &n))
        m->age = delta_seconds(base + resp->fields[i].value.off + s, n);
    m->has_etag = has_field(resp, base, "etag");
    m->has_last_modified = has_field(resp, base, "last-modified");
    m->has_set_cookie = has_field(resp, base, "set-cookie");
    for (i = http1_find(resp, base, "vary", 0); i >= 0; i = http1_find(resp, base, "vary", i + 1)) {
        m->has_vary = 1;
        if (http1_list_has(base + resp->fields[i].value.off, resp->fields[i].value.len, "*"))
            m->vary_star = 1;
    }
}

void cache_opts_default(struct cache_opts *o)
{
    o->heuristic_percent = 10;
    o->heuristic_max = 86400;
    o->override_ttl = CACHE_UNSET;
    o->stale_if_unreachable = 0;
    o->store_set_cookie = 0;
    o->public_only = 0;
}

int cache_status_heuristic(int status)
{
    switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501: return 1;
    default: return 0;
    }
}

/* Statuses whose semantics the cache knows (for must-understand). */
static int status_understood(int status)
{
    switch (status) {
    case 302:
    case 303:
    case 307:
    case 400:
    case 403:
    case 500:
    case 502:
    case 503:
    case 504: return 1;
    default: return cache_status_heuristic(status);
    }
}

void cache_meta_classify(struct cache_meta *m, enum cache_class c)
{
    switch (c) {
    case CACHE_CLASS_IMMUTABLE:
        m->cc.max_age = 365 * 86400;
        m->cc.s_maxage = CACHE_UNSET;
        m->cc.flags |= CACHE_CC_IMMUTABLE | CACHE_CC_PUBLIC;
        m->cc.flags &= ~(CACHE_CC_NO_CACHE | CACHE_CC_MUST_REVALIDATE | CACHE_CC_PROXY_REVALIDATE |
                         CACHE_CC_INVALID);
        break;
    case CACHE_CLASS_REVALIDATE:
        m->cc.max_age = 0;
        m->cc.s_maxage = CACHE_UNSET;
        m->cc.flags |= CACHE_CC_PUBLIC;
        m->cc.flags &= ~(CACHE_CC_NO_CACHE | CACHE_CC_MUST_REVALIDATE | CACHE_CC_PROXY_REVALIDATE |
                         CACHE_CC_IMMUTABLE);
        break;
    default: break;
    }
}

/* ---- storing ---- */

static int explicit_freshness(const struct cache_meta *m)
{
    return m->cc.max_age != CACHE_UNSET || m->cc.s_maxage != CACHE_UNSET ||
           m->expires != CACHE_UNSET;
}

static int refuse(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return 0;
}

int cache_storable(const struct cache_req_info *rq, const struct cache_meta *m,
                   const struct cache_opts *o, const char **why)
{
    unsigned rf = m->cc.flags;

    if (rq->method != CACHE_M_GET && rq->method != CACHE_M_HEAD)
        return refuse(why, "method");
    if (m->status < 200 || m->status > 999 || m->status == 206 || m->status == 304)
        return refuse(why, "status");
    if (m->status == 413 || m->status == 414 || m->status == 431)
        return refuse(why, "oversized-request");
    if ((rq->cc.flags | rf) & CACHE_CC_NO_STORE)
        return refuse(why, "no-store");
    if (rf & CACHE_CC_PRIVATE)
        return refuse(why, "private");
    if ((rf & CACHE_CC_MUST_UNDERSTAND) && !status_understood(m->status))
        return refuse(why, "must-understand");
    if (rq->has_authorization && !(rf & (CACHE_CC_PUBLIC | CACHE_CC_MUST_REVALIDATE)) &&
        m->cc.s_maxage == CACHE_UNSET)
        return refuse(why, "authorization");
    if (m->vary_star)
        return refuse(why, "vary-star");
    if (m->has_set_cookie && !o->store_set_cookie)
        return refuse(why, "set-cookie");
    if (o->public_only && !(rf & CACHE_CC_PUBLIC))
        return refuse(why, "bypass-cookie");
    if (!explicit_freshness(m) && !(rf & CACHE_CC_PUBLIC) && !cache_status_heuristic(m->status))
        return refuse(why, "no-freshness");
    if (cache_freshness_lifetime(m, o, NULL) == 0 && !m->has_etag && !m->has_last_modified &&
        m->cc.stale_if_error <= 0 && m->cc.stale_while_revalidate <= 0)
        return refuse(why, "zero-ttl");
    if (why)
        *why = NULL;
    return 1;
}

int cache_storable_with_ttl_override(const struct cache_req_info *rq, const struct cache_meta *m,
                                     const struct cache_opts *o, int64_t ttl, const char **why)
{
    struct cache_opts with = *o;

    with.override_ttl = ttl >= 0 ? ttl : CACHE_UNSET;
    return cache_storable(rq, m, &with, why);
}

/* ---- freshness ---- */

int64_t cache_freshness_lifetime(const struct cache_meta *m, const struct cache_opts *o,
                                 int *heuristic)
{
    int64_t date = m->date != CACHE_UNSET ? m->date : m->response_time;
    int64_t d;

    if (heuristic)
        *heuristic = 0;
    if (m->cc.s_maxage != CACHE_UNSET)
        return m->cc.s_maxage;
    if (m->cc.max_age != CACHE_UNSET)
        return m->cc.max_age;
    if (m->expires != CACHE_UNSET)
        return GH_MIN(GH_MAX(m->expires - date, 0), CACHE_DELTA_MAX);
    if (!(m->cc.flags & CACHE_CC_PUBLIC) && !cache_status_heuristic(m->status))
        return 0;
    if (o->override_ttl >= 0)
        return GH_MIN(o->override_ttl, CACHE_DELTA_MAX);
    if (m->last_modified == CACHE_UNSET || date <= m->last_modified)
        return 0;
    if (heuristic)
        *heuristic = 1;
    d = GH_MIN(date - m->last_modified, CACHE_DELTA_MAX) *
        GH_MIN(GH_MAX(o->heuristic_percent, 0), 100) / 100;
    return GH_MIN(d, GH_MAX(o->heuristic_max, 0));
}

int64_t cache_current_age(const struct cache_meta *m, int64_t now)
{
    int64_t date = m->date != CACHE_UNSET ? m->date : m->response_time;
    int64_t age_value = m->age != CACHE_UNSET ? m->age : 0;
    int64_t apparent_age = GH_MAX(0, m->response_time - date);
    int64_t response_delay = GH_MAX(0, m->response_time - m->request_time);
    int64_t corrected_age_value = age_value + response_delay;
    int64_t corrected_initial_age = GH_MAX(apparent_age, corrected_age_value);
    int64_t resident_time = now - m->response_time;

    return GH_MAX(0, corrected_initial_age + resident_time);
}

enum cache_use cache_decide(const struct cache_req_info *rq, const struct cache_meta *m,
                            const struct cache_opts *o, int64_t now, struct cache_verdict *v)
{
    unsigned rf = m->cc.flags;
    int forbid_stale =
        (rf & (CACHE_CC_MUST_REVALIDATE | CACHE_CC_PROXY_REVALIDATE | CACHE_CC_NO_CACHE)) ||
        m->cc.s_maxage != CACHE_UNSET;
    int64_t staleness, sie;
    int fresh;

    v->lifetime = cache_freshness_lifetime(m, o, &v->heuristic);
    v->age = cache_current_age(m, now);
    v->ttl = v->lifetime - v->age;
    staleness = -v->ttl;
    fresh = v->ttl > 0;
    sie = GH_MAX(GH_MAX(m->cc.stale_if_error, rq->cc.stale_if_error), o->stale_if_unreachable);
    v->stale_if_error =
        !(rf & CACHE_CC_NO_CACHE) && (fresh || (!forbid_stale && sie > 0 && staleness <= sie));

    if ((rf | rq->cc.flags) & CACHE_CC_NO_CACHE)
        return v->use = CACHE_USE_REVALIDATE;
    if (!(fresh && (rf & CACHE_CC_IMMUTABLE))) {
        if (rq->cc.max_age != CACHE_UNSET && v->age > rq->cc.max_age)
            return v->use = CACHE_USE_REVALIDATE;
        if (rq->cc.min_fresh != CACHE_UNSET && v->ttl < rq->cc.min_fresh)
            return v->use = CACHE_USE_REVALIDATE;
    }
    if (fresh)
        return v->use = CACHE_USE_FRESH;
    if (forbid_stale)
        return v->use = CACHE_USE_REVALIDATE;
    if (rq->cc.max_stale != CACHE_UNSET && staleness <= rq->cc.max_stale)
        return v->use = CACHE_USE_STALE;
    if (m->cc.stale_while_revalidate != CACHE_UNSET && staleness <= m->cc.stale_while_revalidate)
        return v->use = CACHE_USE_STALE_REVALIDATE;
    return v->use = CACHE_USE_REVALIDATE;
}
