/* cache_xfer.h — the cache inside the core's request flow: one exchange's
 * lookup, its fill of a new object, its revalidation, and the end of all
 * three (cache_xfer.c).  Front-ends use cache.h. */
#ifndef GH_CACHE_XFER_H
#define GH_CACHE_XFER_H

struct exchange;

/* The upstream's response head is parsed (ex->resp): decides whether to
 * store it, merges a 304 into the stored object, invalidates on unsafe
 * methods, adds Cache-Status.  Returns 1 when the exchange is now answered
 * from the cache (a local answer is set; the caller drops the upstream),
 * 0 to relay the response. */
int cache_response_head(struct exchange *ex);

/* The response head went out (ex->respb is initialised): starts copying
 * the body into the object being filled, if any. */
void cache_body_begin(struct exchange *ex);

/* The upstream could not be reached or failed before answering (the core
 * is about to answer `status`, its own): answers with the stored stale
 * copy instead when the response and the rules allow it (cache_decide's
 * stale_if_error); its Cache-Status has no fwd-status.  Returns 1 when it
 * did. */
int cache_serve_stale(struct exchange *ex, int status, const char *why);

/* The exchange is over (answered, failed or closed): releases the object it
 * served from, finishes or abandons its fill, wakes nobody twice. */
void cache_xfer_end(struct exchange *ex);

#endif
