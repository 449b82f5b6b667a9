/* sni.c — the server name in a TLS ClientHello cut into any records (see
 * sni.h); RFC 8446 4.1.2 and 5.1, RFC 6066 3, RFC 9849 (ECH).
 *
 * Two passes.  The first walks the records as they arrive, checks each
 * header and counts the hello's bytes; it resumes where the last call
 * stopped, so a hello trickled in a byte at a time costs linear time.  The
 * second, once the hello is whole, reads it through a cursor that steps
 * over the record headers, so a length or a name may straddle a record
 * boundary.  Strict where a server is strict: what a server would refuse
 * or read otherwise (two names, trailing bytes) is malformed here. */
#include "sni.h"

#include <string.h>

#define RECORD_MAX 16384 /* TLSPlaintext.length */
#define TYPE_HANDSHAKE 0x16
#define HS_CLIENT_HELLO 1
#define EXT_SERVER_NAME 0x0000
#define EXT_ECH 0xfe0d
#define NAME_HOST 0

static size_t be16(const unsigned char *p)
{
    return (size_t)p[0] << 8 | p[1];
}

static enum sni_result finish(struct sni_hello *h, enum sni_result r, const char *why)
{
    h->result = r;
    h->why = why;
    return r;
}

void sni_init(struct sni_hello *h)
{
    memset(h, 0, sizeof(*h));
    h->result = SNI_PARTIAL;
}

void sni_alert(unsigned char *out, enum sni_result r, int internal)
{
    static const unsigned char head[5] = {0x15, 0x03, 0x03, 0x00, 0x02};

    memcpy(out, head, sizeof(head));
    out[5] = 2; /* fatal */
    out[6] = internal ? 80 : r == SNI_MALFORMED ? 50 : 49;
}

/* ---- the second pass: the hello's bytes across records ---- */

/* A reading position in the hello.  The records were checked by the
 * first pass; `end` bounds what the current structure may still read. */
struct cursor {
    const unsigned char *p;
    size_t off;  /* the next byte in p */
    size_t left; /* bytes of the current record's payload from off */
    size_t end;  /* bytes the current structure has left */
};

/* Copies (dst) or skips (dst NULL) n bytes.  -1 when the structure has
 * fewer. */
static int take(struct cursor *c, unsigned char *dst, size_t n)
{
    if (n > c->end)
        return -1;
    c->end -= n;
    while (n) {
        size_t k;
        if (c->left == 0) { /* the next record's payload */
            c->left = be16(c->p + c->off + 3);
            c->off += 5;
        }
        k = n < c->left ? n : c->left;
        if (dst) {
            memcpy(dst, c->p + c->off, k);
            dst += k;
        }
        c->off += k;
        c->left -= k;
        n -= k;
    }
    return 0;
}

static int u8(struct cursor *c, size_t *v)
{
    unsigned char b;

    if (take(c, &b, 1) < 0)
        return -1;
    *v = b;
    return 0;
}

static int u16(struct cursor *c, size_t *v)
{
    unsigned char b[2];

    if (take(c, b, 2) < 0)
        return -1;
    *v = be16(b);
    return 0;
}

/* The server_name extension's body, c->end bytes: a list of (type, name)
 * holding exactly one host_name (RFC 6066 3).  Returns what is wrong with
 * it, or NULL. */
static const char *server_name(struct sni_hello *h, struct cursor *c)
{
    size_t n, type, len;

    if (h->namelen)
        return "malformed ClientHello (two server_name extensions)";
    if (u16(c, &n) < 0 || n != c->end || n == 0)
        return "malformed ClientHello (server_name list length)";
    while (c->end) {
        if (u8(c, &type) < 0 || u16(c, &len) < 0 || len > c->end)
            return "malformed ClientHello (server_name entry)";
        if (type != NAME_HOST)
            return "malformed ClientHello (a server name of unknown type)";
        if (len == 0)
            return "malformed ClientHello (an empty server name)";
        if (h->namelen)
            return "malformed ClientHello (two server names)";
        if (len > SNI_NAME_MAX)
            return "malformed ClientHello (a server name over 255 bytes)";
        take(c, (unsigned char *)h->name, len);
        h->name[len] = '\0';
        h->namelen = len;
    }
    return NULL;
}

/* The extensions, which fill the rest of the hello exactly. */
static enum sni_result extensions(struct sni_hello *h, struct cursor *c)
{
    size_t n, type, len, rest;
    const char *why;

    if (u16(c, &n) < 0 || n != c->end)
        return finish(h, SNI_MALFORMED, "malformed ClientHello (extensions length)");
    while (c->end) {
        if (u16(c, &type) < 0 || u16(c, &len) < 0 || len > c->end)
            return finish(h, SNI_MALFORMED, "malformed ClientHello (an extension runs past it)");
        rest = c->end - len;
        c->end = len;
        if (type == EXT_SERVER_NAME) {
            if ((why = server_name(h, c)))
                return finish(h, SNI_MALFORMED, why);
        } else if (type == EXT_ECH) {
            if (h->ech)
                return finish(h, SNI_MALFORMED,
                              "malformed ClientHello (two encrypted_client_hello extensions)");
            h->ech = 1;
        }
        take(c, NULL, c->end);
        c->end = rest;
    }
    return finish(h, SNI_HELLO, NULL);
}

/* The whole hello, h->want bytes from the first record's payload. */
static enum sni_result read_hello(struct sni_hello *h, const unsigned char *p)
{
    struct cursor c = {p, 0, 0, h->want};
    size_t n;

    take(&c, NULL, 4);              /* the handshake header, read by the first pass */
    if (take(&c, NULL, 2 + 32) < 0) /* legacy_version, random */
        return finish(h, SNI_MALFORMED, "malformed ClientHello (shorter than its fixed part)");
    if (u8(&c, &n) < 0 || n > 32 || take(&c, NULL, n) < 0)
        return finish(h, SNI_MALFORMED, "malformed ClientHello (session id)");
    if (u16(&c, &n) < 0 || n < 2 || n % 2 || take(&c, NULL, n) < 0)
        return finish(h, SNI_MALFORMED, "malformed ClientHello (cipher suites)");
    if (u8(&c, &n) < 0 || n < 1 || take(&c, NULL, n) < 0)
        return finish(h, SNI_MALFORMED, "malformed ClientHello (compression methods)");
    if (c.end == 0)
        return finish(h, SNI_HELLO, NULL); /* no extensions (TLS 1.2 allows it): no name */
    return extensions(h, &c);
}

/* ---- the first pass: records ---- */

/* Takes the handshake header's bytes from a record's payload p[0..n) that
 * starts at hello offset h->got; once whole, judges type and length. */
static enum sni_result header(struct sni_hello *h, const unsigned char *p, size_t n)
{
    size_t len;

    for (size_t i = 0; i < n && h->got + i < 4; i++)
        h->head[h->got + i] = p[i];
    if (h->want || h->got + n < 4)
        return SNI_PARTIAL;
    if (h->head[0] != HS_CLIENT_HELLO)
        return finish(h, SNI_MALFORMED,
                      "malformed ClientHello (the first handshake message is another)");
    len = (size_t)h->head[1] << 16 | be16(h->head + 2);
    if (len > SNI_HELLO_MAX)
        return finish(h, SNI_TOO_LARGE, "ClientHello over 64 KiB");
    h->want = 4 + len;
    return SNI_PARTIAL;
}

enum sni_result sni_parse(struct sni_hello *h, const unsigned char *p, size_t len)
{
    if (h->result != SNI_PARTIAL || len == 0)
        return h->result;
    if (p[0] != TYPE_HANDSHAKE || (len > 1 && p[1] != 0x03))
        return finish(h, SNI_NOT_TLS, "tunnel is not TLS");
    h->tls = len > 1;
    while (!h->want || h->got < h->want) {
        const unsigned char *r = p + h->done;
        size_t rl, avail;

        if (h->done + 5 > len)
            break;
        if (r[0] != TYPE_HANDSHAKE)
            return finish(h, SNI_MALFORMED,
                          "malformed ClientHello (a record of another type inside it)");
        if (r[1] != 0x03)
            return finish(h, SNI_MALFORMED, "malformed ClientHello (a record's version)");
        rl = be16(r + 3);
        if (rl == 0)
            return finish(h, SNI_MALFORMED, "malformed ClientHello (an empty record)");
        if (rl > RECORD_MAX)
            return finish(h, SNI_MALFORMED, "malformed ClientHello (a record over 16 KiB)");
        avail = len - h->done - 5 < rl ? len - h->done - 5 : rl;
        if (header(h, r + 5, avail) != SNI_PARTIAL)
            return h->result;
        if (avail < rl)
            break; /* the rest of this record is on its way */
        h->got += rl;
        h->done += 5 + rl;
    }
    if (h->want && h->got >= h->want)
        return read_hello(h, p);
    if (len >= SNI_READ_MAX)
        return finish(h, SNI_TOO_LARGE, "ClientHello in too many records");
    return SNI_PARTIAL;
}
