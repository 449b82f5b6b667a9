/* sni.c — the server_name of a TLS ClientHello (see sni.h); RFC 8446 4.1.2
 * and RFC 6066 3.  Reads only the first handshake record, which is where every
 * client puts its ClientHello (a hello split over several records is
 * reported as SNI_NONE rather than reassembled). */
#include "sni.h"

#include <stdint.h>

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

int sni_parse(const unsigned char *p, size_t len, const char **name, size_t *namelen)
{
    size_t rec, off, end, n;

    if (len < 1)
        return SNI_PARTIAL;
    if (p[0] != 0x16) /* handshake record */
        return SNI_NONE;
    if (len < 5)
        return SNI_PARTIAL;
    if (p[1] != 0x03)
        return SNI_NONE;
    rec = be16(p + 3);
    if (rec < 4 || rec > 16384)
        return SNI_BAD;
    if (len < 5 + rec)
        return SNI_PARTIAL;
    p += 5;
    if (p[0] != 0x01) /* ClientHello */
        return SNI_NONE;
    n = (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    if (n + 4 > rec)
        return SNI_NONE; /* continues in another record: not reassembled */
    end = 4 + n;
    off = 4 + 2 + 32; /* version, random */
    if (off + 1 > end)
        return SNI_BAD;
    off += 1 + p[off]; /* session id */
    if (off + 2 > end)
        return SNI_BAD;
    off += 2 + be16(p + off); /* cipher suites */
    if (off + 1 > end)
        return SNI_BAD;
    off += 1 + p[off]; /* compression methods */
    if (off == end)
        return SNI_NONE; /* no extensions */
    if (off + 2 > end || off + 2 + be16(p + off) > end)
        return SNI_BAD;
    end = off + 2 + be16(p + off);
    off += 2;
    while (off + 4 <= end) {
        unsigned type = be16(p + off), elen = be16(p + off + 2);
        size_t e = off + 4;
        if (e + elen > end)
            return SNI_BAD;
        if (type == 0) { /* server_name: list of (type, name) */
            size_t lend, l;
            if (elen < 2 || 2 + be16(p + e) > elen)
                return SNI_BAD;
            lend = e + 2 + be16(p + e);
            for (l = e + 2; l + 3 <= lend;) {
                unsigned nl = be16(p + l + 1);
                if (l + 3 + nl > lend)
                    return SNI_BAD;
                if (p[l] == 0 && nl > 0) {
                    *name = (const char *)p + l + 3;
                    *namelen = nl;
                    return SNI_FOUND;
                }
                l += 3 + nl;
            }
            return SNI_NONE;
        }
        off = e + elen;
    }
    return SNI_NONE;
}
