/* proxyproto.c — the PROXY protocol, v1 and v2 (see proxyproto.h; the spec
 * is HAProxy's doc/proxy-protocol.txt).  Owns the two wire formats only:
 * reading the socket, the time allowed for a header and whether a peer may
 * send one at all are the caller's.  The parser is strict and incremental:
 * it answers "need more" only while the bytes so far can still become a
 * valid header, so a client speaking HTTP straight away is refused at once. */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NEED 0
#define BAD (-1)

/* "PROXY UNKNOWN ffff:...:ffff ffff:...:ffff 65535 65535\r\n", the longest
 * line the spec allows, CRLF included */
#define V1_MAX 107
#define V2_HEAD 16
#define V2_LOCAL 0x0
#define V2_PROXY 0x1

static const unsigned char v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                         0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- version 1: one line of text ---- */

/* Is t[0..n) the beginning of word? */
static int begins(const char *t, size_t n, const char *word)
{
    return n <= strlen(word) && memcmp(t, word, n) == 0;
}

/* Is t[0..n) a dotted quad (complete) or the beginning of one?  Four
 * decimal numbers 0-255 without leading zeros, as the spec demands. */
static int v4_text_ok(const char *t, size_t n, int complete)
{
    unsigned dots = 0, digits = 0, val = 0;

    for (size_t i = 0; i < n; i++) {
        if (t[i] == '.') {
            if (digits == 0 || ++dots > 3)
                return 0;
            digits = val = 0;
        } else if (t[i] >= '0' && t[i] <= '9') {
            if (digits == 1 && val == 0)
                return 0; /* a leading zero */
            val = val * 10 + (unsigned)(t[i] - '0');
            if (++digits > 3 || val > 255)
                return 0;
        } else {
            return 0;
        }
    }
    return !complete || (dots == 3 && digits > 0);
}

/* The beginning of an IPv6 address is checked by its alphabet and length
 * only; inet_pton judges it once its delimiter arrives. */
static int v6_text_ok(const char *t, size_t n)
{
    if (n > INET6_ADDRSTRLEN - 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') &&
            c != ':' && c != '.')
            return 0;
    }
    return 1;
}

/* Parses a complete address token into ss (family af, port left 0). */
static int v1_addr(int af, const char *t, size_t n, struct sockaddr_storage *ss)
{
    char s[INET6_ADDRSTRLEN];

    if (af == AF_INET ? !v4_text_ok(t, n, 1) : !v6_text_ok(t, n))
        return 0;
    memcpy(s, t, n);
    s[n] = '\0';
    memset(ss, 0, sizeof(*ss));
    ss->ss_family = (sa_family_t)af;
    if (af == AF_INET)
        return inet_pton(AF_INET, s, &((struct sockaddr_in *)ss)->sin_addr) == 1;
    return inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1;
}

/* Is t[0..n) a port 0-65535 without leading zeros, or the beginning of one?
 * On a complete one, stores it in *port (host order). */
static int v1_port(const char *t, size_t n, int complete, unsigned *port)
{
    unsigned val = 0;

    if (n > 5 || (n > 1 && t[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return 0;
        val = val * 10 + (unsigned)(t[i] - '0');
    }
    if (val > 65535 || (complete && n == 0))
        return 0;
    *port = val;
    return 1;
}

static void set_port(struct sockaddr_storage *ss, unsigned port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* After "PROXY UNKNOWN": anything up to the first CRLF, which must come
 * within V1_MAX bytes; a lone CR or LF is refused. */
static int v1_unknown(const char *buf, size_t pos, size_t n, int *local)
{
    for (; pos < n; pos++) {
        if (buf[pos] == '\n')
            return BAD;
        if (buf[pos] == '\r') {
            if (pos + 1 == n)
                break;
            if (buf[pos + 1] != '\n')
                return BAD;
            *local = 1;
            return (int)(pos + 2);
        }
    }
    return n < V1_MAX ? NEED : BAD;
}

enum v1_field { PROTO, SRC_ADDR, DST_ADDR, SRC_PORT, DST_PORT };

/* "PROXY TCP4|TCP6 src dst sport dport\r\n" or "PROXY UNKNOWN...\r\n".
 * Each field is a token ended by a space (the last by CR); a token still
 * open at the end of the bytes is checked as a beginning. */
static int parse_v1(const char *buf, size_t len, struct sockaddr_storage *src,
                    struct sockaddr_storage *dst, int *local)
{
    size_t n = min_size(len, V1_MAX), pos = 6, start;
    struct sockaddr_storage s, d;
    enum v1_field f = PROTO;
    unsigned port;
    int af = 0;

    if (memcmp(buf, "PROXY ", min_size(n, 6)) != 0)
        return BAD;
    if (n < 6)
        return NEED;
    for (;;) {
        const char *t = buf + pos;
        size_t tl;
        int complete;

        start = pos;
        while (pos < n && buf[pos] != ' ' && buf[pos] != '\r')
            pos++;
        tl = pos - start;
        complete = pos < n;
        switch (f) {
        case PROTO:
            if (!complete) {
                if (!begins(t, tl, "TCP4") && !begins(t, tl, "TCP6") && !begins(t, tl, "UNKNOWN"))
                    return BAD;
            } else if (tl == 4 && memcmp(t, "TCP4", 4) == 0) {
                af = AF_INET;
            } else if (tl == 4 && memcmp(t, "TCP6", 4) == 0) {
                af = AF_INET6;
            } else if (tl == 7 && memcmp(t, "UNKNOWN", 7) == 0) {
                return v1_unknown(buf, pos, n, local);
            } else {
                return BAD;
            }
            break;
        case SRC_ADDR:
        case DST_ADDR:
            if (!complete) {
                int ok = af == AF_INET ? v4_text_ok(t, tl, 0) : v6_text_ok(t, tl);
                return ok && n < V1_MAX ? NEED : BAD;
            }
            if (!v1_addr(af, t, tl, f == SRC_ADDR ? &s : &d))
                return BAD;
            break;
        case SRC_PORT:
        case DST_PORT:
            if (!v1_port(t, tl, complete, &port))
                return BAD;
            if (complete)
                set_port(f == SRC_PORT ? &s : &d, port);
            break;
        }
        if (!complete)
            return n < V1_MAX ? NEED : BAD;
        if (f != DST_PORT) {
            if (buf[pos] != ' ')
                return BAD;
            pos++;
            f++;
            continue;
        }
        if (buf[pos] != '\r')
            return BAD;
        if (pos + 1 == n)
            return n < V1_MAX ? NEED : BAD;
        if (buf[pos + 1] != '\n')
            return BAD;
        *src = s;
        *dst = d;
        *local = 0;
        return (int)(pos + 2);
    }
}

/* ---- version 2: binary ---- */

static size_t be16(const unsigned char *p)
{
    return (size_t)p[0] << 8 | p[1];
}

/* Signature, version and command, family and transport, length, then the
 * address block and TLVs.  Each byte is judged as soon as it is there. */
static int parse_v2(const unsigned char *p, size_t len, struct sockaddr_storage *src,
                    struct sockaddr_storage *dst, int *local)
{
    size_t addrlen, total, n, off;
    unsigned cmd, fam;

    if (memcmp(p, v2_sig, min_size(len, sizeof(v2_sig))) != 0)
        return BAD;
    if (len < 13)
        return NEED;
    cmd = p[12] & 0x0f;
    if (p[12] >> 4 != 2 || cmd > V2_PROXY)
        return BAD;
    if (len < 14)
        return NEED;
    fam = p[13];
    /* the combinations the spec defines; any other is refused */
    switch (fam) {
    case 0x00: addrlen = 0; break; /* UNSPEC */
    case 0x11:
    case 0x12: addrlen = 12; break; /* TCP, UDP over IPv4 */
    case 0x21:
    case 0x22: addrlen = 36; break; /* TCP, UDP over IPv6 */
    case 0x31:
    case 0x32: addrlen = 216; break; /* UNIX stream, datagram */
    default: return BAD;
    }
    if (len < V2_HEAD)
        return NEED;
    total = V2_HEAD + be16(p + 14);
    if (total > PROXYPROTO_MAX)
        return BAD;
    if (cmd == V2_PROXY && total < V2_HEAD + addrlen)
        return BAD; /* a truncated address block */
    if (cmd == V2_LOCAL || (fam != 0x11 && fam != 0x21)) {
        /* LOCAL: the block, family included, is to be skipped unread.
         * UNSPEC, UDP and UNIX are not relayed by a TCP proxy: the spec
         * lets a receiver fall back to the connection's own endpoints. */
        if (len < total)
            return NEED;
        *local = 1;
        return (int)total;
    }
    /* TLVs (type, 16-bit length, value) must tile the rest exactly */
    n = min_size(len, total);
    off = V2_HEAD + addrlen;
    while (off + 3 <= n) {
        off += 3 + be16(p + off + 1);
        if (off > total)
            return BAD;
    }
    if (len < total)
        return NEED;
    if (off != total)
        return BAD;
    memset(src, 0, sizeof(*src));
    memset(dst, 0, sizeof(*dst));
    if (fam == 0x11) {
        struct sockaddr_in *s = (struct sockaddr_in *)src, *d = (struct sockaddr_in *)dst;
        s->sin_family = d->sin_family = AF_INET;
        memcpy(&s->sin_addr, p + 16, 4);
        memcpy(&d->sin_addr, p + 20, 4);
        memcpy(&s->sin_port, p + 24, 2);
        memcpy(&d->sin_port, p + 26, 2);
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)src, *d = (struct sockaddr_in6 *)dst;
        s->sin6_family = d->sin6_family = AF_INET6;
        memcpy(&s->sin6_addr, p + 16, 16);
        memcpy(&d->sin6_addr, p + 32, 16);
        memcpy(&s->sin6_port, p + 48, 2);
        memcpy(&d->sin6_port, p + 50, 2);
    }
    *local = 0;
    return (int)total;
}

int proxyproto_parse(const char *buf, size_t len, struct sockaddr_storage *src,
                     struct sockaddr_storage *dst, int *local)
{
    if (len == 0)
        return NEED;
    if (buf[0] == 'P')
        return parse_v1(buf, len, src, dst, local);
    if (buf[0] == '\r')
        return parse_v2((const unsigned char *)buf, len, src, dst, local);
    return BAD;
}

/* ---- writing ---- */

static int is_inet(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET || ss->ss_family == AF_INET6;
}

/* AF_INET, or AF_INET6 carrying ::ffff:a.b.c.d */
static int is_v4(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ||
           IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* The IPv4 address (4 bytes) and port of an is_v4() address, network order. */
static void get_v4(const struct sockaddr_storage *ss, unsigned char a[4], unsigned char port[2])
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        memcpy(a, &s->sin_addr, 4);
        memcpy(port, &s->sin_port, 2);
    } else {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        memcpy(a, s->sin6_addr.s6_addr + 12, 4);
        memcpy(port, &s->sin6_port, 2);
    }
}

/* The IPv6 address (16 bytes, IPv4 mapped) and port, network order. */
static void get_v6(const struct sockaddr_storage *ss, unsigned char a[16], unsigned char port[2])
{
    if (ss->ss_family == AF_INET) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(a, mapped, 12);
        get_v4(ss, a + 12, port);
    } else {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        memcpy(a, &s->sin6_addr, 16);
        memcpy(port, &s->sin6_port, 2);
    }
}

size_t proxyproto_write(int version, const struct sockaddr_storage *src,
                        const struct sockaddr_storage *dst, char *out, size_t cap)
{
    /* addresses: 4 or 16 bytes each, then the two ports, as v2 lays them out */
    unsigned char blk[36];
    size_t alen = 0, total;
    int v = 0; /* 4, 6, or 0 when not announced */

    if (src && dst && is_inet(src) && is_inet(dst)) {
        v = is_v4(src) && is_v4(dst) ? 4 : 6;
        if (v == 4) {
            get_v4(src, blk, blk + 8);
            get_v4(dst, blk + 4, blk + 10);
            alen = 12;
        } else {
            get_v6(src, blk, blk + 32);
            get_v6(dst, blk + 16, blk + 34);
            alen = 36;
        }
    }
    if (version == 1) {
        char line[PROXYPROTO_WRITE_MAX], s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
        int af = v == 4 ? AF_INET : AF_INET6;
        int n;

        if (!v) {
            n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
        } else {
            const unsigned char *ports = blk + (v == 4 ? 8 : 32);
            inet_ntop(af, blk, s, sizeof(s));
            inet_ntop(af, blk + (v == 4 ? 4 : 16), d, sizeof(d));
            n = snprintf(line, sizeof(line), "PROXY TCP%d %s %s %zu %zu\r\n", v, s, d, be16(ports),
                         be16(ports + 2));
        }
        if (n < 0 || (size_t)n >= sizeof(line) || (size_t)n > cap)
            return 0;
        memcpy(out, line, (size_t)n);
        return (size_t)n;
    }
    if (version != 2)
        return 0;
    total = V2_HEAD + alen;
    if (total > cap)
        return 0;
    memcpy(out, v2_sig, sizeof(v2_sig));
    /* no addresses at all: the proxy's own connection (LOCAL); addresses of
     * another family: relayed, but unspecified */
    out[12] = (char)(0x20 | (src && dst ? V2_PROXY : V2_LOCAL));
    out[13] = (char)(v == 4 ? 0x11 : v == 6 ? 0x21 : 0x00);
    out[14] = (char)(alen >> 8);
    out[15] = (char)(alen & 0xff);
    memcpy(out + V2_HEAD, blk, alen);
    return total;
}
