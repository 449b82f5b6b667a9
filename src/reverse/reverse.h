/* reverse.h — the reverse front-end: a site's front door. */
#ifndef GH_REVERSE_H
#define GH_REVERSE_H

#include "config.h"

extern const struct frontend reverse_frontend;

struct route_table;

/* The route table of a reverse listener's settings (its fe_conf). */
const struct route_table *reverse_listener_routes(const void *fe_conf);

#endif
