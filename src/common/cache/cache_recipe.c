/* cache_recipe.c — how a stored object can be fetched again without its
 * client.  The recipe kept with an object names the upstream that answered
 * its fill, the request head sent there and the header edits the
 * front-end made after the cache's decision (a parent proxy's credentials,
 * say); a background refresh (stale-while-revalidate) is then built from
 * the request that triggered it — its target, its fields, its route's
 * edits — with those later edits replayed, and sent to that upstream.
 * The refresh itself is cache_refresh.c's. */
#include "cache_refresh.h"
#include "cache_xfer_int.h"
#include "exchange_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Recipe: "address\n", the upstream request head without its validators
 * (it ends with an empty line), then one line per later edit:
 * "+Name: value\n" (added) or "-Name\n" (removed).  Objects stored before
 * the edit lines existed have none. */

static int has_crlf(const char *s, size_t n)
{
    return memchr(s, '\r', n) || memchr(s, '\n', n);
}

char *cache_recipe(const struct exchange *ex, unsigned edits_mark)
{
    const char *h, *end, *line;
    size_t alen = strlen(ex->up_addr), o, cap;
    char *r;

    if (ex->up_tls || ex->proxy_header || !ex->uphead || !alen)
        return NULL;
    h = buf_head(ex->uphead);
    end = h + buf_len(ex->uphead);
    cap = alen + 1 + (size_t)(end - h) + 1;
    for (unsigned i = edits_mark; i < ex->nedits; i++)
        cap += ex->edits[i].name_len + ex->edits[i].value_len + 4;
    r = xmalloc(cap);
    memcpy(r, ex->up_addr, alen);
    r[alen] = '\n';
    o = alen + 1;
    for (line = h; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t n = eol ? (size_t)(eol - line) + 1 : (size_t)(end - line);
        if (strncasecmp(line, "if-none-match:", 14) != 0 &&
            strncasecmp(line, "if-modified-since:", 18) != 0) {
            memcpy(r + o, line, n);
            o += n;
        }
        line += n;
    }
    for (unsigned i = edits_mark; i < ex->nedits; i++) {
        const struct field_edit *e = &ex->edits[i];
        const char *name = ex->arena + e->name_off, *value = ex->arena + e->value_off;
        if (e->response || has_crlf(name, e->name_len) || (e->add && has_crlf(value, e->value_len)))
            continue;
        r[o++] = e->add ? '+' : '-';
        memcpy(r + o, name, e->name_len);
        o += e->name_len;
        if (e->add) {
            memcpy(r + o, ": ", 2);
            memcpy(r + o + 2, value, e->value_len);
            o += 2 + e->value_len;
        }
        r[o++] = '\n';
    }
    r[o] = '\0';
    return r;
}

/* Replays the recipe's later edits (the lines after its head) on ex. */
static void replay_edits(struct exchange *ex, const char *p)
{
    while (*p) {
        const char *eol = strchr(p, '\n'), *colon;
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        char name[256];

        if (*p == '+' && (colon = memchr(p, ':', n)) && (size_t)(colon - p - 1) < sizeof(name) &&
            colon + 2 <= p + n) {
            gh_fmt(name, sizeof(name), "%.*s", (int)(colon - p - 1), p + 1);
            exchange_add_field(ex, name, colon + 2, (size_t)(p + n - colon - 2));
        } else if (*p == '-' && n - 1 < sizeof(name)) {
            gh_fmt(name, sizeof(name), "%.*s", (int)(n - 1), p + 1);
            exchange_remove_field(ex, name);
        }
        p += n + (eol != NULL);
    }
}

/* The target ex would be sent with now. */
static const char *current_target(const struct exchange *ex, size_t *len)
{
    if (ex->target_off >= 0) {
        *len = (size_t)ex->target_len;
        return ex->arena + ex->target_off;
    }
    *len = ex->req.target.len;
    return exchange_base(ex) + ex->req.target.off;
}

/* The recipe's head was sent in origin form ("GET /x"): an absolute-form
 * request goes the same way (the forward mode turns it into origin form
 * after the cache's decision). */
static void origin_form(struct exchange *ex, const char *recipe_head)
{
    const struct http_head *r = &ex->req;
    const char *sp = strchr(recipe_head, ' '), *t, *path = exchange_base(ex) + r->path.off;
    size_t tlen;
    char buf[8200];

    t = current_target(ex, &tlen);
    if (!sp || sp[1] != '/' || (tlen && t[0] == '/') || r->form != HTTP_TARGET_ABSOLUTE)
        return;
    if (r->path.len == 0)
        exchange_set_target(ex, "/", 1);
    else if (path[0] == '?')
        exchange_set_target(ex, buf, gh_fmt(buf, sizeof(buf), "/%.*s", (int)r->path.len, path));
    else
        exchange_set_target(ex, path, r->path.len);
}

/* Host for a request that has none: the upstream's address, as a fill
 * would have written it. */
static void host_from(struct exchange *ex, const char *addr, size_t alen)
{
    const char *colon = alen ? memrchr(addr, ':', alen) : NULL;
    size_t hl;

    if (!colon)
        return;
    hl = (size_t)(colon - addr);
    if (hl >= 2 && addr[0] == '[') { /* "[v6]:port" */
        addr++;
        hl -= 2;
    }
    gh_fmt(ex->host, sizeof(ex->host), "%.*s", (int)hl, addr);
    ex->port = (uint16_t)atoi(colon + 1);
}

void cache_refresh_as(struct exchange *ex, const struct cache_xfer *cx, const struct cache_obj *o)
{
    const char *recipe = o->recipe, *nl, *head, *end;
    unsigned nedits = ex->nedits, arena_len = ex->arena_len, upgrade = ex->upgrade;
    int32_t toff = ex->target_off, tlen = ex->target_len;
    uint16_t port = ex->port;
    char host[sizeof(ex->host)], addr[80], *req;
    struct cache_refresh_req rr;
    struct buf *b;
    int rc;

    if (!recipe || !(nl = strchr(recipe, '\n')) || (size_t)(nl - recipe) >= sizeof(addr) ||
        !(end = strstr(head = nl + 1, "\r\n\r\n")) || ex->req.framing != HTTP_BODY_NONE)
        return; /* no upstream to ask, or a request body that could not be sent again */
    gh_fmt(addr, sizeof(addr), "%.*s", (int)(nl - recipe), recipe);
    memcpy(host, ex->host, sizeof(host));
    replay_edits(ex, end + 4);
    origin_form(ex, head);
    exchange_remove_field(ex, "if-none-match");
    exchange_remove_field(ex, "if-modified-since");
    exchange_remove_field(ex, "if-range");
    exchange_remove_field(ex, "range");
    if (!ex->host[0])
        host_from(ex, addr, strlen(addr));
    b = buf_get();
    rc = exchange_write_request_head(ex, b);
    /* the exchange is answered from the cache: it forgets all of this */
    ex->nedits = nedits;
    ex->arena_len = arena_len;
    ex->target_off = toff;
    ex->target_len = tlen;
    ex->upgrade = upgrade & 1;
    memcpy(ex->host, host, sizeof(host));
    ex->port = port;
    if (rc == 0) {
        size_t n = buf_len(b);
        req = xmalloc(n + 2);
        if (ex->req_is_head) { /* the object is a GET's: refresh it with one */
            memcpy(req, "GET", 3);
            memcpy(req + 3, buf_head(b) + 4, n - 4);
            n--;
        } else {
            memcpy(req, buf_head(b), n);
        }
        req[n] = '\0';
        rr.key = cx->key;
        rr.len = cx->fkeylen;
        rr.keylen = cx->keylen;
        rr.addr = addr;
        rr.head = req;
        rr.head_len = n;
        rr.opts = &cx->opts;
        rr.targets = cx->rules ? (const char *const *)cx->rules->targeted : NULL;
        rr.ntargets = cx->rules ? cx->rules->ntargeted : 0;
        rr.cls = cache_url_class(ex, cx);
        cache_refresh(&rr);
        free(req);
    }
    buf_put(b);
}
