/* timeouts.h — the `timeouts` section of the configuration: how long the
 * core waits for a client, an upstream, a tunnel or a drain.  The
 * generation holds them as `to` (cfg->to.client_header...); the connection
 * and the exchange arm their timers with them. */
#ifndef GH_TIMEOUTS_H
#define GH_TIMEOUTS_H

#include <stdint.h>

/* Timeouts, milliseconds. */
struct timeouts {
    uint32_t client_header; /* first byte to end of a request head */
    uint32_t client_body;   /* idle time while reading a request body */
    uint32_t keepalive;     /* idle client connection between exchanges */
    uint32_t send;          /* a client or upstream not taking bytes */
    uint32_t upstream_connect;
    uint32_t upstream_read;      /* first byte of the response, and idle after */
    uint32_t upstream_keepalive; /* idle pooled upstream connection */
    uint32_t tunnel;             /* idle CONNECT or upgraded connection */
    uint32_t drain;              /* SIGTERM: in-flight exchanges may finish */
};

struct config_section;

/* Its keys, ranges and defaults (timeouts.c). */
extern const struct config_section timeouts_section;

#endif
