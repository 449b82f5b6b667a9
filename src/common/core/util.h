/* util.h — the small vocabulary every module shares: return codes, allocation
 * that aborts on exhaustion, monotonic time, and string helpers.  Nothing here
 * knows about sockets, HTTP or configuration. */
#ifndef GH_UTIL_H
#define GH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Non-blocking calls answer with a count or one of these (nginx's
 * vocabulary).  A step of the exchange driver returns:
 *   GH_OK     its work is done; the caller decides what comes next;
 *   GH_AGAIN  it must wait for an event (readiness, DNS, a timer);
 *   GH_DONE   what it carries is complete (a body, an exchange);
 *   GH_ERROR  it failed, and says why where its contract says. */
#define GH_OK 0
#define GH_ERROR (-1)
#define GH_AGAIN (-2)
#define GH_DONE (-3)

#define GH_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define GH_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GH_MAX(a, b) ((a) > (b) ? (a) : (b))
#define GH_UNUSED(x) ((void)(x))

/* Allocation: out-of-memory aborts with a message, so callers never check. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Monotonic milliseconds, for timers and durations. */
uint64_t gh_now_ms(void);
/* Wall-clock microseconds since the epoch, for log timestamps. */
uint64_t gh_wall_us(void);

/* ASCII case-insensitive comparison of a counted string with a C string;
 * returns 1 when they are equal. */
int gh_strcaseeq(const char *a, size_t alen, const char *b);

/* snprintf that always terminates and never reports more than it wrote:
 * returns the number of bytes written (excluding the NUL). */
size_t gh_fmt(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* For the per-request paths, where formatting with vsnprintf shows in the
 * profile: append n bytes of s (or v in decimal) to dst, which has room
 * for cap bytes and holds at bytes; truncates, always terminates, returns
 * the new length.  gh_cat_str appends a C string. */
size_t gh_cat(char *dst, size_t cap, size_t at, const char *s, size_t n);
size_t gh_cat_u64(char *dst, size_t cap, size_t at, uint64_t v);
static inline size_t gh_cat_str(char *dst, size_t cap, size_t at, const char *s)
{
    return gh_cat(dst, cap, at, s, strlen(s));
}

/* A growing text on the heap, for the pages and documents written on
 * request (status, metrics, dashboards): p holds len bytes and a NUL;
 * start it as {0} and free(p) when done. */
struct text {
    char *p;
    size_t len, cap;
};

/* Appends formatted text, growing the buffer as needed. */
void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void text_vprintf(struct text *t, const char *fmt, va_list ap);
/* Appends s as a JSON string in quotes; besides what JSON requires, <, >
 * and & are escaped so the text can sit inside an HTML page. */
void text_json_str(struct text *t, const char *s);

#endif
