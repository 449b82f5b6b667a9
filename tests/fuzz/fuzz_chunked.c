/* fuzz_chunked.c — libFuzzer target: the chunked decoder, fed whole and
 * byte by byte; both must agree on the data, the end and the errors. */
#include "http1.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* Decodes p in steps of `step` bytes; returns 1 done, 0 unfinished, -1 error,
 * with the data copied to out. */
static int decode(const char *p, size_t len, size_t step, char *out, size_t *outlen)
{
    struct http_chunked c;
    size_t pos = 0, avail = 0;

    memset(&c, 0, sizeof(c));
    *outlen = 0;
    while (c.state != CHUNK_DONE) {
        if (avail == pos) {
            if (avail == len)
                return 0;
            avail = avail + step > len ? len : avail + step;
        }
        if (c.state == CHUNK_DATA) {
            size_t n = avail - pos;
            if (n > c.remaining)
                n = (size_t)c.remaining;
            memcpy(out + *outlen, p + pos, n);
            *outlen += n;
            pos += n;
            http1_chunked_data(&c, n);
            continue;
        }
        long k = http1_chunked_parse(&c, p + pos, avail - pos);
        if (k < 0)
            return -1;
        if ((size_t)k > avail - pos)
            abort();
        pos += (size_t)k;
        if (k == 0 && c.state != CHUNK_DATA && c.state != CHUNK_DONE && pos != avail)
            abort(); /* no progress with input left */
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char *a = malloc(len + 1), *b = malloc(len + 1);
    size_t alen, blen;
    int ra = decode((const char *)data, len, len ? len : 1, a, &alen);
    int rb = decode((const char *)data, len, 1, b, &blen);

    if (ra != rb || (ra >= 0 && (alen != blen || memcmp(a, b, alen) != 0)))
        abort();
    free(a);
    free(b);
    return 0;
}
