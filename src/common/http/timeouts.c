/* timeouts.c — the `timeouts` section (see timeouts.h): each key with its
 * range and its default, in seconds as the file and README.md write them. */
#include "timeouts.h"
#include "config.h"

/* Ranges in milliseconds: a day, or a week for an idle tunnel. */
#define DAY 86400000L

static const struct config_key timeout_keys[] = {
    /* name, kind and field, range in ms, default in seconds as README.md writes it */
    {"client_header", CONFIG_MSEC(to.client_header), 10, DAY, "10", NULL, NULL, NULL},
    {"client_body", CONFIG_MSEC(to.client_body), 10, DAY, "60", NULL, NULL, NULL},
    {"keepalive", CONFIG_MSEC(to.keepalive), 0, DAY, "75", NULL, NULL, NULL},
    {"send", CONFIG_MSEC(to.send), 10, DAY, "60", NULL, NULL, NULL},
    {"upstream_connect", CONFIG_MSEC(to.upstream_connect), 10, DAY, "5", NULL, NULL, NULL},
    {"upstream_read", CONFIG_MSEC(to.upstream_read), 10, DAY, "60", NULL, NULL, NULL},
    {"upstream_keepalive", CONFIG_MSEC(to.upstream_keepalive), 0, DAY, "30", NULL, NULL, NULL},
    {"tunnel", CONFIG_MSEC(to.tunnel), 10, 7 * DAY, "600", NULL, NULL, NULL},
    {"drain", CONFIG_MSEC(to.drain), 0, DAY, "10", NULL, NULL, NULL},
    {0},
};

const struct config_section timeouts_section = {"timeouts", timeout_keys};
