/* check_proxyproto.c — PROXY protocol headers, v1 and v2: what we write
 * parses back to the same addresses; valid headers from the spec's examples
 * and limits parse; invalid ones are refused at the first byte that rules
 * them out, never reported as "need more" after it.  Every input is fed
 * whole and cut at every byte. */
#include "proxyproto.h"
#include "suites.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#define SIG "\r\n\r\n\0\r\nQUIT\n" /* the v2 signature, 12 bytes */
#define B(s) s, sizeof(s) - 1      /* a literal's bytes and length, NULs included */
#define AT(s) (sizeof(s) - 1)      /* the shortest prefix that must be refused */

static struct sockaddr_storage addr(const char *ip, unsigned port)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
    }
    return ss;
}

/* Asserts ss holds ip:port, with a message naming both. */
static void assert_addr(const struct sockaddr_storage *ss, const char *ip, unsigned port)
{
    struct sockaddr_storage want = addr(ip, port);
    char got[INET6_ADDRSTRLEN] = "?";
    unsigned gport = 0;

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, got, sizeof(got));
        gport = ntohs(s->sin_port);
        ck_assert_msg(want.ss_family == AF_INET &&
                          memcmp(&s->sin_addr, &((struct sockaddr_in *)&want)->sin_addr, 4) == 0 &&
                          gport == port,
                      "got %s:%u, want %s:%u", got, gport, ip, port);
    } else {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        ck_assert_int_eq(ss->ss_family, AF_INET6);
        inet_ntop(AF_INET6, &s->sin6_addr, got, sizeof(got));
        gport = ntohs(s->sin6_port);
        ck_assert_msg(want.ss_family == AF_INET6 &&
                          memcmp(&s->sin6_addr, &((struct sockaddr_in6 *)&want)->sin6_addr, 16) ==
                              0 &&
                          gport == port,
                      "got [%s]:%u, want [%s]:%u", got, gport, ip, port);
    }
}

/* Every proper prefix of a complete header asks for more. */
static void assert_prefixes_need_more(const char *buf, size_t hdr_len, const char *name)
{
    struct sockaddr_storage s, d;
    int local;

    for (size_t k = 0; k < hdr_len; k++)
        ck_assert_msg(proxyproto_parse(buf, k, &s, &d, &local) == 0,
                      "%s: prefix of %zu bytes not 'need more'", name, k);
}

/* ---- write, then parse ---- */

static const struct {
    const char *src;
    unsigned sport;
    const char *dst;
    unsigned dport;
} pairs[] = {
    {"192.168.0.1", 56324, "192.168.0.11", 443},
    {"255.255.255.255", 65535, "0.0.0.0", 0},
    {"2001:db8::1", 40000, "2001:db8:1::2", 8443},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, "::1", 1},
};

START_TEST(round_trip)
{
    int version = _i / (int)(sizeof(pairs) / sizeof(pairs[0])) + 1;
    int p = _i % (int)(sizeof(pairs) / sizeof(pairs[0]));
    struct sockaddr_storage src = addr(pairs[p].src, pairs[p].sport);
    struct sockaddr_storage dst = addr(pairs[p].dst, pairs[p].dport);
    struct sockaddr_storage s, d;
    char buf[PROXYPROTO_WRITE_MAX + 32];
    size_t n = proxyproto_write(version, &src, &dst, buf, PROXYPROTO_WRITE_MAX);
    int local = -1;

    ck_assert_uint_gt(n, 0);
    ck_assert_uint_le(n, PROXYPROTO_WRITE_MAX);
    if (version == 1)
        ck_assert_int_eq(memcmp(buf, "PROXY TCP", 9), 0);
    else
        ck_assert_int_eq(memcmp(buf, SIG, 12), 0);
    ck_assert_int_eq(proxyproto_parse(buf, n, &s, &d, &local), (int)n);
    ck_assert_int_eq(local, 0);
    assert_addr(&s, pairs[p].src, pairs[p].sport);
    assert_addr(&d, pairs[p].dst, pairs[p].dport);
    /* the client's first bytes after the header are not part of it */
    memcpy(buf + n, "GET / HTTP/1.1\r\n", 16);
    ck_assert_int_eq(proxyproto_parse(buf, n + 16, &s, &d, &local), (int)n);
    assert_prefixes_need_more(buf, n, pairs[p].src);
}
END_TEST

START_TEST(written_bytes)
{
    struct sockaddr_storage src = addr("192.168.0.1", 56324), dst = addr("192.168.0.11", 443);
    static const char v2[] = SIG "\x21\x11\x00\x0c"
                                 "\xc0\xa8\x00\x01"
                                 "\xc0\xa8\x00\x0b"
                                 "\xdc\x04\x01\xbb";
    const char *v1 = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
    char buf[PROXYPROTO_WRITE_MAX];
    size_t n;

    /* the spec's own example line */
    n = proxyproto_write(1, &src, &dst, buf, sizeof(buf));
    ck_assert_uint_eq(n, strlen(v1));
    ck_assert_int_eq(memcmp(buf, v1, n), 0);
    n = proxyproto_write(2, &src, &dst, buf, sizeof(buf));
    ck_assert_uint_eq(n, sizeof(v2) - 1);
    ck_assert_int_eq(memcmp(buf, v2, n), 0);
    /* too small a buffer, an unknown version */
    ck_assert_uint_eq(proxyproto_write(1, &src, &dst, buf, strlen(v1) - 1), 0);
    ck_assert_uint_eq(proxyproto_write(1, &src, &dst, buf, strlen(v1)), strlen(v1));
    ck_assert_uint_eq(proxyproto_write(2, &src, &dst, buf, 27), 0);
    ck_assert_uint_eq(proxyproto_write(3, &src, &dst, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(mixed_and_mapped_families)
{
    struct sockaddr_storage v4 = addr("192.0.2.1", 1000), v6 = addr("2001:db8::2", 443);
    struct sockaddr_storage m1 = addr("::ffff:192.0.2.1", 1000), m2 = addr("::ffff:192.0.2.9", 80);
    struct sockaddr_storage s, d;
    char buf[PROXYPROTO_WRITE_MAX];
    size_t n;
    int local;

    /* a dual-stack listener's IPv4 client, seen as ::ffff:a.b.c.d */
    n = proxyproto_write(1, &m1, &m2, buf, sizeof(buf));
    ck_assert_str_eq((buf[n] = '\0', buf), "PROXY TCP4 192.0.2.1 192.0.2.9 1000 80\r\n");
    n = proxyproto_write(2, &m1, &m2, buf, sizeof(buf));
    ck_assert_uint_eq(n, 28);
    ck_assert_int_eq(proxyproto_parse(buf, n, &s, &d, &local), 28);
    assert_addr(&s, "192.0.2.1", 1000);
    /* IPv4 to IPv6: both sent as IPv6 */
    n = proxyproto_write(1, &v4, &v6, buf, sizeof(buf));
    ck_assert_str_eq((buf[n] = '\0', buf), "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1000 443\r\n");
    ck_assert_int_eq(proxyproto_parse(buf, n, &s, &d, &local), (int)n);
    assert_addr(&s, "::ffff:192.0.2.1", 1000);
    assert_addr(&d, "2001:db8::2", 443);
    n = proxyproto_write(2, &v4, &v6, buf, sizeof(buf));
    ck_assert_uint_eq(n, 52);
    ck_assert_int_eq(proxyproto_parse(buf, n, &s, &d, &local), 52);
    assert_addr(&s, "::ffff:192.0.2.1", 1000);
}
END_TEST

START_TEST(local_and_unknown_written)
{
    struct sockaddr_storage v4 = addr("192.0.2.1", 1000), un;
    struct sockaddr_storage s, d;
    char buf[PROXYPROTO_WRITE_MAX];
    size_t n;
    int local = 0;

    memset(&un, 0, sizeof(un));
    un.ss_family = AF_UNIX;
    n = proxyproto_write(1, NULL, NULL, buf, sizeof(buf));
    ck_assert_str_eq((buf[n] = '\0', buf), "PROXY UNKNOWN\r\n");
    n = proxyproto_write(1, &un, &v4, buf, sizeof(buf));
    ck_assert_str_eq((buf[n] = '\0', buf), "PROXY UNKNOWN\r\n");
    ck_assert_int_eq(proxyproto_parse(buf, n, &s, &d, &local), 15);
    ck_assert_int_eq(local, 1);
    /* v2: LOCAL for the proxy's own connection, PROXY/UNSPEC for others */
    n = proxyproto_write(2, NULL, NULL, buf, sizeof(buf));
    ck_assert_uint_eq(n, 16);
    ck_assert_int_eq(memcmp(buf, SIG "\x20\x00\x00\x00", 16), 0);
    local = 0;
    ck_assert_int_eq(proxyproto_parse(buf, n, &s, &d, &local), 16);
    ck_assert_int_eq(local, 1);
    n = proxyproto_write(2, &un, &v4, buf, sizeof(buf));
    ck_assert_int_eq(memcmp(buf, SIG "\x21\x00\x00\x00", 16), 0);
}
END_TEST

/* ---- valid headers as others send them ---- */

static const struct {
    const char *name, *bytes;
    size_t len;
    int hdr_len, local;
    const char *src;
    unsigned sport;
    const char *dst;
    unsigned dport;
} valid[] = {
    {"v1 spec example", B("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"), 47, 0,
     "192.168.0.1", 56324, "192.168.0.11", 443},
    {"v1 longest TCP4", B("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"), 56, 0,
     "255.255.255.255", 65535, "255.255.255.255", 65535},
    {"v1 zeros", B("PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n"), 33, 0, "0.0.0.0", 0, "10.0.0.1", 0},
    {"v1 longest TCP6",
     B("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF "
       "65535 65535\r\n"),
     104, 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535},
    {"v1 TCP6 short", B("PROXY TCP6 ::1 2001:db8::5 1 22\r\n"), 33, 0, "::1", 1, "2001:db8::5", 22},
    {"v1 UNKNOWN", B("PROXY UNKNOWN\r\n"), 15, 1, NULL, 0, NULL, 0},
    {"v1 UNKNOWN 107 bytes",
     B("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
       "65535 65535\r\n"),
     107, 1, NULL, 0, NULL, 0},
    {"v2 TCP4",
     B(SIG "\x21\x11\x00\x0c"
           "\x7f\x00\x00\x01"
           "\x0a\x00\x00\x02"
           "\x9c\x40\x00\x50"),
     28, 0, "127.0.0.1", 40000, "10.0.0.2", 80},
    {"v2 TCP6",
     B(SIG "\x21\x21\x00\x24"
           "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
           "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02"
           "\x9c\x40\x01\xbb"),
     52, 0, "2001:db8::1", 40000, "2001:db8::2", 443},
    {"v2 TCP4 with TLVs",
     B(SIG "\x21\x11\x00\x18"
           "\x7f\x00\x00\x01"
           "\x0a\x00\x00\x02"
           "\x9c\x40\x00\x50"
           "\x01\x00\x02h2"  /* ALPN */
           "\x04\x00\x00"    /* NOOP, empty */
           "\xe0\x00\x01X"), /* custom */
     40, 0, "127.0.0.1", 40000, "10.0.0.2", 80},
    {"v2 LOCAL", B(SIG "\x20\x00\x00\x00"), 16, 1, NULL, 0, NULL, 0},
    /* receivers "must not assume zero is presented for LOCAL" */
    {"v2 LOCAL with addresses",
     B(SIG "\x20\x11\x00\x0c"
           "\x7f\x00\x00\x01"
           "\x0a\x00\x00\x02"
           "\x9c\x40\x00\x50"),
     28, 1, NULL, 0, NULL, 0},
    {"v2 PROXY UNSPEC", B(SIG "\x21\x00\x00\x00"), 16, 1, NULL, 0, NULL, 0},
    {"v2 PROXY UDP4",
     B(SIG "\x21\x12\x00\x0c"
           "\x7f\x00\x00\x01"
           "\x0a\x00\x00\x02"
           "\x9c\x40\x00\x35"),
     28, 1, NULL, 0, NULL, 0},
};

START_TEST(valid_headers)
{
    struct sockaddr_storage s, d, untouched;
    char buf[PROXYPROTO_MAX + 32];
    size_t len = valid[_i].len;
    int local = -1;

    ck_assert_uint_le(len + 16, sizeof(buf));
    memcpy(buf, valid[_i].bytes, len);
    memcpy(buf + len, "GET / HTTP/1.1\r\n", 16);
    memset(&s, 0xab, sizeof(s));
    memset(&d, 0xab, sizeof(d));
    memset(&untouched, 0xab, sizeof(untouched));
    ck_assert_msg(proxyproto_parse(buf, len, &s, &d, &local) == valid[_i].hdr_len, "%s",
                  valid[_i].name);
    ck_assert_int_eq(proxyproto_parse(buf, len + 16, &s, &d, &local), valid[_i].hdr_len);
    ck_assert_int_eq(local, valid[_i].local);
    if (valid[_i].local) {
        ck_assert_int_eq(memcmp(&s, &untouched, sizeof(s)), 0);
        ck_assert_int_eq(memcmp(&d, &untouched, sizeof(d)), 0);
    } else {
        assert_addr(&s, valid[_i].src, valid[_i].sport);
        assert_addr(&d, valid[_i].dst, valid[_i].dport);
    }
    assert_prefixes_need_more(buf, len, valid[_i].name);
}
END_TEST

/* ---- invalid headers: refused from the first byte that rules them out ---- */

#define V1A "PROXY TCP4 1.2.3.4 5.6.7.8 "
#define V4H SIG "\x21\x11\x00\x0c"

static const struct {
    const char *name, *bytes;
    size_t len, bad_at;
} invalid[] = {
    {"HTTP", B("GET / HTTP/1.1\r\n"), 1},
    {"TLS", B("\x16\x03\x01\x02\x00"), 1},
    {"lower case", B("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), 1},
    {"no space", B("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n"), AT("PROXYT")},
    {"bad protocol", B("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), AT("PROXY TCP5")},
    {"UDP4", B("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), AT("PROXY UD")},
    {"two spaces", B("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), AT("PROXY  ")},
    {"UNKNOWN glued", B("PROXY UNKNOWNX\r\n"), AT("PROXY UNKNOWNX")},
    /* found by fuzz_proxyproto: a complete prefix of UNKNOWN taken for a family */
    {"UNKNOWN cut short", B("PROXY UNKN :: :: 1 0\r\n"), AT("PROXY UNKN ")},
    {"TCP cut short", B("PROXY TCP 1.2.3.4 5.6.7.8 1 2\r\n"), AT("PROXY TCP ")},
    {"empty protocol", B("PROXY \r\n"), AT("PROXY \r")},
    {"TCP4 then CR", B("PROXY TCP4\r\n"), AT("PROXY TCP4\r")},
    {"leading zero in address", B("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"), AT("PROXY TCP4 01")},
    {"octet 256", B("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), AT("PROXY TCP4 1.2.3.256")},
    {"five octets", B("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"), AT("PROXY TCP4 1.2.3.4.")},
    {"three octets", B("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), AT("PROXY TCP4 1.2.3 ")},
    {"IPv6 in TCP4", B("PROXY TCP4 ::1 ::1 1 2\r\n"), AT("PROXY TCP4 :")},
    {"IPv4 in TCP6", B("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"), AT("PROXY TCP6 1.2.3.4 ")},
    {"bad IPv6", B("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n"),
     AT("PROXY TCP6 1:2:3:4:5:6:7:8:9 ")},
    {"IPv6 not hex", B("PROXY TCP6 fe80::g ::1 1 2\r\n"), AT("PROXY TCP6 fe80::g")},
    {"IPv6 zone", B("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), AT("PROXY TCP6 fe80::1%")},
    {"port 65536", B(V1A "65536 80\r\n"), AT(V1A "65536")},
    {"port of six digits", B(V1A "100000 80\r\n"), AT(V1A "100000")},
    {"port with leading zero", B(V1A "080 80\r\n"), AT(V1A "08")},
    {"port 00", B(V1A "1 00\r\n"), AT(V1A "1 00")},
    {"negative port", B(V1A "-1 80\r\n"), AT(V1A "-")},
    {"empty port", B(V1A " 80\r\n"), AT(V1A " ")},
    {"missing port", B(V1A "1\r\n"), AT(V1A "1\r")},
    {"extra field", B(V1A "1 2 3\r\n"), AT(V1A "1 2 ")},
    {"LF without CR", B(V1A "1 2\n"), AT(V1A "1 2\n")},
    {"CR without LF", B(V1A "1 2\rGET"), AT(V1A "1 2\rG")},
    {"missing CRLF", B(V1A "1 2GET / HTTP/1.1\r\n"), AT(V1A "1 2G")},
    {"UNKNOWN with LF", B("PROXY UNKNOWN\n"), AT("PROXY UNKNOWN\n")},
    {"UNKNOWN then bare LF", B("PROXY UNKNOWN x\nGET / HTTP/1.1\r\n"), AT("PROXY UNKNOWN x\n")},
    {"UNKNOWN lone CR", B("PROXY UNKNOWN 1.2.3.4\r1.2.3.4\r\n"), AT("PROXY UNKNOWN 1.2.3.4\r1")},
    {"v1 longer than 107",
     B("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
       "65535 655355\r\n"),
     107},
    /* inet_pton takes these 45-character addresses, the spec's 107 bytes do not */
    {"v1 TCP6 longer than 107",
     B("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 "
       "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 65535 65535\r\n"),
     107},
    {"v2 bad signature", B("\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x0c"), AT("\r\n\r\n\0\r\nQUIX")},
    {"v2 version 1", B(SIG "\x11\x11\x00\x00"), 13},
    {"v2 version 3", B(SIG "\x31\x11\x00\x00"), 13},
    {"v2 command 2", B(SIG "\x22\x11\x00\x00"), 13},
    {"v2 family 4", B(SIG "\x21\x41\x00\x0c"), 14},
    {"v2 transport 3", B(SIG "\x21\x13\x00\x0c"), 14},
    {"v2 LOCAL family 5", B(SIG "\x20\x51\x00\x00"), 14},
    {"v2 truncated IPv4 block",
     B(SIG "\x21\x11\x00\x08"
           "\x7f\x00\x00\x01\x0a\x00\x00\x02"),
     16},
    {"v2 truncated IPv6 block",
     B(SIG "\x21\x21\x00\x0c"
           "0123456789ab"),
     16},
    {"v2 truncated UNIX block",
     B(SIG "\x21\x31\x00\x0c"
           "0123456789ab"),
     16},
    {"v2 length past PROXYPROTO_MAX", B(SIG "\x21\x11\x02\x09"), 16},
    {"v2 length 65535", B(SIG "\x20\x00\xff\xff"), 16},
    {"v2 TLV past the block",
     B(SIG "\x21\x11\x00\x11"
           "\x7f\x00\x00\x01\x0a\x00\x00\x02\x9c\x40\x00\x50"
           "\x01\x00\x05h2"),
     31},
    {"v2 stray bytes after TLVs",
     B(SIG "\x21\x11\x00\x0e"
           "\x7f\x00\x00\x01\x0a\x00\x00\x02\x9c\x40\x00\x50"
           "\x01\x00"),
     30},
};

START_TEST(invalid_headers)
{
    struct sockaddr_storage s, d;
    int local;

    ck_assert_uint_le(invalid[_i].bad_at, invalid[_i].len);
    for (size_t k = 0; k <= invalid[_i].len; k++) {
        int want = k < invalid[_i].bad_at ? 0 : -1;
        int rc = proxyproto_parse(invalid[_i].bytes, k, &s, &d, &local);
        ck_assert_msg(rc == want, "%s: %d for %zu bytes, want %d", invalid[_i].name, rc, k, want);
    }
}
END_TEST

/* A v2 header announcing more than PROXYPROTO_MAX is refused; exactly the
 * bound is accepted (IPv4 addresses and one large NOOP TLV). */
START_TEST(v2_length_bound)
{
    char buf[PROXYPROTO_MAX + 1];
    size_t tlv = PROXYPROTO_MAX - 28 - 3;
    struct sockaddr_storage s, d;
    int local;

    memset(buf, 'x', sizeof(buf));
    memcpy(buf, B(V4H "\x7f\x00\x00\x01\x0a\x00\x00\x02\x9c\x40\x00\x50"));
    buf[14] = (char)((PROXYPROTO_MAX - 16) >> 8);
    buf[15] = (char)((PROXYPROTO_MAX - 16) & 0xff);
    buf[28] = 0x04;
    buf[29] = (char)(tlv >> 8);
    buf[30] = (char)(tlv & 0xff);
    ck_assert_int_eq(proxyproto_parse(buf, PROXYPROTO_MAX, &s, &d, &local), PROXYPROTO_MAX);
    assert_addr(&s, "127.0.0.1", 40000);
    ck_assert_int_eq(proxyproto_parse(buf, PROXYPROTO_MAX - 1, &s, &d, &local), 0);
    buf[15]++;
    buf[30]++;
    ck_assert_int_eq(proxyproto_parse(buf, 16, &s, &d, &local), -1);
}
END_TEST

Suite *proxyproto_suite(void)
{
    Suite *s = suite_create("proxyproto");
    TCase *tc = tcase_create("write");
    int npairs = (int)(sizeof(pairs) / sizeof(pairs[0]));

    tcase_add_loop_test(tc, round_trip, 0, 2 * npairs);
    tcase_add_test(tc, written_bytes);
    tcase_add_test(tc, mixed_and_mapped_families);
    tcase_add_test(tc, local_and_unknown_written);
    suite_add_tcase(s, tc);
    tc = tcase_create("parse");
    tcase_add_loop_test(tc, valid_headers, 0, (int)(sizeof(valid) / sizeof(valid[0])));
    tcase_add_loop_test(tc, invalid_headers, 0, (int)(sizeof(invalid) / sizeof(invalid[0])));
    tcase_add_test(tc, v2_length_bound);
    suite_add_tcase(s, tc);
    return s;
}
