/* proxyproto.h — the PROXY protocol (HAProxy's proxy-protocol.txt), versions
 * 1 (text) and 2 (binary): reading the header a trusted load balancer puts
 * before a client's bytes, and writing one before ours to an upstream.
 * Mechanism only: whom to trust with it is the listener's configuration. */
#ifndef GH_PROXYPROTO_H
#define GH_PROXYPROTO_H

#include <stddef.h>
#include <sys/socket.h>

/* The longest header accepted, v1 or v2.  A v1 line is at most 107 bytes.  A
 * v2 header is 16 bytes plus a length field of up to 65535, almost all of it
 * optional TLVs.  The spec has senders emit the header in one segment and
 * calls it "always smaller than an MSS"; 536 is the smallest MSS every TCP
 * host must accept (RFC 1122), so 16 fixed bytes + 520 of addresses and TLVs
 * is the most a receiver can count on getting in one read.  That leaves 484
 * bytes of TLVs after IPv6 addresses: an authority (SNI, up to 3 + 255), a
 * unique id (3 + 128), a CRC32C (7), an ALPN and an AWS VPC endpoint id.
 * A header announcing more is rejected rather than buffered. */
#define PROXYPROTO_MAX 536

/* The longest header proxyproto_write produces (v1 TCP6, 104 bytes; v2
 * IPv6, 52), so a buffer of this size never makes it fail. */
#define PROXYPROTO_WRITE_MAX 108

/* Parses a PROXY header at the start of buf[0..len).  Returns the header's
 * length (> 0) with *src and *dst filled with the announced client and
 * destination (AF_INET or AF_INET6, ports included); for a v2 LOCAL header,
 * a v1 UNKNOWN one, or a v2 family this proxy does not relay (UNSPEC, UDP,
 * UNIX) *local is 1 and *src, *dst are untouched: the caller keeps the
 * socket's own addresses.  Returns 0 when more bytes are needed, which
 * happens only while buf is a valid beginning of a header, and -1 as soon as
 * it cannot be one (not the PROXY protocol, malformed, longer than
 * PROXYPROTO_MAX).  v2 TLVs are checked for framing and skipped. */
int proxyproto_parse(const char *buf, size_t len, struct sockaddr_storage *src,
                     struct sockaddr_storage *dst, int *local);

/* Writes a version 1 or 2 header announcing a connection from src to dst
 * into out.  Mixed families are sent as IPv6 (IPv4 mapped to ::ffff:a.b.c.d);
 * two IPv4-mapped IPv6 addresses are sent as IPv4.  src or dst NULL writes a
 * header meaning "the proxy's own connection" (v1 UNKNOWN, v2 LOCAL), and
 * other families one meaning "addresses unknown" (v1 UNKNOWN, v2 PROXY with
 * family UNSPEC).  Returns the header's length, or 0 when cap is too small
 * or version is neither 1 nor 2. */
size_t proxyproto_write(int version, const struct sockaddr_storage *src,
                        const struct sockaddr_storage *dst, char *out, size_t cap);

#endif
