/* cache_xfer.c — the cache in the request flow (see cache.h and
 * cache_xfer.h): the lookup a front-end asks for, collapsed forwarding of
 * concurrent misses, conditional revalidation of stale objects, the fill of
 * a new object from the relayed body, invalidation by unsafe methods, and
 * PURGE.  Answering from an object is cache_answer.c's. */
#include "cache_xfer.h"
#include "cache_xfer_int.h"
#include "cache_refresh.h"
#include "cache_fleet.h"
#include "cache_targeted.h"
#include "log.h"
#include "exchange_int.h"
#include "util.h"
#include "worker.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static struct cache_xfer *xfer_new(struct exchange *ex, const struct cache_rules *r,
                                   enum xfer_mode mode)
{
    struct cache_xfer *cx = xmalloc(sizeof(*cx));
    const struct cache_conf *cc = &ex->cfg->cache;

    memset(cx, 0, offsetof(struct cache_xfer, tmp));
    cx->mode = mode;
    cx->rules = r;
    cache_opts_default(&cx->opts);
    cx->opts.heuristic_percent = cc->heuristic_percent;
    cx->opts.heuristic_max = cc->heuristic_max;
    if (r && r->ttl >= 0)
        cx->opts.override_ttl = r->ttl;
    if (r)
        cx->opts.stale_if_unreachable =
            r->stale_if_unreachable >= 0 ? r->stale_if_unreachable : CACHE_STALE_DEFAULT;
    cx->max_object = cc->max_object_bytes;
    cx->request_time = now_s();
    cx->fwd = CACHE_FWD_MISS;
    cache_req_parse(&cx->rq, &ex->req, exchange_base(ex));
    ex->cx = cx;
    return cx;
}

static void xfer_drop(struct exchange *ex)
{
    struct cache_xfer *cx = ex->cx;

    ex->cx = NULL;
    cache_ref_release(cx->stored);
    free(cx);
}

/* The request's primary key into cx->key; 0 or -1 (not cacheable). */
static int make_key(struct exchange *ex, struct cache_xfer *cx, int include_query)
{
    long n = cache_key(&ex->req, exchange_base(ex), exchange_is_tls(ex), include_query, cx->key,
                       CACHE_KEY_MAX);
    if (n <= 0)
        return -1;
    cx->keylen = cx->fkeylen = (size_t)n;
    return 0;
}

/* Headers the key does not cover but origins are known to act on: an
 * attacker could make them change a response that is then served to
 * everyone.  A cacheable request goes without them. */
static void strip_unkeyed(struct exchange *ex)
{
    static const char *const unkeyed[] = {
        "x-original-url", "x-rewrite-url",     "x-http-method-override", "x-http-method",
        "x-method-override", "x-forwarded-server", "x-host", "x-forwarded-scheme", NULL};

    for (const char *const *u = unkeyed; *u; u++)
        exchange_remove_field(ex, *u);
}

/* The route's targeted fields (RFC 9213) are the cache's own: they never
 * reach the client, whatever the method. */
static void hide_targeted(struct exchange *ex, const struct cache_rules *r)
{
    for (unsigned i = 0; r && r->enabled && i < r->ntargeted; i++)
        exchange_remove_response_field(ex, r->targeted[i]);
}

/* Conditionals and ranges of the client are answered by the cache from the
 * whole object, so the origin is asked for all of it. */
static void strip_client_conditionals(struct exchange *ex)
{
    exchange_remove_field(ex, "if-none-match");
    exchange_remove_field(ex, "if-modified-since");
    exchange_remove_field(ex, "if-range");
    exchange_remove_field(ex, "range");
}

/* Whether the Cookie fields name one of the bypass cookies. */
static int has_bypass_cookie(const struct exchange *ex, const struct cache_rules *r)
{
    const struct http_head *h = &ex->req;
    const char *base = exchange_base(ex);

    for (unsigned i = 0; r->nbypass && i < h->nfields; i++) {
        const struct http_field *f = &h->fields[i];
        const char *v = base + f->value.off, *end = v + f->value.len;
        if (!gh_strcaseeq(base + f->name.off, f->name.len, "cookie"))
            continue;
        while (v < end) {
            const char *eq, *semi = memchr(v, ';', (size_t)(end - v));
            if (!semi)
                semi = end;
            while (v < semi && *v == ' ')
                v++;
            eq = memchr(v, '=', (size_t)(semi - v));
            for (unsigned k = 0; eq && k < r->nbypass; k++)
                if ((size_t)(eq - v) == strlen(r->bypass_cookies[k]) &&
                    memcmp(v, r->bypass_cookies[k], (size_t)(eq - v)) == 0)
                    return 1;
            v = semi + 1;
        }
    }
    return 0;
}

static enum cache_outcome purge(struct exchange *ex)
{
    char key[CACHE_KEY_MAX], body[64];
    long n;
    size_t removed;

    if (!acl_match(ex->cfg->cache.purge_allow, exchange_client(ex))) {
        exchange_error(ex, 403, "PURGE: client not in purge_allow");
        return CACHE_ANSWERED;
    }
    n = cache_key(&ex->req, exchange_base(ex), exchange_is_tls(ex), 1, key, sizeof(key));
    if (n <= 0) {
        exchange_error(ex, 400, "PURGE: no cache key for this target");
        return CACHE_ANSWERED;
    }
    if (key[n - 1] == '*')
        removed = cache_store_remove_prefix(key, (size_t)n - 1);
    else
        removed = cache_store_remove(key, (size_t)n);
    /* the other nodes purge theirs whether this one held it or not */
    cache_fleet_removed(key, key[n - 1] == '*' ? (size_t)n - 1 : (size_t)n, key[n - 1] == '*');
    n = (long)gh_fmt(body, sizeof(body), "{\"purged\": %zu}\n", removed);
    exchange_set_label(ex, "cache");
    exchange_respond(ex, removed ? 200 : 404, "application/json", NULL, body, (size_t)n);
    return CACHE_ANSWERED;
}

/* Finds the object for the request: the primary key, then the variant a
 * marker's Vary list selects.  Sets cx->fkeylen and cx->fwd on a miss. */
static struct cache_ref *find(struct exchange *ex, struct cache_xfer *cx)
{
    struct cache_ref *r = cache_store_get(cx->key, cx->keylen);
    const struct cache_obj *o;
    long n;

    cx->fkeylen = cx->keylen;
    if (!r) {
        cx->fwd = CACHE_FWD_URI_MISS;
        return NULL;
    }
    o = cache_ref_obj(r);
    if (!o->vary)
        return r;
    n = cache_vary_key(o->vary, strlen(o->vary), &ex->req, exchange_base(ex),
                       cx->key + cx->keylen + 1, sizeof(cx->key) - cx->keylen - 1);
    cache_ref_release(r);
    if (n < 0) {
        cx->fwd = CACHE_FWD_VARY_MISS;
        return NULL;
    }
    cx->key[cx->keylen] = '\n';
    cx->fkeylen = cx->keylen + 1 + (size_t)n;
    r = cache_store_get(cx->key, cx->fkeylen);
    if (!r)
        cx->fwd = CACHE_FWD_VARY_MISS;
    return r;
}

/* Nobody stores this one: forward it as it is. */
static enum cache_outcome pass(struct cache_xfer *cx)
{
    cx->mode = X_PASS;
    return CACHE_FORWARD;
}

static enum cache_outcome only_if_cached(struct exchange *ex)
{
    exchange_set_label(ex, "cache");
    exchange_error(ex, 504, "only-if-cached: not in the cache");
    return CACHE_ANSWERED;
}

/* The lookup proper, also run again by a request waiting on a fill. */
static enum cache_outcome lookup(struct exchange *ex, struct cache_xfer *cx)
{
    struct cache_ref *r = find(ex, cx);
    enum cache_claim claim;

    if (r) {
        enum cache_use use = cache_decide(&cx->rq, &cache_ref_obj(r)->meta, &cx->opts, now_s(),
                                          &cx->v);
        if (use != CACHE_USE_REVALIDATE) {
            cx->mode = X_PASS;
            if (use == CACHE_USE_STALE_REVALIDATE) {
                cx->detail = "stale-while-revalidate";
                cache_refresh_as(ex, cx, cache_ref_obj(r));
            }
            if (cache_answer(ex, cx, r, 0, 0, 1))
                return CACHE_ANSWERED;
            r = NULL; /* its file is unreadable: a miss */
            cx->detail = NULL;
            cx->fwd = CACHE_FWD_URI_MISS;
        } else {
            /* fresh, yet asked again: the request's doing (or a no-cache
             * response's); a lifetime of 0 is stale at once */
            cx->fwd = (cx->rq.cc.flags & CACHE_CC_NO_CACHE) || cx->v.ttl > 0 ? CACHE_FWD_REQUEST
                                                                              : CACHE_FWD_STALE;
        }
    }
    if (cx->rq.cc.flags & CACHE_CC_ONLY_IF_CACHED) {
        cache_ref_release(r);
        return only_if_cached(ex);
    }
    if (cx->rq.method == CACHE_M_HEAD) {
        cache_ref_release(r);
        return pass(cx); /* a HEAD never fills; it forwards as asked */
    }
    claim = cache_fill_claim(cx->key, cx->keylen);
    if (claim == CACHE_BUSY) {
        uint64_t now = gh_now_ms();
        cache_ref_release(r);
        if (cx->mode != X_WAIT) {
            cx->mode = X_WAIT;
            cx->wait_until = now + ex->cfg->cache.lock_ms;
        }
        if (now < cx->wait_until) {
            /* until the fill ends and wakes it: the lock time at most,
             * and a second's margin for the queue's own timeout */
            exchange_queue(ex, ex->cfg->cache.lock_ms + 1000);
            return CACHE_WAIT;
        }
        cx->detail = "lock-timeout";
        return pass(cx);
    }
    if (claim == CACHE_PASS) {
        cache_ref_release(r);
        return pass(cx);
    }
    cx->claimed = 1;
    strip_client_conditionals(ex);
    if (r) {
        char cond[1024];
        const struct cache_obj *o = cache_ref_obj(r);
        long n = http1_parse_response(o->head, o->head_len, &ex->cfg->limits, 0, &cx->tmp) > 0
                     ? cache_conditional_fields(&cx->tmp, o->head, cond, sizeof(cond))
                     : 0;
        cx->stored = r;
        cx->mode = X_REVALIDATE;
        /* "If-None-Match: v\r\nIf-Modified-Since: d\r\n" into field edits */
        for (char *line = cond, *eol; n > 0 && (eol = strstr(line, "\r\n")); line = eol + 2) {
            char *colon = memchr(line, ':', (size_t)(eol - line));
            if (colon) {
                *colon = '\0';
                exchange_add_field(ex, line, colon + 2, (size_t)(eol - colon - 2));
            }
        }
        return CACHE_FORWARD;
    }
    cx->mode = X_FILL;
    return CACHE_FORWARD;
}

/* The decision proper (see cache_request). */
static enum cache_outcome decide(struct exchange *ex, const struct cache_rules *r)
{
    struct cache_xfer *cx = ex->cx;
    const struct http_head *q = &ex->req;
    const char *m = exchange_base(ex) + q->method.off;
    int bypass_cookie;

    if (cx && cx->mode == X_WAIT) {
        /* the edits were cleared for the new decision */
        hide_targeted(ex, cx->rules);
        strip_unkeyed(ex);
        return lookup(ex, cx);
    }
    if (cx)
        xfer_drop(ex); /* decided again from the start */
    if (q->method.len == 5 && memcmp(m, "PURGE", 5) == 0)
        return purge(ex);
    hide_targeted(ex, r);
    cx = xfer_new(ex, r, X_PASS);
    if (cx->rq.method == CACHE_M_UNSAFE) {
        cx->mode = X_INVALIDATE;
        return CACHE_FORWARD;
    }
    if (!r || !r->enabled || cx->rq.method == CACHE_M_SAFE ||
        make_key(ex, cx, r->include_query) < 0) {
        xfer_drop(ex);
        return CACHE_FORWARD;
    }
    strip_unkeyed(ex);
    bypass_cookie = has_bypass_cookie(ex, r);
    if (cx->rq.has_authorization || bypass_cookie) {
        /* never answered from the cache; stored when the response says a
         * shared cache may (RFC 9111 3.5), or, for a bypass cookie, only
         * when it says public */
        cx->fwd = CACHE_FWD_BYPASS;
        cx->opts.public_only = bypass_cookie;
        cx->mode = cx->rq.method == CACHE_M_GET ? X_FILL : X_PASS;
        return CACHE_FORWARD;
    }
    return lookup(ex, cx);
}

enum cache_outcome cache_request(struct exchange *ex, const struct cache_rules *r)
{
    enum cache_outcome out;

    if (!ex->cfg->cache.memory_bytes)
        return CACHE_FORWARD;
    if (!cache_store_ready())
        cache_store_configure(&ex->cfg->cache);
    out = decide(ex, r);
    if (out == CACHE_FORWARD && ex->cx)
        ex->cx->edits_mark = ex->nedits; /* what the front-end edits from now on is
                                          * replayed by background refreshes */
    return out;
}

int cache_waiting(const struct exchange *ex)
{
    return ex->cx && ex->cx->mode == X_WAIT;
}

void cache_wait_restart(struct exchange *ex)
{
    ex->nedits = 0;
    ex->arena_len = 0;
    ex->target_off = ex->target_len = -1;
}

/* ---- the response ---- */

static void invalidate(struct exchange *ex)
{
    struct cache_invalidation *inv = xmalloc(sizeof(*inv));

    cache_invalidation_targets(&ex->req, exchange_base(ex), &ex->resp, exchange_response_base(ex),
                               exchange_is_tls(ex), 1, inv);
    for (unsigned i = 0; i < inv->n; i++) {
        cache_store_remove(inv->key[i], inv->len[i]);
        cache_fleet_removed(inv->key[i], inv->len[i], 0);
    }
    free(inv);
}

enum cache_class cache_url_class(const struct exchange *ex, const struct cache_xfer *cx)
{
    const struct http_head *q = &ex->req;
    struct http_slice p = q->form == HTTP_TARGET_ABSOLUTE ? q->path : q->target;
    const char *path = exchange_base(ex) + p.off, *qm = memchr(path, '?', p.len);

    if (!cx->rules || !cx->rules->classify)
        return CACHE_CLASS_DEFAULT;
    return cx->rules->classify(path, qm ? (size_t)(qm - path) : p.len);
}

/* What response h says of itself, as this cache reads it: its targeted
 * field, and the front-end profile's word on the URL. */
static void judge(const struct exchange *ex, const struct cache_xfer *cx, const struct http_head *h,
                  const char *base, struct cache_meta *m)
{
    const struct cache_rules *r = cx->rules;

    cache_meta_judge(m, h, base, cx->request_time, now_s(),
                     r ? (const char *const *)r->targeted : NULL, r ? r->ntargeted : 0,
                     cache_url_class(ex, cx));
}

/* Decides whether the response is stored and prepares the object. */
static void start_fill(struct exchange *ex, struct cache_xfer *cx)
{
    const struct http_head *h = &ex->resp;
    const char *base = exchange_response_base(ex), *why = NULL;
    struct cache_meta m;
    char vary[1024];
    long vlen = 0;
    int ok;

    judge(ex, cx, h, base, &m);
    ok = cache_storable(&cx->rq, &m, &cx->opts, &why);
    if (ok && h->framing == HTTP_BODY_LENGTH && h->content_length > cx->max_object)
        ok = 0, why = "too-large";
    if (ok && (vlen = cache_vary_list(h, base, vary, sizeof(vary))) < 0)
        ok = 0, why = "vary";
    /* compression: a variant per (normalised) Accept-Encoding */
    if (ok && ex->zvary && (size_t)vlen + 17 < sizeof(vary))
        vlen += (long)gh_fmt(vary + vlen, sizeof(vary) - (size_t)vlen, "%saccept-encoding",
                             vlen ? "," : "");
    if (ok && vlen > 0) {
        long n = cache_vary_key(vary, (size_t)vlen, &ex->req, exchange_base(ex),
                                cx->key + cx->keylen + 1, sizeof(cx->key) - cx->keylen - 1);
        if (n < 0) {
            ok = 0, why = "vary";
        } else {
            cx->key[cx->keylen] = '\n';
            cx->fkeylen = cx->keylen + 1 + (size_t)n;
            cx->fill_vary = xstrdup(vary);
        }
    } else {
        cx->fkeylen = cx->keylen;
    }
    if (ok) {
        size_t hlen;
        char *head = cache_head_for_storage(h, base, cx->opts.store_set_cookie, &hlen);
        if (ex->zvary || ex->zalg || ex->zdecode) /* the body as the client gets it */
            head = exchange_compress_stored_head(ex, head, &hlen);
        cx->fill_cap = h->framing == HTTP_BODY_LENGTH ? (size_t)h->content_length
                                                      : (size_t)GH_MIN(cx->max_object, 16384u);
        cx->fill = cache_obj_new(head, hlen, &m, cache_body_new(cx->fill_cap));
        cx->fill->recipe = cache_recipe(ex, cx->edits_mark);
        cx->fill->override_ttl = cx->opts.override_ttl;
        if (!cx->fill->body) {
            cache_obj_free(cx->fill);
            cx->fill = NULL;
            ok = 0, why = "out-of-memory";
        }
    }
    cx->detail = why;
    cache_add_status(ex, cx, h->status, ok, 0);
    if (!ok && cx->claimed) {
        cache_fill_done(cx->key, cx->keylen, 0);
        cx->claimed = 0;
    }
}

/* The stored copy answers although it is stale: the origin failed or
 * could not be reached (fwd_status 0), within the stale windows of
 * cache_decide; or its 304 named another representation.  Returns 1 when
 * it did (a local answer is set). */
static int serve_stale(struct exchange *ex, int fwd_status, const char *detail, const char *why)
{
    struct cache_xfer *cx = ex->cx;
    struct cache_ref *r;

    if (!cx || cx->mode != X_REVALIDATE || !cx->stored || !cx->v.stale_if_error)
        return 0;
    cx->fwd = CACHE_FWD_STALE;
    cx->detail = detail;
    if (cx->claimed) {
        cache_fill_done(cx->key, cx->keylen, 1);
        cx->claimed = 0;
    }
    cx->mode = X_PASS;
    log_msg(LOG_INFO, "cache: serving a stale copy of %.*s (%s)", (int)GH_MIN(cx->keylen, 200u),
            cx->key, why ? why : "upstream error");
    ex->decision = DECIDE_NONE;
    r = cx->stored;
    cx->stored = NULL;
    return cache_answer(ex, cx, r, fwd_status, 0, 0) && ex->decision == DECIDE_LOCAL;
}

/* A 304 that names another representation than the stored one (RFC 9111
 * 4.3.4: it updates nothing).  The client did not ask for a 304: the
 * stored copy answers once more when a stale copy may, and is dropped; or
 * the client gets 502. */
static int answer_mismatch(struct exchange *ex, struct cache_xfer *cx)
{
    log_info("cache: %.*s: the origin's 304 names another representation; the stored copy is "
             "dropped", (int)GH_MIN(cx->keylen, 200u), cx->key);
    cache_store_remove(cx->key, cx->fkeylen);
    if (serve_stale(ex, 304, "validator-mismatch", "its 304 did not match"))
        return 1;
    if (cx->claimed) {
        cache_fill_done(cx->key, cx->keylen, 0);
        cx->claimed = 0;
    }
    cx->mode = X_PASS;
    ex->decision = DECIDE_NONE;
    exchange_error(ex, 502, "the upstream's 304 does not match the stored response");
    return 1;
}

/* A 304 to the cache's own conditional request (RFC 9111 4.3.3, 4.3.4):
 * the stored object, freshened with its fields, answers — as a 200, or as
 * a 304 when the client's own conditional holds.  A 304 without ETag or
 * Last-Modified selects the one stored response whose validators the
 * request carried.  Always answers (returns 1). */
static int answer_304(struct exchange *ex, struct cache_xfer *cx)
{
    const struct http_head *h = &ex->resp;
    const char *base = exchange_response_base(ex);
    const struct cache_obj *o = cache_ref_obj(cx->stored);
    struct cache_ref *r;
    struct cache_meta m;
    struct http_head *upd;
    char *head;
    size_t len;

    if (http1_parse_response(o->head, o->head_len, &ex->cfg->limits, 0, &cx->tmp) <= 0 ||
        !cache_head_matches(&cx->tmp, o->head, h, base))
        return answer_mismatch(ex, cx);
    head = cache_head_update(&cx->tmp, o->head, h, base, &len);
    upd = &cx->tmp;
    if (http1_parse_response(head, len, &ex->cfg->limits, 0, upd) <= 0) {
        free(head);
        return answer_mismatch(ex, cx);
    }
    judge(ex, cx, upd, head, &m);
    struct cache_obj *n = cache_obj_new(head, len, &m, cache_body_ref(o->body));
    n->recipe = o->recipe ? xstrdup(o->recipe) : NULL;
    n->override_ttl = o->override_ttl;
    cache_store_put(cx->key, cx->fkeylen, n);
    cache_fill_done(cx->key, cx->keylen, 1);
    cx->claimed = 0;
    r = cache_store_get(cx->key, cx->fkeylen);
    if (!r) { /* could not be stored: answer from the old copy */
        r = cx->stored;
        cx->stored = NULL;
    }
    cache_decide(&cx->rq, &cache_ref_obj(r)->meta, &cx->opts, now_s(), &cx->v);
    ex->decision = DECIDE_NONE;
    return cache_answer(ex, cx, r, 304, 1, 0);
}

int cache_serve_stale(struct exchange *ex, int status, const char *why)
{
    (void)status; /* ours, not the origin's: no fwd-status */
    return serve_stale(ex, 0, "stale-if-error", why);
}

int cache_answer_unreachable(struct exchange *ex, const char *why)
{
    return serve_stale(ex, 0, "stale-if-error", why);
}

int cache_response_head(struct exchange *ex)
{
    struct cache_xfer *cx = ex->cx;
    int st = ex->resp.status;

    if (st < 200)
        return 0; /* an interim response is never stored nor judged */
    switch (cx->mode) {
    case X_INVALIDATE:
        if (st >= 200 && st < 400)
            invalidate(ex);
        return 0;
    case X_REVALIDATE:
        if (st == 304)
            return answer_304(ex, cx);
        /* a failing origin; 501 is an answer about the method, not a failure */
        if (st >= 500 && st != 501 && serve_stale(ex, st, "stale-if-error", "origin answered an error"))
            return 1;
        cache_ref_release(cx->stored);
        cx->stored = NULL;
        cx->mode = X_FILL;
        /* a new representation replaces the stored one */
        __attribute__((fallthrough));
    case X_FILL:
        start_fill(ex, cx);
        return 0;
    default:
        cache_add_status(ex, cx, st, 0, 0);
        return 0;
    }
}

/* ---- the body ---- */

static void fill_abandon(struct cache_xfer *cx, const char *why)
{
    (void)why;
    cache_obj_free(cx->fill);
    cx->fill = NULL;
    free(cx->fill_vary);
    cx->fill_vary = NULL;
}

static void tee(void *arg, const char *p, size_t n)
{
    struct cache_xfer *cx = arg;
    struct cache_body *b;

    if (!cx->fill)
        return;
    b = cx->fill->body;
    if (b->len + n > cx->fill_cap) {
        size_t cap = GH_MAX(cx->fill_cap * 2, b->len + n);
        if (b->len + n > cx->max_object) {
            fill_abandon(cx, "too-large");
            return;
        }
        cap = (size_t)GH_MIN((uint64_t)cap, cx->max_object);
        b = realloc(b, sizeof(*b) + cap);
        if (!b) {
            fill_abandon(cx, "out-of-memory");
            return;
        }
        cx->fill->body = b;
        cx->fill_cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* The whole body went through the tee: the object is stored and the
 * waiters woken now, before the client can see the body end, so whatever
 * the client does next (a PURGE, another GET) finds it. */
static void fill_commit(void *arg)
{
    struct cache_xfer *cx = arg;

    if (!cx->fill)
        return;
    cache_store_fix_length(cx->fill);
    if (cx->fill_vary) {
        struct cache_obj *marker = cache_obj_new(NULL, 0, NULL, NULL);
        marker->vary = cx->fill_vary;
        cx->fill_vary = NULL;
        cache_store_put(cx->key, cx->keylen, marker);
    }
    cache_store_put(cx->key, cx->fkeylen, cx->fill);
    cx->fill = NULL;
    if (cx->claimed) {
        cache_fill_done(cx->key, cx->keylen, 1);
        cx->claimed = 0;
    }
}

void cache_body_begin(struct exchange *ex)
{
    struct cache_xfer *cx = ex->cx;

    if (cx->fill && ex->resp.status != 206) {
        ex->respb.tee = tee;
        ex->respb.tee_end = fill_commit;
        ex->respb.tee_arg = cx;
    }
}

void cache_xfer_end(struct exchange *ex)
{
    struct cache_xfer *cx = ex->cx;

    fill_abandon(cx, NULL);
    if (cx->claimed)
        cache_fill_done(cx->key, cx->keylen, 0);
    free(cx->synth);
    xfer_drop(ex);
}
