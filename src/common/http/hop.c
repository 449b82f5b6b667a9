/* hop.c — the loop mark and the fields no client passes upstream (see
 * hop.h).  Owns the process's mark; the request-head writer (exchange.c)
 * applies the rules, and preflight answers a looped request. */
#include "hop.h"
#include "log.h"
#include "util.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

static char token[33];
static pthread_once_t token_once = PTHREAD_ONCE_INIT;

static void draw_token(void)
{
    unsigned char r[16];
    static const char hex[] = "0123456789abcdef";

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r) && RAND_bytes(r, (int)sizeof(r)) != 1)
        log_fatal("cannot draw the loop mark: no random bytes");
    for (size_t i = 0; i < sizeof(r); i++) {
        token[2 * i] = hex[r[i] >> 4];
        token[2 * i + 1] = hex[r[i] & 15];
    }
    token[32] = '\0';
}

const char *hop_token(void)
{
    pthread_once(&token_once, draw_token);
    return token;
}

/* name[0..len) equals lit (lower case, '-' for '-' or '_'). */
static int same_name(const char *name, size_t len, const char *lit)
{
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + ('a' - 'A'));
        else if (c == '_')
            c = '-';
        if (c != lit[i])
            return 0;
    }
    return lit[len] == '\0';
}

int hop_is_mark(const char *name, size_t len)
{
    return len == 13 && same_name(name, len, "gatehouse-hop");
}

int hop_dropped(const char *name, size_t len)
{
    /* by length first: this runs for every field of every request */
    switch (len) {
    case 13: return same_name(name, len, "gatehouse-hop") || same_name(name, len, "x-rewrite-url");
    case 14: return same_name(name, len, "x-original-url");
    default: return 0;
    }
}

int hop_looped(const struct http_head *h, const char *base)
{
    const char *mine = NULL;

    for (unsigned i = 0; i < h->nfields; i++) {
        const struct http_field *f = &h->fields[i];
        const char *v = base + f->value.off, *end = v + f->value.len;
        if (!hop_is_mark(base + f->name.off, f->name.len))
            continue;
        if (!mine)
            mine = hop_token();
        while (v < end) {
            const char *comma = memchr(v, ',', (size_t)(end - v)), *e;
            if (!comma)
                comma = end;
            e = comma;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (e - v == 32 && memcmp(v, mine, 32) == 0)
                return 1;
            v = comma + 1;
        }
    }
    return 0;
}
