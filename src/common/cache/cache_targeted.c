/* cache_targeted.c — RFC 9213 targeted fields (see cache_targeted.h): a
 * Dictionary Structured Field parser (RFC 8941 section 4.2) that keeps only
 * what a cache directive can use, and the choice of the first valid field
 * of a target list.  Owns no memory. */
#include "cache_targeted.h"

#include "util.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- RFC 8941 parsing ---- */

struct sf {
    const char *p, *end;
};

enum sf_type { SF_INTEGER, SF_DECIMAL, SF_STRING, SF_TOKEN, SF_BYTES, SF_BOOLEAN, SF_INNER };

/* What a member's value is, as far as cache directives care. */
struct sf_value {
    enum sf_type type;
    int64_t integer; /* SF_INTEGER */
    int boolean;     /* SF_BOOLEAN */
};

static int is_lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static int is_alpha(char c)
{
    return is_lcalpha(c) || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int at(const struct sf *s, char c)
{
    return s->p < s->end && *s->p == c;
}

static void skip_sp(struct sf *s)
{
    while (at(s, ' '))
        s->p++;
}

static void skip_ows(struct sf *s)
{
    while (at(s, ' ') || at(s, '\t'))
        s->p++;
}

/* key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ) */
static int parse_key(struct sf *s, const char **k, size_t *kn)
{
    const char *b = s->p;

    if (s->p >= s->end || !(is_lcalpha(*s->p) || *s->p == '*'))
        return -1;
    for (s->p++; s->p < s->end; s->p++) {
        char c = *s->p;
        if (!(is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*'))
            break;
    }
    *k = b;
    *kn = (size_t)(s->p - b);
    return 0;
}

/* Integer (at most 15 digits) or Decimal (at most 12 integer digits, 1 to
 * 3 fraction digits), optionally negative. */
static int parse_number(struct sf *s, struct sf_value *v)
{
    int neg = 0, idigits = 0, fdigits = 0, decimal = 0;
    int64_t x = 0;

    if (at(s, '-')) {
        neg = 1;
        s->p++;
    }
    if (s->p >= s->end || !is_digit(*s->p))
        return -1;
    for (; s->p < s->end; s->p++) {
        char c = *s->p;
        if (is_digit(c) && !decimal) {
            if (++idigits > 15)
                return -1;
            x = x * 10 + (c - '0');
        } else if (is_digit(c)) {
            if (++fdigits > 3)
                return -1;
        } else if (c == '.' && !decimal) {
            if (idigits > 12)
                return -1;
            decimal = 1;
        } else {
            break;
        }
    }
    if (decimal && fdigits == 0)
        return -1;
    v->type = decimal ? SF_DECIMAL : SF_INTEGER;
    v->integer = neg ? -x : x;
    return 0;
}

/* sf-string: printable ASCII between quotes, only \" and \\ escaped. */
static int parse_string(struct sf *s)
{
    for (s->p++; s->p < s->end;) {
        char c = *s->p++;
        if (c == '\\') {
            if (s->p >= s->end || (*s->p != '"' && *s->p != '\\'))
                return -1;
            s->p++;
        } else if (c == '"') {
            return 0;
        } else if (c < 0x20 || c > 0x7e) {
            return -1;
        }
    }
    return -1;
}

/* sf-token: ( ALPHA / "*" ) *( tchar / ":" / "/" ) */
static void parse_token(struct sf *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~:/";

    for (s->p++; s->p < s->end; s->p++) {
        char c = *s->p;
        if (!(is_alpha(c) || is_digit(c) || (c && strchr(extra, c))))
            break;
    }
}

/* sf-binary: ":" *base64 ":" */
static int parse_bytes(struct sf *s)
{
    for (s->p++; s->p < s->end; s->p++) {
        char c = *s->p;
        if (c == ':') {
            s->p++;
            return 0;
        }
        if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '='))
            return -1;
    }
    return -1;
}

static int parse_bare_item(struct sf *s, struct sf_value *v)
{
    char c;

    if (s->p >= s->end)
        return -1;
    c = *s->p;
    if (c == '-' || is_digit(c))
        return parse_number(s, v);
    if (c == '"') {
        v->type = SF_STRING;
        return parse_string(s);
    }
    if (c == ':') {
        v->type = SF_BYTES;
        return parse_bytes(s);
    }
    if (c == '?') {
        if (s->end - s->p < 2 || (s->p[1] != '0' && s->p[1] != '1'))
            return -1;
        v->type = SF_BOOLEAN;
        v->boolean = s->p[1] == '1';
        s->p += 2;
        return 0;
    }
    if (is_alpha(c) || c == '*') {
        v->type = SF_TOKEN;
        parse_token(s);
        return 0;
    }
    return -1;
}

/* *( ";" *SP key [ "=" bare-item ] ), ignored */
static int parse_parameters(struct sf *s)
{
    const char *k;
    size_t kn;
    struct sf_value v;

    while (at(s, ';')) {
        s->p++;
        skip_sp(s);
        if (parse_key(s, &k, &kn) < 0)
            return -1;
        if (at(s, '=')) {
            s->p++;
            if (parse_bare_item(s, &v) < 0)
                return -1;
        }
    }
    return 0;
}

/* "(" *SP [ item *( 1*SP item ) *SP ] ")" parameters */
static int parse_inner_list(struct sf *s)
{
    struct sf_value v;

    for (s->p++;;) {
        skip_sp(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == ')') {
            s->p++;
            return parse_parameters(s);
        }
        if (parse_bare_item(s, &v) < 0 || parse_parameters(s) < 0)
            return -1;
        if (!at(s, ' ') && !at(s, ')'))
            return -1;
    }
}

/* ---- members as cache directives ---- */

static const struct targeted_directive {
    const char *name;
    unsigned flag; /* 0: a delta-seconds directive at off */
    size_t off;
} directives[] = {
    {"max-age", 0, offsetof(struct cache_control, max_age)},
    {"s-maxage", 0, offsetof(struct cache_control, s_maxage)},
    {"stale-while-revalidate", 0, offsetof(struct cache_control, stale_while_revalidate)},
    {"stale-if-error", 0, offsetof(struct cache_control, stale_if_error)},
    {"no-store", CACHE_CC_NO_STORE, 0},
    {"no-cache", CACHE_CC_NO_CACHE, 0},
    {"private", CACHE_CC_PRIVATE, 0},
    {"public", CACHE_CC_PUBLIC, 0},
    {"must-revalidate", CACHE_CC_MUST_REVALIDATE, 0},
    {"proxy-revalidate", CACHE_CC_PROXY_REVALIDATE, 0},
    {"immutable", CACHE_CC_IMMUTABLE, 0},
    {"no-transform", CACHE_CC_NO_TRANSFORM, 0},
    {"must-understand", CACHE_CC_MUST_UNDERSTAND, 0},
};

/* Records member k = v; a later member of the same key replaces it. */
static void apply(struct cache_control *cc, const char *k, size_t kn, const struct sf_value *v)
{
    for (size_t i = 0; i < GH_ARRAY_LEN(directives); i++) {
        const struct targeted_directive *d = &directives[i];
        if (strlen(d->name) != kn || memcmp(d->name, k, kn) != 0)
            continue;
        if (!d->flag) {
            int64_t *slot = (int64_t *)(void *)((char *)cc + d->off);
            *slot = v->type == SF_INTEGER && v->integer >= 0 ? GH_MIN(v->integer, CACHE_DELTA_MAX)
                                                             : CACHE_UNSET;
        } else if ((v->type == SF_BOOLEAN && v->boolean) ||
                   (v->type == SF_STRING &&
                    (d->flag == CACHE_CC_NO_CACHE || d->flag == CACHE_CC_PRIVATE))) {
            cc->flags |= d->flag;
        } else {
            cc->flags &= ~d->flag;
        }
        return;
    }
}

int cache_targeted_parse_value(const char *v, size_t len, struct cache_control *cc)
{
    struct sf s = {v, v + len};
    struct sf_value val;
    const char *k;
    size_t kn;
    int members = 0;

    cache_cc_init(cc);
    skip_sp(&s);
    while (s.p < s.end) {
        if (parse_key(&s, &k, &kn) < 0)
            return 0;
        if (at(&s, '=')) {
            s.p++;
            if (at(&s, '(')) {
                if (parse_inner_list(&s) < 0)
                    return 0;
                val.type = SF_INNER;
            } else if (parse_bare_item(&s, &val) < 0 || parse_parameters(&s) < 0) {
                return 0;
            }
        } else {
            val.type = SF_BOOLEAN;
            val.boolean = 1;
            if (parse_parameters(&s) < 0)
                return 0;
        }
        apply(cc, k, kn, &val);
        members++;
        skip_ows(&s);
        if (s.p >= s.end)
            break;
        if (*s.p++ != ',')
            return 0;
        skip_ows(&s);
        if (s.p >= s.end)
            return 0; /* a trailing comma */
    }
    return members > 0;
}

int cache_targeted_parse(const struct http_head *h, const char *base, const char *const *names,
                         unsigned n, struct cache_control *cc)
{
    char joined[4096];
    struct cache_control t;

    for (unsigned k = 0; k < n; k++) {
        size_t len = 0;
        int i, over = 0;

        for (i = http1_find(h, base, names[k], 0); i >= 0;
             i = http1_find(h, base, names[k], i + 1)) {
            const struct http_field *f = &h->fields[i];
            if (!f->value.len)
                continue; /* an empty line adds nothing to the list */
            if (len + 2 + f->value.len > sizeof(joined)) {
                over = 1;
                break;
            }
            if (len) {
                memcpy(joined + len, ", ", 2);
                len += 2;
            }
            memcpy(joined + len, base + f->value.off, f->value.len);
            len += f->value.len;
        }
        if (!over && len && cache_targeted_parse_value(joined, len, &t)) {
            *cc = t;
            return (int)k;
        }
    }
    return -1;
}

int cache_meta_targeted(struct cache_meta *m, const struct http_head *h, const char *base,
                        const char *const *names, unsigned n)
{
    struct cache_control cc;

    if (!n || cache_targeted_parse(h, base, names, n, &cc) < 0)
        return 0;
    m->cc = cc;
    m->expires = CACHE_UNSET;
    return 1;
}

int cache_meta_judge(struct cache_meta *m, const struct http_head *h, const char *base,
                     int64_t request_time, int64_t response_time, const char *const *names,
                     unsigned n, enum cache_class cls)
{
    int used;

    cache_meta_parse(m, h, base, request_time, response_time);
    used = cache_meta_targeted(m, h, base, names, n);
    cache_meta_classify(m, cls);
    return used;
}
