/* compress.h — response compression on the way out (gzip, Brotli, zstd):
 * a route's settings, the negotiation of Accept-Encoding, the rules that
 * leave a response alone, and an encoder per response with bounded memory.
 * The exchange asks compress_decide() once its response head is known,
 * writes the head's fields with compress_put_fields(), and its body
 * (body.c) streams through the encoder.  Owns no socket and no buffer of
 * the exchange's. */
#ifndef GH_COMPRESS_H
#define GH_COMPRESS_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

enum compress_alg {
    COMPRESS_IDENTITY = 0, /* no transformation */
    COMPRESS_GZIP,
    COMPRESS_BR,
    COMPRESS_ZSTD,
    COMPRESS_NALG
};

/* A route's compression settings (owned by its route; immutable once
 * loaded).  Keys, defaults and ranges: compress_conf.c. */
struct compress_conf {
    int enabled;
    uint8_t prefer[COMPRESS_NALG]; /* algorithms in the server's order */
    unsigned nprefer;
    char **types;                  /* media types; one "*" matches any run (text/, +json) */
    unsigned ntypes;
    uint64_t min_length;           /* a Content-Length below it is left alone */
    int level[COMPRESS_NALG];      /* per algorithm */
    uint32_t max_ratio;            /* gunzip: output over input at most (a bomb's is ~1000) */
};

/* Reads a route's `compress` setting s (NULL: off; true/false; or a group)
 * into cc, with every default filled in.  Returns 0, or -1 with
 * "file:line: message" in err. */
int compress_conf_load(struct compress_conf *cc, const config_setting_t *s, char *err,
                       size_t errlen);
void compress_conf_free(struct compress_conf *cc);

/* The token of an algorithm as Content-Encoding writes it ("gzip"), "" for
 * identity. */
const char *compress_name(enum compress_alg a);

/* The coding to answer with, given the request's Accept-Encoding values
 * (n of them, each a counted string; n == 0: no such field) and the
 * server's preference: the acceptable coding of highest q-value, ties
 * broken by the preference; identity when the client rates identity
 * higher, accepts none of ours, or sent no Accept-Encoding. */
enum compress_alg compress_negotiate(const char *const *values, const size_t *lens, unsigned n,
                                     const struct compress_conf *cc);

/* Whether the media type of a Content-Type value (parameters ignored, case
 * ignored) is one of cc's types. */
int compress_type_ok(const struct compress_conf *cc, const char *ct, size_t len);

/* ---- the encoder of one response ---- */

struct compress_enc;

/* A new encoder at the given level; never NULL (aborts when out of
 * memory).  Its memory is bounded whatever the body's size (README.md,
 * "Compression"). */
struct compress_enc *compress_enc_new(enum compress_alg a, int level);
/* The same interface decoding a gzip body for a client that takes no
 * coding: its output is refused (compress_enc_error) once it passes
 * max_ratio times the input plus 1 MB.  Memory: inflate's 32 KB window
 * plus a 16 KB output buffer (an encoder's is 64 KB). */
struct compress_enc *compress_dec_new(uint32_t max_ratio);
void compress_enc_free(struct compress_enc *z);

/* The encoded bytes waiting to be written: *len of them at the result. */
const char *compress_enc_out(const struct compress_enc *z, size_t *len);
/* n of those bytes were written. */
void compress_enc_took(struct compress_enc *z, size_t n);
/* Whether the waiting output is to be written now: the buffer is full, a
 * flush or finish put it there, or (a decoder) any output.  Until then an
 * encoder gathers its output across feeds, so a response goes out in
 * few writes (each write to a local client wakes it: CPU per request). */
int compress_enc_ready(const struct compress_enc *z);

/* Encodes what it can of in[0..len) while its output is not ready to be
 * written (compress_enc_ready); returns the bytes taken (0 when output
 * must be written first). */
size_t compress_enc_feed(struct compress_enc *z, const char *in, size_t len);

/* Whether bytes were fed since the last flush (a flush would send them). */
int compress_enc_unflushed(const struct compress_enc *z);

/* Pushes everything fed so far out as decodable bytes (finish: and ends
 * the stream).  Returns 1 when that is complete (the output may still wait
 * to be written), 0 when the output must be written first and the call
 * made again.  After a finish is complete, compress_enc_done() is 1. */
int compress_enc_flush(struct compress_enc *z, int finish);
int compress_enc_done(const struct compress_enc *z);
/* Why the stream cannot go on (a decoder's bad input or bomb), NULL while
 * it can. */
const char *compress_enc_error(const struct compress_enc *z);

/* Bytes fed in and encoded bytes produced so far. */
uint64_t compress_enc_in(const struct compress_enc *z);
uint64_t compress_enc_produced(const struct compress_enc *z);

/* The process's totals over every encoded stream that ended (the status page). */
struct compress_stats {
    uint64_t responses[COMPRESS_NALG]; /* by coding; [COMPRESS_IDENTITY] unused */
    uint64_t bytes_in, bytes_out;
};
void compress_stats(struct compress_stats *st);

#endif
