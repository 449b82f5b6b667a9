/* login.c — the captive login (see login.h): the table of logins, and the
 * answers an intercepted client gets before and while it logs in. */
#include "login.h"
#include "auth.h"
#include "auth_delay.h"
#include "exchange.h"
#include "log.h"
#include "policy.h"
#include "util.h"

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#define PROBE 16 /* slots looked at from an address's hash */

struct login {
    unsigned char addr[16]; /* IPv6, or IPv4-mapped */
    time_t until;           /* 0: a free slot */
    char user[64];
};

static struct login table[LOGIN_MAX];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The 16-byte form of an address (IPv4 as ::ffff:a.b.c.d). */
static void key_of(const struct sockaddr_storage *a, unsigned char k[16])
{
    memset(k, 0, 16);
    if (a->ss_family == AF_INET6) {
        memcpy(k, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
    } else {
        k[10] = k[11] = 0xff;
        memcpy(k + 12, &((const struct sockaddr_in *)a)->sin_addr, 4);
    }
}

static unsigned slot_of(const unsigned char k[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (int i = 0; i < 16; i++)
        h = (h ^ k[i]) * 16777619u;
    return h % LOGIN_MAX;
}

void login_record(const struct sockaddr_storage *addr, const char *user, time_t now, uint32_t ttl)
{
    unsigned char k[16];
    unsigned s, best;

    key_of(addr, k);
    s = best = slot_of(k);
    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < PROBE; i++) {
        unsigned j = (s + i) % LOGIN_MAX;
        if (table[j].until && table[j].until > now && memcmp(table[j].addr, k, 16) != 0) {
            if (table[best].until > now && table[j].until < table[best].until)
                best = j; /* the soonest to expire, if no slot is free */
            continue;
        }
        best = j; /* this address's own slot, or a free or expired one */
        break;
    }
    memcpy(table[best].addr, k, 16);
    table[best].until = now + (time_t)ttl;
    gh_fmt(table[best].user, sizeof(table[best].user), "%s", user);
    pthread_mutex_unlock(&lock);
}

int login_find(const struct sockaddr_storage *addr, time_t now, char *user, size_t cap)
{
    unsigned char k[16];
    unsigned s;
    int found = 0;

    key_of(addr, k);
    s = slot_of(k);
    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < PROBE && !found; i++) {
        struct login *l = &table[(s + i) % LOGIN_MAX];
        if (l->until > now && memcmp(l->addr, k, 16) == 0) {
            gh_fmt(user, cap, "%s", l->user);
            found = 1;
        }
    }
    pthread_mutex_unlock(&lock);
    return found;
}

void login_forget_all(void)
{
    pthread_mutex_lock(&lock);
    memset(table, 0, sizeof(table));
    pthread_mutex_unlock(&lock);
}

/* ---- the answers ---- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The page to go back to after the login: the `url` parameter of the
 * query, percent-decoded, when it is an http:// URL of printable bytes
 * that cannot break out of a Location field or an attribute; else "". */
static void back_to(const char *q, size_t n, char *out, size_t cap)
{
    const char *v = NULL, *vend = NULL, *end = q + n, *p = q;
    size_t o = 0;

    out[0] = '\0';
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *e = amp ? amp : end;
        if (e - p > 4 && memcmp(p, "url=", 4) == 0) {
            v = p + 4;
            vend = e;
            break;
        }
        p = amp ? amp + 1 : end;
    }
    for (; v && v < vend && o + 1 < cap; v++) {
        char c = *v;
        if (c == '%' && vend - v > 2 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
            c = (char)(hexval(v[1]) * 16 + hexval(v[2]));
            v += 2;
        }
        if ((unsigned char)c <= 0x20 || (unsigned char)c >= 0x7f || c == '"' || c == '<' ||
            c == '>' || c == '\\')
            return;
        out[o++] = c;
    }
    out[o] = '\0';
    if (strncmp(out, "http://", 7) != 0)
        out[0] = '\0';
}

/* LOGIN_PATH: 401 until the credentials are good (failures held back as
 * proxy authentication's are), then the login is recorded and the client
 * sent back (302), or told (200). */
static void log_in(struct exchange *ex, const struct policy *p, const char *query, size_t qlen)
{
    const struct http_head *r = exchange_request(ex);
    int i = http1_find(r, exchange_base(ex), "authorization", 0);
    char user[64], extra[2400], back[2048], page[512], why[200];
    struct auth_delay_counts n;
    enum auth_result rc = AUTH_BAD;
    uint32_t hold;
    size_t len;

    if (i >= 0)
        rc = auth_check(p->users, exchange_str(ex, r->fields[i].value), r->fields[i].value.len,
                        user, sizeof(user), why, sizeof(why));
    if (rc == AUTH_PENDING) { /* the directory is asked: decided again later */
        exchange_queue(ex, auth_wait_ms(p->users));
        return;
    }
    if (rc == AUTH_OK) {
        auth_delay_succeeded(exchange_client(ex), user);
        login_record(exchange_client(ex), user, time(NULL), p->login_ttl);
        exchange_set_user(ex, user);
        log_info("captive login: %s is user \"%s\" for %u s", exchange_client_text(ex), user,
                 p->login_ttl);
        back_to(query, qlen, back, sizeof(back));
        len = gh_fmt(page, sizeof(page), "logged in for %u seconds\n", p->login_ttl);
        if (back[0]) {
            gh_fmt(extra, sizeof(extra), "Location: %s\r\nCache-Control: no-store\r\n", back);
            exchange_respond(ex, 302, "text/plain; charset=utf-8", extra, page, len);
        } else {
            exchange_respond(ex, 200, "text/plain; charset=utf-8", "Cache-Control: no-store\r\n",
                             page, len);
        }
        return;
    }
    gh_fmt(extra, sizeof(extra), "WWW-Authenticate: Basic realm=\"%s\", charset=\"UTF-8\"\r\n",
           p->realm);
    exchange_respond(ex, 401, "text/plain; charset=utf-8", extra, "log in to use the network\n",
                     26);
    if (rc == AUTH_DOWN) { /* fails closed; not the user's failure */
        exchange_error_reason(ex, "captive login: directory unavailable");
        log_warn("captive login of %s refused: directory unavailable (%s)",
                 exchange_client_text(ex), why);
        return;
    }
    exchange_error_reason(ex, i < 0 ? "captive login: credentials asked for"
                                    : "captive login failed");
    if (i >= 0 && (hold = auth_delay_failed(exchange_client(ex), user, &n)) != 0)
        exchange_delay(ex, hold);
}

/* Writes s percent-encoded for a query value. */
static size_t encode(char *out, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return o;
}

/* 511 (RFC 6585): the page that links to the login, and back. */
static void login_page(struct exchange *ex, const char *host)
{
    const struct http_head *r = exchange_request(ex);
    char url[2300], enc[7000], page[8192];
    size_t n;

    n = gh_fmt(url, sizeof(url), "http://%s%.*s", host, (int)GH_MIN(r->target.len, 2048u),
               exchange_str(ex, r->target));
    encode(enc, sizeof(enc), url, n);
    n = gh_fmt(page, sizeof(page),
               "<!DOCTYPE html>\n<html><head><title>Log in</title></head>\n"
               "<body><h1>Log in to use the network</h1>\n"
               "<p><a href=\"http://%s" LOGIN_PATH "?url=%s\">Log in</a></p>\n"
               "<hr><p>gatehouse</p></body></html>\n",
               host, enc);
    exchange_respond(ex, 511, "text/html; charset=utf-8", "Cache-Control: no-store\r\n", page, n);
    exchange_error_reason(ex, "captive login: not logged in");
}

int login_gate(struct exchange *ex, const struct policy *p, int tls, const char *host)
{
    const struct http_head *r = exchange_request(ex);
    const char *t = exchange_str(ex, r->target), *q;
    char user[64];
    size_t plen = sizeof(LOGIN_PATH) - 1;

    if (!tls && r->target.len >= plen && memcmp(t, LOGIN_PATH, plen) == 0 &&
        (r->target.len == plen || t[plen] == '?')) {
        q = r->target.len > plen ? t + plen + 1 : t + plen;
        log_in(ex, p, q, r->target.len > plen ? r->target.len - plen - 1 : 0);
        return 0;
    }
    if (login_find(exchange_client(ex), time(NULL), user, sizeof(user))) {
        exchange_set_user(ex, user);
        return 1;
    }
    if (tls) {
        exchange_set_filter(ex, "refuse-tunnel:login");
        exchange_error(ex, 403, "captive login: not logged in (log in over http first)");
    } else {
        login_page(ex, host);
    }
    return 0;
}
