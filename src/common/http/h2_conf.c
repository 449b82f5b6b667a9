/* h2_conf.c — the `http2` section (see h2_conf.h): each key with its range
 * and its default, as README.md writes them. */
#include "h2_conf.h"
#include "config.h"

static const struct config_key h2_keys[] = {
    /* name, kind and field, range, default as README.md writes it */
    {"max_concurrent_streams", CONFIG_U32(h2.max_streams), 1, 1024, "128", NULL, NULL, NULL},
    {"stream_window", CONFIG_U32(h2.stream_window), 1024, 65536, "65535", NULL, NULL, NULL},
    {"idle_timeout", CONFIG_MSEC(h2.idle_timeout), 10, 86400000L, "75", NULL, NULL, NULL},
    {"settings_timeout", CONFIG_MSEC(h2.settings_timeout), 10, 3600000L, "10", NULL, NULL, NULL},
    {"reset_budget", CONFIG_U32(h2.reset_budget), 1, 1000000, "200", NULL, NULL, NULL},
    {"flood_budget", CONFIG_U32(h2.flood_budget), 1, 1000000, "1000", NULL, NULL, NULL},
    {"max_continuations", CONFIG_U32(h2.max_continuations), 0, 1000, "8", NULL, NULL, NULL},
    {0},
};

const struct config_section h2_section = {"http2", h2_keys};
