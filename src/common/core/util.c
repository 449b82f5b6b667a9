/* util.c — allocation wrappers, clocks and string helpers (see util.h). */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

static void oom(size_t n)
{
    fprintf(stderr, "gatehouse: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (!p)
        oom(count * n);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

uint64_t gh_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t gh_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int gh_strcaseeq(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

size_t gh_fmt(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (cap == 0)
        return 0;
    va_start(ap, fmt);
    n = vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    if (n < 0) {
        dst[0] = '\0';
        return 0;
    }
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t gh_cat(char *dst, size_t cap, size_t at, const char *s, size_t n)
{
    if (cap == 0 || at >= cap)
        return at;
    if (n > cap - 1 - at)
        n = cap - 1 - at;
    memcpy(dst + at, s, n);
    at += n;
    dst[at] = '\0';
    return at;
}

size_t gh_cat_u64(char *dst, size_t cap, size_t at, uint64_t v)
{
    char digits[20];
    size_t n = sizeof(digits);

    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return gh_cat(dst, cap, at, digits + n, sizeof(digits) - n);
}

void text_vprintf(struct text *t, const char *fmt, va_list ap)
{
    va_list again;
    int n;

    for (;;) {
        if (t->cap - t->len < 64) {
            t->cap = t->cap * 2 + 1024;
            t->p = xrealloc(t->p, t->cap);
        }
        va_copy(again, ap);
        n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, again);
        va_end(again);
        if (n < 0) { /* a bad format: leave the text as it was */
            t->p[t->len] = '\0';
            return;
        }
        if ((size_t)n < t->cap - t->len)
            break;
        t->cap = t->cap * 2 + (size_t)n;
        t->p = xrealloc(t->p, t->cap);
    }
    t->len += (size_t)n;
}

void text_printf(struct text *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    text_vprintf(t, fmt, ap);
    va_end(ap);
}

void text_json_str(struct text *t, const char *s)
{
    text_printf(t, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            text_printf(t, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f || ch == '<' || ch == '>' || ch == '&')
            text_printf(t, "\\u%04x", ch);
        else
            text_printf(t, "%c", ch);
    }
    text_printf(t, "\"");
}
