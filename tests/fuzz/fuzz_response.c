/* fuzz_response.c — libFuzzer target: the response-head parser, as a reply
 * to GET and to HEAD. */
#include "fuzz_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static struct http_head h;
    const struct http1_limits lim = {.max_line = 8192, .max_head = 16384, .max_fields = 100};
    int rc = http1_parse_response((const char *)data, len, &lim, 0, &h);

    check_head(rc, &h, len);
    if (rc > 0 && h.status >= 100 && h.status < 200 && h.framing != HTTP_BODY_NONE)
        abort();
    rc = http1_parse_response((const char *)data, len, &lim, 1, &h);
    check_head(rc, &h, len);
    if (rc > 0 && h.framing != HTTP_BODY_NONE)
        abort(); /* a response to HEAD never has a body */
    return 0;
}
