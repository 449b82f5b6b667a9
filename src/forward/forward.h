/* forward.h — the forward front-end: the gateway browsers and apt point at. */
#ifndef GH_FORWARD_H
#define GH_FORWARD_H

#include "config.h"

extern const struct frontend forward_frontend;

#endif
