/* http_conf.c — the `http` section (see http_conf.h): its keys, their
 * ranges and defaults, and the check of `via`. */
#include "http_conf.h"
#include "config.h"
#include "http1.h"

/* via: one token, since it is written into Via as the received-by. */
static int parse_via(struct gh_config *c, const struct config_key *k, const config_setting_t *s,
                     char *err, size_t errlen)
{
    if (config_key_read(c, k, s, err, errlen) < 0)
        return -1;
    for (const char *p = c->via_name; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == ',') {
            config_error(err, errlen, s, "'via' must be a single token without spaces or commas");
            return -1;
        }
    return 0;
}

/* The largest max_body_bytes: what a long holds. */
#define BODY_MAX ((long)(((unsigned long)-1) >> 1))

static const struct config_key http_keys[] = {
    /* name, kind and field, range, default as README.md writes it, words, what, parse */
    {"max_request_line", CONFIG_U32(limits.max_line), 256, 16384, "8192", NULL, NULL, NULL},
    {"max_header_bytes", CONFIG_U32(limits.max_head), 1024, 16384, "16384", NULL, NULL, NULL},
    {"max_headers", CONFIG_U32(limits.max_fields), 8, HTTP1_MAX_HEADERS, "100", NULL, NULL, NULL},
    {"max_body_bytes", CONFIG_U64(max_body), 0, BODY_MAX, "0", NULL, NULL, NULL},
    {"underscores_in_headers", CONFIG_BOOL(limits.allow_underscore), 0, 0, "false", NULL, NULL,
     NULL},
    {"via", CONFIG_STRING(via_name), 0, 0, "gatehouse", NULL, NULL, parse_via},
    {"allow_trace", CONFIG_BOOL(allow_trace), 0, 0, "false", NULL, NULL, NULL},
    {0},
};

const struct config_section http_section = {"http", http_keys};
