/* hostname.c — the normal form of host names (see hostname.h).  IP literals
 * go through the C library's own parsers, so that what the filter compares
 * is exactly what connect(2) will reach. */
#include "hostname.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63

/* Whether s[0..len) is a dotted quad already in the form inet_ntop writes
 * (four decimal numbers up to 255, no leading zero): then it is its own
 * normal form, and the C library's round trip (inet_aton, inet_ntop and
 * its sprintf: 8 % of a proxied request's instructions when clients name
 * the proxy by address) is skipped.
 * Every other spelling takes the round trip. */
static int canonical_quad(const char *s, size_t len)
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        size_t start;
        unsigned v = 0;

        if (part > 0 && (i >= len || s[i++] != '.'))
            return 0;
        start = i;
        while (i < len && i - start < 3 && s[i] >= '0' && s[i] <= '9')
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return 0;
    }
    return i == len;
}

/* An IP literal in normal form, or -1 when host is none. */
static int normalize_ip(const char *host, size_t len, char *out, size_t cap)
{
    char tmp[64];
    struct in_addr a4;
    struct in6_addr a6;

    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        host++, len -= 2;
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, host, len);
    tmp[len] = '\0';
    if (memchr(tmp, ':', len)) {
        if (inet_pton(AF_INET6, tmp, &a6) != 1 || !inet_ntop(AF_INET6, &a6, out, (socklen_t)cap))
            return -1;
        return (int)strlen(out);
    }
    if (canonical_quad(tmp, len)) {
        if (cap <= len)
            return -1;
        memcpy(out, tmp, len + 1);
        return (int)len;
    }
    /* inet_aton stops at white space and ignores what follows: hand it only
     * what could be a number */
    if (strspn(tmp, "0123456789abcdefABCDEFxX.") != len || inet_aton(tmp, &a4) == 0 ||
        !inet_ntop(AF_INET, &a4, out, (socklen_t)cap))
        return -1;
    return (int)strlen(out);
}

static int name_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int hostname_normalize(const char *host, size_t len, char *out, size_t cap)
{
    size_t i, label = 0;
    int numeric = 1;
    int n;

    if (len > 0 && host[len - 1] == '.')
        len--; /* the root: one trailing dot is the same name */
    if (len == 0 || cap == 0)
        return -1;
    n = normalize_ip(host, len, out, cap);
    if (n >= 0)
        return n;
    if (len > NAME_MAX_LEN || len >= cap)
        return -1;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        if (c == '.') {
            if (label == 0)
                return -1; /* ".x", "x..y", "x.." */
            label = 0;
            numeric = 1;
        } else {
            if (!name_byte(c) || ++label > LABEL_MAX_LEN)
                return -1;
            if (c < '0' || c > '9')
                numeric = 0;
        }
        out[i] = (char)c;
    }
    if (label == 0)
        return -1;
    /* "1.2.3.999" is neither an address nor a name: top-level labels are
     * never all digits (RFC 3696 2), and resolvers disagree on such names. */
    if (numeric)
        return -1;
    out[len] = '\0';
    return (int)len;
}

/* In normal form, an address is what holds a ':' or ends in an all-digit
 * label (a name's last label never is). */
static int is_address(const char *host, size_t len)
{
    size_t i = len;

    if (memchr(host, ':', len))
        return 1;
    while (i > 0 && host[i - 1] >= '0' && host[i - 1] <= '9')
        i--;
    return i < len && (i == 0 || host[i - 1] == '.');
}

int hostname_under(const char *host, size_t len, const char *domain, size_t dlen)
{
    if (dlen > 0 && domain[0] == '.')
        domain++, dlen--;
    if (dlen == 0 || len < dlen || memcmp(host + len - dlen, domain, dlen) != 0)
        return 0;
    if (len == dlen)
        return 1;
    return host[len - dlen - 1] == '.' && !is_address(host, len);
}

char *hostname_config(const char *name)
{
    char out[HOSTNAME_MAX];
    size_t len = strlen(name);
    int n;

    if (len > 0 && name[0] == '.')
        name++, len--;
    n = hostname_normalize(name, len, out, sizeof(out));
    return n < 0 ? NULL : xstrndup(out, (size_t)n);
}
