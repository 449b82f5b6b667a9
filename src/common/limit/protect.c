/* protect.c — checking a request against a place's protections, and what
 * follows (see protect.h): the keys requests are counted under, the
 * answers (403, 429, a closed connection, a held request), the counters,
 * the events that ban, and the status the pages show.  Owns nothing but
 * the exchange's protect_note; the tables are keytab.c's and bans.c's, the
 * configuration protect_conf.c's, the rules deny.c's. */
#include "protect.h"
#include "exchange_int.h"
#include "geo.h"
#include "keytab.h"
#include "log.h"
#include "protect_int.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- the view ---- */

void protect_view_init(struct protect_view *v, struct exchange *ex,
                       const struct sockaddr_storage *client)
{
    v->ex = ex;
    v->client = *client;
    v->user = exchange_user(ex);
    v->route = "";
    v->host = v->target = "";
    v->hostlen = v->targetlen = 0;
    v->normalised = v->geo_done = 0;
    v->delay_us = 0;
}

int protect_view_norm(struct protect_view *v)
{
    const char *why = NULL;

    if (!v->normalised) {
        v->normlen = urlpath_normalize(v->target, v->targetlen, URLPATH_VIEW, v->norm,
                                       sizeof(v->norm), &why);
        v->normalised = v->normlen < 0 ? -1 : 1;
        if (v->normalised > 0)
            v->pathlen = strcspn(v->norm, "?");
    }
    return v->normalised > 0 ? 0 : -1;
}

void protect_view_geo(struct protect_view *v)
{
    if (v->geo_done)
        return;
    v->geo_done = 1;
    geo_lookup(v->ex->cfg->geo, (const struct sockaddr *)&v->client, v->country, v->continent);
}

/* ---- keys ---- */

/* A request's key: bytes to hash, pointing into the request or at addr. */
struct keyref {
    const void *p;
    size_t len;
    unsigned char addr[17]; /* a family byte, then the address cut to its prefix */
};

/* The value of cookie `name` in the request, or NULL. */
static const char *cookie(struct exchange *ex, const char *name, size_t *len)
{
    const struct http_head *r = exchange_request(ex);
    const char *base = exchange_base(ex);
    size_t nl = strlen(name);

    for (int i = http1_find(r, base, "cookie", 0); i >= 0;
         i = http1_find(r, base, "cookie", i + 1)) {
        const char *p = base + r->fields[i].value.off, *end = p + r->fields[i].value.len;
        while (p < end) {
            const char *semi = memchr(p, ';', (size_t)(end - p)), *e = semi ? semi : end;
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            if ((size_t)(e - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
                *len = (size_t)(e - p) - nl - 1;
                return p + nl + 1;
            }
            p = e + 1;
        }
    }
    return NULL;
}

void protect_client_key(const struct pkey *k, const struct sockaddr_storage *ss, unsigned char *a)
{
    const unsigned char *src;
    unsigned bits, bytes;

    memset(a, 0, 17);
    if (ss->ss_family == AF_INET6 &&
        !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr)) {
        a[0] = 6;
        src = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
        bits = k->v6_bits;
    } else {
        a[0] = 4;
        src = ss->ss_family == AF_INET
                  ? (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr
                  : ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr + 12;
        bits = k->v4_bits;
    }
    bytes = bits / 8;
    memcpy(a + 1, src, bytes);
    if (bits % 8)
        a[1 + bytes] = (unsigned char)(src[bytes] & (0xff << (8 - bits % 8)));
}

/* Fills kr with the request's key; returns 0, or -1 when the request has
 * none (no such field or cookie, no user): it is not counted then. */
static int key_get(const struct pkey *k, struct protect_view *v, struct keyref *kr)
{
    const struct http_head *r = exchange_request(v->ex);
    int i;

    switch (k->kind) {
    case PK_CLIENT:
        protect_client_key(k, &v->client, kr->addr);
        kr->p = kr->addr;
        kr->len = sizeof(kr->addr);
        return 0;
    case PK_HEADER:
        if ((i = http1_find(r, exchange_base(v->ex), k->name, 0)) < 0 || !r->fields[i].value.len)
            return -1;
        kr->p = exchange_str(v->ex, r->fields[i].value);
        kr->len = r->fields[i].value.len;
        return 0;
    case PK_COOKIE: kr->p = cookie(v->ex, k->name, &kr->len); return kr->p && kr->len ? 0 : -1;
    case PK_USER:
        kr->p = v->user;
        kr->len = v->user ? strlen(v->user) : 0;
        return kr->len ? 0 : -1;
    default: /* PK_ROUTE */
        kr->p = v->route;
        kr->len = strlen(v->route);
        return 0;
    }
}

/* The key as people read it: "10.0.0.5", "2001:db8:1:2::/64", a value. */
static void key_text(const struct pkey *k, const struct keyref *kr, char *out, size_t cap)
{
    size_t n = 0;

    if (k->kind == PK_CLIENT) {
        char a[INET6_ADDRSTRLEN];
        unsigned bits = kr->addr[0] == 6 ? k->v6_bits : k->v4_bits;
        inet_ntop(kr->addr[0] == 6 ? AF_INET6 : AF_INET, kr->addr + 1, a, sizeof(a));
        if (bits == (kr->addr[0] == 6 ? 128u : 32u))
            gh_fmt(out, cap, "%s", a);
        else
            gh_fmt(out, cap, "%s/%u", a, bits);
        return;
    }
    for (size_t i = 0; i < kr->len && n + 1 < cap; i++) {
        unsigned char ch = ((const unsigned char *)kr->p)[i];
        out[n++] = ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\' ? '_' : (char)ch;
    }
    out[n] = '\0';
}

/* ---- answers ---- */

/* A local answer: status, the extra fields, and a short page. */
static void answer(struct exchange *ex, int status, const char *extra, const char *why,
                   const char *more)
{
    char body[1024];
    size_t n = gh_fmt(body, sizeof(body),
                      "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
                      "<body><h1>%d %s</h1>\n<p>%s%s</p>\n<hr><p>gatehouse</p></body></html>\n",
                      status, exchange_reason(status), status, exchange_reason(status), why,
                      more ? more : "");

    exchange_respond(ex, status, "text/html; charset=utf-8", extra, body, n);
    exchange_error_reason(ex, why);
}

static int deny(struct protect_view *v, const struct deny_rule *r)
{
    struct exchange *ex = v->ex;

    exchange_set_filter(ex, r->note);
    ex->pnote.events |= PEV_DENIED;
    if (r->action == DENY_CLOSE) {
        pstats_add(r->st, 1, 1);
        exchange_drop(ex, r->why);
        return 0;
    }
    pstats_add(r->st, 0, 1);
    answer(ex, 403, "Cache-Control: no-store\r\n", r->why, NULL);
    return 0;
}

static int banned(struct protect_view *v, const struct pban *b, uint64_t left_ms)
{
    char extra[64], more[96];
    uint64_t s = (left_ms + 999) / 1000;

    gh_fmt(extra, sizeof(extra), "Retry-After: %llu\r\nCache-Control: no-store\r\n",
           (unsigned long long)s);
    gh_fmt(more, sizeof(more), " for %llu more seconds", (unsigned long long)s);
    pstats_add(b->st, 2, 1);
    exchange_set_filter(v->ex, b->note);
    answer(v->ex, 403, extra, b->why, more);
    return 0;
}

static int limited(struct protect_view *v, const struct plimit *l, const struct rate_verdict *rv)
{
    char extra[512], more[64];
    size_t n = rate_fields(extra, sizeof(extra), 0, l->name, &l->rule, rv);

    gh_cat_str(extra, sizeof(extra), n, "Cache-Control: no-store\r\n");
    gh_fmt(more, sizeof(more), "; retry in %llu s",
           (unsigned long long)GH_MAX(1, (rv->retry_us + 999999) / 1000000));
    pstats_add(l->st, 2, 1);
    exchange_set_filter(v->ex, l->note);
    v->ex->pnote.events |= PEV_LIMITED;
    answer(v->ex, 429, extra, l->why, more);
    return 0;
}

/* ---- the checks ---- */

struct judged {
    const struct rate_rule *rule;
    uint64_t now;
    struct rate_verdict *out;
};

static long judge(uint64_t v[2], int fresh, void *arg)
{
    struct judged *j = arg;

    (void)fresh;
    rate_check(j->rule, v, j->now, j->out);
    return 0;
}

/* Counts the request against a rate limit.  Returns 1 to go on, 0 refused. */
static int limit(struct protect_view *v, const struct plimit *l, uint64_t now)
{
    struct rate_verdict rv = {.allowed = 1};
    struct judged j = {&l->rule, now, &rv};
    struct keyref kr;

    if (key_get(&l->key, v, &kr) < 0)
        return 1; /* nothing to count it under */
    if (!l->shared || protect_shared_limit(l, kr.p, kr.len, &rv) < 0)
        keytab_with(protect_table(), keytab_hash(l->name, kr.p, kr.len), judge, &j, 0);
    if (!rv.allowed)
        return limited(v, l, &rv);
    pstats_add(l->st, rv.delay_us ? 1 : 0, 1);
    if (rv.delay_us > v->delay_us)
        v->delay_us = rv.delay_us;
    if (l->headers) {
        char f[512], *a = f, *b;
        rate_fields(f, sizeof(f), 0, l->name, &l->rule, &rv);
        /* two lines, "Name: value\r\n" each, as response fields */
        while ((b = strstr(a, "\r\n"))) {
            char *colon = strchr(a, ':');
            *colon = '\0';
            exchange_add_response_field(v->ex, a, colon + 2, (size_t)(b - colon - 2));
            a = b + 2;
        }
    }
    return 1;
}

/* Whether the request's key is banned; if not, the ban watches the
 * exchange's events.  Returns 1 to go on, 0 refused. */
static int watch(struct protect_view *v, const struct pban *b, uint64_t now_ms)
{
    struct protect_note *n = &v->ex->pnote;
    struct keyref kr;
    uint64_t key, left;

    if (key_get(&b->key, v, &kr) < 0)
        return 1;
    key = keytab_hash(b->name, kr.p, kr.len);
    if ((left = bans_check(key, now_ms)))
        return banned(v, b, left);
    if (n->nbans < PNOTE_BANS) {
        n->ban[n->nbans] = b;
        n->key[n->nbans] = key;
        key_text(&b->key, &kr, n->text[n->nbans], PNOTE_TEXT);
        n->nbans++;
    }
    return 1;
}

/* Whether the place r was checked for this exchange already. */
static int passed(struct protect_note *n, const struct protect_refs *r)
{
    for (unsigned i = 0; i < n->npassed; i++)
        if (n->passed[i] == r)
            return 1;
    if (n->npassed < PNOTE_BANS)
        n->passed[n->npassed++] = r;
    return 0;
}

int protect_check(struct protect_view *v, const struct protect_refs *r)
{
    struct exchange *ex = v->ex;
    const struct deny_rule *denied = NULL;
    uint64_t now;

    if (ex->pnote.exempt || passed(&ex->pnote, r))
        return 1;
    for (unsigned i = 0; i < r->nlists; i++) {
        const struct deny_rule *allow, *d = deny_judge(r->lists[i], v, &allow);
        if (!denied)
            denied = d; /* the lists after it are still asked for an allow rule */
        if (allow) {    /* wins over every deny rule of the place, and exempts */
            pstats_add(allow->st, 2, 1);
            exchange_set_filter(ex, allow->note);
            ex->pnote.exempt = 1;
            return 1;
        }
    }
    /* the bans before the denial: a banned key is told so, and a denied
     * request counts as an event for the bans that watch it */
    if (r->nbans) {
        now = gh_now_ms();
        for (unsigned i = 0; i < r->nbans; i++)
            if (!watch(v, r->bans[i], now))
                return 0;
    }
    if (denied)
        return deny(v, denied);
    if (r->nlimits) {
        now = rate_now_us();
        for (unsigned i = 0; i < r->nlimits; i++)
            if (!limit(v, r->limits[i], now))
                return 0;
        if (v->delay_us)
            exchange_hold(ex, (uint32_t)((v->delay_us + 999) / 1000));
    }
    return 1;
}

void protect_note_event(struct exchange *ex, unsigned events)
{
    ex->pnote.events |= (uint8_t)events;
}

void protect_end(struct exchange *ex)
{
    struct protect_note *n = &ex->pnote;
    unsigned ev = n->events;
    uint64_t now;

    if (!n->nbans)
        return;
    if (ex->status >= 400 && ex->status < 500)
        ev |= PEV_4XX;
    if (ex->status == 401)
        ev |= PEV_AUTH; /* the origin refused the credentials */
    now = gh_now_ms();
    for (unsigned i = 0; i < n->nbans; i++) {
        const struct pban *b = n->ban[i];
        if (!(b->events & ev))
            continue;
        pstats_add(b->st, 0, 1);
        if (bans_event(protect_table(), &b->rule, n->key[i], n->text[i], now)) {
            pstats_add(b->st, 1, 1);
            log_info("ban %s: %s banned for %llu s (%u events within %llu s)", b->name, n->text[i],
                     (unsigned long long)(b->rule.ban_ms / 1000), b->rule.count,
                     (unsigned long long)(b->rule.within_ms / 1000));
            protect_share_ban(b, n->text[i]);
        }
    }
}

/* ---- status ---- */

struct walk {
    struct text *o;
    int kind; /* the kind whose group is open, -1 none */
};

static void put_counters(const struct pstats *p, void *arg)
{
    struct walk *w = arg;
    const char *const *names = pstats_counter_names(p->kind);

    if (w->kind != (int)p->kind) {
        text_printf(w->o, "%s\"%s\":{", w->kind < 0 ? "" : "},", pstats_kind_name(p->kind));
        w->kind = (int)p->kind;
    } else {
        text_printf(w->o, ",");
    }
    text_json_str(w->o, p->name);
    text_printf(w->o, ":{");
    for (unsigned i = 0; names[i]; i++)
        text_printf(w->o, "%s\"%s\":%llu", i ? "," : "", names[i],
                    (unsigned long long)atomic_load_explicit(&p->c[i], memory_order_relaxed));
    text_printf(w->o, "}");
}

char *protect_status_json(size_t *len)
{
    struct text o = {.p = xmalloc(1024), .cap = 1024};
    struct walk w = {&o, -1};
    struct keytab_stats ks;
    struct ban_info *b = xcalloc(256, sizeof(*b));
    uint64_t now = gh_now_ms();
    size_t nb = bans_list(b, 256, now);

    keytab_stats(protect_table(), &ks);
    text_printf(&o,
                "\"protection\":{\"keys\":{\"held\":%llu,\"capacity\":%llu,\"evicted\":%llu,"
                "\"bytes\":%llu},",
                (unsigned long long)ks.keys, (unsigned long long)ks.capacity,
                (unsigned long long)ks.evicted, (unsigned long long)ks.bytes);
    pstats_each(put_counters, &w);
    text_printf(&o, "%s\"banned\":[", w.kind < 0 ? "" : "},");
    for (size_t i = 0; i < GH_MIN(nb, (size_t)256); i++) {
        text_printf(&o, "%s{\"rule\":", i ? "," : "");
        text_json_str(&o, b[i].rule);
        text_printf(&o, ",\"key\":");
        text_json_str(&o, b[i].key);
        text_printf(&o, ",\"seconds_left\":%llu,\"refused\":%llu}",
                    (unsigned long long)((b[i].left_ms + 999) / 1000),
                    (unsigned long long)b[i].refused);
    }
    text_printf(&o, "],\"bans_in_force\":%zu}", nb);
    free(b);
    *len = o.len;
    return o.p;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'                     ? c - '0'
           : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                    : -1;
}

long protect_lift_query(const char *q, size_t len)
{
    char key[PNOTE_TEXT * 2];
    size_t n = 0;
    const char *p = q, *end = q + len;

    while (p < end && !(end - p > 4 && memcmp(p, "ban=", 4) == 0 && (p == q || p[-1] == '&')))
        p++;
    if (p >= end)
        return -1;
    for (p += 4; p < end && *p != '&' && n + 1 < sizeof(key); p++) {
        if (*p == '%' && end - p > 2 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            key[n++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
        } else {
            key[n++] = *p == '+' ? ' ' : *p;
        }
    }
    key[n] = '\0';
    if (!n)
        return -1;
    protect_share_lift(key);
    return (long)bans_lift(key, gh_now_ms(), gh_now_ms());
}
