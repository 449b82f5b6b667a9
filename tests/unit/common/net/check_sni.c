/* check_sni.c — the ClientHello reader: real hellos made by OpenSSL and
 * hellos built here byte by byte (padded to 16, 32 and 64 KB, the name
 * after the padding, ECH, no name, no extensions), each cut into records
 * every way and fed whole, a prefix at a time and resumed; then malformed
 * variants, hellos too large, and bytes that are not TLS. */
#include "sni.h"
#include "suites.h"

#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#define CAP (SNI_READ_MAX * 8)

/* Makes a ClientHello as OpenSSL's client sends it (name NULL: no SNI):
 * one record. */
static size_t client_hello(const char *name, unsigned char *out, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    int n;

    SSL_set_bio(ssl, rb, wb);
    if (name)
        SSL_set_tlsext_host_name(ssl, name);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl); /* wants to read: the hello is in wb */
    n = BIO_read(wb, out, (int)cap);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return n > 0 ? (size_t)n : 0;
}

/* ---- building hellos ---- */

static void put16(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

struct ext {
    unsigned type;
    size_t len;                /* bytes of data */
    const unsigned char *data; /* NULL: len zero bytes */
};

/* A ClientHello handshake message (header included) with these
 * extensions in this order (n < 0: no extensions block at all). */
static size_t build(const struct ext *e, int n, unsigned char *m)
{
    size_t k = 4, extlen_at;

    memcpy(m + k, "\x03\x03", 2), k += 2;
    memset(m + k, 0xab, 32), k += 32;              /* random */
    m[k++] = 32, memset(m + k, 0xcd, 32), k += 32; /* session id */
    put16(m + k, 4), memcpy(m + k + 2, "\x13\x01\x13\x02", 4), k += 6;
    m[k++] = 1, m[k++] = 0; /* compression: null */
    if (n >= 0) {
        extlen_at = k;
        k += 2;
        for (int i = 0; i < n; i++) {
            put16(m + k, e[i].type);
            put16(m + k + 2, e[i].len);
            if (e[i].data)
                memcpy(m + k + 4, e[i].data, e[i].len);
            else
                memset(m + k + 4, 0, e[i].len);
            k += 4 + e[i].len;
        }
        put16(m + extlen_at, k - extlen_at - 2);
    }
    m[0] = 1;
    m[1] = (unsigned char)((k - 4) >> 16);
    put16(m + 2, k - 4);
    return k;
}

/* A server_name extension's body naming `name`. */
static struct ext sni_ext(const char *name, unsigned char *buf)
{
    size_t n = strlen(name);

    put16(buf, n + 3);
    buf[2] = 0;
    put16(buf + 3, n);
    memcpy(buf + 5, name, n);
    return (struct ext){0, n + 5, buf};
}

/* The message as records of `step` payload bytes (the last may be less). */
static size_t frame_every(const unsigned char *m, size_t len, size_t step, unsigned char *out)
{
    size_t n = 0;

    for (size_t from = 0; from < len; from += step) {
        size_t k = len - from < step ? len - from : step;
        memcpy(out + n, "\x16\x03\x01", 3);
        put16(out + n + 3, k);
        memcpy(out + n + 5, m + from, k);
        n += 5 + k;
    }
    return n;
}

/* The message as two records, cut at `cut` (0 < cut < len). */
static size_t frame_two(const unsigned char *m, size_t len, size_t cut, unsigned char *out)
{
    memcpy(out, "\x16\x03\x01", 3);
    put16(out + 3, cut);
    memcpy(out + 5, m, cut);
    memcpy(out + 5 + cut, "\x16\x03\x01", 3);
    put16(out + 8 + cut, len - cut);
    memcpy(out + 10 + cut, m + cut, len - cut);
    return len + 10;
}

/* The handshake message inside OpenSSL's single record. */
static size_t unframe(const unsigned char *rec, size_t len, unsigned char *m)
{
    ck_assert_uint_eq((size_t)rec[3] << 8 | rec[4], len - 5);
    memcpy(m, rec + 5, len - 5);
    return len - 5;
}

/* ---- feeding ---- */

static enum sni_result parse(const unsigned char *p, size_t len, struct sni_hello *h)
{
    sni_init(h);
    return sni_parse(h, p, len);
}

/* Reads p[0..len) whole, then checks cuts k (every `stride`-th, and the
 * bytes around each record boundary): a fresh read of p[0..k) asks for
 * more or already has the same answer, and that read resumed on the whole
 * gives the same answer as the whole.  Last, the bytes are fed one at a
 * time to one reader. */
static enum sni_result parse_all_ways(const unsigned char *p, size_t len, size_t stride,
                                      struct sni_hello *whole)
{
    enum sni_result r = parse(p, len, whole);
    unsigned char *near = calloc(len + 1, 1);
    struct sni_hello h;

    for (size_t b = 0; b + 5 <= len && p[b] == 0x16; b += 5 + ((size_t)p[b + 3] << 8 | p[b + 4]))
        for (size_t k = b >= 2 ? b - 2 : 0; k <= b + 7 && k < len; k++)
            near[k] = 1;
    for (size_t k = 0; k < len; k++) {
        if (k % stride && !near[k])
            continue;
        enum sni_result pr = parse(p, k, &h);
        ck_assert_msg(pr == SNI_PARTIAL || (pr == r && h.why == whole->why),
                      "prefix %zu of %zu: %d, whole: %d", k, len, pr, r);
        ck_assert_int_eq(sni_parse(&h, p, len), r);
        ck_assert_ptr_eq(h.why, whole->why);
        ck_assert_uint_eq(h.namelen, whole->namelen);
        ck_assert_int_eq(memcmp(h.name, whole->name, h.namelen), 0);
        ck_assert_int_eq(h.ech, whole->ech);
    }
    sni_init(&h);
    for (size_t j = 0; j <= len && sni_parse(&h, p, j) == SNI_PARTIAL; j++)
        ;
    ck_assert_int_eq(h.result, r);
    ck_assert_ptr_eq(h.why, whole->why);
    ck_assert_uint_eq(h.namelen, whole->namelen);
    free(near);
    return r;
}

/* A hello that must read as `name` (NULL: none), with ech, however cut. */
static void expect_name(const unsigned char *m, size_t len, const char *name, int ech,
                        size_t stride)
{
    unsigned char *out = malloc(CAP);
    struct sni_hello h;
    static const size_t steps[] = {16384, 4096, 1000, 100, 7, 1};

    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        size_t n = frame_every(m, len, steps[i], out);
        if (n > SNI_READ_MAX)
            continue; /* too many records: see records_past_the_buffer */
        ck_assert_int_eq(parse_all_ways(out, n, steps[i] < 100 ? 1 : stride, &h), SNI_HELLO);
        ck_assert_uint_eq(h.namelen, name ? strlen(name) : 0);
        if (name)
            ck_assert_str_eq(h.name, name);
        ck_assert_int_eq(h.ech, ech);
        ck_assert_int_eq(h.tls, 1);
    }
    free(out);
}

/* ---- tests ---- */

START_TEST(finds_the_name)
{
    unsigned char rec[4096], m[4096], *out = malloc(CAP);
    size_t len = client_hello("www.example.test", rec, sizeof(rec)), ml;
    struct sni_hello h;

    ck_assert_uint_gt(len, 100);
    ck_assert_int_eq(parse(rec, len, &h), SNI_HELLO);
    ck_assert_uint_eq(h.namelen, 16);
    ck_assert_str_eq(h.name, "www.example.test");
    ck_assert_int_eq(h.ech, 0);
    /* every prefix asks for more */
    for (size_t k = 0; k < len; k++)
        ck_assert_int_eq(parse(rec, k, &h), SNI_PARTIAL);
    /* cut in two at every offset: inside the header, the lists, the name */
    ml = unframe(rec, len, m);
    for (size_t cut = 1; cut < ml; cut++) {
        size_t n = frame_two(m, ml, cut, out);
        ck_assert_int_eq(parse_all_ways(out, n, 1, &h), SNI_HELLO);
        ck_assert_str_eq(h.name, "www.example.test");
    }
    expect_name(m, ml, "www.example.test", 0, 1);
    free(out);
}
END_TEST

START_TEST(no_name)
{
    unsigned char rec[4096], m[4096];
    size_t len = client_hello(NULL, rec, sizeof(rec)), ml = unframe(rec, len, m);
    struct ext e[2];
    unsigned char pad[100] = {0};

    expect_name(m, ml, NULL, 0, 1);
    /* no extensions at all (TLS 1.2 allows it) */
    ml = build(e, -1, m);
    expect_name(m, ml, NULL, 0, 1);
    /* extensions, none of them a name */
    e[0] = (struct ext){0x0015, sizeof(pad), pad};
    ml = build(e, 1, m);
    expect_name(m, ml, NULL, 0, 1);
}
END_TEST

/* Padded to 16, 32 and 64 KB, the name before or after the padding. */
START_TEST(padded_hellos)
{
    unsigned char *m = malloc(CAP), nb[300];
    static const size_t pads[] = {16000, 16384, 32768, 65000};
    struct ext e[3];
    size_t ml;

    for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
        e[0] = sni_ext("first.example", nb);
        e[1] = (struct ext){0x0015, pads[i], NULL};
        ml = build(e, 2, m);
        expect_name(m, ml, "first.example", 0, 97);
        e[0] = (struct ext){0x0015, pads[i], NULL};
        e[1] = sni_ext("last.example", nb);
        ml = build(e, 2, m);
        expect_name(m, ml, "last.example", 0, 97);
    }
    free(m);
}
END_TEST

/* Exactly 64 KiB is read; one byte more is too large, known from the
 * handshake header alone. */
START_TEST(size_limit)
{
    unsigned char *m = malloc(CAP), *out = malloc(CAP), nb[300];
    struct ext e[2];
    struct sni_hello h;
    size_t ml, n, pad;

    e[0] = (struct ext){0x0015, 0, NULL};
    e[1] = sni_ext("edge.example", nb);
    ml = build(e, 2, m);
    pad = SNI_HELLO_MAX + 4 - ml; /* brings the body to exactly 64 KiB */
    e[0].len = pad;
    ml = build(e, 2, m);
    ck_assert_uint_eq(ml, SNI_HELLO_MAX + 4);
    expect_name(m, ml, "edge.example", 0, 997);
    e[0].len = pad + 1;
    ml = build(e, 2, m);
    n = frame_every(m, ml, 16384, out);
    ck_assert_int_eq(parse_all_ways(out, n, 997, &h), SNI_TOO_LARGE);
    ck_assert_str_eq(h.why, "ClientHello over 64 KiB");
    ck_assert_int_eq(parse(out, 9, &h), SNI_TOO_LARGE); /* the header is enough */
    ck_assert_int_eq(parse(out, 8, &h), SNI_PARTIAL);
    /* a length no real hello has: 16 MiB */
    memcpy(out, "\x16\x03\x01\x00\x04\x01\xff\xff\xff", 9);
    ck_assert_int_eq(parse(out, 9, &h), SNI_TOO_LARGE);
    free(m);
    free(out);
}
END_TEST

/* A hello whose records do not fit SNI_READ_MAX: too large, never "more". */
START_TEST(records_past_the_buffer)
{
    unsigned char *m = malloc(CAP), *out = malloc(CAP), nb[300];
    struct ext e[2];
    struct sni_hello h;
    size_t ml, n;

    e[0] = (struct ext){0x0015, 20000, NULL};
    e[1] = sni_ext("far.example", nb);
    ml = build(e, 2, m);
    n = frame_every(m, ml, 1, out); /* 6 bytes a byte: 120 KB */
    ck_assert_uint_gt(n, SNI_READ_MAX);
    ck_assert_int_eq(parse(out, SNI_READ_MAX - 1, &h), SNI_PARTIAL);
    ck_assert_int_eq(parse(out, SNI_READ_MAX, &h), SNI_TOO_LARGE);
    ck_assert_str_eq(h.why, "ClientHello in too many records");
    /* the same, resumed a piece at a time */
    sni_init(&h);
    for (size_t k = 1; k <= SNI_READ_MAX; k += 1000)
        ck_assert_int_eq(sni_parse(&h, out, k), SNI_PARTIAL);
    ck_assert_int_eq(sni_parse(&h, out, SNI_READ_MAX), SNI_TOO_LARGE);
    free(m);
    free(out);
}
END_TEST

START_TEST(encrypted_client_hello)
{
    unsigned char m[4096], nb[300], ech[64];
    struct ext e[3];
    size_t ml;

    memset(ech, 0x5a, sizeof(ech));
    ech[0] = 0; /* outer */
    e[0] = sni_ext("public.example", nb);
    e[1] = (struct ext){0xfe0d, sizeof(ech), ech};
    ml = build(e, 2, m);
    expect_name(m, ml, "public.example", 1, 1);
    /* ECH without an outer name */
    e[0] = (struct ext){0xfe0d, sizeof(ech), ech};
    ml = build(e, 1, m);
    expect_name(m, ml, NULL, 1, 1);
    /* an empty one still says ECH */
    e[1] = (struct ext){0xfe0d, 0, NULL};
    e[0] = sni_ext("x.example", nb);
    ml = build(e, 2, m);
    expect_name(m, ml, "x.example", 1, 1);
}
END_TEST

/* Names are handed over as sent: case, dots and odd bytes are the
 * caller's to judge (hostname_normalize). */
START_TEST(names_as_sent)
{
    unsigned char m[4096], nb[300];
    char longest[SNI_NAME_MAX + 1];
    struct ext e[1];
    struct sni_hello h;
    size_t ml;

    e[0] = sni_ext("WWW.Example.Test.", nb);
    ml = build(e, 1, m);
    expect_name(m, ml, "WWW.Example.Test.", 0, 1);
    memset(longest, 'a', SNI_NAME_MAX);
    longest[SNI_NAME_MAX] = '\0';
    e[0] = sni_ext(longest, nb);
    ml = build(e, 1, m);
    expect_name(m, ml, longest, 0, 1);
    /* a NUL inside the name is kept, and counted */
    e[0] = sni_ext("www.bad.example", nb);
    nb[5 + 3] = '\0';
    ml = build(e, 1, m);
    {
        unsigned char out[4096];
        size_t n = frame_every(m, ml, 16384, out);
        ck_assert_int_eq(parse(out, n, &h), SNI_HELLO);
        ck_assert_uint_eq(h.namelen, 15);
        ck_assert_int_eq(memcmp(h.name, "www\0bad.example", 15), 0);
    }
}
END_TEST

/* One malformed variant: a mutation of a good hello's message. */
struct bad {
    const char *what;
    const char *why; /* the reader's reason (its start) */
};

/* Frames m (whole, 2 records, 1-byte records) and expects `why`. */
static void expect_bad(const unsigned char *m, size_t len, enum sni_result want, const char *why)
{
    unsigned char *out = malloc(CAP);
    struct sni_hello h;
    static const size_t steps[] = {16384, 5, 1};

    for (size_t i = 0; i < 3; i++) {
        size_t n = frame_every(m, len, steps[i], out);
        ck_assert_int_eq(parse_all_ways(out, n, 1, &h), want);
        ck_assert_msg(strncmp(h.why, why, strlen(why)) == 0, "got '%s', want '%s'", h.why, why);
    }
    free(out);
}

START_TEST(malformed)
{
    unsigned char m[4096], g[4096], nb[300], nb2[300], ech[8] = {0};
    struct ext e[3];
    size_t ml, gl, name_ext;

    e[0] = sni_ext("a.example", nb);
    e[1] = (struct ext){0x002b, 3, (const unsigned char *)"\x02\x03\x04"};
    gl = build(e, 2, g);
    expect_name(g, gl, "a.example", 0, 1);
    name_ext = 4 + 2 + 32 + 1 + 32 + 2 + 4 + 2 + 2; /* where the server_name extension starts */

#define MUTATE(stmt, why)                      \
    do {                                       \
        memcpy(m, g, gl);                      \
        ml = gl;                               \
        stmt;                                  \
        expect_bad(m, ml, SNI_MALFORMED, why); \
    } while (0)

    MUTATE(m[0] = 2, "malformed ClientHello (the first handshake message is another)");
    MUTATE(m[4 + 2 + 32] = 33, "malformed ClientHello (session id)");
    MUTATE((m[2] = 0, m[3] = 20, ml = 24), "malformed ClientHello (shorter than its fixed part)");
    MUTATE(m[4 + 2 + 32 + 1 + 32 + 1] = 5, "malformed ClientHello (cipher suites)");    /* odd */
    MUTATE(m[4 + 2 + 32 + 1 + 32 + 1] = 0xff, "malformed ClientHello (cipher suites)"); /* past */
    MUTATE(m[4 + 2 + 32 + 1 + 32 + 2 + 4] = 0, "malformed ClientHello (compression methods)");
    MUTATE(m[name_ext - 1]++, "malformed ClientHello (extensions length)");
    MUTATE(m[name_ext - 1]--, "malformed ClientHello (extensions length)");
    MUTATE(m[name_ext + 3] = 0xff, "malformed ClientHello (an extension runs past it)");
    MUTATE(m[name_ext + 5]++, "malformed ClientHello (server_name list length)");
    MUTATE(m[name_ext + 6] = 1, "malformed ClientHello (a server name of unknown type)");
    MUTATE(m[name_ext + 8] = 0xff, "malformed ClientHello (server_name entry)");
    /* trailing bytes after the extensions, inside the hello */
    MUTATE((m[ml++] = 0, m[3]++), "malformed ClientHello (extensions length)");
#undef MUTATE

    /* two server_name extensions */
    e[0] = sni_ext("a.example", nb);
    e[1] = sni_ext("b.example", nb2);
    ml = build(e, 2, m);
    expect_bad(m, ml, SNI_MALFORMED, "malformed ClientHello (two server_name extensions)");
    /* two host names in one list */
    {
        unsigned char two[64];
        size_t n = 0;
        put16(two, 2 * 12), n = 2;
        two[n++] = 0, put16(two + n, 9), memcpy(two + n + 2, "a.example", 9), n += 11;
        two[n++] = 0, put16(two + n, 9), memcpy(two + n + 2, "b.example", 9), n += 11;
        put16(two, n - 2);
        e[0] = (struct ext){0, n, two};
        ml = build(e, 1, m);
        expect_bad(m, ml, SNI_MALFORMED, "malformed ClientHello (two server names)");
        /* an empty name */
        put16(two, 3), two[2] = 0, put16(two + 3, 0);
        e[0] = (struct ext){0, 5, two};
        ml = build(e, 1, m);
        expect_bad(m, ml, SNI_MALFORMED, "malformed ClientHello (an empty server name)");
        /* an empty list */
        put16(two, 0);
        e[0] = (struct ext){0, 2, two};
        ml = build(e, 1, m);
        expect_bad(m, ml, SNI_MALFORMED, "malformed ClientHello (server_name list length)");
    }
    /* a name over 255 bytes */
    {
        char big[300];
        memset(big, 'b', 256);
        big[256] = '\0';
        e[0] = sni_ext(big, nb);
        ml = build(e, 1, m);
        expect_bad(m, ml, SNI_MALFORMED, "malformed ClientHello (a server name over 255 bytes)");
    }
    /* two ECH extensions */
    e[0] = (struct ext){0xfe0d, sizeof(ech), ech};
    e[1] = (struct ext){0xfe0d, sizeof(ech), ech};
    ml = build(e, 2, m);
    expect_bad(m, ml, SNI_MALFORMED,
               "malformed ClientHello (two encrypted_client_hello extensions)");
}
END_TEST

/* What is wrong with the records themselves. */
START_TEST(malformed_records)
{
    unsigned char m[4096], out[8192], nb[300];
    struct ext e[1] = {sni_ext("r.example", nb)};
    struct sni_hello h;
    size_t ml = build(e, 1, m), n;

    /* a record of another type (alert, application data) inside the hello */
    n = frame_two(m, ml, 10, out);
    out[5 + 10] = 0x17;
    ck_assert_int_eq(parse_all_ways(out, n, 1, &h), SNI_MALFORMED);
    ck_assert_str_eq(h.why, "malformed ClientHello (a record of another type inside it)");
    out[5 + 10] = 0x15;
    ck_assert_int_eq(parse(out, n, &h), SNI_MALFORMED);
    /* a later record's version */
    out[5 + 10] = 0x16, out[5 + 10 + 1] = 0x02;
    ck_assert_int_eq(parse(out, n, &h), SNI_MALFORMED);
    ck_assert_str_eq(h.why, "malformed ClientHello (a record's version)");
    /* an empty record first, or in between */
    memcpy(out, "\x16\x03\x01\x00\x00", 5);
    n = 5 + frame_every(m, ml, 16384, out + 5);
    ck_assert_int_eq(parse_all_ways(out, n, 1, &h), SNI_MALFORMED);
    ck_assert_str_eq(h.why, "malformed ClientHello (an empty record)");
    /* a record over 16 KiB */
    memcpy(out, "\x16\x03\x01\x40\x01", 5);
    ck_assert_int_eq(parse(out, 5, &h), SNI_MALFORMED);
    ck_assert_str_eq(h.why, "malformed ClientHello (a record over 16 KiB)");
}
END_TEST

START_TEST(not_tls)
{
    static const char *const firsts[] = {"GET / HTTP/1.1\r\n",   "SSH-2.0-OpenSSH_9.2\r\n",
                                         "\x80\x2e\x01",         "\x16\x02\x00",
                                         "\x17\x03\x03\x00\x10", "\x00",
                                         "PRI * HTTP/2.0"};
    struct sni_hello h;

    for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++) {
        size_t n = strlen(firsts[i]) ? strlen(firsts[i]) : 1;
        ck_assert_int_eq(parse((const unsigned char *)firsts[i], n, &h), SNI_NOT_TLS);
        ck_assert_str_eq(h.why, "tunnel is not TLS");
        ck_assert_int_eq(h.tls, 0);
        /* known from the first two bytes */
        ck_assert_int_eq(parse((const unsigned char *)firsts[i], 2, &h), SNI_NOT_TLS);
    }
    ck_assert_int_eq(parse((const unsigned char *)"\x16", 1, &h), SNI_PARTIAL);
    ck_assert_int_eq(parse((const unsigned char *)"", 0, &h), SNI_PARTIAL);
    /* an answer stays */
    ck_assert_int_eq(parse((const unsigned char *)"GET", 3, &h), SNI_NOT_TLS);
    ck_assert_int_eq(sni_parse(&h, (const unsigned char *)"\x16\x03\x01", 3), SNI_NOT_TLS);
}
END_TEST

Suite *sni_suite(void)
{
    Suite *s = suite_create("sni");
    TCase *tc = tcase_create("clienthello");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, finds_the_name);
    tcase_add_test(tc, no_name);
    tcase_add_test(tc, padded_hellos);
    tcase_add_test(tc, size_limit);
    tcase_add_test(tc, records_past_the_buffer);
    tcase_add_test(tc, encrypted_client_hello);
    tcase_add_test(tc, names_as_sent);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, malformed_records);
    tcase_add_test(tc, not_tls);
    suite_add_tcase(s, tc);
    return s;
}
