/* compress.c — negotiation and the encoders of compress.h.  The encoders
 * wrap zlib, libbrotlienc and libzstd behind one streaming interface with a
 * fixed output buffer: input is taken only while that buffer is empty, so
 * a slow client holds back the upstream instead of growing memory.
 * Windows are chosen for bounded memory (README.md, "Compression"). */
#include "compress.h"
#include "util.h"

#include <brotli/encode.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

/* The output buffer of an encoder: output gathers there until it is full
 * or flushed, so a 100 KB page's ~35 KB of gzip go in one write (each
 * write to a client on this host wakes it: measured in bench/compress.sh).
 * A decoder writes whatever it has, through a smaller one. */
#define ZOUT 65536
#define ZOUT_DEC 16384
/* gzip: 32 KB window, memLevel 8: deflate's own 256 KB. */
#define GZIP_WBITS 15
#define GZIP_MEMLEVEL 8
/* Brotli: a 64 KB window: 1.6 MB per response at quality 4, 2.4 MB at
 * most (quality 9), measured with mallinfo2. */
#define BR_LGWIN 16
/* zstd: a 128 KB window and 64 K-entry tables whatever the level: level
 * 19's own tables took 83 MB per response; these keep every level under
 * 2.2 MB (1.4 MB at level 3), measured with mallinfo2. */
#define ZSTD_WLOG 17
#define ZSTD_TLOG 16

/* The totals, added to once per response as its stream ends (before its
 * last bytes are written: a client that has them sees them counted). */
static atomic_ullong total_responses[COMPRESS_NALG], total_in, total_out;

struct compress_enc {
    enum compress_alg alg;
    z_stream gz;
    BrotliEncoderState *br;
    ZSTD_CStream *zs;
    int decode;         /* gunzip instead (compress_dec_new) */
    uint32_t max_ratio;
    const char *error;  /* static: why it stopped */
    int unflushed;      /* bytes fed since the last flush */
    int done;           /* the stream has ended */
    int push;           /* the waiting output is to be written now (flushed) */
    uint64_t in, produced;
    size_t off, len;    /* the waiting output: out[off..len) */
    size_t cap;         /* out's size */
    char out[];
};

/* An encoder that cannot start or fails: memory ran out (the inputs are
 * always valid), which the house rules answer with an abort. */
static void fatal(const char *what, const char *detail)
{
    fprintf(stderr, "gatehouse: compress: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

const char *compress_name(enum compress_alg a)
{
    static const char *const names[COMPRESS_NALG] = {"", "gzip", "br", "zstd"};

    return a < COMPRESS_NALG ? names[a] : "";
}

/* ---- negotiation ---- */

/* A qvalue ("0", "0.5", "1.000") in thousandths; -1 when malformed. */
static int parse_q(const char *p, size_t n)
{
    int q = 0, scale = 100;
    size_t i = 2;

    if (n < 1 || (p[0] != '0' && p[0] != '1'))
        return -1;
    q = (p[0] - '0') * 1000;
    if (n == 1)
        return q;
    if (p[1] != '.' || n > 5)
        return -1;
    for (; i < n; i++, scale /= 10) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        q += (p[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The q of one list member "coding *( OWS ; OWS param )"; its coding is
 * returned in (*name, *nlen).  A malformed q counts as 0. */
static int member_q(const char *p, size_t n, const char **name, size_t *nlen)
{
    size_t i = 0, e;
    int q = 1000;

    while (i < n && is_ows(p[i]))
        i++;
    e = i;
    while (e < n && p[e] != ';' && !is_ows(p[e]))
        e++;
    *name = p + i;
    *nlen = e - i;
    while (e < n) {
        size_t s, v;
        while (e < n && (is_ows(p[e]) || p[e] == ';'))
            e++;
        s = e;
        while (e < n && p[e] != ';')
            e++;
        v = e;
        while (v > s && is_ows(p[v - 1]))
            v--;
        if (v - s >= 2 && (p[s] == 'q' || p[s] == 'Q') && p[s + 1] == '=') {
            q = parse_q(p + s + 2, v - s - 2);
            if (q < 0)
                q = 0;
        }
    }
    return q;
}

/* The index a coding's name stands for in q[]: an algorithm, identity
 * (COMPRESS_IDENTITY), "*" (COMPRESS_NALG), or -1. */
static int coding_index(const char *name, size_t len)
{
    if (gh_strcaseeq(name, len, "gzip") || gh_strcaseeq(name, len, "x-gzip"))
        return COMPRESS_GZIP;
    if (gh_strcaseeq(name, len, "br"))
        return COMPRESS_BR;
    if (gh_strcaseeq(name, len, "zstd"))
        return COMPRESS_ZSTD;
    if (gh_strcaseeq(name, len, "identity"))
        return COMPRESS_IDENTITY;
    if (len == 1 && name[0] == '*')
        return COMPRESS_NALG;
    return -1;
}

/* Fills q[] (thousandths, -1: not named) from every value's members. */
static void read_qs(const char *const *values, const size_t *lens, unsigned n,
                    int q[COMPRESS_NALG + 1])
{
    for (int i = 0; i <= COMPRESS_NALG; i++)
        q[i] = -1;
    for (unsigned v = 0; v < n; v++) {
        const char *p = values[v], *end = p + lens[v];
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p)), *name;
            size_t mlen = comma ? (size_t)(comma - p) : (size_t)(end - p), nlen;
            int mq = member_q(p, mlen, &name, &nlen), idx = coding_index(name, nlen);
            /* named twice: the higher rating counts */
            if (idx >= 0 && mq > q[idx])
                q[idx] = mq;
            p += mlen + (comma ? 1 : 0);
        }
    }
}

enum compress_alg compress_negotiate(const char *const *values, const size_t *lens, unsigned n,
                                     const struct compress_conf *cc)
{
    int q[COMPRESS_NALG + 1], best_q = 0, ident;
    enum compress_alg best = COMPRESS_IDENTITY;

    if (n == 0)
        return COMPRESS_IDENTITY; /* no field: we may not know the client decodes */
    read_qs(values, lens, n, q);
    for (unsigned i = 0; i < cc->nprefer; i++) {
        enum compress_alg a = (enum compress_alg)cc->prefer[i];
        int aq = q[a] >= 0 ? q[a] : q[COMPRESS_NALG] >= 0 ? q[COMPRESS_NALG] : 0;
        if (aq > best_q) {
            best_q = aq;
            best = a;
        }
    }
    /* identity competes only when the client rated it (by name or "*");
     * unrated, it is the fallback, always acceptable (RFC 9110 12.5.3) */
    ident = q[COMPRESS_IDENTITY] >= 0 ? q[COMPRESS_IDENTITY]
            : q[COMPRESS_NALG] >= 0   ? q[COMPRESS_NALG]
                                      : 0;
    if (best != COMPRESS_IDENTITY && ident > best_q)
        return COMPRESS_IDENTITY;
    return best;
}

/* Whether the lower-case pattern matches the media type t[0..n): "*" at
 * most once, standing for any run of characters. */
static int type_match(const char *pat, const char *t, size_t n)
{
    const char *star = strchr(pat, '*');
    size_t pre, post;

    if (!star)
        return gh_strcaseeq(t, n, pat);
    pre = (size_t)(star - pat);
    post = strlen(star + 1);
    return n >= pre + post && strncasecmp(t, pat, pre) == 0 &&
           strncasecmp(t + n - post, star + 1, post) == 0;
}

int compress_type_ok(const struct compress_conf *cc, const char *ct, size_t len)
{
    size_t s = 0, e;

    while (s < len && is_ows(ct[s]))
        s++;
    e = s;
    while (e < len && ct[e] != ';' && !is_ows(ct[e]))
        e++;
    if (e == s)
        return 0;
    for (unsigned i = 0; i < cc->ntypes; i++)
        if (type_match(cc->types[i], ct + s, e - s))
            return 1;
    return 0;
}

/* ---- the encoders ---- */

/* A zeroed encoder or decoder with an output buffer of cap bytes. */
static struct compress_enc *enc_alloc(size_t cap)
{
    struct compress_enc *z = xmalloc(sizeof(*z) + cap);

    memset(z, 0, sizeof(*z));
    z->cap = cap;
    return z;
}

struct compress_enc *compress_enc_new(enum compress_alg a, int level)
{
    struct compress_enc *z = enc_alloc(ZOUT);
    int ok = 1;

    z->alg = a;
    switch (a) {
    case COMPRESS_GZIP: /* windowBits + 16: the gzip wrapper */
        ok = deflateInit2(&z->gz, level, Z_DEFLATED, GZIP_WBITS + 16, GZIP_MEMLEVEL,
                          Z_DEFAULT_STRATEGY) == Z_OK;
        break;
    case COMPRESS_BR:
        z->br = BrotliEncoderCreateInstance(NULL, NULL, NULL);
        ok = z->br && BrotliEncoderSetParameter(z->br, BROTLI_PARAM_QUALITY, (uint32_t)level) &&
             BrotliEncoderSetParameter(z->br, BROTLI_PARAM_LGWIN, BR_LGWIN);
        break;
    case COMPRESS_ZSTD:
        z->zs = ZSTD_createCStream();
        ok = z->zs && !ZSTD_isError(ZSTD_CCtx_setParameter(z->zs, ZSTD_c_compressionLevel, level)) &&
             !ZSTD_isError(ZSTD_CCtx_setParameter(z->zs, ZSTD_c_windowLog, ZSTD_WLOG)) &&
             !ZSTD_isError(ZSTD_CCtx_setParameter(z->zs, ZSTD_c_hashLog, ZSTD_TLOG)) &&
             !ZSTD_isError(ZSTD_CCtx_setParameter(z->zs, ZSTD_c_chainLog, ZSTD_TLOG));
        break;
    default:
        ok = 0;
    }
    if (!ok)
        fatal("cannot start an encoder (out of memory)", compress_name(a));
    return z;
}

struct compress_enc *compress_dec_new(uint32_t max_ratio)
{
    struct compress_enc *z = enc_alloc(ZOUT_DEC);

    z->alg = COMPRESS_GZIP;
    z->decode = 1;
    z->max_ratio = max_ratio;
    if (inflateInit2(&z->gz, GZIP_WBITS + 16) != Z_OK) /* + 16: gzip only */
        fatal("cannot start a gzip decoder (out of memory)", NULL);
    return z;
}

/* One inflate over in[0..*len) into the empty output buffer; *len becomes
 * the bytes taken.  Returns 1 when the stream has ended. */
static int inflate_step(struct compress_enc *z, const char *in, size_t *len)
{
    int r;

    z->gz.next_in = (Bytef *)(uintptr_t)in;
    z->gz.avail_in = (uInt)*len;
    z->gz.next_out = (Bytef *)z->out;
    z->gz.avail_out = (uInt)z->cap;
    r = inflate(&z->gz, Z_NO_FLUSH);
    if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
        z->error = "the upstream's gzip body is corrupt";
    if (r == Z_STREAM_END) /* what follows the stream is dropped */
        z->gz.avail_in = 0;
    *len -= z->gz.avail_in;
    z->len = z->cap - z->gz.avail_out;
    z->produced += z->len;
    /* a full buffer may leave output inside inflate: a flush drains it */
    z->unflushed = z->gz.avail_out == 0;
    if (z->produced > (uint64_t)z->max_ratio * (z->in + *len) + (1u << 20))
        z->error = "gzip body expands past compress.max_ratio (a gzip bomb?)";
    return r == Z_STREAM_END;
}

/* The decoder's feed and flush. */
static size_t dec_feed(struct compress_enc *z, const char *in, size_t len)
{
    int end = inflate_step(z, in, &len);

    z->in += len;
    if (end)
        z->done = 1;
    return len;
}

static int dec_flush(struct compress_enc *z, int finish)
{
    size_t none = 0;
    int end = inflate_step(z, "", &none);

    if (end || (finish && !z->len)) /* a body cut short ends with what it gave */
        z->done = 1;
    return z->done || !z->unflushed;
}

const char *compress_enc_error(const struct compress_enc *z)
{
    return z->error;
}

void compress_enc_free(struct compress_enc *z)
{
    if (!z)
        return;
    if (z->decode)
        inflateEnd(&z->gz);
    else if (z->alg == COMPRESS_GZIP)
        deflateEnd(&z->gz);
    if (z->br)
        BrotliEncoderDestroyInstance(z->br);
    if (z->zs)
        ZSTD_freeCStream(z->zs);
    free(z);
}

const char *compress_enc_out(const struct compress_enc *z, size_t *len)
{
    *len = z->len - z->off;
    return z->out + z->off;
}

void compress_enc_took(struct compress_enc *z, size_t n)
{
    z->off += n;
    if (z->off >= z->len)
        z->off = z->len = z->push = 0;
}

int compress_enc_ready(const struct compress_enc *z)
{
    return z->len > z->off && (z->push || z->decode || z->done || z->error);
}

/* One step of the encoder over in[0..*len) into the output buffer's room
 * after the waiting bytes, with op 0 (process), 1 (flush) or 2 (finish).
 * *len becomes the bytes taken; returns 1 when the flush or finish is
 * complete.  The output gathers across steps: one write per full buffer
 * or flush, not one per block deflate happens to emit. */
static int step(struct compress_enc *z, const char *in, size_t *len, int op)
{
    size_t room = z->cap - z->len, avail = *len, had = z->len;
    char *dst = z->out + z->len;
    int complete = 0;

    if (z->alg == COMPRESS_GZIP) {
        int r;
        z->gz.next_in = (Bytef *)(uintptr_t)in;
        z->gz.avail_in = (uInt)avail;
        z->gz.next_out = (Bytef *)dst;
        z->gz.avail_out = (uInt)room;
        r = deflate(&z->gz, op == 2 ? Z_FINISH : op == 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH);
        avail = z->gz.avail_in;
        room = z->gz.avail_out;
        complete = op == 2 ? r == Z_STREAM_END : room > 0;
    } else if (z->alg == COMPRESS_BR) {
        const uint8_t *nin = (const uint8_t *)in;
        uint8_t *nout = (uint8_t *)dst;
        BrotliEncoderOperation bop = op == 2   ? BROTLI_OPERATION_FINISH
                                     : op == 1 ? BROTLI_OPERATION_FLUSH
                                               : BROTLI_OPERATION_PROCESS;
        if (!BrotliEncoderCompressStream(z->br, bop, &avail, &nin, &room, &nout, NULL))
            fatal("the brotli encoder failed", NULL);
        complete = op == 2 ? BrotliEncoderIsFinished(z->br)
                           : !BrotliEncoderHasMoreOutput(z->br) && avail == 0;
    } else {
        ZSTD_inBuffer ib = {in, avail, 0};
        ZSTD_outBuffer ob = {dst, room, 0};
        size_t r = ZSTD_compressStream2(z->zs, &ob, &ib,
                                        op == 2 ? ZSTD_e_end : op == 1 ? ZSTD_e_flush
                                                                       : ZSTD_e_continue);
        if (ZSTD_isError(r))
            fatal("the zstd encoder failed", ZSTD_getErrorName(r));
        avail -= ib.pos;
        room -= ob.pos;
        complete = r == 0;
    }
    *len -= avail;
    z->len = z->cap - room;
    z->produced += z->len - had;
    if (z->len == z->cap)
        z->push = 1; /* full: written before anything more is taken */
    return complete;
}

size_t compress_enc_feed(struct compress_enc *z, const char *in, size_t len)
{
    if (z->push || z->done || z->error || len == 0)
        return 0;
    if (z->decode)
        return z->len ? 0 : dec_feed(z, in, len);
    step(z, in, &len, 0);
    z->in += len;
    if (len)
        z->unflushed = 1;
    return len;
}

int compress_enc_unflushed(const struct compress_enc *z)
{
    return z->unflushed;
}

int compress_enc_flush(struct compress_enc *z, int finish)
{
    size_t none = 0;

    if (z->done || z->error)
        return 1;
    if (z->push || (z->decode && z->len))
        return 0;
    if (z->decode)
        return dec_flush(z, finish);
    if (!step(z, "", &none, finish ? 2 : 1))
        return 0;
    z->push = z->len > 0;
    z->unflushed = 0;
    z->done = finish;
    if (finish) {
        atomic_fetch_add_explicit(&total_responses[z->alg], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&total_in, z->in, memory_order_relaxed);
        atomic_fetch_add_explicit(&total_out, z->produced, memory_order_relaxed);
    }
    return 1;
}

int compress_enc_done(const struct compress_enc *z)
{
    return z->done;
}

uint64_t compress_enc_in(const struct compress_enc *z)
{
    return z->in;
}

uint64_t compress_enc_produced(const struct compress_enc *z)
{
    return z->produced;
}

void compress_stats(struct compress_stats *st)
{
    for (int a = 0; a < COMPRESS_NALG; a++)
        st->responses[a] = atomic_load_explicit(&total_responses[a], memory_order_relaxed);
    st->bytes_in = atomic_load_explicit(&total_in, memory_order_relaxed);
    st->bytes_out = atomic_load_explicit(&total_out, memory_order_relaxed);
}
