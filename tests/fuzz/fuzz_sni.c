/* fuzz_sni.c — libFuzzer target: the ClientHello reader.  Besides memory
 * safety, it checks the incremental contract (a prefix asks for more or
 * already has the whole's answer; a read resumed on more bytes, or fed a
 * byte at a time, ends with the whole's answer) and that the cutting into
 * records changes nothing: an input whose first byte is odd is a
 * handshake message, read once in one record and once in records of the
 * second byte's size, and both readings must agree. */
#include "sni.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void same(const struct sni_hello *a, const struct sni_hello *b)
{
    if (a->result != b->result || a->why != b->why || a->ech != b->ech ||
        a->namelen != b->namelen || memcmp(a->name, b->name, a->namelen) != 0)
        abort();
}

/* The answer for p[0..len), checked against its prefixes. */
static void read_all_ways(const uint8_t *p, size_t len, struct sni_hello *whole)
{
    struct sni_hello h;
    size_t cuts[3] = {len / 2, len ? len - 1 : 0, len ? p[0] % len : 0};

    sni_init(whole);
    sni_parse(whole, p, len);
    if (whole->result == SNI_HELLO &&
        (whole->namelen > SNI_NAME_MAX || whole->name[whole->namelen] != '\0' || !whole->tls))
        abort();
    if (whole->result != SNI_PARTIAL && whole->result != SNI_HELLO && !whole->why)
        abort();
    if (whole->result == SNI_PARTIAL && len >= SNI_READ_MAX)
        abort();
    for (int i = 0; i < 3; i++) {
        sni_init(&h);
        enum sni_result r = sni_parse(&h, p, cuts[i]);
        if (r != SNI_PARTIAL && (r != whole->result || h.why != whole->why))
            abort(); /* an answer in a prefix is the whole's */
        sni_parse(&h, p, len);
        same(&h, whole);
    }
    sni_init(&h);
    for (size_t k = 0; k <= len; k += 1 + len / 128)
        sni_parse(&h, p, k);
    sni_parse(&h, p, len);
    same(&h, whole);
}

/* msg[0..n) as handshake records of `step` bytes (the last may be less). */
static size_t frame(const uint8_t *msg, size_t n, size_t step, uint8_t *out)
{
    size_t k = 0;

    for (size_t from = 0; from < n; from += step) {
        size_t m = n - from < step ? n - from : step;
        out[k++] = 0x16, out[k++] = 0x03, out[k++] = 0x01;
        out[k++] = (uint8_t)(m >> 8), out[k++] = (uint8_t)m;
        memcpy(out + k, msg + from, m);
        k += m;
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct sni_hello whole, one, cut;
    uint8_t *a, *b;
    size_t step, na, nb;

    read_all_ways(data, len, &whole);
    if (len < 2 || !(data[0] & 1) || len - 2 > 16384)
        return 0;
    /* a handshake message, in one record and in records of `step` bytes */
    step = (size_t)data[1] + 1;
    a = malloc(len + 5);
    b = malloc((len - 2) * 6 + 5);
    na = frame(data + 2, len - 2, 16384, a);
    nb = frame(data + 2, len - 2, step, b);
    read_all_ways(a, na, &one);
    read_all_ways(b, nb, &cut);
    if (nb < SNI_READ_MAX) /* past it, record headers make the difference */
        same(&one, &cut);
    free(a);
    free(b);
    return 0;
}
