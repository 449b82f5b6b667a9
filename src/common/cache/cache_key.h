/* cache_key.h — what a cached object is filed under: the primary key (the
 * normalised target URI), its 64-bit hash for the store's index, the
 * secondary key of a Vary'ing response (RFC 9111 section 4.1), and the keys
 * an unsafe request invalidates (section 4.4).  Pure functions over parsed
 * heads; the caller provides the output buffers. */
#ifndef GH_CACHE_KEY_H
#define GH_CACHE_KEY_H

#include "http1.h"

#include <stdint.h>

/* The longest key the cache files; a longer target is not cached. */
#define CACHE_KEY_MAX 4096

/* Results besides a length. */
#define CACHE_KEY_ERROR (-1)    /* no usable host, unsupported target, bad input */
#define CACHE_KEY_TOO_LONG (-2) /* does not fit the output buffer */
#define CACHE_VARY_STAR (-3)    /* Vary: * — never matches any request */

/* The primary key of a request: "scheme://host[:port]/path[?query]".
 *  - scheme: from an absolute-form target, else "https" when tls, else "http";
 *  - host: from an absolute-form target (whose authority wins over Host,
 *    RFC 9112 section 3.2.2), else the Host field; lowercased, one trailing
 *    dot removed, IPv6 literals kept in brackets;
 *  - port: written only when it is not the scheme's default (80, 443);
 *  - path: "/" when empty; percent-encodings normalised (RFC 3986 section
 *    6.2.2: hex digits upper-cased, unreserved characters decoded); dot
 *    segments are kept, since the origin receives them as written;
 *  - query: kept, with its '?', when include_query; dropped otherwise.
 * Returns the length written to out (NUL-terminated), CACHE_KEY_ERROR for a
 * request without a usable host or with an authority-form or '*' target, or
 * CACHE_KEY_TOO_LONG. */
long cache_key(const struct http_head *req, const char *base, int tls, int include_query, char *out,
               size_t cap);

/* A 64-bit SipHash-2-4 of key[0..len) under a random per-process secret
 * (so clients cannot aim collisions at the index).  The store still
 * compares whole keys: a hash match alone never serves an object. */
uint64_t cache_key_hash(const char *key, size_t len);

/* ---- Vary (RFC 9111 section 4.1) ---- */

/* The normalised Vary of a response: field names lowercased, sorted,
 * de-duplicated and joined by ','; "" when the response has no Vary.
 * Returns the length (NUL-terminated), CACHE_VARY_STAR for Vary: *, or
 * CACHE_KEY_TOO_LONG (also for more than 32 names). */
long cache_vary_list(const struct http_head *resp, const char *base, char *out, size_t cap);

/* The secondary key of a request under a normalised Vary list vary[0..vlen)
 * (from cache_vary_list): for each name in order, "name:value\n" with the
 * request's field lines of that name joined by ", ", or "name\n" when the
 * request has none (an absent field only matches an absent field).
 * Accept-Encoding is replaced by cache_accept_encoding_norm's form, so
 * "gzip, br" and "br,gzip;q=0.8" share a variant while gzip and identity do
 * not.  Two requests select the same stored variant exactly when their keys
 * are equal (memcmp).  Returns the length (NUL-terminated), CACHE_VARY_STAR
 * when vary is "*", or CACHE_KEY_TOO_LONG. */
long cache_vary_key(const char *vary, size_t vlen, const struct http_head *req, const char *base,
                    char *out, size_t cap);

/* The set of content codings an Accept-Encoding value v[0..len) accepts:
 * codings with q > 0, lowercased, x-gzip as gzip and x-compress as
 * compress, sorted and de-duplicated, joined by ','; "identity" is implied
 * and left out, but "!identity" is appended when identity is refused
 * (identity;q=0, or *;q=0 without identity).  "" means identity only.
 * Returns the length (NUL-terminated) or CACHE_KEY_TOO_LONG (also for more
 * than 16 codings). */
long cache_accept_encoding_norm(const char *v, size_t len, char *out, size_t cap);

/* ---- invalidation (RFC 9111 section 4.4) ---- */

/* Keys an unsafe request's response invalidates: at most the target, the
 * Location and the Content-Location. */
struct cache_invalidation {
    unsigned n;
    size_t len[3];
    char key[3][CACHE_KEY_MAX];
};

/* Whether a request method is safe (GET, HEAD, OPTIONS, TRACE). */
int cache_method_safe(const char *m, size_t len);

/* Fills inv with the keys to invalidate after the response resp to request
 * req: nothing for a safe method or a response that is not 2xx or 3xx;
 * otherwise the target's key and the keys of the Location and
 * Content-Location URIs (absolute, network-path, absolute-path or relative
 * references resolved against the target, RFC 3986 section 5.2) whose host
 * is the target's host (other hosts are never invalidated: that would let
 * one site purge another's objects).  Keys are built as cache_key does, with
 * the same tls and include_query.  Returns inv->n. */
unsigned cache_invalidation_targets(const struct http_head *req, const char *qbase,
                                    const struct http_head *resp, const char *rbase, int tls,
                                    int include_query, struct cache_invalidation *inv);

#endif
