/* sni.h — reading a TLS ClientHello without terminating TLS, so that a
 * forward proxy can judge a CONNECT tunnel by the server name inside it.
 *
 * The hello is read in place, from the bytes the tunnel forwards unchanged
 * later, however the client cut it into handshake records (RFC 8446 5.1
 * lets it use any number, of any size).  What cannot be read is reported
 * as what it is (not TLS, malformed, too large), never as "no name", so the
 * caller can refuse it.  Owns no memory: the caller buffers the bytes (at
 * most SNI_READ_MAX) and keeps the struct between calls. */
#ifndef GH_SNI_H
#define GH_SNI_H

#include <stddef.h>
#include <stdint.h>

/* The largest ClientHello read: its handshake length field, 64 KiB.  Real
 * hellos are under 2 KiB, padded ones reach 16 KiB; the extensions, where
 * padding goes, are at most 64 KiB by the format. */
#define SNI_HELLO_MAX 65536u
/* The most bytes of a connection's start a caller buffers for one hello:
 * the largest hello with its 4-byte header, and 4 KiB of record headers
 * (800 records; a client needs 5).  Past it, a hello is too large. */
#define SNI_READ_MAX (SNI_HELLO_MAX + 4u + 4096u)
/* The longest server name kept (a DNS name is at most 253 bytes). */
#define SNI_NAME_MAX 255

enum sni_result {
    SNI_PARTIAL,   /* more bytes are needed */
    SNI_HELLO,     /* a whole, well-formed ClientHello: see name, ech */
    SNI_NOT_TLS,   /* the first bytes are no TLS handshake record */
    SNI_MALFORMED, /* TLS handshake records, but no well-formed ClientHello */
    SNI_TOO_LARGE, /* a ClientHello over SNI_HELLO_MAX, or not whole in SNI_READ_MAX bytes */
    SNI_TIMEOUT,   /* never the reader's: a caller's wait that ended first */
};

/* One connection's hello, as far as it is read.  Zero it (sni_init)
 * before the first call. */
struct sni_hello {
    enum sni_result result;
    const char *why;             /* static, for the log: what was wrong (all
                                     but SNI_PARTIAL and SNI_HELLO) */
    size_t namelen;              /* SNI_HELLO: 0 when the hello names no server */
    char name[SNI_NAME_MAX + 1]; /* the host_name as sent (not normalised; may
                                     hold any byte, NUL included), NUL-terminated */
    uint8_t ech;                 /* carries encrypted_client_hello (0xfe0d) */
    uint8_t tls;                 /* the bytes begin as a TLS handshake record
                                     does (a refusal may answer with an alert) */
    /* the reader's progress between calls */
    size_t done;           /* bytes of whole records read */
    size_t got;            /* ClientHello bytes in them */
    size_t want;           /* 4 + the hello's length; 0 until known */
    unsigned char head[4]; /* the handshake header, as it arrives */
};

void sni_init(struct sni_hello *h);

/* The fatal alert a refused hello is answered with, without a TLS session
 * (RFC 8446 6: a plaintext alert record, legacy version 3.3): access_denied
 * by default, decode_error for a hello that is not well-formed (r), or
 * internal_error when `internal` (we failed, not the client).  OpenSSL
 * sends alerts only from a session, and there is none to have: the bytes
 * go to a server that will do the handshake.  Fills out[SNI_ALERT_LEN]. */
#define SNI_ALERT_LEN 7
void sni_alert(unsigned char *out, enum sni_result r, int internal);

/* Reads p[0..len), a connection's first bytes, and returns h->result.
 * Call again with the same h as more bytes arrive (the same bytes and
 * more): each call reads only the records it has not read before.  Once
 * the answer is not SNI_PARTIAL it stays.  Never SNI_PARTIAL when
 * len >= SNI_READ_MAX.  Bytes after the ClientHello are not looked at. */
enum sni_result sni_parse(struct sni_hello *h, const unsigned char *p, size_t len);

#endif
