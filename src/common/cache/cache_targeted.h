/* cache_targeted.h — RFC 9213 targeted cache-control fields
 * (CDN-Cache-Control and the like): their values are Dictionary Structured
 * Fields (RFC 8941), parsed here into the cache directives of
 * cache_policy.h, and the first valid one of a cache's target list takes
 * the place of Cache-Control and Expires.  Pure: no allocation, no state. */
#ifndef GH_CACHE_TARGETED_H
#define GH_CACHE_TARGETED_H

#include "cache_policy.h"
#include "http1.h"

#include <stddef.h>

/* The most names a target list holds. */
#define CACHE_TARGETS_MAX 8

/* Parses v[0..len) as a Dictionary Structured Field (RFC 8941 section
 * 4.2.2: lower-case keys, Integer, Decimal, String, Token, Byte Sequence,
 * Boolean and Inner List values, parameters) into *cc, which is reset
 * first.  Each member is a cache directive (RFC 9213 section 2.1):
 *  - max-age, s-maxage, stale-while-revalidate, stale-if-error take a
 *    non-negative Integer; any other value leaves the directive absent;
 *  - no-store, no-cache, private, public, must-revalidate, proxy-revalidate,
 *    immutable, no-transform and must-understand are set by Boolean true
 *    (a bare key); no-cache and private also by a String (the field-list
 *    form counts as the plain directive, as in cache_cc_parse_value); any
 *    other value leaves them unset;
 *  - unknown keys and parameters are ignored;
 *  - a key given twice takes its last value (a Dictionary's rule).
 * Returns 1 when the value is a valid, non-empty Dictionary, 0 otherwise
 * (empty, or a parse error: the field is to be ignored). */
int cache_targeted_parse_value(const char *v, size_t len, struct cache_control *cc);

/* The first of names[0..n) (in that order) present in h with a valid,
 * non-empty value, its lines combined as one list, parsed into *cc.
 * Returns its index, or -1 when none is (cc is then untouched). */
int cache_targeted_parse(const struct http_head *h, const char *base, const char *const *names,
                         unsigned n, struct cache_control *cc);

/* Applies RFC 9213 to the facts m parsed from response h: when a targeted
 * field of names[0..n) is valid, its directives replace the Cache-Control
 * ones and Expires is ignored (m->expires unset).  Returns whether one was
 * used. */
int cache_meta_targeted(struct cache_meta *m, const struct http_head *h, const char *base,
                        const char *const *names, unsigned n);

/* The facts of response h as this cache judges them: cache_meta_parse,
 * then the target list (cache_meta_targeted), then the profile's class of
 * the URL (cache_meta_classify).  Returns whether a targeted field was
 * used. */
int cache_meta_judge(struct cache_meta *m, const struct http_head *h, const char *base,
                     int64_t request_time, int64_t response_time, const char *const *names,
                     unsigned n, enum cache_class cls);

#endif
