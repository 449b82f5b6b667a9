/* check_cache_reval.c — the cache's revalidation as the client and the
 * origin see it: a table of revalidations (304s with and without
 * validators, merged fields, weak and strong tags, a 200 that replaces the
 * stored copy, the client's own conditionals, HEAD, Vary), background
 * refreshes sent as the request that triggered them, stale copies for an
 * origin that fails or cannot be reached, RFC 9213 targeted fields, and
 * responses to requests with Authorization.  Part of the "cache" suite
 * (check_cache.c); a rig of its own.
 *
 * The origin's /rv/ answers as the request's X-Rv-* fields say (rv_origin
 * below), so every case spells out, in the fields it sends, what the origin
 * does.  Objects arrive already stale (max-age=0, or an Age past max-age):
 * no case waits for time to pass. */
#include "common.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

void cache_reval_tcases(Suite *s);

/* ---- the origin ----
 *
 * /rv/...: an answer shaped by the request's own X-Rv-* fields, so that a
 * case says, in the request it sends, what the origin does (and a
 * revalidation, which carries the client's fields, is answered the same
 * way):
 *   X-Rv-CC: v        Cache-Control: v
 *   X-Rv-ETag: v      ETag: v, as written ("a" or W/"a")
 *   X-Rv-LM: t        Last-Modified: the HTTP-date of t (seconds since 1970)
 *   X-Rv-Age: n       Age: n (a copy that arrives already old, or stale)
 *   X-Rv-Vary: v      Vary: v
 *   X-Rv-Extra: N: v  the field "N: v" on every answer, 304 included; may repeat
 *   X-Rv-Status: n    answers n (with the body "status n") instead
 *   X-Rv-304: how     when the request's validators match: "full" (the
 *                     default) answers 304 with the ETag and Last-Modified,
 *                     "bare" 304 with neither (as Python's http.server does),
 *                     "other" 304 naming the ETag "other"
 *   X-Rv-Interim: n   an interim response n (103, 100) goes first
 * The validators match when If-None-Match names the ETag (weak comparison)
 * or is "*", or, without If-None-Match, when If-Modified-Since is not
 * before X-Rv-LM.  A full answer's body is "rv=<N>\n" (N counts full
 * answers of this origin) followed by the request head as received.  Every
 * answer carries "X-Rv-Answer: <M>" (M counts every /rv/ answer, 304s
 * included), so a test can tell a freshened copy from the one stored
 * before.  One line per request goes to the origin's log:
 *   rv <METHOD> <target> inm=<If-None-Match or -> ims=<If-Modified-Since or -> status=<status>
 */

static atomic_uint_fast64_t full_answers, all_answers;

static void http_date(time_t t, char *out, size_t cap)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* An entity-tag without its weakness indicator. */
static const char *opaque_tag(const char *tag)
{
    return strncmp(tag, "W/", 2) == 0 ? tag + 2 : tag;
}

/* Whether the request's validators match the answer's etag and lm (-1:
 * none), as the block above says. */
static int validators_match(const struct origin_request *rq, const char *etag, long lm)
{
    char inm[512], ims[128], *save = NULL;
    struct tm tm;

    if (origin_field(rq, "If-None-Match", 0, inm, sizeof(inm)) == 0) {
        if (strcmp(inm, "*") == 0)
            return 1;
        for (char *t = strtok_r(inm, ", ", &save); t && etag[0]; t = strtok_r(NULL, ", ", &save))
            if (strcmp(opaque_tag(t), opaque_tag(etag)) == 0)
                return 1;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    if (lm < 0 || origin_field(rq, "If-Modified-Since", 0, ims, sizeof(ims)) < 0 ||
        !strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm))
        return 0;
    return (long)timegm(&tm) >= lm;
}

/* The fields of an /rv/ answer, after its status line. */
static void rv_fields(const struct origin_request *rq, struct origin_reply *re, int status,
                      const char *etag, long lm, const char *how)
{
    char v[512];

    origin_bare(re);
    origin_add(re, "Server: gh-origin");
    http_date(time(NULL), v, sizeof(v));
    origin_add(re, "Date: %s", v);
    origin_add(re, "X-Rv-Answer: %" PRIu64, (uint64_t)atomic_fetch_add(&all_answers, 1) + 1);
    if (origin_field(rq, "X-Rv-CC", 0, v, sizeof(v)) == 0)
        origin_add(re, "Cache-Control: %s", v);
    if (!(status == 304 && strcmp(how, "bare") == 0)) {
        if (etag[0])
            origin_add(re, "ETag: %s", etag);
        if (lm >= 0) {
            http_date((time_t)lm, v, sizeof(v));
            origin_add(re, "Last-Modified: %s", v);
        }
    }
    if (origin_field(rq, "X-Rv-Age", 0, v, sizeof(v)) == 0)
        origin_add(re, "Age: %s", v);
    if (origin_field(rq, "X-Rv-Vary", 0, v, sizeof(v)) == 0)
        origin_add(re, "Vary: %s", v);
    for (int i = 0; origin_field(rq, "X-Rv-Extra", i, v, sizeof(v)) == 0; i++)
        origin_add(re, "%s", v);
}

static void rv(const struct origin_request *rq, struct origin_reply *re)
{
    char v[512], etag[256] = "", how[32] = "full", inm[512], ims[128];
    int status = 200;
    long lm = -1;

    if (origin_field(rq, "X-Rv-Interim", 0, v, sizeof(v)) == 0) {
        char interim[256];
        int n = snprintf(interim, sizeof(interim), "HTTP/1.1 %d %s\r\n%s\r\n", atoi(v),
                         atoi(v) == 103 ? "Early Hints" : "Continue",
                         atoi(v) == 103 ? "Link: </rv.css>; rel=preload\r\n" : "");
        origin_send(re, interim, (size_t)n);
    }
    origin_field(rq, "X-Rv-ETag", 0, etag, sizeof(etag));
    if (origin_field(rq, "X-Rv-LM", 0, v, sizeof(v)) == 0)
        lm = atol(v);
    origin_field(rq, "X-Rv-304", 0, how, sizeof(how));
    if (origin_field(rq, "X-Rv-Status", 0, v, sizeof(v)) == 0)
        status = atoi(v);
    else if (validators_match(rq, etag, lm))
        status = 304;
    if (status == 304 && strcmp(how, "other") == 0)
        snprintf(etag, sizeof(etag), "\"other\"");
    if (origin_field(rq, "If-None-Match", 0, inm, sizeof(inm)) < 0)
        strcpy(inm, "-");
    if (origin_field(rq, "If-Modified-Since", 0, ims, sizeof(ims)) < 0)
        strcpy(ims, "-");
    origin_log(rq, "rv %s %s inm=%s ims=%s status=%d", rq->method, rq->target, inm, ims, status);
    origin_status(re, status);
    rv_fields(rq, re, status, etag, lm, how);
    if (status == 304 || status == 204)
        return;
    if (status == 200) {
        origin_text(re, "rv=%" PRIu64 "\n", (uint64_t)atomic_fetch_add(&full_answers, 1) + 1);
        origin_body(re, NULL, rq->head, rq->head_len);
    } else {
        origin_text(re, "status %d\n", status);
    }
}

/* Both origins, "rv1" and "rv2"; /hello is the health checks'. */
static void rv_origin(const struct origin_request *rq, struct origin_reply *re)
{
    if (strncmp(rq->path, "/rv/", 4) == 0) {
        rv(rq, re);
    } else if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

/* ---- the rig ---- */

static struct origin *o, *o2; /* shared with the test processes: a test may stop o2 */
static struct th_gatehouse gh;
static int site, gw;

static void conf_for(char *conf, size_t cap, const char *route_edit)
{
    snprintf(
        conf, cap,
        "log = { access = \"@ACCESS@\"; level = \"info\"; };\n"
        "cache = { memory_mb = 32; lock_timeout = 10.0; };\n"
        "listeners = (\n"
        "  { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
        "    status_path = \"/_status\"; },\n"
        "  { name = \"gw\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"lan\"; }\n"
        ");\n"
        "policies = { lan = { cache = true; }; };\n"
        "pools = { o = { servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "          o2 = { servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "          hc = { servers = ( { address = \"127.0.0.1:%d\"; } );\n"
        "                 health_check = { path = \"/hello\"; interval = 0.2; timeout = 0.5;\n"
        "                                  fall = 1; rise = 1; }; }; };\n"
        "routes = { r = (\n"
        "  { host = \"rv.test\"; pool = \"o\"; cache = true; },\n"
        "  { host = \"own.test\"; pool = \"o\";\n"
        "    cache = { targeted_field = [ \"Gatehouse-Cache-Control\", \"CDN-Cache-Control\" ]; }; },\n"
        "  { host = \"only.test\"; pool = \"o\"; cache = { targeted_field = \"Gatehouse-Cache-Control\"; }; },\n"
        "  { host = \"edits.test\"; pool = \"o\"; cache = { key_query = false; };\n"
        "    set_request_headers = ( ( \"X-Route\", \"%s\" ) ); },\n"
        "  { host = \"down.test\"; pool = \"o2\"; cache = true; },\n"
        "  { host = \"strict.test\"; pool = \"o2\"; cache = { stale_if_unreachable = 0; }; },\n"
        "  { host = \"week.test\"; pool = \"o2\"; cache = { stale_if_unreachable = 604800; }; },\n"
        "  { host = \"hc.test\"; pool = \"hc\"; cache = true; }\n"
        "); };\n",
        site, gw, o->port, o2->port, o2->port, route_edit);
}

static void rig_start(void)
{
    char conf[4096];

    o = mmap(NULL, 2 * sizeof(*o), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (o == MAP_FAILED)
        abort();
    o2 = o + 1;
    if (origin_start(o, "rv1", rv_origin) < 0 || origin_start(o2, "rv2", rv_origin) < 0)
        abort();
    site = th_free_port();
    gw = th_free_port();
    conf_for(conf, sizeof(conf), "one");
    if (th_gatehouse_start(&gh, conf) < 0)
        abort();
}

static void rig_stop(void)
{
    rig_stop_clean(&gh);
    rig_origin_stop(o);
    rig_origin_stop(o2);
}

/* One request on a new connection to the site; returns the status. */
static int req(const char *method, const char *host, const char *path, const char *extra,
               struct tc_response *r)
{
    char raw[4096];
    int fd = tc_connect("127.0.0.1", site);

    snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", method, path, host,
             extra ? extra : "");
    memset(r, 0, sizeof(*r));
    rig_exchange(fd, raw, r);
    tc_close(fd);
    return r->status;
}

/* The value of field `name` in r ("" when absent), copied. */
static const char *field(const struct tc_response *r, const char *name)
{
    static char v[4][512];
    static int k;
    size_t n = 0;
    const char *p = tc_header(r, name, &n);

    k = (k + 1) % 4;
    snprintf(v[k], sizeof(v[k]), "%.*s", p ? (int)n : 0, p ? p : "");
    return v[k];
}

/* The body's first line, "rv=N" (which full answer of the origin it is). */
static const char *answer(const struct tc_response *r)
{
    static char v[2][32];
    static int k;

    k = (k + 1) % 2;
    snprintf(v[k], sizeof(v[k]), "%.*s", r->body ? (int)strcspn(r->body, "\n") : 0,
             r->body ? r->body : "");
    return v[k];
}

/* How many of the origin's "rv" lines (one per request it answered) hold
 * every needle. */
static int origin_saw(const struct origin *og, const char *a, const char *b)
{
    return th_log_lines(og->log, 0, a, b, NULL);
}

/* ---- the revalidation table ---- */

#define STALE_LM "X-Rv-CC: max-age=0\r\nX-Rv-LM: 1700000000\r\n"
#define STALE_TAG "X-Rv-CC: max-age=0\r\nX-Rv-ETag: \"a\"\r\n"
#define LM_DATE "Tue, 14 Nov 2023 22:13:20 GMT" /* 1700000000 */

/* Each case fills /rv/<name> with the `fill` fields (a 200 that is stored,
 * and stale at once), then asks again with `again`: the client's own
 * fields, and what the origin is to answer the revalidation. */
static const struct reval_case {
    const char *name;
    const char *fill, *again;
    const char *method;  /* of the second request */
    int status;          /* what the client gets */
    int body;            /* 1: the stored body, 0: a new one, -1: none */
    const char *cstatus; /* in its Cache-Status */
    const char *saw;  /* the origin's line for the second request: "inm=... ims=... status=..." */
    const char *has;  /* a field the answer carries ("Name: value"), or NULL */
    const char *then; /* a third request like the second: its Cache-Status, or NULL */
} cases[] = {
    /* a 304 without ETag or Last-Modified, as Python's http.server sends:
     * the stored copy, freshened, goes out as a 200 */
    {"bare-lm", STALE_LM, STALE_LM "X-Rv-304: bare\r\n", "GET", 200, 1, "fwd=stale; fwd-status=304",
     "inm=- ims=" LM_DATE " status=304", NULL, "fwd=stale; fwd-status=304"},
    {"bare-tag", STALE_TAG, STALE_TAG "X-Rv-304: bare\r\n", "GET", 200, 1,
     "fwd=stale; fwd-status=304", "inm=\"a\" ims=- status=304", NULL, NULL},
    {"bare-both", STALE_TAG "X-Rv-LM: 1700000000\r\n",
     STALE_TAG "X-Rv-LM: 1700000000\r\nX-Rv-304: bare\r\n", "GET", 200, 1,
     "fwd=stale; fwd-status=304", "inm=\"a\" ims=" LM_DATE " status=304", NULL, NULL},
    /* a 304 with the stored validators */
    {"strong", STALE_TAG, STALE_TAG, "GET", 200, 1, "fwd=stale; fwd-status=304",
     "inm=\"a\" ims=- status=304", NULL, NULL},
    {"lm-only", STALE_LM, STALE_LM, "GET", 200, 1, "fwd=stale; fwd-status=304",
     "inm=- ims=" LM_DATE " status=304", NULL, NULL},
    {"weak", "X-Rv-CC: max-age=0\r\nX-Rv-ETag: W/\"a\"\r\n",
     "X-Rv-CC: max-age=0\r\nX-Rv-ETag: W/\"a\"\r\n", "GET", 200, 1, "fwd=stale; fwd-status=304",
     "inm=W/\"a\" ims=- status=304", "ETag: W/\"a\"", NULL},
    /* a weak validator in the 304 selects a strongly tagged copy (RFC 9111 4.3.4) */
    {"strong-then-weak", STALE_TAG, "X-Rv-CC: max-age=0\r\nX-Rv-ETag: W/\"a\"\r\n", "GET", 200, 1,
     "fwd=stale; fwd-status=304", "inm=\"a\" ims=- status=304", "ETag: W/\"a\"", NULL},
    /* the 304's fields replace the stored ones */
    {"merged", STALE_TAG "X-Rv-Extra: X-Note: one\r\n",
     STALE_TAG "X-Rv-Extra: X-Note: two\r\nX-Rv-304: bare\r\n", "GET", 200, 1,
     "fwd=stale; fwd-status=304", "inm=\"a\" ims=- status=304", "X-Note: two",
     "fwd=stale; fwd-status=304"},
    {"merged-cc", STALE_TAG, "X-Rv-CC: max-age=600\r\nX-Rv-ETag: \"a\"\r\n", "GET", 200, 1,
     "fwd=stale; fwd-status=304", "inm=\"a\" ims=- status=304", "Cache-Control: max-age=600",
     "hit"},
    /* a 304 that names another representation updates nothing: the stored
     * copy answers once more and is dropped */
    {"other-tag", STALE_TAG, STALE_TAG "X-Rv-304: other\r\n", "GET", 200, 1,
     "fwd=stale; fwd-status=304", "inm=\"a\" ims=- status=304", NULL, "fwd=uri-miss"},
    /* a new representation replaces the stored one */
    {"replaced", STALE_TAG, "X-Rv-CC: max-age=0\r\nX-Rv-ETag: \"b\"\r\n", "GET", 200, 0,
     "fwd=stale; fwd-status=200; stored", "inm=\"a\" ims=- status=200", "ETag: \"b\"",
     "fwd=stale; fwd-status=304"},
    /* no validator stored: the revalidation is a plain GET */
    {"no-validator", "X-Rv-CC: max-age=60\r\nX-Rv-Age: 100\r\n",
     "X-Rv-CC: max-age=60\r\nX-Rv-Age: 100\r\n", "GET", 200, 0, "fwd=stale; fwd-status=200; stored",
     "inm=- ims=- status=200", NULL, NULL},
    /* the client's own conditionals are answered from the revalidated copy */
    {"client-inm", STALE_TAG, STALE_TAG "X-Rv-304: bare\r\nIf-None-Match: \"a\"\r\n", "GET", 304,
     -1, "fwd=stale; fwd-status=304", "inm=\"a\" ims=- status=304", "ETag: \"a\"", NULL},
    {"client-inm-other", STALE_TAG, STALE_TAG "X-Rv-304: bare\r\nIf-None-Match: \"zzz\"\r\n", "GET",
     200, 1, "fwd=stale; fwd-status=304", "inm=\"a\" ims=- status=304", NULL, NULL},
    {"client-ims", STALE_LM,
     STALE_LM "X-Rv-304: bare\r\nIf-Modified-Since: Wed, 15 Nov 2023 00:00:00 GMT\r\n", "GET", 304,
     -1, "fwd=stale; fwd-status=304", "inm=- ims=" LM_DATE " status=304", NULL, NULL},
    {"client-ims-older", STALE_LM,
     STALE_LM "X-Rv-304: bare\r\nIf-Modified-Since: Mon, 13 Nov 2023 00:00:00 GMT\r\n", "GET", 200,
     1, "fwd=stale; fwd-status=304", "inm=- ims=" LM_DATE " status=304", NULL, NULL},
    /* the client asks for a revalidation of a fresh copy */
    {"client-no-cache", "X-Rv-CC: max-age=600\r\nX-Rv-ETag: \"a\"\r\n",
     "X-Rv-CC: max-age=600\r\nX-Rv-ETag: \"a\"\r\nX-Rv-304: bare\r\nCache-Control: no-cache\r\n",
     "GET", 200, 1, "fwd=request; fwd-status=304", "inm=\"a\" ims=- status=304", NULL,
     "fwd=request; fwd-status=304"},
    /* HEAD of a stale copy goes to the origin as it is */
    {"head", STALE_TAG, STALE_TAG, "HEAD", 200, -1, "fwd=stale; fwd-status=200",
     "inm=- ims=- status=200", "ETag: \"a\"", NULL},
    /* Vary: each variant is revalidated with its own validators */
    {"vary-same", STALE_TAG "X-Rv-Vary: X-Lang\r\nX-Lang: en\r\n",
     STALE_TAG "X-Rv-Vary: X-Lang\r\nX-Lang: en\r\nX-Rv-304: bare\r\n", "GET", 200, 1,
     "fwd=stale; fwd-status=304", "inm=\"a\" ims=- status=304", NULL, NULL},
    {"vary-other", STALE_TAG "X-Rv-Vary: X-Lang\r\nX-Lang: en\r\n",
     "X-Rv-CC: max-age=0\r\nX-Rv-ETag: \"fr\"\r\nX-Rv-Vary: X-Lang\r\nX-Lang: fr\r\n", "GET", 200,
     0, "fwd=vary-miss; fwd-status=200; stored", "inm=- ims=- status=200", NULL,
     "fwd=stale; fwd-status=304"},
    /* an origin error: the stale copy, unless the response forbids it */
    {"error-503", STALE_TAG, STALE_TAG "X-Rv-Status: 503\r\n", "GET", 200, 1,
     "fwd=stale; fwd-status=503; ttl=", "inm=\"a\" ims=- status=503", NULL, NULL},
    {"error-500", STALE_TAG, STALE_TAG "X-Rv-Status: 500\r\n", "GET", 200, 1,
     "fwd=stale; fwd-status=500; ttl=", "inm=\"a\" ims=- status=500", NULL, NULL},
    {"error-501", STALE_TAG, STALE_TAG "X-Rv-Status: 501\r\n", "GET", 501, 0,
     "fwd=stale; fwd-status=501", "inm=\"a\" ims=- status=501", NULL, NULL},
    {"error-must-revalidate", "X-Rv-CC: max-age=0, must-revalidate\r\nX-Rv-ETag: \"a\"\r\n",
     "X-Rv-CC: max-age=0, must-revalidate\r\nX-Rv-ETag: \"a\"\r\nX-Rv-Status: 503\r\n", "GET", 503,
     0, "fwd=stale; fwd-status=503", "inm=\"a\" ims=- status=503", NULL, NULL},
    {"error-proxy-revalidate", "X-Rv-CC: max-age=0, proxy-revalidate\r\nX-Rv-ETag: \"a\"\r\n",
     "X-Rv-CC: max-age=0, proxy-revalidate\r\nX-Rv-ETag: \"a\"\r\nX-Rv-Status: 503\r\n", "GET", 503,
     0, "fwd=stale; fwd-status=503", "inm=\"a\" ims=- status=503", NULL, NULL},
    {"error-s-maxage", "X-Rv-CC: s-maxage=0\r\nX-Rv-ETag: \"a\"\r\n",
     "X-Rv-CC: s-maxage=0\r\nX-Rv-ETag: \"a\"\r\nX-Rv-Status: 503\r\n", "GET", 503, 0,
     "fwd=stale; fwd-status=503", "inm=\"a\" ims=- status=503", NULL, NULL},
    {"error-no-cache", "X-Rv-CC: no-cache\r\nX-Rv-ETag: \"a\"\r\n",
     "X-Rv-CC: no-cache\r\nX-Rv-ETag: \"a\"\r\nX-Rv-Status: 503\r\n", "GET", 503, 0,
     "fwd=stale; fwd-status=503", "inm=\"a\" ims=- status=503", NULL, NULL},
};

START_TEST(revalidation)
{
    const struct reval_case *c = &cases[_i];
    struct tc_response a, b, t;
    char path[64], saw[512];

    snprintf(path, sizeof(path), "/rv/%s", c->name);
    ck_assert_int_eq(req("GET", "rv.test", path, c->fill, &a), 200);
    ck_assert_msg(strstr(field(&a, "Cache-Status"), "stored"), "%s: fill %s", c->name,
                  field(&a, "Cache-Status"));
    req(c->method, "rv.test", path, c->again, &b);
    ck_assert_msg(b.status == c->status, "%s: status %d, want %d", c->name, b.status, c->status);
    ck_assert_msg(strstr(field(&b, "Cache-Status"), c->cstatus), "%s: Cache-Status %s, want %s",
                  c->name, field(&b, "Cache-Status"), c->cstatus);
    if (c->body == 1)
        ck_assert_msg(b.body_len == a.body_len && memcmp(a.body, b.body, a.body_len) == 0,
                      "%s: not the stored body: %s / %s", c->name, answer(&a), answer(&b));
    else if (c->body == 0 && c->status == 200)
        ck_assert_msg(strcmp(answer(&a), answer(&b)) != 0 && strncmp(b.body, "rv=", 3) == 0,
                      "%s: not a new body: %s / %s", c->name, answer(&a), answer(&b));
    else if (c->body == -1)
        ck_assert_msg(b.body_len == 0, "%s: %zu body bytes", c->name, b.body_len);
    if (c->has) {
        const char *colon = strchr(c->has, ':');
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(colon - c->has), c->has);
        ck_assert_msg(strcmp(field(&b, name), colon + 2) == 0, "%s: %s is \"%s\"", c->name, name,
                      field(&b, name));
    }
    /* the fill's own line may read the same */
    snprintf(saw, sizeof(saw), "rv %s %s %s", c->method, path, c->saw);
    ck_assert_msg(origin_saw(o, saw, NULL) ==
                      1 + (!strcmp(c->method, "GET") && !strcmp(c->saw, "inm=- ims=- status=200")),
                  "%s: the origin did not see \"%s\"", c->name, saw);
    ck_assert_msg(origin_saw(o, "rv ", path) == 2, "%s: %d requests reached the origin", c->name,
                  origin_saw(o, "rv ", path));
    if (c->then) {
        req(c->method, "rv.test", path, c->again, &t);
        ck_assert_msg(t.status == 200 || t.status == c->status, "%s: third status %d", c->name,
                      t.status);
        ck_assert_msg(strstr(field(&t, "Cache-Status"), c->then), "%s: then %s, want %s", c->name,
                      field(&t, "Cache-Status"), c->then);
        tc_response_free(&t);
    }
    tc_response_free(&a);
    tc_response_free(&b);
}
END_TEST

/* ---- background refresh (stale-while-revalidate) ---- */

#define SWR "X-Rv-CC: max-age=60, stale-while-revalidate=600\r\nX-Rv-Age: 100\r\n"

/* Asks for path with extra until the answer's X-Rv-Answer differs from
 * `before` (the background refresh has landed); returns 0 then. */
static int until_refreshed(const char *host, const char *path, const char *extra,
                           const char *before, struct tc_response *r)
{
    for (int i = 0; i < 100; i++) {
        req("GET", host, path, extra, r);
        if (strcmp(field(r, "X-Rv-Answer"), before) != 0)
            return 0;
        tc_response_free(r);
        th_sleep_ms(50);
    }
    return -1;
}

START_TEST(background_304_without_validators)
{
    struct tc_response a, b, c;
    const char *p = "/rv/swr-bare", *f = SWR "X-Rv-LM: 1700000000\r\nX-Rv-304: bare\r\n";

    ck_assert_int_eq(req("GET", "rv.test", p, f, &a), 200);
    ck_assert_msg(strstr(field(&a, "Cache-Status"), "stored"), "%s", field(&a, "Cache-Status"));
    /* stale within stale-while-revalidate: answered at once ... */
    ck_assert_int_eq(req("GET", "rv.test", p, f, &b), 200);
    ck_assert_msg(strstr(field(&b, "Cache-Status"), "hit") &&
                      strstr(field(&b, "Cache-Status"), "stale-while-revalidate"),
                  "%s", field(&b, "Cache-Status"));
    ck_assert_str_eq(answer(&a), answer(&b));
    /* ... and the origin's bare 304 freshens the stored copy behind it */
    ck_assert_msg(until_refreshed("rv.test", p, f, field(&a, "X-Rv-Answer"), &c) == 0,
                  "the stored copy was never freshened");
    ck_assert_str_eq(answer(&c), answer(&a));
    ck_assert_int_ge(origin_saw(o, "rv GET /rv/swr-bare inm=- ims=" LM_DATE " status=304", NULL),
                     1);
    ck_assert_int_eq(origin_saw(o, "rv GET /rv/swr-bare", "status=200"), 1);
    tc_response_free(&a);
    tc_response_free(&b);
    tc_response_free(&c);
}
END_TEST

START_TEST(background_refresh_is_the_triggering_request)
{
    struct tc_response a, b, c;
    char conf[4096];
    const char *filler =
        SWR "X-Rv-Vary: Accept-Encoding\r\nAccept-Encoding: gzip, br\r\nX-Who: filler\r\n";
    const char *trigger =
        SWR "X-Rv-Vary: Accept-Encoding\r\nAccept-Encoding: br, gzip\r\nX-Who: trigger\r\n";

    ck_assert_int_eq(req("GET", "edits.test", "/rv/swr-as?from=filler", filler, &a), 200);
    ck_assert_msg(strstr(field(&a, "Cache-Status"), "stored"), "%s", field(&a, "Cache-Status"));
    ck_assert_msg(strstr(a.body, "X-Route: one"), "%s", a.body);
    /* the route's edits change with a reload; the key ignores the query */
    conf_for(conf, sizeof(conf), "two");
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf), 0);
    ck_assert_int_eq(req("GET", "edits.test", "/rv/swr-as?from=trigger", trigger, &b), 200);
    ck_assert_msg(strstr(field(&b, "Cache-Status"), "stale-while-revalidate"), "%s",
                  field(&b, "Cache-Status"));
    ck_assert_str_eq(answer(&a), answer(&b));
    /* the refresh asked as the triggering request did: its target, its
     * fields (Accept-Encoding as it spelled it) and today's route edits */
    ck_assert_msg(until_refreshed("edits.test", "/rv/swr-as?from=trigger", trigger,
                                  field(&a, "X-Rv-Answer"), &c) == 0,
                  "never refreshed");
    ck_assert_msg(strcmp(answer(&a), answer(&c)) != 0, "a 200 was expected: %s", c.body);
    ck_assert_msg(strstr(c.body, "GET /rv/swr-as?from=trigger HTTP/1.1\r\n") &&
                      strstr(c.body, "\r\nX-Who: trigger\r\n") &&
                      strstr(c.body, "\r\nAccept-Encoding: br, gzip\r\n") &&
                      strstr(c.body, "\r\nX-Route: two\r\n") && !strstr(c.body, "filler") &&
                      !strstr(c.body, "X-Route: one") && !strstr(c.body, "If-None-Match"),
                  "the refresh was: %s", c.body);
    conf_for(conf, sizeof(conf), "one");
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf), 0);
    tc_response_free(&a);
    tc_response_free(&b);
    tc_response_free(&c);
}
END_TEST

/* ---- a stale copy while the origin cannot be reached ---- */

static void fill_on(const char *host, const char *path, const char *fields, struct tc_response *a)
{
    ck_assert_int_eq(req("GET", host, path, fields, a), 200);
    ck_assert_msg(strstr(field(a, "Cache-Status"), "stored"), "%s%s: %s", host, path,
                  field(a, "Cache-Status"));
}

/* Stops o2 and waits until its port refuses connections. */
static void o2_down(void)
{
    kill(o2->pid, SIGKILL);
    for (int i = 0; i < 200; i++) {
        int fd = tc_connect("127.0.0.1", o2->port);
        if (fd < 0)
            return;
        tc_close(fd);
        th_sleep_ms(10);
    }
    ck_abort_msg("the second origin did not stop");
}

/* Whether the status page shows a server in state `state`. */
static int some_server(const char *state)
{
    struct tc_response st;
    char needle[64];
    int found;

    snprintf(needle, sizeof(needle), "\"state\":\"%s\"", state);
    req("GET", "rv.test", "/_status", NULL, &st);
    found = st.body && strstr(st.body, needle) != NULL;
    tc_response_free(&st);
    return found;
}

START_TEST(stale_while_unreachable)
{
    struct tc_response a[6], b;
    static const char *const stale = "X-Rv-CC: max-age=0\r\nX-Rv-ETag: \"a\"\r\n";
    static const char *const old = "X-Rv-CC: max-age=60\r\nX-Rv-ETag: \"a\"\r\nX-Rv-Age: 90000\r\n";

    fill_on("down.test", "/rv/down", stale, &a[0]);
    fill_on("down.test", "/rv/down-mr",
            "X-Rv-CC: max-age=0, must-revalidate\r\nX-Rv-ETag: \"a\"\r\n", &a[1]);
    fill_on("down.test", "/rv/down-old", old, &a[2]);
    fill_on("strict.test", "/rv/down", stale, &a[3]);
    fill_on("week.test", "/rv/down-old", old, &a[4]);
    fill_on("strict.test", "/rv/down-sie",
            "X-Rv-CC: max-age=0, stale-if-error=600\r\nX-Rv-ETag: \"a\"\r\n", &a[5]);
    o2_down(); /* connections are refused from now on */

    /* the stored copy, marked stale, with no status from an origin that never answered */
    ck_assert_int_eq(req("GET", "down.test", "/rv/down", NULL, &b), 200);
    ck_assert_str_eq(answer(&b), answer(&a[0]));
    ck_assert_msg(strncmp(field(&b, "Cache-Status"), "gatehouse; fwd=stale; ttl=", 26) == 0 &&
                      strstr(field(&b, "Cache-Status"), "; detail=stale-if-error") &&
                      !strstr(field(&b, "Cache-Status"), "fwd-status"),
                  "%s", field(&b, "Cache-Status"));
    ck_assert_int_ge(
        th_log_lines(gh.access, 1, "GET /rv/down HTTP/1.1\" 200 ", "upstream=cache", NULL), 1);
    tc_response_free(&b);
    /* never when the response forbids it */
    ck_assert_int_eq(req("GET", "down.test", "/rv/down-mr", NULL, &b), 502);
    tc_response_free(&b);
    /* nor past the route's limit: a day by default, none with 0, a week when set */
    ck_assert_int_eq(req("GET", "down.test", "/rv/down-old", NULL, &b), 502);
    tc_response_free(&b);
    ck_assert_int_eq(req("GET", "strict.test", "/rv/down", NULL, &b), 502);
    tc_response_free(&b);
    ck_assert_int_eq(req("GET", "week.test", "/rv/down-old", NULL, &b), 200);
    ck_assert_str_eq(answer(&b), answer(&a[4]));
    tc_response_free(&b);
    /* the response's own stale-if-error still counts where the route allows nothing */
    ck_assert_int_eq(req("GET", "strict.test", "/rv/down-sie", NULL, &b), 200);
    ck_assert_str_eq(answer(&b), answer(&a[5]));
    tc_response_free(&b);
    for (int i = 0; i < 6; i++)
        tc_response_free(&a[i]);
    ck_assert_int_eq(origin_restart(o2), 0);
}
END_TEST

START_TEST(stale_when_every_server_is_down)
{
    struct tc_response a, b;
    int i;

    for (i = 0; i < 200 && some_server("down"); i++)
        th_sleep_ms(20); /* the pool's server came back with its origin */
    fill_on("hc.test", "/rv/hc", "X-Rv-CC: max-age=0\r\nX-Rv-ETag: \"a\"\r\n", &a);
    o2_down();
    for (i = 0; i < 200 && !some_server("down"); i++)
        th_sleep_ms(20);
    ck_assert_msg(some_server("down"), "the health check never marked the server down");
    ck_assert_int_eq(req("GET", "hc.test", "/rv/hc", NULL, &b), 200);
    ck_assert_str_eq(answer(&b), answer(&a));
    ck_assert_msg(strstr(field(&b, "Cache-Status"), "fwd=stale; ttl="), "%s",
                  field(&b, "Cache-Status"));
    ck_assert_int_ge(
        th_log_lines(gh.errlog, 1, "cache: serving a stale copy", "no healthy server", NULL), 1);
    tc_response_free(&a);
    tc_response_free(&b);
    ck_assert_int_eq(origin_restart(o2), 0);
}
END_TEST

/* ---- RFC 9213 targeted fields ---- */

START_TEST(cdn_cache_control_wins_in_reverse_mode)
{
    struct tc_response a, b;
    static const struct {
        const char *host, *path, *fields;
        int stored;
        const char *passes; /* a targeted field the client still sees, or NULL */
    } t[] = {
        /* CDN-Cache-Control over Cache-Control, both ways */
        {"rv.test", "/rv/cdn-store",
         "X-Rv-CC: no-store\r\nX-Rv-Extra: CDN-Cache-Control: max-age=60\r\n", 1, NULL},
        {"rv.test", "/rv/cdn-nostore",
         "X-Rv-CC: max-age=60\r\nX-Rv-Extra: CDN-Cache-Control: no-store\r\n", 0, NULL},
        {"rv.test", "/rv/cdn-private",
         "X-Rv-CC: public, max-age=60\r\nX-Rv-Extra: CDN-Cache-Control: private\r\n", 0, NULL},
        /* Expires is ignored with it */
        {"rv.test", "/rv/cdn-expires",
         "X-Rv-Extra: Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\nX-Rv-Extra: CDN-Cache-Control: max-age=60\r\n",
         1, NULL},
        /* an unknown directive is still a valid, non-empty field (RFC 9213's "none") */
        {"rv.test", "/rv/cdn-none",
         "X-Rv-CC: no-store\r\nX-Rv-LM: 1700000000\r\nX-Rv-Extra: CDN-Cache-Control: none\r\n", 1,
         NULL},
        /* invalid or empty: Cache-Control decides */
        {"rv.test", "/rv/cdn-invalid",
         "X-Rv-CC: no-store\r\nX-Rv-Extra: CDN-Cache-Control: max-age=60,\r\n", 0, NULL},
        {"rv.test", "/rv/cdn-upper",
         "X-Rv-CC: no-store\r\nX-Rv-Extra: CDN-Cache-Control: Max-Age=60\r\n", 0, NULL},
        {"rv.test", "/rv/cdn-empty", "X-Rv-CC: max-age=60\r\nX-Rv-Extra: CDN-Cache-Control: \r\n",
         1, NULL},
        /* several lines are one dictionary */
        {"rv.test", "/rv/cdn-lines",
         "X-Rv-CC: no-store\r\nX-Rv-Extra: CDN-Cache-Control: max-age=60\r\nX-Rv-Extra: CDN-Cache-Control: private\r\n",
         0, NULL},
        /* a route's own list, in its order */
        {"own.test", "/rv/own-first",
         "X-Rv-Extra: CDN-Cache-Control: no-store\r\nX-Rv-Extra: Gatehouse-Cache-Control: max-age=60\r\n",
         1, NULL},
        {"own.test", "/rv/own-second",
         "X-Rv-CC: no-store\r\nX-Rv-Extra: CDN-Cache-Control: max-age=60\r\n", 1, NULL},
        /* a field not on the route's list changes nothing and passes through */
        {"only.test", "/rv/only",
         "X-Rv-CC: no-store\r\nX-Rv-Extra: CDN-Cache-Control: max-age=60\r\n", 0,
         "CDN-Cache-Control"},
    };

    for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        req("GET", t[i].host, t[i].path, t[i].fields, &a);
        req("GET", t[i].host, t[i].path, t[i].fields, &b);
        ck_assert_msg(a.status == 200 && b.status == 200, "%s", t[i].path);
        ck_assert_msg(!strstr(field(&b, "Cache-Status"), "hit") == !t[i].stored, "%s: %s then %s",
                      t[i].path, field(&a, "Cache-Status"), field(&b, "Cache-Status"));
        ck_assert_msg(!strcasestr(a.head, "\r\nGatehouse-Cache-Control:") &&
                          !strcasestr(b.head, "\r\nGatehouse-Cache-Control:"),
                      "%s: %s", t[i].path, a.head);
        ck_assert_msg(!strcasestr(a.head, "\r\nCDN-Cache-Control:") == !t[i].passes &&
                          !strcasestr(b.head, "\r\nCDN-Cache-Control:") == !t[i].passes,
                      "%s: %s", t[i].path, b.head);
        tc_response_free(&a);
        tc_response_free(&b);
    }
    /* whatever the method */
    ck_assert_int_eq(req("POST", "rv.test", "/rv/cdn-post",
                         "Content-Length: 0\r\nX-Rv-Extra: CDN-Cache-Control: max-age=60\r\n", &a),
                     200);
    ck_assert_msg(!strcasestr(a.head, "\r\nCDN-Cache-Control:"), "%s", a.head);
    tc_response_free(&a);
}
END_TEST

/* One request through the forward listener, in absolute form. */
static int fwd_get(const char *path, const char *extra, struct tc_response *r)
{
    char raw[2048];
    int fd = tc_connect("127.0.0.1", gw);

    snprintf(raw, sizeof(raw), "GET http://127.0.0.1:%d%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n",
             o->port, path, o->port, extra ? extra : "");
    memset(r, 0, sizeof(*r));
    rig_exchange(fd, raw, r);
    tc_close(fd);
    return r->status;
}

START_TEST(cdn_cache_control_passes_through_forward_mode)
{
    struct tc_response a, b;
    const char *f = "X-Rv-CC: no-store\r\nX-Rv-Extra: CDN-Cache-Control: max-age=60\r\n";
    const char *g = "X-Rv-CC: max-age=60\r\nX-Rv-Extra: CDN-Cache-Control: no-store\r\n";

    ck_assert_int_eq(fwd_get("/rv/fwd-cdn", f, &a), 200);
    ck_assert_int_eq(fwd_get("/rv/fwd-cdn", f, &b), 200);
    ck_assert_msg(!strstr(field(&b, "Cache-Status"), "hit"), "%s", field(&b, "Cache-Status"));
    ck_assert_str_eq(field(&b, "CDN-Cache-Control"), "max-age=60");
    tc_response_free(&a);
    tc_response_free(&b);
    ck_assert_int_eq(fwd_get("/rv/fwd-cc", g, &a), 200);
    ck_assert_int_eq(fwd_get("/rv/fwd-cc", g, &b), 200);
    ck_assert_msg(strstr(field(&b, "Cache-Status"), "hit"), "%s", field(&b, "Cache-Status"));
    ck_assert_str_eq(field(&b, "CDN-Cache-Control"), "no-store");
    tc_response_free(&a);
    tc_response_free(&b);
}
END_TEST

START_TEST(targeted_field_settings)
{
    char conf[1024], out[1024];
    static const char *const bad[][2] = {
        {"cache = { targeted_field = \"Bad Name\"; }", "targeted_field"},
        {"cache = { targeted_field = ( \"CDN-Cache-Control\", 7 ); }", "targeted_field"},
        {"cache = { targeted_field = 5; }", "targeted_field"},
        {"cache = { stale_if_unreachable = -1; }", "stale_if_unreachable"},
    };

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(
            conf, sizeof(conf),
            "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n"
            "pools = { o = { servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
            "routes = { r = ( { host = \"*\"; pool = \"o\"; %s; } ); };\n",
            bad[i][0]);
        ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
        ck_assert_msg(strstr(out, bad[i][1]), "%s: %s", bad[i][0], out);
    }
    /* a forward policy has no targeted fields: it is not the site's CDN */
    snprintf(
        conf, sizeof(conf),
        "listeners = ( { name = \"g\"; mode = \"forward\"; listen = \"127.0.0.1:1\"; policy = \"p\"; } );\n"
        "policies = { p = { cache = { targeted_field = \"CDN-Cache-Control\"; }; }; };\n");
    ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "targeted_field"), "%s", out);
    /* but it may serve stale copies */
    snprintf(
        conf, sizeof(conf),
        "listeners = ( { name = \"g\"; mode = \"forward\"; listen = \"127.0.0.1:1\"; policy = \"p\"; } );\n"
        "policies = { p = { cache = { apt = true; stale_if_unreachable = 3600; }; }; };\n");
    ck_assert_msg(th_gatehouse_check(conf, out, sizeof(out)) == 0, "%s", out);
}
END_TEST

/* ---- what a response to a request with Authorization may do ---- */

START_TEST(authorization_with_shared_directives_is_stored)
{
    struct tc_response a, b;
    static const struct {
        const char *path, *cc;
        int stored;
    } t[] = {
        {"/rv/auth-smaxage", "s-maxage=60", 1},
        {"/rv/auth-mustrev", "max-age=60, must-revalidate", 1},
        {"/rv/auth-public", "public, max-age=60", 1},
        {"/rv/auth-plain", "max-age=60", 0},
        {"/rv/auth-private", "private, s-maxage=60", 0},
    };

    for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char f[256];
        snprintf(f, sizeof(f), "Authorization: Basic dTpw\r\nX-Rv-CC: %s\r\n", t[i].cc);
        ck_assert_int_eq(req("GET", "rv.test", t[i].path, f, &a), 200);
        ck_assert_msg(strstr(field(&a, "Cache-Status"), "fwd=bypass; fwd-status=200") &&
                          !strstr(field(&a, "Cache-Status"), "stored") == !t[i].stored,
                      "%s: %s", t[i].path, field(&a, "Cache-Status"));
        /* a later request without credentials gets the stored copy */
        snprintf(f, sizeof(f), "X-Rv-CC: %s\r\n", t[i].cc);
        ck_assert_int_eq(req("GET", "rv.test", t[i].path, f, &b), 200);
        ck_assert_msg(!strstr(field(&b, "Cache-Status"), "hit") == !t[i].stored, "%s: %s",
                      t[i].path, field(&b, "Cache-Status"));
        ck_assert_msg((strcmp(answer(&a), answer(&b)) == 0) == t[i].stored, "%s", t[i].path);
        tc_response_free(&a);
        tc_response_free(&b);
    }
}
END_TEST

/* ---- interim responses are never stored ---- */

START_TEST(interim_responses_are_not_stored)
{
    struct tc_response a, b;
    const char *f = "X-Rv-CC: max-age=60\r\nX-Rv-Interim: 103\r\n";

    ck_assert_int_eq(req("GET", "rv.test", "/rv/early", f, &a), 200);
    ck_assert_msg(strstr(field(&a, "Cache-Status"), "fwd-status=200; stored"), "%s",
                  field(&a, "Cache-Status"));
    ck_assert_int_eq(req("GET", "rv.test", "/rv/early", f, &b), 200);
    ck_assert_msg(strstr(field(&b, "Cache-Status"), "hit"), "%s", field(&b, "Cache-Status"));
    ck_assert_str_eq(answer(&a), answer(&b));
    ck_assert_msg(strncmp(b.head, "HTTP/1.1 200 ", 13) == 0 && !strstr(b.head, "103"), "%s",
                  b.head);
    tc_response_free(&a);
    tc_response_free(&b);
}
END_TEST

void cache_reval_tcases(Suite *s)
{
    TCase *tc = tcase_create("revalidation");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, revalidation, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, background_304_without_validators);
    tcase_add_test(tc, background_refresh_is_the_triggering_request);
    tcase_add_test(tc, stale_while_unreachable);
    tcase_add_test(tc, stale_when_every_server_is_down);
    tcase_add_test(tc, cdn_cache_control_wins_in_reverse_mode);
    tcase_add_test(tc, cdn_cache_control_passes_through_forward_mode);
    tcase_add_test(tc, targeted_field_settings);
    tcase_add_test(tc, authorization_with_shared_directives_is_stored);
    tcase_add_test(tc, interim_responses_are_not_stored);
    suite_add_tcase(s, tc);
}
