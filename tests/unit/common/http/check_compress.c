/* check_compress.c — compress.c: the negotiation of Accept-Encoding as a
 * table of values and the coding chosen, the media type lists, and each
 * encoder fed in pieces with flushes between, decoded by the libraries'
 * own decoders; the gzip decoder's ratio cap. */
#include "compress.h"
#include "suites.h"
#include "util.h"

#include <brotli/decode.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static struct compress_conf conf(const char *prefer)
{
    struct compress_conf cc;

    ck_assert_int_eq(compress_conf_load(&cc, NULL, NULL, 0), 0);
    if (prefer) { /* "gb": gzip, br */
        cc.nprefer = 0;
        for (const char *p = prefer; *p; p++)
            cc.prefer[cc.nprefer++] = *p == 'g' ? COMPRESS_GZIP : *p == 'b' ? COMPRESS_BR : COMPRESS_ZSTD;
    }
    return cc;
}

static enum compress_alg pick(const char *ae, const struct compress_conf *cc)
{
    const char *v[1] = {ae};
    size_t l[1] = {ae ? strlen(ae) : 0};

    return compress_negotiate(v, l, ae ? 1 : 0, cc);
}

START_TEST(negotiation_table)
{
    static const struct {
        const char *ae;
        enum compress_alg want;
    } cases[] = {
        {NULL, COMPRESS_IDENTITY},
        {"", COMPRESS_IDENTITY},
        {"gzip", COMPRESS_GZIP},
        {"x-gzip", COMPRESS_GZIP},
        {"GZip", COMPRESS_GZIP},
        {"gzip, br", COMPRESS_BR},
        {"gzip,br,zstd", COMPRESS_ZSTD},
        {"br;q=0.5, gzip", COMPRESS_GZIP},
        {"br;q=0.5, gzip;q=0.4", COMPRESS_BR},
        {"br;q=1, zstd;q=1.0, gzip;q=1.000", COMPRESS_ZSTD},
        {"gzip;q=0", COMPRESS_IDENTITY},
        {"gzip;q=0.000", COMPRESS_IDENTITY},
        {"gzip;q=0.001", COMPRESS_GZIP},
        {"gzip;q=1.5", COMPRESS_IDENTITY},
        {"gzip;q=.5", COMPRESS_IDENTITY},
        {"gzip;q=0.5555", COMPRESS_IDENTITY},
        {"gzip;Q=0.5", COMPRESS_GZIP},
        {"gzip;level=1;q=0.2", COMPRESS_GZIP},
        {"gzip ;q=0.2 ,\tbr ; q=0.3", COMPRESS_BR},
        {"*", COMPRESS_ZSTD},
        {"*;q=0", COMPRESS_IDENTITY},
        {"*;q=0, gzip", COMPRESS_GZIP},
        {"zstd;q=0, *", COMPRESS_BR},
        {"gzip, gzip;q=0", COMPRESS_GZIP},
        {"identity", COMPRESS_IDENTITY},
        {"identity;q=0", COMPRESS_IDENTITY},
        {"gzip;q=0.5, identity", COMPRESS_IDENTITY},
        {"gzip, identity;q=0.5", COMPRESS_GZIP},
        {"gzip;q=0.5, identity;q=0.5", COMPRESS_GZIP},
        {"deflate, compress", COMPRESS_IDENTITY},
        {",,, ,", COMPRESS_IDENTITY},
        {"br;q=", COMPRESS_IDENTITY},
    };
    struct compress_conf cc = conf(NULL);

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(pick(cases[i].ae, &cc) == cases[i].want, "'%s': %d, want %d",
                      cases[i].ae ? cases[i].ae : "(none)", pick(cases[i].ae, &cc), cases[i].want);
    compress_conf_free(&cc);
}
END_TEST

START_TEST(preference_and_fields)
{
    struct compress_conf cc = conf("gb");
    const char *v[2] = {"zstd;q=0.9", "br"};
    size_t l[2] = {10, 2};

    ck_assert_int_eq(pick("zstd, br, gzip", &cc), COMPRESS_GZIP);
    ck_assert_int_eq(pick("zstd", &cc), COMPRESS_IDENTITY); /* not offered */
    ck_assert_int_eq(compress_negotiate(v, l, 2, &cc), COMPRESS_BR); /* two fields, one list */
    compress_conf_free(&cc);
}
END_TEST

START_TEST(media_types)
{
    struct compress_conf cc = conf(NULL);
    static const char *const yes[] = {"text/html", "TEXT/HTML; charset=utf-8", " text/css",
                                      "application/json", "application/ld+json",
                                      "application/rss+xml", "image/svg+xml", "application/wasm"};
    static const char *const no[] = {"image/png", "font/woff2", "application/octet-stream", "",
                                     "text", "application/jsonx", "application/zip"};

    for (unsigned i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(compress_type_ok(&cc, yes[i], strlen(yes[i])), "%s", yes[i]);
    for (unsigned i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!compress_type_ok(&cc, no[i], strlen(no[i])), "%s", no[i]);
    compress_conf_free(&cc);
}
END_TEST

/* Runs the encoder over in[0..n) fed in pieces of `step` bytes, flushing
 * every `flush_every` pieces, draining its output; returns the output
 * (malloc'd, *olen bytes). */
static char *encode(struct compress_enc *z, const char *in, size_t n, size_t step, int flush_every,
                    size_t *olen)
{
    size_t cap = n + 65536, o = 0, off = 0;
    char *out = malloc(cap);
    int piece = 0;

    for (;;) {
        size_t plen;
        const char *p = compress_enc_out(z, &plen);
        if (plen) {
            ck_assert_uint_le(o + plen, cap);
            memcpy(out + o, p, plen);
            o += plen;
            compress_enc_took(z, plen);
            continue;
        }
        if (compress_enc_done(z))
            break;
        if (off == n) {
            compress_enc_flush(z, 1);
            continue;
        }
        if (flush_every && piece % flush_every == flush_every - 1 && compress_enc_unflushed(z)) {
            compress_enc_flush(z, 0);
            piece++;
            continue;
        }
        off += compress_enc_feed(z, in + off, GH_MIN(step, n - off));
        piece++;
    }
    *olen = o;
    return out;
}

static void decode_check(enum compress_alg a, const char *enc, size_t elen, const char *in, size_t n)
{
    char *dec = malloc(n + 1);
    size_t dlen = n + 1;

    if (a == COMPRESS_GZIP) {
        z_stream s;
        memset(&s, 0, sizeof(s));
        ck_assert_int_eq(inflateInit2(&s, 31), Z_OK);
        s.next_in = (Bytef *)enc;
        s.avail_in = (uInt)elen;
        s.next_out = (Bytef *)dec;
        s.avail_out = (uInt)dlen;
        ck_assert_int_eq(inflate(&s, Z_FINISH), Z_STREAM_END);
        dlen -= s.avail_out;
        inflateEnd(&s);
    } else if (a == COMPRESS_BR) {
        ck_assert_int_eq(BrotliDecoderDecompress(elen, (const uint8_t *)enc, &dlen, (uint8_t *)dec),
                         BROTLI_DECODER_RESULT_SUCCESS);
    } else {
        dlen = ZSTD_decompress(dec, dlen, enc, elen);
        ck_assert(!ZSTD_isError(dlen));
    }
    ck_assert_uint_eq(dlen, n);
    ck_assert(memcmp(dec, in, n) == 0);
    free(dec);
}

START_TEST(encoders_round_trip)
{
    static const size_t sizes[] = {0, 1, 1000, 300000};
    static const size_t steps[] = {1, 7, 4096, 1 << 20};
    char *in = malloc(300000);

    for (size_t i = 0; i < 300000; i++)
        in[i] = "the quick brown fox <p>"[(i * 7 + i / 13) % 23];
    for (int a = COMPRESS_GZIP; a < COMPRESS_NALG; a++)
        for (unsigned s = 0; s < 4; s++)
            for (unsigned k = 0; k < 4; k++) {
                size_t olen, n = sizes[s];
                if (steps[k] == 1 && n > 1000)
                    continue;
                struct compress_enc *z = compress_enc_new((enum compress_alg)a, a == COMPRESS_BR ? 4 : 3);
                char *out = encode(z, in, n, steps[k], k % 2 ? 3 : 0, &olen);
                decode_check((enum compress_alg)a, out, olen, in, n);
                ck_assert_uint_eq(compress_enc_in(z), n);
                ck_assert_uint_eq(compress_enc_produced(z), olen);
                free(out);
                compress_enc_free(z);
            }
    free(in);
}
END_TEST

/* A flushed prefix decodes on its own: what a client sees while the
 * upstream pauses. */
START_TEST(flush_makes_a_prefix_decodable)
{
    static const char ev[] = "data: one\n\n";
    struct compress_enc *z = compress_enc_new(COMPRESS_GZIP, 6);
    size_t plen;
    const char *p;
    char dec[64];
    z_stream s;

    char got[256];
    size_t glen = 0;

    ck_assert_uint_eq(compress_enc_feed(z, ev, sizeof(ev) - 1), sizeof(ev) - 1);
    ck_assert(compress_enc_unflushed(z));
    for (;;) { /* what is out so far, then the flush's */
        p = compress_enc_out(z, &plen);
        memcpy(got + glen, p, plen);
        glen += plen;
        compress_enc_took(z, plen);
        if (compress_enc_flush(z, 0))
            break;
    }
    ck_assert(!compress_enc_unflushed(z));
    p = compress_enc_out(z, &plen);
    memcpy(got + glen, p, plen);
    glen += plen;
    p = got;
    plen = glen;
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(inflateInit2(&s, 31), Z_OK);
    s.next_in = (Bytef *)p;
    s.avail_in = (uInt)plen;
    s.next_out = (Bytef *)dec;
    s.avail_out = sizeof(dec);
    ck_assert_int_eq(inflate(&s, Z_SYNC_FLUSH), Z_OK);
    ck_assert_uint_eq(sizeof(dec) - s.avail_out, sizeof(ev) - 1);
    ck_assert(memcmp(dec, ev, sizeof(ev) - 1) == 0);
    inflateEnd(&s);
    compress_enc_free(z);
}
END_TEST

START_TEST(gunzip_ratio_cap)
{
    size_t n = 8u << 20, olen = 0, off = 0;
    char *zeros = calloc(1, n);
    struct compress_enc *e = compress_enc_new(COMPRESS_GZIP, 9);
    char *gz = encode(e, zeros, n, 1 << 20, 0, &olen);
    struct compress_enc *d = compress_dec_new(100);
    uint64_t got = 0;

    compress_enc_free(e);
    ck_assert_uint_lt(olen, n / 500);
    for (;;) {
        size_t plen;
        compress_enc_out(d, &plen);
        if (compress_enc_error(d) || (compress_enc_done(d) && !plen))
            break;
        if (plen) {
            got += plen;
            compress_enc_took(d, plen);
        } else if (off < olen) {
            off += compress_enc_feed(d, gz + off, olen - off);
        } else {
            compress_enc_flush(d, 1);
        }
    }
    ck_assert_ptr_nonnull(compress_enc_error(d));
    ck_assert_uint_lt(got, 2u << 20); /* stopped near 100 x input + 1 MB */
    compress_enc_free(d);
    /* with room enough, the same body decodes whole */
    d = compress_dec_new(100000);
    off = 0;
    got = 0;
    for (;;) {
        size_t plen;
        compress_enc_out(d, &plen);
        if (compress_enc_error(d) || (compress_enc_done(d) && !plen))
            break;
        if (plen) {
            got += plen;
            compress_enc_took(d, plen);
        } else if (off < olen) {
            off += compress_enc_feed(d, gz + off, olen - off);
        } else {
            compress_enc_flush(d, 1);
        }
    }
    ck_assert_ptr_null(compress_enc_error(d));
    ck_assert_uint_eq(got, n);
    compress_enc_free(d);
    free(gz);
    free(zeros);
}
END_TEST

Suite *compress_suite(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("compress");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, negotiation_table);
    tcase_add_test(tc, preference_and_fields);
    tcase_add_test(tc, media_types);
    tcase_add_test(tc, encoders_round_trip);
    tcase_add_test(tc, flush_makes_a_prefix_decodable);
    tcase_add_test(tc, gunzip_ratio_cap);
    suite_add_tcase(s, tc);
    return s;
}
