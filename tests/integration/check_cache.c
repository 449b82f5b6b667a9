/* check_cache.c — the reverse mode's cache with a real origin: hits and
 * misses as the client and the origin see them (bodies carry the origin's
 * version counter), collapsed forwarding of 100 concurrent misses,
 * revalidation and 304 merging, stale-if-error with the origin killed,
 * stale-while-revalidate, Vary, Range, HEAD, PURGE, invalidation by unsafe
 * methods, and what must never be stored. */
#include "common.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the origin ---- */

static void http_date(time_t t, char *out, size_t cap)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Each full answer of /obj/ is a new version. */
static atomic_uint_fast64_t versions;

/* /obj/...?cc=&etag=&lm=&expires=&vary=&cookie=&size=&delay=&status=: an
 * object whose caching fields the request's query chooses:
 *   cc=V       Cache-Control: V
 *   etag=T     ETag: "T"; an If-None-Match naming it (or "*") gets a 304
 *   lm=S       Last-Modified: S seconds ago; an If-Modified-Since gets a 304
 *              (when there is no If-None-Match)
 *   expires=S  Expires: S seconds from now
 *   vary=V     Vary: V
 *   cookie=C   Set-Cookie: C
 *   size=N     N body bytes (100 by default)
 *   delay=MS   the answer waits MS milliseconds (a fetch others pile on)
 *   status=N   status N instead of 200
 * Every answer has a Date.  A full one is the next version: X-Version: N,
 * and a body "v=N ae=<the request's Accept-Encoding, or ->\n" filled up to
 * size with the pattern, so a test tells a stored copy from a fresh one. */
static void obj(const struct origin_request *rq, struct origin_reply *re)
{
    char v[256], etag[128], tag[160], inm[512], ae[256];
    time_t now = time(NULL);
    uint64_t size = 100, version;
    int status = 200, has_etag, has_lm, has_inm, n;
    long lm = 0;

    if (origin_query(rq, "delay", 0, v, sizeof(v)) == 0)
        th_sleep_ms(atoi(v));
    if (origin_query(rq, "status", 0, v, sizeof(v)) == 0)
        status = atoi(v);
    if (origin_query(rq, "size", 0, v, sizeof(v)) == 0)
        size = strtoull(v, NULL, 10);
    has_etag = origin_query(rq, "etag", 0, etag, sizeof(etag)) == 0;
    if ((has_lm = origin_query(rq, "lm", 0, v, sizeof(v)) == 0))
        lm = atol(v);
    has_inm = origin_field(rq, "If-None-Match", 0, inm, sizeof(inm)) == 0;
    snprintf(tag, sizeof(tag), "\"%s\"", etag);
    if ((has_etag && has_inm && (strstr(inm, tag) || strchr(inm, '*'))) ||
        (has_lm && !has_inm && origin_field(rq, "If-Modified-Since", 0, v, sizeof(v)) == 0))
        status = 304;
    origin_status(re, status);
    origin_bare(re);
    origin_add(re, "Server: gh-origin");
    origin_add(re, "X-Origin: %s", rq->name);
    http_date(now, v, sizeof(v));
    origin_add(re, "Date: %s", v);
    if (origin_query(rq, "cc", 0, v, sizeof(v)) == 0)
        origin_add(re, "Cache-Control: %s", v);
    if (has_etag)
        origin_add(re, "ETag: %s", tag);
    if (has_lm) {
        http_date(now - lm, v, sizeof(v));
        origin_add(re, "Last-Modified: %s", v);
    }
    if (origin_query(rq, "expires", 0, v, sizeof(v)) == 0) {
        http_date(now + atol(v), v, sizeof(v));
        origin_add(re, "Expires: %s", v);
    }
    if (origin_query(rq, "vary", 0, v, sizeof(v)) == 0)
        origin_add(re, "Vary: %s", v);
    if (origin_query(rq, "cookie", 0, v, sizeof(v)) == 0)
        origin_add(re, "Set-Cookie: %s", v);
    if (status == 304 || status == 204)
        return;
    version = atomic_fetch_add(&versions, 1) + 1;
    origin_add(re, "X-Version: %" PRIu64, version);
    if (origin_field(rq, "Accept-Encoding", 0, ae, sizeof(ae)) < 0)
        strcpy(ae, "-");
    n = snprintf(v, sizeof(v), "v=%" PRIu64 " ae=%s\n", version, ae);
    origin_text(re, "%s", v);
    if (size > (uint64_t)n)
        origin_pattern(re, size - (uint64_t)n);
}

/* The origin of every route here. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    if (strncmp(rq->path, "/obj/", 5) == 0) {
        obj(rq, re);
    } else if (strcmp(rq->path, "/headers") == 0) { /* the head as it arrived */
        origin_body(re, "text/plain", rq->head, rq->head_len);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

/* ---- the rig ---- */

static struct origin *o; /* shared with the test processes: a test restarts it */
static struct th_gatehouse gh;
static int site;

static void rig_start(void)
{
    char conf[4096];

    o = mmap(NULL, sizeof(*o), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (o == MAP_FAILED || origin_start(o, "o1", answer) < 0)
        abort();
    site = th_free_port();
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; level = \"info\"; };\n"
             "cache = { memory_mb = 32; lock_timeout = 10.0; purge_allow = [ \"127.0.0.1/32\" ]; };\n"
             "listeners = (\n"
             "  { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "    status_path = \"/_status\"; }\n"
             ");\n"
             "pools = { o = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
             "routes = {\n"
             "  r = ( { host = \"site.test\"; pool = \"o\"; cache = true; },\n"
             "        { host = \"ttl.test\"; pool = \"o\"; cache = { ttl = 60; bypass_cookies = [ \"session\" ]; }; },\n"
             "        { host = \"plain.test\"; pool = \"o\"; } );\n"
             "};\n",
             site, o->port);
    if (th_gatehouse_start(&gh, conf) < 0)
        abort();
}

static void rig_stop(void)
{
    rig_stop_clean(&gh);
    rig_origin_stop(o);
}

/* One request on a new connection; returns the status. */
static int req(const char *method, const char *host, const char *path, const char *extra,
               struct tc_response *r)
{
    char raw[2048];
    int fd = tc_connect("127.0.0.1", site);

    snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s\r\n", method, path, host,
             extra ? extra : "", strcmp(method, "POST") == 0 ? "Content-Length: 0\r\n" : "");
    memset(r, 0, sizeof(*r));
    if (strcmp(method, "HEAD") == 0) {
        ck_assert_int_eq(tc_send_all(fd, raw, strlen(raw)), 0);
        ck_assert_int_eq(tc_read_response(fd, 1, r), 0);
    } else {
        rig_exchange(fd, raw, r);
    }
    tc_close(fd);
    return r->status;
}

static int get(const char *path, const char *extra, struct tc_response *r)
{
    return req("GET", "site.test", path, extra, r);
}

/* The Cache-Status field's value ("" when absent), copied. */
static const char *cache_status(const struct tc_response *r)
{
    static char v[256];
    size_t n = 0;
    const char *p = tc_header(r, "Cache-Status", &n);

    snprintf(v, sizeof(v), "%.*s", p ? (int)n : 0, p ? p : "");
    return v;
}

/* The origin's version in a body "v=N ae=...". */
static long version(const struct tc_response *r)
{
    return r->body && strncmp(r->body, "v=", 2) == 0 ? strtol(r->body + 2, NULL, 10) : -1;
}

/* How many requests the origin logged whose line holds `needle`. */
static int origin_saw(const char *needle)
{
    return th_log_lines(o->log, 0, needle, NULL);
}

START_TEST(hit_after_miss)
{
    struct tc_response a, b;
    size_t n;

    ck_assert_int_eq(get("/obj/hit?cc=max-age%3D60&size=3000", NULL, &a), 200);
    ck_assert_msg(strstr(cache_status(&a), "fwd=uri-miss") && strstr(cache_status(&a), "stored"),
                  "first: %s", cache_status(&a));
    th_sleep_ms(1100);
    ck_assert_int_eq(get("/obj/hit?cc=max-age%3D60&size=3000", NULL, &b), 200);
    ck_assert_msg(strstr(cache_status(&b), "gatehouse; hit; ttl="), "second: %s", cache_status(&b));
    ck_assert_int_eq(version(&a), version(&b));
    ck_assert_uint_eq(b.body_len, 3000);
    ck_assert_int_eq(memcmp(a.body, b.body, 3000), 0);
    const char *age = tc_header(&b, "Age", &n);
    ck_assert_msg(age && n >= 1 && age[0] >= '1', "Age on a hit");
    ck_assert_int_eq(origin_saw("GET /obj/hit?"), 1);
    ck_assert_int_ge(th_log_lines(gh.access, 1, "GET /obj/hit?", "upstream=cache", NULL), 1);
    /* the status page counts it */
    struct tc_response st;
    ck_assert_int_eq(get("/_status", NULL, &st), 200);
    const char *c = strstr(st.body, "\"cache\":{\"entries\":");
    ck_assert_msg(c && atoi(c + 19) >= 1, "%s", st.body);
    ck_assert_msg(strstr(st.body, "\"hits\":") && !strstr(st.body, "\"hits\":0,"), "%s", st.body);
    tc_response_free(&st);
    tc_response_free(&a);
    tc_response_free(&b);
}
END_TEST

struct herd {
    atomic_int ok, same;
    long first;
};

static void *herd_one(void *arg)
{
    struct herd *h = arg;
    struct tc_response r;

    if (get("/obj/herd?cc=max-age%3D60&delay=400&size=20000", NULL, &r) == 200 &&
        r.body_len == 20000) {
        atomic_fetch_add(&h->ok, 1);
        if (version(&r) == h->first || h->first == 0)
            atomic_fetch_add(&h->same, 1);
    }
    tc_response_free(&r);
    return NULL;
}

START_TEST(collapsed_forwarding)
{
    struct herd h = {0};
    pthread_t t[100];
    struct tc_response r;

    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, herd_one, &h), 0);
    for (int i = 0; i < 100; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(atomic_load(&h.ok), 100);
    ck_assert_int_eq(origin_saw("GET /obj/herd?"), 1);
    /* and they all got the one fetch's version */
    get("/obj/herd?cc=max-age%3D60&delay=400&size=20000", NULL, &r);
    h.first = version(&r);
    tc_response_free(&r);
    ck_assert_int_gt(h.first, 0);
}
END_TEST

START_TEST(revalidation_merges_304)
{
    struct tc_response a, b, c;
    const char *p = "/obj/reval?cc=max-age%3D1&etag=r1";

    ck_assert_int_eq(get(p, NULL, &a), 200);
    th_sleep_ms(2100);
    ck_assert_int_eq(get(p, NULL, &b), 200);
    ck_assert_msg(strstr(cache_status(&b), "fwd=stale; fwd-status=304"), "%s", cache_status(&b));
    ck_assert_int_eq(version(&a), version(&b)); /* the stored body, freshened */
    ck_assert_int_eq(th_log_lines(o->log, 0, "GET /obj/reval?", NULL), 2);
    /* the client's own conditional is answered by the cache */
    ck_assert_int_eq(get(p, "If-None-Match: \"r1\"\r\n", &c), 304);
    ck_assert_uint_eq(c.body_len, 0);
    ck_assert_int_le(th_log_lines(o->log, 0, "GET /obj/reval?", NULL), 3);
    tc_response_free(&a);
    tc_response_free(&b);
    tc_response_free(&c);
}
END_TEST

START_TEST(stale_if_error_with_origin_down)
{
    struct tc_response a, b, c;
    const char *p = "/obj/sie?cc=max-age%3D1%2C+stale-if-error%3D300&etag=s1";

    ck_assert_int_eq(get(p, NULL, &a), 200);
    th_sleep_ms(1100);
    kill(o->pid, SIGKILL);
    th_sleep_ms(100);
    ck_assert_int_eq(get(p, NULL, &b), 200);
    ck_assert_int_eq(version(&a), version(&b));
    ck_assert_msg(strstr(cache_status(&b), "fwd=stale") && strstr(cache_status(&b), "stale-if-error"),
                  "%s", cache_status(&b));
    /* without stale-if-error, the origin's absence shows */
    ck_assert_int_eq(get("/obj/sie-none?cc=max-age%3D1", NULL, &c), 502);
    ck_assert_int_eq(origin_restart(o), 0);
    tc_response_free(&a);
    tc_response_free(&b);
    tc_response_free(&c);
}
END_TEST

START_TEST(stale_while_revalidate_in_background)
{
    struct tc_response a, b, c;
    /* max-age 2, not 1: Date has whole seconds, so a copy just fetched may
     * already look up to a second old, and a 1 s copy could go stale again
     * (and be refreshed a second time) while the test polls for it */
    const char *p = "/obj/swr?cc=max-age%3D2%2C+stale-while-revalidate%3D60&size=200";
    int fetched = 0;

    ck_assert_int_eq(get(p, NULL, &a), 200);
    th_sleep_ms(3100);
    /* stale: answered at once from the cache ... */
    ck_assert_int_eq(get(p, NULL, &b), 200);
    ck_assert_int_eq(version(&a), version(&b));
    ck_assert_msg(strstr(cache_status(&b), "hit") && strstr(cache_status(&b), "stale-while-revalidate"),
                  "%s", cache_status(&b));
    /* ... and fetched again behind the client's back */
    for (int i = 0; i < 100 && fetched < 2; i++) {
        fetched = origin_saw("GET /obj/swr?");
        if (fetched < 2)
            th_sleep_ms(50);
    }
    ck_assert_int_eq(fetched, 2);
    for (int i = 0; i < 50; i++) {
        get(p, NULL, &c);
        if (version(&c) != version(&a))
            break;
        tc_response_free(&c);
        th_sleep_ms(50);
    }
    ck_assert_int_gt(version(&c), version(&a));
    ck_assert_msg(strstr(cache_status(&c), "hit; ttl="), "%s", cache_status(&c));
    ck_assert_int_eq(origin_saw("GET /obj/swr?"), 2);
    tc_response_free(&a);
    tc_response_free(&b);
    tc_response_free(&c);
}
END_TEST

START_TEST(vary_keeps_encodings_apart)
{
    struct tc_response g1, i1, g2, i2;
    const char *p = "/obj/vary?cc=max-age%3D60&vary=Accept-Encoding";

    get(p, "Accept-Encoding: gzip\r\n", &g1);
    get(p, "Accept-Encoding: identity\r\n", &i1);
    get(p, "Accept-Encoding: gzip\r\n", &g2);
    get(p, "Accept-Encoding: identity\r\n", &i2);
    ck_assert_msg(strstr(g1.body, "ae=gzip"), "%s", g1.body);
    ck_assert_msg(strstr(i1.body, "ae=identity"), "%s", i1.body);
    ck_assert_int_ne(version(&g1), version(&i1));
    ck_assert_int_eq(version(&g1), version(&g2));
    ck_assert_int_eq(version(&i1), version(&i2));
    ck_assert_msg(strstr(cache_status(&g2), "hit"), "%s", cache_status(&g2));
    ck_assert_int_eq(origin_saw("GET /obj/vary?"), 2);
    tc_response_free(&g1);
    tc_response_free(&i1);
    tc_response_free(&g2);
    tc_response_free(&i2);
}
END_TEST

START_TEST(range_and_head_from_cache)
{
    struct tc_response a, r, h, bad;
    const char *p = "/obj/range?cc=max-age%3D60&size=1000";
    size_t n;

    ck_assert_int_eq(get(p, NULL, &a), 200);
    ck_assert_int_eq(get(p, "Range: bytes=100-199\r\n", &r), 206);
    ck_assert_uint_eq(r.body_len, 100);
    ck_assert_int_eq(memcmp(r.body, a.body + 100, 100), 0);
    const char *cr = tc_header(&r, "Content-Range", &n);
    ck_assert_msg(cr && strncmp(cr, "bytes 100-199/1000", n) == 0, "Content-Range");
    ck_assert_int_eq(req("HEAD", "site.test", p, NULL, &h), 200);
    ck_assert_msg(strstr(cache_status(&h), "hit"), "HEAD: %s", cache_status(&h));
    const char *cl = tc_header(&h, "Content-Length", &n);
    ck_assert_msg(cl && strncmp(cl, "1000", n) == 0, "HEAD Content-Length");
    ck_assert_int_eq(get(p, "Range: bytes=5000-\r\n", &bad), 416);
    const char *line416 = "HTTP/1.1 416 Range Not Satisfiable\r\n";
    ck_assert_msg(strncmp(bad.head, line416, strlen(line416)) == 0, "%.40s", bad.head);
    cr = tc_header(&bad, "Content-Range", &n);
    ck_assert_msg(cr && strncmp(cr, "bytes */1000", n) == 0, "416 Content-Range");
    ck_assert_int_eq(origin_saw("/obj/range?"), 1);
    tc_response_free(&a);
    tc_response_free(&r);
    tc_response_free(&h);
    tc_response_free(&bad);
}
END_TEST

START_TEST(purge_then_miss)
{
    struct tc_response a, p1, b, p2, c;
    const char *p = "/obj/purge?cc=max-age%3D60";

    get(p, NULL, &a);
    ck_assert_int_eq(req("PURGE", "site.test", p, NULL, &p1), 200);
    ck_assert_int_eq(get(p, NULL, &b), 200);
    ck_assert_msg(strstr(cache_status(&b), "fwd=uri-miss"), "%s", cache_status(&b));
    ck_assert_int_ne(version(&a), version(&b));
    /* a prefix */
    get("/obj/purgeall/1?cc=max-age%3D60", NULL, &c);
    tc_response_free(&c);
    get("/obj/purgeall/2?cc=max-age%3D60", NULL, &c);
    tc_response_free(&c);
    ck_assert_int_eq(req("PURGE", "site.test", "/obj/purgeall/*", NULL, &p2), 200);
    ck_assert_msg(strstr(p2.body, "\"purged\": 2"), "%s", p2.body);
    get("/obj/purgeall/1?cc=max-age%3D60", NULL, &c);
    ck_assert_msg(strstr(cache_status(&c), "miss"), "%s", cache_status(&c));
    tc_response_free(&a);
    tc_response_free(&p1);
    tc_response_free(&b);
    tc_response_free(&p2);
    tc_response_free(&c);
}
END_TEST

START_TEST(unsafe_method_invalidates)
{
    struct tc_response a, b, post, c;
    const char *p = "/obj/inval?cc=max-age%3D60";

    get(p, NULL, &a);
    get(p, NULL, &b);
    ck_assert_msg(strstr(cache_status(&b), "hit"), "%s", cache_status(&b));
    ck_assert_int_eq(req("POST", "site.test", p, NULL, &post), 200);
    get(p, NULL, &c);
    ck_assert_msg(strstr(cache_status(&c), "miss"), "after POST: %s", cache_status(&c));
    tc_response_free(&a);
    tc_response_free(&b);
    tc_response_free(&post);
    tc_response_free(&c);
}
END_TEST

START_TEST(never_stored)
{
    struct tc_response r;
    static const char *const cases[][2] = {
        {"/obj/ns-private?cc=private%2C+max-age%3D60", NULL},
        {"/obj/ns-nostore?cc=no-store", NULL},
        {"/obj/ns-cookie?cc=max-age%3D60&cookie=a%3Db", NULL},
        {"/obj/ns-auth?cc=max-age%3D60", "Authorization: Basic dTpw\r\n"},
        {"/obj/ns-none", NULL}, /* no freshness, no validator */
    };

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char needle[128];
        get(cases[i][0], cases[i][1], &r);
        tc_response_free(&r);
        get(cases[i][0], cases[i][1], &r);
        ck_assert_msg(!strstr(cache_status(&r), "hit"), "%s: %s", cases[i][0], cache_status(&r));
        tc_response_free(&r);
        snprintf(needle, sizeof(needle), "GET %.*s", (int)strcspn(cases[i][0], "?"), cases[i][0]);
        ck_assert_int_eq(origin_saw(needle), 2);
    }
    /* a route without caching never answers from the cache */
    req("GET", "plain.test", "/obj/plain?cc=max-age%3D60", NULL, &r);
    tc_response_free(&r);
    req("GET", "plain.test", "/obj/plain?cc=max-age%3D60", NULL, &r);
    ck_assert_str_eq(cache_status(&r), "");
    tc_response_free(&r);
    ck_assert_int_eq(origin_saw("GET /obj/plain?"), 2);
}
END_TEST

START_TEST(ttl_override_bypass_cookie_and_unkeyed_headers)
{
    struct tc_response a, b, c;

    /* no freshness from the origin: the route's ttl lends 60 s */
    req("GET", "ttl.test", "/obj/ttl", "X-Original-URL: /admin\r\n", &a);
    ck_assert_msg(strstr(cache_status(&a), "stored"), "%s", cache_status(&a));
    req("GET", "ttl.test", "/obj/ttl", NULL, &b);
    ck_assert_msg(strstr(cache_status(&b), "hit; ttl="), "%s", cache_status(&b));
    ck_assert_int_eq(th_log_lines(o->log, 0, "GET /obj/ttl", NULL), 1);
    /* a bypass cookie goes to the origin */
    req("GET", "ttl.test", "/obj/ttl", "Cookie: theme=dark; session=abc\r\n", &c);
    ck_assert_msg(strstr(cache_status(&c), "fwd=bypass"), "%s", cache_status(&c));
    ck_assert_int_eq(th_log_lines(o->log, 0, "GET /obj/ttl", NULL), 2);
    tc_response_free(&a);
    tc_response_free(&b);
    tc_response_free(&c);
    /* an unkeyed header that could change the answer never reaches the origin */
    req("GET", "ttl.test", "/headers", "X-Original-URL: /admin\r\nX-Host: evil.test\r\n", &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert_msg(!strcasestr(a.body, "X-Original-URL") && !strcasestr(a.body, "X-Host:"),
                  "origin saw: %s", a.body);
    tc_response_free(&a);
}
END_TEST

START_TEST(purge_needs_permission)
{
    struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
    struct tc_response r = {0};
    char conf[2048], out[512];
    const char *raw = "PURGE /obj/hit HTTP/1.1\r\nHost: site.test\r\n\r\n";
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* from 127.0.0.2, outside purge_allow */
    inet_pton(AF_INET, "127.0.0.2", &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    to.sin_port = htons((uint16_t)site);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
    rig_exchange(fd, raw, &r);
    ck_assert_int_eq(r.status, 403);
    tc_response_free(&r);
    tc_close(fd);
    /* bad settings are refused at load, naming them */
    snprintf(conf, sizeof(conf),
             "cache = { purge_allow = [ \"not-a-network\" ]; };\n"
             "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n"
             "pools = { o = { servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
             "routes = { r = ( { host = \"*\"; pool = \"o\"; cache = true; } ); };\n");
    ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "purge_allow"), "%s", out);
    snprintf(conf, sizeof(conf),
             "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n"
             "pools = { o = { servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
             "routes = { r = ( { host = \"*\"; pool = \"o\"; cache = { ttl = \"x\"; }; } ); };\n");
    ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "ttl"), "%s", out);
}
END_TEST

/* A gatehouse of its own with a disk tier in dir (NULL: @DIR@/disk, new
 * with every start). */
static void disk_conf(char *conf, size_t cap, const char *dir, int port, int disk_mb)
{
    snprintf(conf, cap,
             "log = { level = \"info\"; };\n"
             "cache = { memory_mb = 8; max_object_mb = 1; disk_dir = \"%s\"; disk_mb = %d; };\n"
             "listeners = ( { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\"; } );\n"
             "pools = { o = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
             "routes = { r = ( { host = \"*\"; pool = \"o\"; cache = true; } ); };\n",
             dir ? dir : "@DIR@/disk", disk_mb, port, o->port);
}

static int get_on(int port, const char *path, struct tc_response *r)
{
    char raw[1024];
    int fd = tc_connect("127.0.0.1", port);

    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: disk.test\r\n\r\n", path);
    memset(r, 0, sizeof(*r));
    rig_exchange(fd, raw, r);
    tc_close(fd);
    return r->status;
}

START_TEST(restart_keeps_disk_hits)
{
    struct th_gatehouse g;
    struct tc_response a, b, c;
    char conf[2048];
    int port = th_free_port();
    const char *big = "/obj/disk-big?cc=max-age%3D600&size=3000000"; /* over max_object: disk only */
    const char *small = "/obj/disk-small?cc=max-age%3D600&size=5000";

    char dir[128], out[256];
    snprintf(dir, sizeof(dir), "/tmp/gh-disk-%d", (int)getpid()); /* outlives one start's @DIR@ */
    disk_conf(conf, sizeof(conf), dir, port, 64);
    ck_assert_int_eq(th_gatehouse_start(&g, conf), 0);
    ck_assert_int_eq(get_on(port, small, &a), 200);
    tc_response_free(&a);
    ck_assert_int_eq(get_on(port, big, &a), 200);
    ck_assert_msg(!strstr(cache_status(&a), "stored"), "3 MB in an 8 MB tier with 1 MB objects: %s",
                  cache_status(&a));
    tc_response_free(&a);
    get_on(port, small, &a);
    th_sleep_ms(300); /* the writer thread is asynchronous */
    ck_assert_int_eq(th_gatehouse_stop(&g, SIGTERM, 5000), 0);
    ck_assert_int_eq(th_gatehouse_start(&g, conf), 0);
    ck_assert_int_ge(th_log_lines(g.errlog, 1, "cache: disk tier", "files scanned", NULL), 1);
    ck_assert_int_eq(get_on(port, small, &b), 200);
    ck_assert_msg(strstr(cache_status(&b), "hit"), "after a restart: %s", cache_status(&b));
    ck_assert_int_eq(version(&a), version(&b));
    ck_assert_uint_eq(b.body_len, 5000);
    ck_assert_int_eq(memcmp(a.body, b.body, 5000), 0);
    ck_assert_int_eq(origin_saw("GET /obj/disk-small?"), 1);
    /* and again, read back into memory by now */
    ck_assert_int_eq(get_on(port, small, &c), 200);
    ck_assert_int_eq(version(&c), version(&a));
    ck_assert_int_eq(th_gatehouse_stop(&g, SIGTERM, 5000), 0);
    th_sh(out, sizeof(out), "rm -rf %s", dir);
    tc_response_free(&a);
    tc_response_free(&b);
    tc_response_free(&c);
}
END_TEST

START_TEST(full_disk_keeps_serving)
{
    struct th_gatehouse g;
    struct tc_response a, b;
    char conf[2048], mnt[128], out[256];
    int port = th_free_port(), mounted;

    /* a real full disk when we may mount a 64 KiB tmpfs; a tiny limit always */
    snprintf(mnt, sizeof(mnt), "/tmp/gh-full-%d", (int)getpid());
    mkdir(mnt, 0777);
    mounted = th_sh(out, sizeof(out), "mount -t tmpfs -o size=64k,mode=0777 tmpfs %s 2>&1", mnt) == 0;
    disk_conf(conf, sizeof(conf), mounted ? mnt : NULL, port, 1);
    ck_assert_int_eq(th_gatehouse_start(&g, conf), 0);
    for (int i = 0; i < 4; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/obj/full-%d?cc=max-age%%3D600&size=400000", i);
        ck_assert_int_eq(get_on(port, path, &a), 200);
        ck_assert_uint_eq(a.body_len, 400000);
        tc_response_free(&a);
        ck_assert_int_eq(get_on(port, path, &b), 200);
        ck_assert_msg(strstr(cache_status(&b), "hit"), "%s: %s", path, cache_status(&b));
        ck_assert_uint_eq(b.body_len, 400000);
        tc_response_free(&b);
    }
    if (mounted)
        ck_assert_int_ge(th_log_lines(g.errlog, 1, "cache: disk tier off", "serving from memory only", NULL), 1);
    ck_assert_int_eq(th_gatehouse_stop(&g, SIGTERM, 5000), 0);
    if (mounted)
        th_sh(out, sizeof(out), "umount %s 2>&1", mnt);
    rmdir(mnt);
}
END_TEST

/* Two apt machines in turn, each with private apt and dpkg state, through a
 * forward listener whose policy has the apt profile, to a mirror that is
 * Python's http.server: it answers If-Modified-Since with a 304 that
 * carries neither ETag nor Last-Modified.  Its log says what reached it. */
START_TEST(apt_second_machine_never_reaches_the_mirror)
{
    struct th_gatehouse g;
    char dir[64], conf[2048], out[2048], url[64], proxy[128], port_s[16], repo_dir[96], pylog[96];
    int gw = th_free_port(), repo = th_free_port();
    pid_t mirror;

    strcpy(dir, "/tmp/gh-apt-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    chmod(dir, 0755);
    ck_assert_msg(th_sh(out, sizeof(out), "sh tests/support/apt-repo.sh %s 2>&1", dir) == 0, "%s", out);
    snprintf(port_s, sizeof(port_s), "%d", repo);
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", dir);
    snprintf(pylog, sizeof(pylog), "%s/mirror.log", dir);
    /* Debian's python3, whatever python3 comes first on PATH */
    char *const argv[] = {"/usr/bin/python3", "-u", "-m", "http.server", "--bind", "127.0.0.1",
                          "--directory", repo_dir, port_s, NULL};
    mirror = th_spawn(pylog, argv);
    ck_assert_int_gt(mirror, 0);
    ck_assert_msg(th_wait_port(repo) == 0, "the mirror did not start");
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; };\n"
             "listeners = ( { name = \"gw\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"lan\"; } );\n"
             "policies = { lan = { cache = { apt = true; mirrors = [ \"127.0.0.1\" ]; }; }; };\n",
             gw);
    ck_assert_int_eq(th_gatehouse_start(&g, conf), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", repo);
    snprintf(proxy, sizeof(proxy), "Acquire::http::Proxy \"http://127.0.0.1:%d\";", gw);
    /* the second machine's update and install succeed */
    for (int run = 1; run <= 2; run++)
        ck_assert_msg(th_sh(out, sizeof(out), "sh tests/support/apt-fetch.sh %s/c%d '%s' '%s' 2>&1 && "
                                              "cmp %s/c%d/out/gh-hello_1.0_all.deb %s/repo/gh-hello_1.0_all.deb",
                            dir, run, url, proxy, dir, run, dir) == 0,
                      "apt run %d: %s", run, out);
    /* the mirror served the package once; the second machine got it from the cache */
    ck_assert_int_eq(th_log_lines(pylog, 1, "\"GET /./gh-hello_1.0_all.deb HTTP/1.1\" 200", NULL), 1);
    ck_assert_int_eq(th_log_lines(g.access, 2, "/gh-hello_1.0_all.deb HTTP/1.1\" 200 ", "listener=gw", NULL), 2);
    ck_assert_int_eq(th_log_lines(g.access, 1, "/gh-hello_1.0_all.deb HTTP/1.1\" 200 ", "listener=gw",
                                  "upstream=cache", NULL), 1);
    /* the indexes were asked about again, had not changed (a bare 304), and
     * both machines got them whole */
    ck_assert_int_eq(th_log_lines(pylog, 1, "\"GET /./Release HTTP/1.1\" 304", NULL), 1);
    ck_assert_int_eq(th_log_lines(pylog, 1, "\"GET /./Packages", "HTTP/1.1\" 304", NULL), 1);
    ck_assert_int_eq(th_log_lines(g.access, 2, "/Release HTTP/1.1\" 200 ", "listener=gw", NULL), 2);
    ck_assert_int_eq(th_log_lines(g.access, 0, "HTTP/1.1\" 304 ", "listener=gw", NULL), 0);
    ck_assert_int_eq(th_gatehouse_stop(&g, SIGTERM, 5000), 0);
    th_reap(mirror);
    th_sh(out, sizeof(out), "rm -rf %s", dir);
}
END_TEST

void cache_reval_tcases(Suite *s);

Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("cache");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hit_after_miss);
    tcase_add_test(tc, collapsed_forwarding);
    tcase_add_test(tc, revalidation_merges_304);
    tcase_add_test(tc, stale_if_error_with_origin_down);
    tcase_add_test(tc, stale_while_revalidate_in_background);
    tcase_add_test(tc, vary_keeps_encodings_apart);
    tcase_add_test(tc, range_and_head_from_cache);
    tcase_add_test(tc, purge_then_miss);
    tcase_add_test(tc, unsafe_method_invalidates);
    tcase_add_test(tc, never_stored);
    tcase_add_test(tc, ttl_override_bypass_cookie_and_unkeyed_headers);
    tcase_add_test(tc, purge_needs_permission);
    tcase_add_test(tc, restart_keeps_disk_hits);
    tcase_add_test(tc, full_disk_keeps_serving);
    tcase_add_test(tc, apt_second_machine_never_reaches_the_mirror);
    suite_add_tcase(s, tc);
    cache_reval_tcases(s);
    return s;
}
