/* fuzz_request.c — libFuzzer target: the request-head parser.  Besides
 * memory safety, it checks that a prefix never gives an answer the whole
 * input contradicts (incremental parsing is the smuggling-sensitive part). */
#include "fuzz_head.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static struct http_head whole, part;
    const struct http1_limits lim = {.max_line = 8192, .max_head = 16384, .max_fields = 100};
    int rc = http1_parse_request((const char *)data, len, &lim, &whole);
    size_t cut = len / 2;
    int rc2;

    check_head(rc, &whole, len);
    rc2 = http1_parse_request((const char *)data, cut, &lim, &part);
    check_head(rc2, &part, cut);
    /* a complete head found in a prefix is the same head in the whole */
    if (rc2 > 0 && (rc != rc2 || whole.framing != part.framing ||
                    whole.content_length != part.content_length))
        abort();
    /* an error in a prefix stays an error */
    if (rc2 == HTTP1_ERROR && rc != HTTP1_ERROR)
        abort();
    return 0;
}
