/* check_compress.c — response compression on reverse routes, with a real
 * origin and real decoders: every algorithm's output decoded by a tool that
 * is not ours (python3's gzip and brotli modules, the brotli and zstd
 * programs) and compared byte for byte with the origin's own body (0 B,
 * 1 B, 10 MB, chunked); each rule that leaves a response alone; q-values;
 * Vary and ETag; an HTTP/1.0 client; curl --compressed; a server-sent
 * event that arrives while the origin holds the next; a head that arrives
 * while the origin holds the body; configuration errors. */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ---- the origin ---- */

/* Text that compresses as a page does: words from a table picked by a
 * fixed generator, so each size is the same bytes every time.  Fills
 * dst[0..size). */
static void text_fill(char *dst, size_t size)
{
    static const char *const words[] = {"<p>", "gatehouse ", "compress ", "the ", "</p>\n",
                                        "zstd ", "brotli ", "gzip ", "lorem ", "ipsum ", "\t"};
    uint32_t x = 12345;
    size_t n = 0;

    while (n < size) {
        const char *w;
        size_t wl;
        x = x * 1103515245u + 12345u;
        w = words[(x >> 16) % (sizeof(words) / sizeof(words[0]))];
        wl = strlen(w);
        if (wl > size - n)
            wl = size - n;
        memcpy(dst + n, w, wl);
        n += wl;
    }
}

static void text(struct origin_reply *re, uint64_t size)
{
    char *p = malloc(size + 1);

    text_fill(p, (size_t)size);
    origin_body(re, NULL, p, (size_t)size);
    free(p);
}

/* /gz?size=N (the text) or /gz?zeros=N (zero bytes: a bomb), sent gzipped
 * with Content-Encoding: gzip. */
static void gzipped(const struct origin_request *rq, struct origin_reply *re)
{
    char v[64];
    size_t size = 1000, cap;
    int zeros = origin_query(rq, "zeros", 0, v, sizeof(v)) == 0;
    char *in, *out;
    z_stream z;

    if (zeros || origin_query(rq, "size", 0, v, sizeof(v)) == 0)
        size = strtoull(v, NULL, 10);
    in = calloc(1, size + 1);
    if (!zeros)
        text_fill(in, size);
    cap = size + size / 100 + 1024;
    out = malloc(cap);
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)size;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    origin_add(re, "Content-Encoding: gzip");
    origin_add(re, "ETag: \"g1\"");
    origin_body(re, "text/html", out, cap - z.avail_out);
    deflateEnd(&z);
    free(in);
    free(out);
}

/* Writes an answer's first part, waits until the test asks /release, then
 * writes the rest (both NUL-terminated texts). */
static void in_two_parts(struct origin_reply *re, const char *head, const char *tail)
{
    int fd = origin_take(re);

    if (write(fd, head, strlen(head)) < 0)
        return;
    origin_hold();
    if (write(fd, tail, strlen(tail)) < 0)
        perror("origin: the second part");
}

/* /t?size=N&type=T&chunked=1&ce=C&cc=V&etag=E&vary=V&status=N: N bytes of
 * text (1000 by default) as type T (text/html), chunked or not, with the
 * fields the query names.  /p?size=N: N bytes of the pattern, as
 * text/plain.  /sse: an event stream that sends one event, waits until
 * /release, then sends a second.  /late: a chunked page's head alone, then
 * (after /release) its body. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    char v[256];
    uint64_t size = 1000;
    int status = 200;

    if (strcmp(rq->path, "/gz") == 0) {
        gzipped(rq, re);
        return;
    }
    if (strcmp(rq->path, "/release") == 0) {
        origin_release();
        origin_text(re, "released\n");
        return;
    }
    if (strcmp(rq->path, "/late") == 0) {
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n";
        static const char tail[] = "c\r\n<p>late</p>\n\r\n0\r\n\r\n";
        in_two_parts(re, head, tail);
        return;
    }
    if (strcmp(rq->path, "/sse") == 0) {
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n"
                                   "b\r\ndata: one\n\n\r\n";
        static const char tail[] = "b\r\ndata: two\n\n\r\n0\r\n\r\n";
        in_two_parts(re, head, tail);
        return;
    }
    if (origin_query(rq, "size", 0, v, sizeof(v)) == 0)
        size = strtoull(v, NULL, 10);
    if (origin_query(rq, "status", 0, v, sizeof(v)) == 0)
        status = atoi(v);
    origin_status(re, status);
    if (status == 206)
        origin_add(re, "Content-Range: bytes 0-%" PRIu64 "/%" PRIu64, size - 1, size * 2);
    if (origin_query(rq, "ce", 0, v, sizeof(v)) == 0)
        origin_add(re, "Content-Encoding: %s", v);
    if (origin_query(rq, "cc", 0, v, sizeof(v)) == 0)
        origin_add(re, "Cache-Control: %s", v);
    if (origin_query(rq, "etag", 0, v, sizeof(v)) == 0)
        origin_add(re, "ETag: %s", v);
    if (origin_query(rq, "vary", 0, v, sizeof(v)) == 0)
        origin_add(re, "Vary: %s", v);
    if (origin_query(rq, "type", 0, v, sizeof(v)) != 0)
        strcpy(v, "text/html");
    origin_add(re, "Content-Type: %s", v);
    if (origin_query(rq, "chunked", 0, v, sizeof(v)) == 0)
        origin_chunked(re);
    if (status == 204 || status == 304)
        return;
    if (strcmp(rq->path, "/p") == 0)
        origin_pattern(re, size);
    else
        text(re, size);
}

/* ---- the rig ---- */

static struct rig rig;
static char tmp[160];
static char www[160]; /* the static backend's directory */

static const char conf_fmt[] =
    "log = { access = \"@ACCESS@\"; level = \"info\"; };\n"
    "cache = { memory_mb = 16; };\n"
    "listeners = ( { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = "
    "\"r\"; status_path = \"/_status\"; } );\n"
    "pools = { o = { servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
    "          files = { servers = ( { static = \"%s\"; } ); }; };\n"
    "routes = { r = (\n"
    "  { host = \"all.test\"; pool = \"o\"; compress = { min_length = 0; }; },\n"
    "  { host = \"min.test\"; pool = \"o\"; compress = true; },\n"
    "  { host = \"pref.test\"; pool = \"o\"; compress = { prefer = [ \"gzip\", \"br\" ]; "
    "gzip_level = 1; }; },\n"
    "  { host = \"plain.test\"; pool = \"o\"; },\n"
    "  { host = \"static.test\"; pool = \"files\"; },\n"
    "  { host = \"cache.test\"; pool = \"o\"; cache = true; compress = { min_length = 0; }; },\n"
    "  { host = \"127.0.0.1\"; pool = \"o\"; compress = true; } ); };\n";

static void rig_up(void)
{
    char conf[2048];

    ck_assert_int_eq(origin_start(&rig.o, "o1", answer), 0);
    rig.rev = th_free_port();
    /* page.html with its three precompressed variants, made by the tools;
     * plain.html alone */
    snprintf(www, sizeof(www), "/tmp/gh-compress-www-%d", (int)getpid());
    ck_assert_int_eq(th_sh(NULL, 0,
                           "rm -rf %s && mkdir -p %s && cd %s && "
                           "seq 1 5000 | sed 's/^/<p>line /' > page.html && cp page.html plain.html && "
                           "gzip -k page.html && brotli -k page.html && zstd -qk page.html",
                           www, www, www),
                     0);
    snprintf(conf, sizeof(conf), conf_fmt, rig.rev, rig.o.port, www);
    ck_assert_int_eq(th_gatehouse_start(&rig.g, conf), 0);
    snprintf(tmp, sizeof(tmp), "%s/z", rig.g.dir);
    ck_assert_int_eq(th_sh(NULL, 0, "mkdir -p %s", tmp), 0);
}

static void rig_off(void)
{
    th_sh(NULL, 0, "rm -rf %s", www);
    rig_down(&rig);
}

/* One GET (or another method) on a new connection, with extra fields. */
static int req(const char *method, const char *host, const char *path, const char *extra,
               struct tc_response *r)
{
    char raw[2048];

    snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n",
             method, path, host, extra ? extra : "");
    memset(r, 0, sizeof(*r));
    ck_assert_int_eq(tc_request("127.0.0.1", rig.rev, raw, r), 0);
    return r->status;
}

/* The Content-Encoding of r, "" for none (copied). */
static const char *coding(const struct tc_response *r)
{
    static char v[64];
    size_t n = 0;
    const char *p = tc_header(r, "Content-Encoding", &n);

    snprintf(v, sizeof(v), "%.*s", p ? (int)n : 0, p ? p : "");
    return v;
}

/* How many times a line starting with `line` is in r's head (case kept). */
static int head_lines(const struct tc_response *r, const char *line)
{
    int n = 0;

    for (const char *p = r->head; (p = strstr(p, line)) != NULL; p++)
        n += p == r->head || p[-1] == '\n';
    return n;
}

/* ---- every algorithm, byte for byte ---- */

/* The shell command that decodes file `in` of coding alg to stdout. */
static const char *decoder(const char *alg)
{
    if (strcmp(alg, "gzip") == 0)
        return "/usr/bin/python3 -c 'import gzip,sys; "
               "sys.stdout.buffer.write(gzip.decompress(open(sys.argv[1],\"rb\").read()))'";
    if (strcmp(alg, "br") == 0)
        return "brotli -dc";
    return "zstd -qdc";
}

/* Fetches path through gatehouse with Accept-Encoding: alg and straight
 * from the origin, decodes the first with an independent tool, and
 * compares. */
static void same_bytes(const char *alg, const char *path)
{
    char out[4096];
    int rc;

    rc = th_sh(out, sizeof(out),
               "cd %s && curl -sS -H 'Host: all.test' -H 'Accept-Encoding: %s' -D h -o enc "
               "'http://127.0.0.1:%d%s' && curl -sS -o id 'http://127.0.0.1:%d%s' && "
               "tr -d '\\r' < h | grep -qx 'Content-Encoding: %s' && "
               "! grep -qi '^content-length' h && %s enc > dec && cmp dec id && "
               "echo $(wc -c < id) $(wc -c < enc)",
               tmp, alg, rig.rev, path, rig.o.port, path, alg, decoder(alg));
    ck_assert_msg(rc == 0, "%s %s: exit %d: %s", alg, path, rc, out);
}

START_TEST(every_algorithm_byte_for_byte)
{
    static const char *const algs[] = {"gzip", "br", "zstd"};
    static const char *const paths[] = {"/t?size=0&chunked=1", "/t?size=1", "/t?size=300000",
                                        "/t?size=300000&chunked=1", "/p?size=10485760"};

    for (unsigned a = 0; a < 3; a++)
        for (unsigned p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
            same_bytes(algs[a], paths[p]);
}
END_TEST

/* python3's brotli module agrees with the brotli program. */
START_TEST(python_brotli_decodes)
{
    char out[256];
    int rc = th_sh(out, sizeof(out),
                   "cd %s && curl -sS -H 'Host: all.test' -H 'Accept-Encoding: br' -o pb "
                   "'http://127.0.0.1:%d/t?size=50000' && curl -sS -o pi "
                   "'http://127.0.0.1:%d/t?size=50000' && /usr/bin/python3 -c 'import brotli,sys; "
                   "sys.exit(brotli.decompress(open(\"pb\",\"rb\").read()) != "
                   "open(\"pi\",\"rb\").read())'",
                   tmp, rig.rev, rig.o.port);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
}
END_TEST

/* ---- what is left alone ---- */

START_TEST(skip_rules)
{
    static const struct {
        const char *method, *host, *path, *extra, *ce;
        int status;
    } cases[] = {
        /* already encoded: the origin's coding, untouched */
        {"GET", "all.test", "/t?ce=gzip", NULL, "gzip", 200},
        {"GET", "all.test", "/t?cc=public,no-transform", NULL, "", 200},
        {"GET", "all.test", "/t", "Range: bytes=0-9\r\n", "", 200},
        {"GET", "all.test", "/t?status=206", NULL, "", 206},
        {"HEAD", "all.test", "/t", NULL, "", 200},
        {"GET", "all.test", "/t?status=204", NULL, "", 204},
        {"GET", "all.test", "/t?status=304", NULL, "", 304},
        {"GET", "min.test", "/t?size=255", NULL, "", 200},
        {"GET", "min.test", "/t?size=256", NULL, "gzip", 200},
        {"GET", "all.test", "/t?type=image/png", NULL, "", 200},
        {"GET", "all.test", "/t?type=application/octet-stream", NULL, "", 200},
        {"GET", "all.test", "/t?type=text/html;%20charset=utf-8", NULL, "gzip", 200},
        {"GET", "all.test", "/t?type=application/ld%2Bjson", NULL, "gzip", 200},
        {"GET", "plain.test", "/t", NULL, "", 200},
    };
    struct tc_response r;

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char extra[256];
        snprintf(extra, sizeof(extra), "Accept-Encoding: gzip\r\n%s",
                 cases[i].extra ? cases[i].extra : "");
        ck_assert_int_eq(req(cases[i].method, cases[i].host, cases[i].path, extra, &r),
                         cases[i].status);
        ck_assert_msg(strcmp(coding(&r), cases[i].ce) == 0, "case %u %s %s: coding '%s'", i,
                      cases[i].host, cases[i].path, coding(&r));
        if (!*cases[i].ce && r.status == 200 && strcmp(cases[i].method, "GET") == 0)
            ck_assert_msg(tc_header(&r, "Content-Length", NULL) != NULL, "case %u: length gone", i);
        if (strcmp(cases[i].path, "/t?ce=gzip") == 0) /* not encoded twice, bytes as sent */
            ck_assert_uint_eq(r.body_len, 1000);
        tc_response_free(&r);
    }
}
END_TEST

/* ---- negotiation ---- */

START_TEST(q_values)
{
    static const struct {
        const char *host, *ae, *ce;
    } cases[] = {
        {"all.test", "gzip", "gzip"},
        {"all.test", "gzip, br", "br"},
        {"all.test", "gzip, deflate, br, zstd", "zstd"},
        {"all.test", "GZIP", "gzip"},
        {"all.test", "x-gzip", "gzip"},
        {"all.test", "gzip;q=0", ""},
        {"all.test", "gzip;q=0.5, br;q=0.4", "gzip"},
        {"all.test", "br;q=0.9, gzip;q=0.9, zstd;q=0.8", "br"},
        {"all.test", "gzip;q=0.001", "gzip"},
        {"all.test", "gzip;q=2", ""},
        {"all.test", "gzip;q=0.5x", ""},
        {"all.test", "gzip ; q=0.5 , br;q=1.000", "br"},
        {"all.test", "*", "zstd"},
        {"all.test", "*;q=0", ""},
        {"all.test", "zstd;q=0, *", "br"},
        {"all.test", "identity", ""},
        {"all.test", "gzip;q=0.5, identity", ""},
        {"all.test", "gzip, identity;q=0.5", "gzip"},
        {"all.test", "deflate", ""},
        {"all.test", "", ""},
        {"pref.test", "zstd, br, gzip", "gzip"},
        {"pref.test", "zstd", ""},
        {"pref.test", "zstd, br", "br"},
    };
    struct tc_response r;

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char extra[256];
        snprintf(extra, sizeof(extra), "Accept-Encoding: %s\r\n", cases[i].ae);
        ck_assert_int_eq(req("GET", cases[i].host, "/t", extra, &r), 200);
        ck_assert_msg(strcmp(coding(&r), cases[i].ce) == 0, "%s '%s': coding '%s', want '%s'",
                      cases[i].host, cases[i].ae, coding(&r), cases[i].ce);
        /* compressible: the answer varies on Accept-Encoding either way */
        ck_assert_int_eq(head_lines(&r, "Vary: Accept-Encoding\r\n"), 1);
        tc_response_free(&r);
    }
    /* no Accept-Encoding at all: identity, still Vary */
    ck_assert_int_eq(req("GET", "all.test", "/t", NULL, &r), 200);
    ck_assert_str_eq(coding(&r), "");
    ck_assert_int_eq(head_lines(&r, "Vary: Accept-Encoding\r\n"), 1);
    tc_response_free(&r);
}
END_TEST

/* ---- Vary and ETag ---- */

START_TEST(vary_and_etag)
{
    struct tc_response r;
    size_t n;
    const char *v;

    /* a strong ETag becomes weak on the compressed body */
    ck_assert_int_eq(req("GET", "all.test", "/t?etag=%22abc%22", "Accept-Encoding: br\r\n", &r), 200);
    ck_assert_str_eq(coding(&r), "br");
    v = tc_header(&r, "ETag", &n);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq((int)n, 7);
    ck_assert_int_eq(memcmp(v, "W/\"abc\"", 7), 0);
    ck_assert_int_eq(head_lines(&r, "ETag:"), 1);
    tc_response_free(&r);
    /* the identity body keeps it strong */
    ck_assert_int_eq(req("GET", "all.test", "/t?etag=%22abc%22", NULL, &r), 200);
    v = tc_header(&r, "ETag", &n);
    ck_assert_int_eq((int)n, 5);
    ck_assert_int_eq(memcmp(v, "\"abc\"", 5), 0);
    tc_response_free(&r);
    /* a weak one stays as it is */
    ck_assert_int_eq(req("GET", "all.test", "/t?etag=W/%22x%22", "Accept-Encoding: gzip\r\n", &r),
                     200);
    v = tc_header(&r, "ETag", &n);
    ck_assert_int_eq((int)n, 5);
    ck_assert_int_eq(memcmp(v, "W/\"x\"", 5), 0);
    tc_response_free(&r);
    /* the origin's Vary is kept; Accept-Encoding is added once */
    ck_assert_int_eq(req("GET", "all.test", "/t?vary=Cookie", "Accept-Encoding: gzip\r\n", &r), 200);
    ck_assert_int_eq(head_lines(&r, "Vary: Cookie\r\n"), 1);
    ck_assert_int_eq(head_lines(&r, "Vary: Accept-Encoding\r\n"), 1);
    tc_response_free(&r);
    ck_assert_int_eq(
        req("GET", "all.test", "/t?vary=accept-encoding", "Accept-Encoding: gzip\r\n", &r), 200);
    ck_assert_str_eq(coding(&r), "gzip");
    ck_assert_int_eq(head_lines(&r, "Vary:"), 1);
    tc_response_free(&r);
}
END_TEST

/* ---- the cache: a variant per Accept-Encoding ---- */

/* Fetches /t?size=50000&cc=max-age=600&etag=... from cache.test with
 * Accept-Encoding ae (NULL: none) into file `name`; checks that the answer
 * was a hit (hit 1) or a stored miss (hit 0) and had Content-Encoding ce
 * ("" for none). */
static void cached_get(const char *ae, const char *name, int hit, const char *ce)
{
    char out[512], hdr[96] = "", *bar;

    if (ae)
        snprintf(hdr, sizeof(hdr), "-H 'Accept-Encoding: %s'", ae);
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "cd %s && curl -sS -H 'Host: cache.test' %s -D %s.h -o %s "
                           "'http://127.0.0.1:%d/t?size=50000&cc=max-age%%3D600&etag=%%22e1%%22' && "
                           "tr -d '\r' < %s.h > %s.t && echo \"$(sed -n 's/^Cache-Status: //p' %s.t)"
                           "|$(sed -n 's/^Content-Encoding: //p' %s.t)\"",
                           tmp, hdr, name, name, rig.rev, name, name, name, name),
                     0);
    bar = strchr(out, '|');
    ck_assert_ptr_nonnull(bar);
    *bar++ = '\0';
    bar[strcspn(bar, "\n")] = '\0';
    ck_assert_msg(hit ? strncmp(out, "gatehouse; hit", 14) == 0 : strstr(out, "stored") != NULL,
                  "%s (%s): Cache-Status %s", name, ae ? ae : "-", out);
    ck_assert_msg(strcmp(bar, ce) == 0, "%s: coding '%s'", name, bar);
}

START_TEST(cache_keeps_a_variant_per_encoding)
{
    char out[512];

    /* br: a miss, compressed, stored as sent; then a hit with the same bytes */
    cached_get("br", "c1", 0, "br");
    cached_get("br", "c2", 1, "br");
    /* gzip and no coding at all: variants of their own */
    cached_get("gzip", "c3", 0, "gzip");
    cached_get("gzip", "c4", 1, "gzip");
    cached_get(NULL, "c5", 0, "");
    cached_get(NULL, "c6", 1, "");
    cached_get("br", "c7", 1, "br");
    /* the hits are the stored bytes, which decode to the origin's */
    ck_assert_msg(th_sh(out, sizeof(out),
                        "cd %s && cmp c1 c2 && cmp c1 c7 && cmp c3 c4 && cmp c5 c6 && "
                        "curl -sS -o ci 'http://127.0.0.1:%d/t?size=50000' && cmp c5 ci && "
                        "brotli -dc c2 | cmp - ci && %s c4 | cmp - ci && "
                        "tr -d '\r' < c2.h | grep -x 'ETag: .*' && "
                        "tr -d '\r' < c2.h | grep -cix 'vary: accept-encoding' && "
                        "tr -d '\r' < c2.h | grep -x 'Content-Length: .*' | wc -l",
                        tmp, rig.o.port, decoder("gzip")) == 0,
                  "%s", out);
    ck_assert_str_eq(out, "ETag: W/\"e1\"\n1\n1\n");
    /* three fetches reached the origin (one per coding), and a hit is never
     * compressed again: no enc= on the hits' log lines */
    ck_assert_int_eq(th_log_lines(rig.o.log, 3, "GET /t?size=50000&cc=", NULL), 3);
    ck_assert_int_eq(th_log_lines(rig.g.access, 2, "GET /t?size=50000&cc=", "enc=", NULL), 2);
    ck_assert_int_eq(th_log_lines(rig.g.access, 7, "GET /t?size=50000&cc=", NULL), 7);
}
END_TEST

/* ---- a gzip body for a client that takes no gzip ---- */

START_TEST(gunzip_for_identity_clients)
{
    char out[1024];
    int rc;

    /* no Accept-Encoding, and one without gzip: the identity bytes */
    rc = th_sh(out, sizeof(out),
               "cd %s && curl -sS -H 'Host: all.test' -D gh -o g1 'http://127.0.0.1:%d/gz?size=300000' "
               "&& curl -sS -H 'Host: all.test' -H 'Accept-Encoding: br' -o g2 "
               "'http://127.0.0.1:%d/gz?size=300000' && curl -sS -o gi 'http://127.0.0.1:%d/t?size=300000' "
               "&& cmp g1 gi && cmp g2 gi && ! grep -qi '^content-encoding' gh && "
               "tr -d '\r' < gh | grep -x 'Vary: Accept-Encoding' && tr -d '\r' < gh | grep -x 'ETag: .*'",
               tmp, rig.rev, rig.rev, rig.o.port);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    ck_assert_str_eq(out, "Vary: Accept-Encoding\nETag: W/\"g1\"\n");
    ck_assert_int_eq(th_log_lines(rig.g.access, 2, "GET /gz?size=300000 ", " enc=gunzip ", NULL), 2);
    /* a client that takes gzip gets the origin's bytes */
    rc = th_sh(out, sizeof(out),
               "cd %s && curl -sS -H 'Host: all.test' -H 'Accept-Encoding: gzip' -D gh3 -o g3 "
               "'http://127.0.0.1:%d/gz?size=300000' && curl -sS -H 'Accept-Encoding: gzip' -o g4 "
               "'http://127.0.0.1:%d/gz?size=300000' && cmp g3 g4 && "
               "tr -d '\r' < gh3 | grep -x 'Content-Encoding: gzip'",
               tmp, rig.rev, rig.o.port);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
}
END_TEST

/* 20 MB of zeros gzipped to 20 KB: decoding stops at compress.max_ratio
 * (100) times the input plus 1 MB; the client's answer is cut off. */
START_TEST(gzip_bomb_refused)
{
    char out[1024];
    int rc;

    rc = th_sh(out, sizeof(out),
               "cd %s && curl -s -H 'Host: all.test' -o bomb 'http://127.0.0.1:%d/gz?zeros=20000000'; "
               "echo \" exit=$? size=$(wc -c < bomb)\"",
               tmp, rig.rev);
    ck_assert_msg(strstr(out, " exit=18 ") != NULL, "%s", out);
    {
        const char *sz = strstr(out, "size=");
        ck_assert_ptr_nonnull(sz);
        ck_assert_msg(atol(sz + 5) < 5000000, "%s", out);
    }
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "GET /gz?zeros=20000000 ",
                                  "why=gzip body expands past compress.max_ratio", NULL),
                     1);
    (void)rc;
}
END_TEST

/* ---- the static backend's precompressed files ---- */

START_TEST(static_precompressed)
{
    static const struct {
        const char *path, *ae, *ce, *file;
        int vary;
    } cases[] = {
        {"/page.html", "br", "br", "page.html.br", 1},
        {"/page.html", "gzip", "gzip", "page.html.gz", 1},
        {"/page.html", "zstd", "zstd", "page.html.zst", 1},
        {"/page.html", "gzip, br, zstd", "zstd", "page.html.zst", 1},
        {"/page.html", "gzip;q=1, br;q=0.5", "gzip", "page.html.gz", 1},
        {"/page.html", "deflate", "", "page.html", 1},
        {"/page.html", NULL, "", "page.html", 1},
        {"/plain.html", "gzip, br, zstd", "", "plain.html", 0},
    };
    char out[1024], hdr[128];

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        snprintf(hdr, sizeof(hdr), "-H 'Accept-Encoding: %s'", cases[i].ae ? cases[i].ae : "");
        rc = th_sh(out, sizeof(out),
                   "cd %s && curl -sS -H 'Host: static.test' %s -D sh -o sb 'http://127.0.0.1:%d%s' "
                   "&& cmp sb %s/%s && tr -d '\r' < sh | grep -ix 'content-encoding: .*'; "
                   "tr -d '\r' < sh | grep -cx 'Vary: Accept-Encoding'",
                   tmp, cases[i].ae ? hdr : "", rig.rev, cases[i].path, www, cases[i].file);
        (void)rc;
        snprintf(hdr, sizeof(hdr), "%s%s%s%d\n", *cases[i].ce ? "Content-Encoding: " : "",
                 cases[i].ce, *cases[i].ce ? "\n" : "", cases[i].vary);
        ck_assert_msg(strcmp(out, hdr) == 0, "case %u (%s): got '%s' want '%s'", i,
                      cases[i].ae ? cases[i].ae : "-", out, hdr);
    }
    /* and the variant decodes to the file */
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -sS --compressed -H 'Host: static.test' "
                           "'http://127.0.0.1:%d/page.html' | cmp - %s/page.html",
                           rig.rev, www),
                     0);
}
END_TEST

/* ---- clients ---- */

/* The access log names the coding and the bytes before and after; the
 * status page adds them up. */
START_TEST(log_and_status)
{
    struct tc_response r;
    char raw[256];

    ck_assert_int_eq(req("GET", "all.test", "/t?size=100000", "Accept-Encoding: br\r\n", &r), 200);
    ck_assert_str_eq(coding(&r), "br");
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "GET /t?size=100000 HTTP/1.1\" 200 100000 ",
                                  " enc=br zin=100000 zout=", NULL),
                     1);
    tc_response_free(&r);
    ck_assert_int_eq(req("GET", "all.test", "/t?size=5000", "Accept-Encoding: gzip\r\n", &r), 200);
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "GET /t?size=5000 HTTP/1.1\" 200 5000 ",
                                  " enc=gzip zin=5000 zout=", NULL),
                     1);
    /* identity: no enc= */
    ck_assert_int_eq(req("GET", "all.test", "/t?size=7000", NULL, &r), 200);
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "GET /t?size=7000 HTTP/1.1\" 200 7000 ", NULL), 1);
    ck_assert_int_eq(th_log_lines(rig.g.access, 0, "GET /t?size=7000 ", "enc=", NULL), 0);
    snprintf(raw, sizeof(raw), "GET /_status HTTP/1.1\r\nHost: all.test\r\nConnection: close\r\n\r\n");
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(tc_request("127.0.0.1", rig.rev, raw, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "\"compression\":{\"gzip\":1,\"br\":1,\"zstd\":0,\"bytes_in\":105000,"),
                  "%s", r.body);
    tc_response_free(&r);
}
END_TEST

START_TEST(http10_client_gets_a_closed_body)
{
    char out[512];
    int rc = th_sh(out, sizeof(out),
                   "cd %s && curl -sS -0 -H 'Host: all.test' -H 'Accept-Encoding: gzip' -D h10 "
                   "-o e10 'http://127.0.0.1:%d/t?size=20000&chunked=1' && curl -sS -o i10 "
                   "'http://127.0.0.1:%d/t?size=20000' && tr -d '\\r' < h10 | grep -qx "
                   "'Connection: close' && ! grep -qi '^transfer-encoding' h10 && %s e10 | cmp - i10",
                   tmp, rig.rev, rig.o.port, decoder("gzip"));
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
}
END_TEST

START_TEST(curl_compressed)
{
    char out[512];
    int rc = th_sh(out, sizeof(out),
                   "cd %s && curl -sS --compressed -H 'Host: all.test' -D hc -o c "
                   "'http://127.0.0.1:%d/t?size=100000' && curl -sS -o ci "
                   "'http://127.0.0.1:%d/t?size=100000' && cmp c ci && "
                   "tr -d '\\r' < hc | grep -x 'Content-Encoding: .*'",
                   tmp, rig.rev, rig.o.port);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    ck_assert_str_eq(out, "Content-Encoding: zstd\n");
}
END_TEST

/* A real browser, headless, loads a page compressed in the coding it asks
 * for first by our preference, and shows its text. */
START_TEST(chromium_loads_a_compressed_page)
{
    static char out[65536];

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic "
                           "--no-first-run --disable-background-networking --disable-component-update "
                           "--disable-sync --user-data-dir=%s/chromium --dump-dom "
                           "'http://127.0.0.1:%d/t?size=40000' 2>/dev/null",
                           tmp, rig.rev),
                     0);
    ck_assert_msg(strstr(out, "<p>") && strstr(out, "gatehouse") && strstr(out, "brotli"), "page: %.300s",
                  out);
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "GET /t?size=40000 HTTP/1.1\" 200 40000 ", " enc=",
                                  "HeadlessChrome", NULL),
                     1);
}
END_TEST

/* The first event is decodable while the origin still holds the second:
 * the encoder was flushed when the upstream paused.  No clock decides the
 * outcome: the origin sends nothing more until the test lets it. */
static void sse_with(const char *alg)
{
    char out[512], file[256];
    int found = 0;
    struct tc_response r;

    snprintf(file, sizeof(file), "%s/sse-%s", tmp, alg);
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "(timeout 30 curl -sSN --compressed -H 'Host: all.test' -H "
                           "'Accept-Encoding: %s' 'http://127.0.0.1:%d/sse' > %s 2>&1 &)",
                           alg, rig.rev, file),
                     0);
    for (int i = 0; i < 200 && !found; i++) { /* up to 10 s */
        found = th_sh(out, sizeof(out), "grep -qx 'data: one' %s", file) == 0;
        if (!found)
            th_sleep_ms(50);
    }
    th_sh(out, sizeof(out), "cat %s", file);
    ck_assert_msg(found, "%s: the first event did not arrive: '%s'", alg, out);
    ck_assert_msg(strstr(out, "data: two") == NULL, "%s: the origin was not holding", alg);
    ck_assert_int_eq(req("GET", "all.test", "/release", NULL, &r), 200);
    tc_response_free(&r);
    found = 0;
    for (int i = 0; i < 200 && !found; i++) {
        found = th_sh(out, sizeof(out), "grep -qx 'data: two' %s", file) == 0;
        if (!found)
            th_sleep_ms(50);
    }
    ck_assert_msg(found, "%s: the second event did not arrive", alg);
}

START_TEST(sse_not_held_by_the_encoder)
{
    sse_with("gzip");
    sse_with("br");
    sse_with("zstd");
}
END_TEST

/* The head waits for the encoder's first bytes (one write), but not for a
 * body the origin holds back: the client has the head (with the coding)
 * before the origin sends a byte of body.  No clock decides: the origin
 * holds until the test releases it. */
START_TEST(head_not_held_for_the_body)
{
    char out[512], file[256];
    int found = 0;
    struct tc_response r;

    snprintf(file, sizeof(file), "%s/late", tmp);
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "(timeout 30 curl -sSN --compressed -D %s.head -o %s.body -H "
                           "'Host: all.test' -H 'Accept-Encoding: gzip' "
                           "'http://127.0.0.1:%d/late' > %s.err 2>&1 &)",
                           file, file, rig.rev, file),
                     0);
    for (int i = 0; i < 200 && !found; i++) { /* up to 10 s */
        found = th_sh(out, sizeof(out), "grep -qi '^content-encoding: gzip' %s.head 2>/dev/null",
                      file) == 0;
        if (!found)
            th_sleep_ms(50);
    }
    th_sh(out, sizeof(out), "cat %s.head %s.err", file, file);
    ck_assert_msg(found, "the head did not arrive while the origin held the body: '%s'", out);
    ck_assert_int_eq(req("GET", "all.test", "/release", NULL, &r), 200);
    tc_response_free(&r);
    found = 0;
    for (int i = 0; i < 200 && !found; i++) {
        found =
            th_sh(out, sizeof(out), "grep -qx '<p>late</p>' %s.body 2>/dev/null", file) == 0;
        if (!found)
            th_sleep_ms(50);
    }
    th_sh(out, sizeof(out), "cat %s.body %s.err", file, file);
    ck_assert_msg(found, "the body did not arrive after the release: '%s'", out);
}
END_TEST

/* ---- configuration ---- */

START_TEST(config_errors)
{
    static const struct {
        const char *setting, *msg;
    } cases[] = {
        {"compress = 3;", "'compress' is true, false or a group"},
        {"compress = { level = 3; };", "level"},
        {"compress = { gzip_level = 10; };", "gzip_level"},
        {"compress = { br_level = 12; };", "br_level"},
        {"compress = { zstd_level = 0; };", "zstd_level"},
        {"compress = { prefer = [ \"deflate\" ]; };", "'deflate' is not an encoding"},
        {"compress = { prefer = [ \"br\", \"br\" ]; };", "'br' is named twice"},
        {"compress = { prefer = [ ]; };", "prefer"},
        {"compress = { types = [ \"html\" ]; };", "'html' is not a media type"},
        {"compress = { min_length = -1; };", "min_length"},
        {"compress = { max_ratio = 1; };", "max_ratio"},
    };

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char conf[1024], out[2048];
        snprintf(conf, sizeof(conf),
                 "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; "
                 "routes = \"r\"; } );\n"
                 "pools = { o = { servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
                 "routes = { r = ( { host = \"*\"; pool = \"o\";\n  %s } ); };\n",
                 cases[i].setting);
        ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
        ck_assert_msg(strstr(out, cases[i].msg) && strstr(out, ".conf:4:"), "'%s': %s",
                      cases[i].setting, out);
    }
}
END_TEST

Suite *compress_suite(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("compress");

    tcase_add_checked_fixture(tc, rig_up, rig_off);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_algorithm_byte_for_byte);
    tcase_add_test(tc, python_brotli_decodes);
    tcase_add_test(tc, skip_rules);
    tcase_add_test(tc, q_values);
    tcase_add_test(tc, vary_and_etag);
    tcase_add_test(tc, log_and_status);
    tcase_add_test(tc, static_precompressed);
    tcase_add_test(tc, cache_keeps_a_variant_per_encoding);
    tcase_add_test(tc, gunzip_for_identity_clients);
    tcase_add_test(tc, gzip_bomb_refused);
    tcase_add_test(tc, http10_client_gets_a_closed_body);
    tcase_add_test(tc, curl_compressed);
    tcase_add_test(tc, chromium_loads_a_compressed_page);
    tcase_add_test(tc, sse_not_held_by_the_encoder);
    tcase_add_test(tc, head_not_held_for_the_body);
    tcase_add_test(tc, config_errors);
    suite_add_tcase(s, tc);
    return s;
}
