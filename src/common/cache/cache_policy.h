/* cache_policy.h — RFC 9111 semantics of a shared cache, computed on parsed
 * heads (struct http_head and its base buffer): Cache-Control, HTTP dates,
 * whether a response may be stored, its freshness lifetime and current age,
 * and whether a stored response may answer a given request.
 *
 * Everything here is pure: no I/O, no clock (every function that needs the
 * time takes `now`, seconds since the epoch), no allocation, no locks.
 * Keys, Vary and invalidation are in cache_key.h; revalidation, 304 merging,
 * Age and Cache-Status in cache_head.h; the memory tier in cache_s3fifo.h. */
#ifndef GH_CACHE_POLICY_H
#define GH_CACHE_POLICY_H

#include "http1.h"

#include <stdint.h>

/* "Absent" for every time and delta-seconds member below. */
#define CACHE_UNSET (-1)

/* RFC 9111 section 1.2.2: a delta-seconds value too large to represent (and
 * max-stale without a value: any staleness) counts as 2^31. */
#define CACHE_DELTA_MAX 2147483648LL

/* Cache-Control directives that carry no value (RFC 9111 section 5.2). */
#define CACHE_CC_NO_STORE 0x0001u
#define CACHE_CC_NO_CACHE 0x0002u /* also no-cache="fields": see cache_cc_parse_value */
#define CACHE_CC_PRIVATE 0x0004u  /* also private="fields" */
#define CACHE_CC_PUBLIC 0x0008u
#define CACHE_CC_MUST_REVALIDATE 0x0010u
#define CACHE_CC_PROXY_REVALIDATE 0x0020u
#define CACHE_CC_IMMUTABLE 0x0040u      /* RFC 8246 */
#define CACHE_CC_ONLY_IF_CACHED 0x0080u /* request */
#define CACHE_CC_NO_TRANSFORM 0x0100u
#define CACHE_CC_MUST_UNDERSTAND 0x0200u
#define CACHE_CC_INVALID 0x0400u /* max-age or s-maxage had a bad value: stale */

/* Parsed Cache-Control of a request or a response.  Delta members are
 * CACHE_UNSET when the directive is absent. */
struct cache_control {
    unsigned flags; /* CACHE_CC_* */
    int64_t max_age;
    int64_t s_maxage;               /* response */
    int64_t stale_while_revalidate; /* response (RFC 5861) */
    int64_t stale_if_error;         /* response or request (RFC 5861) */
    int64_t max_stale;              /* request; CACHE_DELTA_MAX without a value */
    int64_t min_fresh;              /* request */
};

/* Sets every directive absent. */
void cache_cc_init(struct cache_control *cc);

/* Adds the directives of one Cache-Control field value v[0..len) to *cc.
 * Names are case-insensitive, whitespace around elements and '=' is skipped,
 * values may be tokens or quoted strings (commas inside quotes do not split).
 * Duplicates: the first occurrence of a valued directive wins (RFC 9111
 * section 4.2.1 allows "first occurrence" or "stale"; we take the first).
 * A max-age or s-maxage whose value is not a non-negative integer counts as
 * 0 and sets CACHE_CC_INVALID (section 4.2.1: invalid freshness information
 * is stale); a bad stale-while-revalidate, stale-if-error, max-stale or
 * min-fresh value is ignored, which never grants more staleness.
 * no-cache="f" and private="f" (field-list forms) count as plain no-cache
 * and private: stricter than the RFC's per-field meaning, never looser.
 * Unknown directives are ignored (section 5.2.3). */
void cache_cc_parse_value(const char *v, size_t len, struct cache_control *cc);

/* cache_cc_init, then every Cache-Control field of h in order. */
void cache_cc_parse(const struct http_head *h, const char *base, struct cache_control *cc);

/* ---- HTTP dates (RFC 9110 section 5.6.7) ---- */

/* Parses an HTTP-date in any of the three formats a recipient must accept:
 * IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850
 * "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994".
 * Names are case-insensitive; the weekday must be a weekday name but is not
 * checked against the date.  An RFC 850 two-digit year more than 50 years
 * after `now` is taken from the previous century.
 * Returns seconds since the epoch (0 for a valid date before 1970), or
 * CACHE_UNSET when the value is not a valid date. */
int64_t cache_http_date(const char *s, size_t len, int64_t now);

/* Writes t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes and
 * a NUL) into out, which holds at least 30 bytes.  Returns 29. */
size_t cache_http_date_format(int64_t t, char *out);

/* ---- what a request and a response say ---- */

enum cache_method {
    CACHE_M_GET,
    CACHE_M_HEAD,
    CACHE_M_SAFE,   /* OPTIONS, TRACE: safe, not cacheable */
    CACHE_M_UNSAFE, /* everything else: invalidates (RFC 9111 section 4.4) */
};

/* The cache-relevant facts of a request. */
struct cache_req_info {
    enum cache_method method;
    struct cache_control cc; /* Pragma: no-cache counts when there is no Cache-Control */
    unsigned has_authorization : 1;
    unsigned has_conditional : 1; /* If-None-Match or If-Modified-Since */
    unsigned has_range : 1;
};

/* Fills *r from a parsed request head. */
void cache_req_parse(struct cache_req_info *r, const struct http_head *req, const char *base);

/* The cache-relevant facts of a response, and when it was obtained.  Kept
 * with a stored object; the wiring may adjust it (an apt profile forcing
 * no-cache on index files, say) before asking cache_decide. */
struct cache_meta {
    int status;
    struct cache_control cc;
    int64_t date;          /* Date, CACHE_UNSET when absent or invalid */
    int64_t expires;       /* Expires (first field); 0 when invalid: in the past (section 5.3) */
    int64_t last_modified; /* CACHE_UNSET when absent or invalid */
    int64_t age;           /* Age, first member; CACHE_UNSET when absent or invalid (section 5.1) */
    int64_t request_time;  /* when the request that fetched it was sent */
    int64_t response_time; /* when its head arrived */
    unsigned has_etag : 1;
    unsigned has_last_modified : 1; /* a Last-Modified field, even an unparsable one */
    unsigned has_set_cookie : 1;
    unsigned has_vary : 1;
    unsigned vary_star : 1; /* Vary: * (never matches a later request) */
};

/* Fills *m from a parsed response head and the exchange's times. */
void cache_meta_parse(struct cache_meta *m, const struct http_head *resp, const char *base,
                      int64_t request_time, int64_t response_time);

/* What a front-end's profile says of a URL (the apt profile, say). */
enum cache_class {
    CACHE_CLASS_DEFAULT,    /* the response's own caching fields decide */
    CACHE_CLASS_IMMUTABLE,  /* never changes under this URL: fresh for a year */
    CACHE_CLASS_REVALIDATE, /* stored, but asked about again on every use; a
                             * stale copy answers while the origin is down */
};

/* Applies a profile's class to the facts of a response: IMMUTABLE makes
 * it public, immutable and fresh for a year; REVALIDATE public with
 * max-age=0; both drop the directives that would contradict that. */
void cache_meta_classify(struct cache_meta *m, enum cache_class c);

/* Settings of one cache (or of one route or policy using it). */
struct cache_opts {
    int64_t heuristic_percent; /* of (Date - Last-Modified), 0..100; default 10 (section 4.2.2) */
    int64_t heuristic_max;     /* cap of a heuristic lifetime, seconds; default 86400 */
    int64_t override_ttl;      /* >= 0: lifetime of responses without explicit freshness
                                * (reverse route TTL override); default CACHE_UNSET */
    int64_t stale_if_unreachable; /* how stale a copy may be served, seconds, when the
                                   * origin cannot be reached or fails (RFC 9111 4.2.4,
                                   * a disconnected cache), beyond what the response's
                                   * stale-if-error allows; default 0 */
    int store_set_cookie;         /* store responses carrying Set-Cookie; default 0 */
    int public_only;              /* store only responses marked public (the request
                                * carried a bypass cookie); default 0 */
};

/* The defaults above. */
void cache_opts_default(struct cache_opts *o);

/* Final statuses RFC 9110 defines as heuristically cacheable: 200, 203, 204,
 * 300, 301, 308, 404, 405, 410, 414, 501 (206 too, but partial responses
 * are not stored here). */
int cache_status_heuristic(int status);

/* ---- storing (RFC 9111 section 3) ---- */

/* Whether a shared cache may store the response described by m to the
 * request rq.  Returns 1, or 0 with *why (may be NULL) set to a static token
 * usable as a Cache-Status detail:
 *   "method"           not GET or HEAD (a HEAD response has no body: the
 *                      wiring uses it to freshen a stored GET, section 4.3.5)
 *   "status"           1xx, 206 (ranges are answered from whole objects), 304
 *   "oversized-request" 413, 414, 431: never cached (cache poisoning defence)
 *   "no-store"         no-store in the request or the response
 *   "private"          private in the response
 *   "must-understand"  must-understand with a status we do not know
 *   "authorization"    the request had Authorization and the response has
 *                      neither public, s-maxage nor must-revalidate
 *   "vary-star"        Vary: * (could never be reused)
 *   "set-cookie"       Set-Cookie, unless o->store_set_cookie
 *   "bypass-cookie"    not public while o->public_only
 *   "no-freshness"     no max-age, s-maxage or Expires, and the status is
 *                      not heuristically cacheable and not marked public
 *   "zero-ttl"         its lifetime is 0 and it has no validator and no
 *                      stale-while-revalidate or stale-if-error directive:
 *                      it could never be reused (o->stale_if_unreachable
 *                      does not count: storing every such response only
 *                      for the day the origin is down would queue every
 *                      request for it behind one fetch)
 * A response that is storable may still need revalidation on every use
 * (no-cache): see cache_decide. */
int cache_storable(const struct cache_req_info *rq, const struct cache_meta *m,
                   const struct cache_opts *o, const char **why);

/* cache_storable with o->override_ttl replaced by ttl (>= 0): the reverse
 * mode's TTL override for responses that carry no explicit freshness.  It
 * lends a lifetime, never storability: no-store, private, Authorization,
 * Set-Cookie and the status rules still apply, and it only covers statuses
 * that are heuristically cacheable or marked public. */
int cache_storable_with_ttl_override(const struct cache_req_info *rq, const struct cache_meta *m,
                                     const struct cache_opts *o, int64_t ttl, const char **why);

/* ---- freshness (RFC 9111 section 4.2) ---- */

/* Freshness lifetime for a shared cache: s-maxage, else max-age, else
 * Expires - Date (Date absent: the response time), else o->override_ttl,
 * else heuristic_percent of (Date - Last-Modified) capped at heuristic_max
 * for heuristically cacheable or public responses, else 0.  Sets
 * *heuristic (may be NULL) to 1 when the heuristic was used. */
int64_t cache_freshness_lifetime(const struct cache_meta *m, const struct cache_opts *o,
                                 int *heuristic);

/* Current age (section 4.2.3):
 *   apparent_age = max(0, response_time - date_value)
 *   response_delay = response_time - request_time
 *   corrected_age_value = age_value + response_delay
 *   corrected_initial_age = max(apparent_age, corrected_age_value)
 *   resident_time = now - response_time
 *   current_age = corrected_initial_age + resident_time
 * with date_value = response_time and age_value = 0 when absent; never
 * negative. */
int64_t cache_current_age(const struct cache_meta *m, int64_t now);

/* How a stored response may answer a request. */
enum cache_use {
    CACHE_USE_FRESH,            /* serve it: fresh enough for this request */
    CACHE_USE_STALE,            /* serve it: stale, but within the request's max-stale */
    CACHE_USE_STALE_REVALIDATE, /* serve it now, revalidate in the background
                                 * (stale-while-revalidate) */
    CACHE_USE_REVALIDATE,       /* ask the origin first (conditional request); with
                                 * only-if-cached in the request, answer 504 instead */
};

struct cache_verdict {
    enum cache_use use;
    int64_t age;        /* current age: the Age field to send */
    int64_t lifetime;   /* freshness lifetime */
    int64_t ttl;        /* lifetime - age; negative when stale (Cache-Status ttl) */
    int heuristic;      /* the lifetime is heuristic */
    int stale_if_error; /* REVALIDATE: if the origin cannot be reached or answers
                         * a 5xx other than 501, the stored response may be served */
};

/* Decides how the stored response m may answer request rq at `now`.
 *  - response no-cache, request no-cache: REVALIDATE;
 *  - the request's max-age (age above it) or min-fresh (ttl below it):
 *    REVALIDATE, except that an immutable response ignores both while fresh
 *    (a browser reload sends max-age=0; RFC 8246);
 *  - fresh (lifetime > age): FRESH;
 *  - stale, when must-revalidate, proxy-revalidate, s-maxage or no-cache
 *    forbid serving stale (section 4.2.4): REVALIDATE, no stale-if-error;
 *  - stale within the request's max-stale: STALE;
 *  - stale within the response's stale-while-revalidate: STALE_REVALIDATE;
 *  - otherwise REVALIDATE.
 * stale_if_error is set when stale serving is not forbidden and the
 * staleness is within the largest of the response's and the request's
 * stale-if-error and o->stale_if_unreachable.  Returns v->use. */
enum cache_use cache_decide(const struct cache_req_info *rq, const struct cache_meta *m,
                            const struct cache_opts *o, int64_t now, struct cache_verdict *v);

#endif
