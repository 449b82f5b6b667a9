/* h2_conf.h — the `http2` section of the configuration: the limits and the
 * abuse budgets of HTTP/2 client connections (h2.c, h2_session.c).  The
 * generation holds them as `h2` (cfg->h2.max_streams...); whether a
 * listener speaks HTTP/2 at all is the listener's (`http2`, `h2c`:
 * listeners.c).  The header list limits are the `http` section's, the
 * same as HTTP/1's. */
#ifndef GH_H2_CONF_H
#define GH_H2_CONF_H

#include <stdint.h>

struct h2_conf {
    uint32_t max_streams;       /* SETTINGS_MAX_CONCURRENT_STREAMS */
    uint32_t stream_window;     /* SETTINGS_INITIAL_WINDOW_SIZE: a stream's request body
                                   buffer holds this much */
    uint32_t idle_timeout;      /* ms: a connection without streams */
    uint32_t settings_timeout;  /* ms: the client's SETTINGS ACK */
    uint32_t reset_budget;      /* RST_STREAM frames from a client per H2_BUDGET_WINDOW_MS */
    uint32_t flood_budget;      /* SETTINGS, PING, PRIORITY, empty frames: each per window */
    uint32_t max_continuations; /* CONTINUATION frames after one HEADERS */
};

/* The window over which the budgets count. */
#define H2_BUDGET_WINDOW_MS 10000u

struct config_section;

/* Its keys, ranges and defaults (h2_conf.c). */
extern const struct config_section h2_section;

#endif
