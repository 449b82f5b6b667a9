/* cache_head.h — the heads a cache writes: the head it stores, the
 * validators of a conditional request, the stored head updated by a 304
 * (RFC 9111 sections 3.1, 3.2, 4.3), whether a client's own conditional is
 * satisfied by a stored response, and the Age and Cache-Status (RFC 9211)
 * field values.  Pure: the heads returned are malloc'd copies the caller
 * owns and re-parses with http1_parse_response. */
#ifndef GH_CACHE_HEAD_H
#define GH_CACHE_HEAD_H

#include "http1.h"

#include <stdint.h>

/* The head to store for an origin response: "HTTP/1.1 <status> <reason>",
 * then its fields in order, without those a cache must not store (section
 * 3.1: hop-by-hop fields and those named by Connection) and without
 * Set-Cookie unless keep_set_cookie; then the blank line.  Returns the
 * malloc'd head (NUL-terminated) and its length in *len. */
char *cache_head_for_storage(const struct http_head *resp, const char *base, int keep_set_cookie,
                             size_t *len);

/* Whether a 304 `upd`, the answer to a conditional request made from the
 * validators of `stored` alone, selects it for update (section 4.3.4):
 * with an ETag in upd, the stored ETag matches it (strongly if upd's is
 * strong, weakly otherwise); without one but with Last-Modified, the
 * stored Last-Modified is the same date; with neither, yes.  The RFC's
 * third case asks that the stored response lack a validator too, for a
 * conditional the cache did not make from it; here the request named that
 * one response, and origins such as Python's http.server send no
 * validator in a 304 (RFC 9110 15.4.5 asks for ETag only when the 200
 * would carry one, and never for Last-Modified). */
int cache_head_matches(const struct http_head *stored, const char *sbase,
                       const struct http_head *upd, const char *ubase);

/* The stored head freshened by `upd` (section 3.2): the stored status line;
 * each field name present in upd replaces every stored field of that name,
 * except fields never stored (hop-by-hop, those named by upd's Connection),
 * Content-Length, Content-Range and Content-Encoding (they describe the
 * stored bytes, which the 304 does not change) and Set-Cookie (meant for
 * the one client whose request was revalidated, never for every later
 * hit).  Stored fields keep their order; replacing ones follow.  Returns a
 * malloc'd head like cache_head_for_storage.  The caller recomputes the
 * cache_meta with the 304's request and response times, which resets the
 * age: Date and Age come from the 304. */
char *cache_head_update(const struct http_head *stored, const char *sbase,
                        const struct http_head *upd, const char *ubase, size_t *len);

/* Writes the validator fields for revalidating a stored response (section
 * 4.3.1): "If-None-Match: <ETag>\r\n" when it has an ETag and
 * "If-Modified-Since: <Last-Modified>\r\n" when it has a Last-Modified.
 * Returns the bytes written (NUL-terminated; 0: no validator, fetch whole),
 * or -1 when cap is too small. */
long cache_conditional_fields(const struct http_head *stored, const char *sbase, char *out,
                              size_t cap);

/* Whether a GET or HEAD request's own preconditions let the cache answer 304
 * from a stored response (RFC 9110 section 13.2.2, RFC 9111 section 4.3.2):
 * If-None-Match when present ("*" or a weakly matching entity tag), and
 * only then If-Modified-Since, against the stored Last-Modified, else its
 * Date (an unparsable If-Modified-Since is ignored).  A stored response
 * that is not 2xx never yields 304 (RFC 9110 section 13.2.1).  Returns 1 for
 * 304. */
int cache_not_modified(const struct http_head *req, const char *qbase,
                       const struct http_head *stored, const char *sbase, int64_t now);

/* Writes the Age field value: age clamped to 0..2147483648 (RFC 9111
 * section 5.1).  Returns the length (NUL-terminated). */
size_t cache_age_value(int64_t age, char *out, size_t cap);

/* ---- Cache-Status (RFC 9211) ---- */

/* Why a request was forwarded (the fwd parameter); NONE means a hit. */
enum cache_fwd {
    CACHE_FWD_NONE,
    CACHE_FWD_BYPASS,    /* the cache was configured not to handle it */
    CACHE_FWD_METHOD,    /* the method is not cacheable */
    CACHE_FWD_URI_MISS,  /* nothing stored for the URI */
    CACHE_FWD_VARY_MISS, /* stored, but no variant for this request */
    CACHE_FWD_MISS,      /* a miss, whichever kind */
    CACHE_FWD_REQUEST,   /* the request asked for it (no-cache, max-age...) */
    CACHE_FWD_STALE,     /* stored but stale: revalidated */
    CACHE_FWD_PARTIAL,   /* only part of it stored */
};

struct cache_status {
    enum cache_fwd fwd;
    int fwd_status;     /* the origin's status when forwarded; 0: omit */
    int has_ttl;        /* write ttl */
    int64_t ttl;        /* remaining freshness, negative when stale */
    int stored;         /* the response was stored */
    int collapsed;      /* the request was collapsed into another's fetch */
    const char *detail; /* free-form detail (a reason from cache_storable), NULL: none */
};

/* Writes one Cache-Status list member for the cache called `name`:
 * "gatehouse; hit; ttl=30", "gatehouse; fwd=miss; fwd-status=200; stored",
 * "gatehouse; fwd=stale; fwd-status=304; ttl=-5".  name and detail are
 * written as tokens when they are tokens, else as quoted strings.  Returns
 * the length (NUL-terminated), or -1 when cap is too small. */
long cache_status_value(const char *name, const struct cache_status *cs, char *out, size_t cap);

#endif
