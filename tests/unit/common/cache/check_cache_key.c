/* check_cache_key.c — cache keys (Host case, default ports, query,
 * percent-encoding), the key hash, Vary secondary keys and Accept-Encoding
 * normalisation, invalidation targets, and the heads of cache_head: the
 * stored head, 304 merging, conditional requests, Age and Cache-Status.
 * Part of the "cache" suite (check_cache.c). */
#include "cache_head.h"
#include "cache_key.h"
#include "cache_policy.h"
#include "suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cache_key_tcases(Suite *s);

static const struct http1_limits lim = {8192, 65536, 100, 0};
static struct http_head qh, rh, sh;

static void parse_req(struct http_head *h, const char *text)
{
    ck_assert_msg(http1_parse_request(text, strlen(text), &lim, h) > 0, "request did not parse: %s",
                  text);
}

static void parse_resp(struct http_head *h, const char *text)
{
    ck_assert_msg(http1_parse_response(text, strlen(text), &lim, 0, h) > 0,
                  "response did not parse: %s", text);
}

/* ---- primary keys ---- */

static const struct {
    const char *req;
    int tls, query;
    const char *key; /* NULL: CACHE_KEY_ERROR */
} keys[] = {
    {"GET /a?b=1 HTTP/1.1\r\nHost: Example.ORG\r\n\r\n", 0, 1, "http://example.org/a?b=1"},
    {"GET /a?b=1 HTTP/1.1\r\nHost: example.org\r\n\r\n", 0, 0, "http://example.org/a"},
    {"GET /a? HTTP/1.1\r\nHost: example.org\r\n\r\n", 0, 1, "http://example.org/a?"},
    {"GET /a HTTP/1.1\r\nHost: example.org:80\r\n\r\n", 0, 1, "http://example.org/a"},
    {"GET /a HTTP/1.1\r\nHost: example.org:8080\r\n\r\n", 0, 1, "http://example.org:8080/a"},
    {"GET /a HTTP/1.1\r\nHost: example.org:443\r\n\r\n", 1, 1, "https://example.org/a"},
    {"GET /a HTTP/1.1\r\nHost: example.org:80\r\n\r\n", 1, 1, "https://example.org:80/a"},
    {"GET /a HTTP/1.1\r\nHost: EXAMPLE.org.\r\n\r\n", 0, 1, "http://example.org/a"},
    {"GET /a HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 0, 1, "http://[::1]:8080/a"},
    {"GET /a HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n", 0, 1, "http://10.0.0.1/a"},
    {"GET http://EXAMPLE.org:80/x HTTP/1.1\r\nHost: other.example\r\n\r\n", 0, 1,
     "http://example.org/x"},
    {"GET HTTPS://example.org:443/x?y HTTP/1.1\r\nHost: example.org\r\n\r\n", 0, 1,
     "https://example.org/x?y"},
    {"GET http://example.org HTTP/1.1\r\nHost: example.org\r\n\r\n", 0, 1, "http://example.org/"},
    {"GET http://example.org?q=1 HTTP/1.1\r\nHost: example.org\r\n\r\n", 0, 1,
     "http://example.org/?q=1"},
    {"GET https://[2001:DB8::1]/ HTTP/1.1\r\nHost: x\r\n\r\n", 0, 1, "https://[2001:db8::1]/"},
    {"GET /%7euser/a%2fb%2F%41?q=%3d%7E HTTP/1.1\r\nHost: a\r\n\r\n", 0, 1,
     "http://a/~user/a%2Fb%2FA?q=%3D~"},
    {"GET /a%zz%4 HTTP/1.1\r\nHost: a\r\n\r\n", 0, 1, "http://a/a%zz%4"},
    {"GET /Case/Kept HTTP/1.1\r\nHost: a\r\n\r\n", 0, 1, "http://a/Case/Kept"},
    {"GET /a HTTP/1.0\r\n\r\n", 0, 1, NULL},
    {"GET /a HTTP/1.1\r\nHost: \r\n\r\n", 0, 1, NULL},
    {"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n", 0, 1, NULL},
    {"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0, 1, NULL},
};

START_TEST(key_normalises)
{
    char out[CACHE_KEY_MAX];
    long n;

    parse_req(&qh, keys[_i].req);
    n = cache_key(&qh, keys[_i].req, keys[_i].tls, keys[_i].query, out, sizeof(out));
    if (!keys[_i].key) {
        ck_assert_msg(n == CACHE_KEY_ERROR, "case %d gave %ld %s", _i, n, out);
    } else {
        ck_assert_msg(n >= 0, "case %d refused (%ld)", _i, n);
        ck_assert_str_eq(out, keys[_i].key);
        ck_assert_int_eq(n, (long)strlen(keys[_i].key));
    }
}
END_TEST

START_TEST(key_too_long_and_hash)
{
    static const char r[] = "GET /abcdefghij HTTP/1.1\r\nHost: example.org\r\n\r\n";
    char out[16], a[64], b[64];
    uint64_t h1, h2;

    parse_req(&qh, r);
    ck_assert_int_eq(cache_key(&qh, r, 0, 1, out, sizeof(out)), CACHE_KEY_TOO_LONG);
    ck_assert_int_eq(cache_key(&qh, r, 0, 1, a, sizeof(a)), 29);
    ck_assert_int_eq(cache_key(&qh, r, 1, 1, b, sizeof(b)), 30);
    h1 = cache_key_hash(a, strlen(a));
    h2 = cache_key_hash(b, strlen(b));
    ck_assert(h1 != h2);
    ck_assert(h1 == cache_key_hash(a, strlen(a)));
    ck_assert(cache_key_hash("", 0) != cache_key_hash("a", 1));
}
END_TEST

/* ---- Vary ---- */

START_TEST(vary_lists)
{
    static const char r1[] =
        "HTTP/1.1 200 OK\r\nVary: User-Agent, Accept-Encoding\r\nVary: accept-encoding,  Accept\r\n\r\n";
    static const char r2[] = "HTTP/1.1 200 OK\r\nVary: Accept, *\r\n\r\n";
    static const char r3[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    char out[256];

    parse_resp(&rh, r1);
    ck_assert_int_eq(cache_vary_list(&rh, r1, out, sizeof(out)), 33);
    ck_assert_str_eq(out, "accept,accept-encoding,user-agent");
    parse_resp(&rh, r2);
    ck_assert_int_eq(cache_vary_list(&rh, r2, out, sizeof(out)), CACHE_VARY_STAR);
    parse_resp(&rh, r3);
    ck_assert_int_eq(cache_vary_list(&rh, r3, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

static const struct {
    const char *in, *out;
} aes[] = {
    {"gzip, deflate, br", "br,deflate,gzip"},
    {"br;q=1.0, gzip;q=0.8", "br,gzip"},
    {"GZIP", "gzip"},
    {"x-gzip", "gzip"},
    {"gzip;q=0", ""},
    {"gzip ; q=0.000 ", ""},
    {"gzip;q=0.001", "gzip"},
    {"gzip;level=1;q=0", ""},
    {"identity", ""},
    {"identity;q=1, gzip;q=0", ""},
    {"", ""},
    {"*", "*"},
    {"gzip, identity;q=0", "gzip,!identity"},
    {"*;q=0", "!identity"},
    {"*;q=0, identity", ""},
    {"gzip, gzip;q=0", "gzip"},
    {"br,br,gzip", "br,gzip"},
    {"zstd, br, gzip, deflate", "br,deflate,gzip,zstd"},
};

START_TEST(accept_encoding)
{
    char out[64];
    long n = cache_accept_encoding_norm(aes[_i].in, strlen(aes[_i].in), out, sizeof(out));

    ck_assert_int_eq(n, (long)strlen(aes[_i].out));
    ck_assert_str_eq(out, aes[_i].out);
}
END_TEST

/* The secondary key of request text `req` under vary list `vary`. */
static const char *vkey(const char *vary, const char *req, char *out, size_t cap)
{
    parse_req(&qh, req);
    ck_assert_int_ge(cache_vary_key(vary, strlen(vary), &qh, req, out, cap), 0);
    return out;
}

START_TEST(vary_keys)
{
    static const char ae[] = "accept-encoding";
    char a[256], b[256];

    /* gzip and identity are kept apart; equivalent forms share a variant */
    ck_assert_str_ne(
        vkey(ae, "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", a, sizeof(a)),
        vkey(ae, "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: identity\r\n\r\n", b, sizeof(b)));
    ck_assert_str_eq(
        vkey(ae, "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, br\r\n\r\n", a, sizeof(a)),
        vkey(ae, "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br;q=0.9,GZIP\r\n\r\n", b,
             sizeof(b)));
    ck_assert_str_eq(a, "accept-encoding:br,gzip\n");
    ck_assert_str_ne(
        vkey(ae, "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", a, sizeof(a)),
        vkey(ae, "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, br\r\n\r\n", b, sizeof(b)));
    /* two field lines are one list */
    ck_assert_str_eq(
        vkey(ae,
             "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\nAccept-Encoding: br\r\n\r\n", a,
             sizeof(a)),
        "accept-encoding:br,gzip\n");
    /* absent only matches absent */
    ck_assert_str_eq(vkey(ae, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", a, sizeof(a)),
                     "accept-encoding\n");
    ck_assert_str_eq(
        vkey(ae, "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: \r\n\r\n", a, sizeof(a)),
        "accept-encoding:\n");
    /* other fields: values as sent, lines joined */
    ck_assert_str_eq(
        vkey("accept-encoding,user-agent",
             "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8\r\nAccept-Encoding: gzip\r\n\r\n", a,
             sizeof(a)),
        "accept-encoding:gzip\nuser-agent:curl/8\n");
    ck_assert_str_eq(
        vkey("x-a", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-A: 2\r\n\r\n", a, sizeof(a)),
        "x-a:1, 2\n");
    ck_assert_str_eq(vkey("", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n", a, sizeof(a)), "");
    /* Vary: * never matches; a short buffer is reported */
    parse_req(&qh, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(cache_vary_key("*", 1, &qh, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", a, sizeof(a)),
                     CACHE_VARY_STAR);
    ck_assert_int_eq(cache_vary_key(ae, strlen(ae), &qh, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", a, 8),
                     CACHE_KEY_TOO_LONG);
}
END_TEST

/* ---- invalidation ---- */

static const struct {
    const char *req, *resp;
    unsigned n;
    const char *k[3];
} invs[] = {
    {"POST /a HTTP/1.1\r\nHost: example.org\r\nContent-Length: 0\r\n\r\n",
     "HTTP/1.1 200 OK\r\n\r\n",
     1,
     {"http://example.org/a"}},
    {"GET /a HTTP/1.1\r\nHost: example.org\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n", 0, {NULL}},
    {"HEAD /a HTTP/1.1\r\nHost: example.org\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n", 0, {NULL}},
    {"POST /a HTTP/1.1\r\nHost: example.org\r\nContent-Length: 0\r\n\r\n",
     "HTTP/1.1 404 Not Found\r\n\r\n",
     0,
     {NULL}},
    {"POST /a HTTP/1.1\r\nHost: example.org\r\nContent-Length: 0\r\n\r\n",
     "HTTP/1.1 500 Oops\r\n\r\n",
     0,
     {NULL}},
    {"DELETE /a?x=1 HTTP/1.1\r\nHost: Example.org\r\n\r\n",
     "HTTP/1.1 204 No Content\r\n\r\n",
     1,
     {"http://example.org/a?x=1"}},
    {"POST /a HTTP/1.1\r\nHost: example.org\r\nContent-Length: 0\r\n\r\n",
     "HTTP/1.1 201 Created\r\nLocation: /b\r\nContent-Location: http://EXAMPLE.org:80/c#frag\r\n\r\n",
     3,
     {"http://example.org/a", "http://example.org/b", "http://example.org/c"}},
    {"POST /a HTTP/1.1\r\nHost: example.org\r\nContent-Length: 0\r\n\r\n",
     "HTTP/1.1 303 See Other\r\nLocation: http://other.example/x\r\n\r\n",
     1,
     {"http://example.org/a"}},
    {"PUT /x/y HTTP/1.1\r\nHost: example.org\r\nContent-Length: 0\r\n\r\n",
     "HTTP/1.1 200 OK\r\nLocation: b/c\r\nContent-Location: ../z\r\n\r\n",
     3,
     {"http://example.org/x/y", "http://example.org/x/b/c", "http://example.org/z"}},
    {"PUT /x/y/w HTTP/1.1\r\nHost: example.org\r\nContent-Length: 0\r\n\r\n",
     "HTTP/1.1 200 OK\r\nLocation: ./../z/./q\r\nContent-Location: ?q=2\r\n\r\n",
     3,
     {"http://example.org/x/y/w", "http://example.org/x/z/q", "http://example.org/x/y/w?q=2"}},
    {"PATCH /a HTTP/1.1\r\nHost: example.org:8080\r\nContent-Length: 0\r\n\r\n",
     "HTTP/1.1 200 OK\r\nLocation: //example.org/n\r\nContent-Location: https://example.org/s\r\n\r\n",
     3,
     {"http://example.org:8080/a", "http://example.org/n", "https://example.org/s"}},
    {"POST /a HTTP/1.1\r\nHost: example.org\r\nContent-Length: 0\r\n\r\n",
     "HTTP/1.1 200 OK\r\nLocation: /a\r\nContent-Location: mailto:x@example.org\r\n\r\n",
     1,
     {"http://example.org/a"}},
};

START_TEST(invalidation)
{
    struct cache_invalidation *inv = malloc(sizeof(*inv));
    unsigned j;

    parse_req(&qh, invs[_i].req);
    parse_resp(&rh, invs[_i].resp);
    ck_assert_uint_eq(cache_invalidation_targets(&qh, invs[_i].req, &rh, invs[_i].resp, 0, 1, inv),
                      invs[_i].n);
    for (j = 0; j < invs[_i].n; j++) {
        ck_assert_str_eq(inv->key[j], invs[_i].k[j]);
        ck_assert_uint_eq(inv->len[j], strlen(invs[_i].k[j]));
    }
    free(inv);
}
END_TEST

/* ---- heads ---- */

START_TEST(head_for_storage)
{
    static const char r[] =
        "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n"
        "Content-Type: text/plain\r\nX-Hop: 1\r\nSet-Cookie: s=1\r\nTransfer-Encoding: chunked\r\n"
        "ETag: \"v1\"\r\n\r\n";
    size_t n;
    char *h;

    parse_resp(&rh, r);
    h = cache_head_for_storage(&rh, r, 0, &n);
    ck_assert_str_eq(h, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: \"v1\"\r\n\r\n");
    ck_assert_uint_eq(n, strlen(h));
    free(h);
    h = cache_head_for_storage(&rh, r, 1, &n);
    ck_assert_str_eq(
        h,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: s=1\r\nETag: \"v1\"\r\n\r\n");
    free(h);
}
END_TEST

START_TEST(merge_304)
{
    static const char stored[] =
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nETag: \"v1\"\r\n"
        "Cache-Control: max-age=60\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n"
        "Content-Encoding: gzip\r\nX-Old: 1\r\nX-Multi: a\r\nX-Multi: b\r\n\r\n";
    static const char upd[] =
        "HTTP/1.1 304 Not Modified\r\nDate: Sun, 06 Nov 1994 09:49:37 GMT\r\nETag: \"v1\"\r\n"
        "Cache-Control: max-age=120\r\nContent-Length: 0\r\nContent-Encoding: br\r\n"
        "Connection: close, X-Hop\r\nX-Hop: 1\r\nSet-Cookie: s=1\r\nX-Multi: c\r\nX-New: 2\r\n\r\n";
    static const char want[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n"
        "Content-Encoding: gzip\r\nX-Old: 1\r\nDate: Sun, 06 Nov 1994 09:49:37 GMT\r\n"
        "ETag: \"v1\"\r\nCache-Control: max-age=120\r\nX-Multi: c\r\nX-New: 2\r\n\r\n";
    struct cache_meta m;
    size_t n;
    char *h;

    parse_resp(&sh, stored);
    parse_resp(&rh, upd);
    ck_assert_int_eq(cache_head_matches(&sh, stored, &rh, upd), 1);
    h = cache_head_update(&sh, stored, &rh, upd, &n);
    ck_assert_str_eq(h, want);
    ck_assert_uint_eq(n, strlen(want));
    /* the merged head parses and carries the new freshness */
    parse_resp(&sh, h);
    cache_meta_parse(&m, &sh, h, 784115377, 784115377);
    ck_assert_int_eq(m.cc.max_age, 120);
    ck_assert_int_eq(m.date, 784115377);
    ck_assert_int_eq(sh.content_length, 5);
    free(h);
}
END_TEST

static const struct {
    const char *stored, *upd;
    int match;
} matches[] = {
    {"ETag: \"v1\"", "ETag: \"v1\"", 1},
    {"ETag: \"v1\"", "ETag: \"v2\"", 0},
    {"ETag: \"v1\"", "ETag: W/\"v1\"", 1},
    {"ETag: W/\"v1\"", "ETag: \"v1\"", 0},
    {"ETag: W/\"v1\"", "ETag: W/\"v1\"", 1},
    {"Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT", "ETag: \"v1\"", 0},
    {"Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT",
     "Last-Modified: Sunday, 06-Nov-94 08:49:37 GMT", 1},
    {"Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT", "Last-Modified: Sun, 06 Nov 1994 08:49:38 GMT",
     0},
    {"X-None: 1", "X-None: 2", 1},
    /* no validator in the 304: the stored response the request named */
    {"ETag: \"v1\"", "X-None: 2", 1},
    {"Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT", "X-None: 2", 1},
    {"ETag: W/\"v1\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT", "Date: Sun, 06 Nov 1994 09:00:00 GMT", 1},
    /* an ETag in the 304 decides, whatever Last-Modified says */
    {"ETag: \"v1\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT",
     "ETag: \"v2\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT", 0},
    {"Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT", "Last-Modified: Sun, 06 Nov 1994 08:40:00 GMT", 0},
    {"X-None: 1", "ETag: \"v1\"", 0},
};

START_TEST(head_matches)
{
    char s[256], u[256];

    snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\n%s\r\n\r\n", matches[_i].stored);
    snprintf(u, sizeof(u), "HTTP/1.1 304 Not Modified\r\n%s\r\n\r\n", matches[_i].upd);
    parse_resp(&sh, s);
    parse_resp(&rh, u);
    ck_assert_int_eq(cache_head_matches(&sh, s, &rh, u), matches[_i].match);
}
END_TEST

START_TEST(conditional_fields)
{
    static const char s1[] =
        "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
    static const char s2[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    static const char want[] =
        "If-None-Match: \"v1\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
    char out[128];

    parse_resp(&sh, s1);
    ck_assert_int_eq(cache_conditional_fields(&sh, s1, out, sizeof(out)), (long)strlen(want));
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(cache_conditional_fields(&sh, s1, out, strlen(want) + 1), (long)strlen(want));
    ck_assert_int_eq(cache_conditional_fields(&sh, s1, out, strlen(want)), -1);
    parse_resp(&sh, s2);
    ck_assert_int_eq(cache_conditional_fields(&sh, s2, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

static const struct {
    const char *req;
    int nm;
} conds[] = {
    {"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"v1\"\r\n\r\n", 1},
    {"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"a\", \"v1\"\r\n\r\n", 1},
    {"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"a\"\r\nIf-None-Match: W/\"v1\"\r\n\r\n", 1},
    {"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n", 1},
    {"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"v1,x\"\r\n\r\n", 0},
    /* If-None-Match decides alone, even when If-Modified-Since would match */
    {"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"v2\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
     0},
    {"GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n", 1},
    {"GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Mon, 07 Nov 1994 08:49:37 GMT\r\n\r\n", 1},
    {"GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Sat, 05 Nov 1994 08:49:37 GMT\r\n\r\n", 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: yesterday\r\n\r\n", 0},
    {"HEAD / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"v1\"\r\n\r\n", 1},
    {"DELETE / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"v1\"\r\n\r\n", 0},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
};

START_TEST(client_conditionals)
{
    static const char s[] =
        "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";

    parse_resp(&sh, s);
    parse_req(&qh, conds[_i].req);
    ck_assert_int_eq(cache_not_modified(&qh, conds[_i].req, &sh, s, 1780000000), conds[_i].nm);
}
END_TEST

START_TEST(not_modified_by_date)
{
    static const char s[] = "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
    static const char s404[] = "HTTP/1.1 404 Not Found\r\nETag: \"v1\"\r\n\r\n";
    static const char q[] =
        "GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
    static const char q2[] = "GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"v1\"\r\n\r\n";

    /* without Last-Modified, the stored Date stands in */
    parse_resp(&sh, s);
    parse_req(&qh, q);
    ck_assert_int_eq(cache_not_modified(&qh, q, &sh, s, 1780000000), 1);
    /* a stored 404 is answered whole, whatever the validators */
    parse_resp(&sh, s404);
    parse_req(&qh, q2);
    ck_assert_int_eq(cache_not_modified(&qh, q2, &sh, s404, 1780000000), 0);
}
END_TEST

START_TEST(age_and_status)
{
    struct cache_status cs = {CACHE_FWD_NONE, 0, 1, 30, 0, 0, NULL};
    char out[128];

    ck_assert_uint_eq(cache_age_value(-5, out, sizeof(out)), 1);
    ck_assert_str_eq(out, "0");
    cache_age_value(17, out, sizeof(out));
    ck_assert_str_eq(out, "17");
    cache_age_value(1LL << 40, out, sizeof(out));
    ck_assert_str_eq(out, "2147483648");

    ck_assert_int_eq(cache_status_value("gatehouse", &cs, out, sizeof(out)), 22);
    ck_assert_str_eq(out, "gatehouse; hit; ttl=30");
    cs = (struct cache_status){CACHE_FWD_MISS, 200, 0, 0, 1, 0, NULL};
    cache_status_value("gatehouse", &cs, out, sizeof(out));
    ck_assert_str_eq(out, "gatehouse; fwd=miss; fwd-status=200; stored");
    cs = (struct cache_status){CACHE_FWD_STALE, 304, 1, -5, 0, 0, NULL};
    cache_status_value(NULL, &cs, out, sizeof(out));
    ck_assert_str_eq(out, "gatehouse; fwd=stale; fwd-status=304; ttl=-5");
    cs = (struct cache_status){CACHE_FWD_URI_MISS, 200, 0, 0, 0, 1, "no-store"};
    cache_status_value("gatehouse", &cs, out, sizeof(out));
    ck_assert_str_eq(out, "gatehouse; fwd=uri-miss; fwd-status=200; collapsed; detail=no-store");
    cs = (struct cache_status){CACHE_FWD_BYPASS, 0, 0, 0, 0, 0, "cookie \"sid\""};
    cache_status_value("edge cache", &cs, out, sizeof(out));
    ck_assert_str_eq(out, "\"edge cache\"; fwd=bypass; detail=\"cookie \\\"sid\\\"\"");
    ck_assert_int_eq(cache_status_value("gatehouse", &cs, out, 10), -1);
    ck_assert_str_eq(out, "");
}
END_TEST

void cache_key_tcases(Suite *s)
{
    TCase *tc = tcase_create("keys");

    tcase_add_loop_test(tc, key_normalises, 0, (int)(sizeof(keys) / sizeof(keys[0])));
    tcase_add_test(tc, key_too_long_and_hash);
    tcase_add_loop_test(tc, invalidation, 0, (int)(sizeof(invs) / sizeof(invs[0])));
    suite_add_tcase(s, tc);

    tc = tcase_create("vary");
    tcase_add_test(tc, vary_lists);
    tcase_add_loop_test(tc, accept_encoding, 0, (int)(sizeof(aes) / sizeof(aes[0])));
    tcase_add_test(tc, vary_keys);
    suite_add_tcase(s, tc);

    tc = tcase_create("heads");
    tcase_add_test(tc, head_for_storage);
    tcase_add_test(tc, merge_304);
    tcase_add_loop_test(tc, head_matches, 0, (int)(sizeof(matches) / sizeof(matches[0])));
    tcase_add_test(tc, conditional_fields);
    tcase_add_loop_test(tc, client_conditionals, 0, (int)(sizeof(conds) / sizeof(conds[0])));
    tcase_add_test(tc, not_modified_by_date);
    tcase_add_test(tc, age_and_status);
    suite_add_tcase(s, tc);
}
