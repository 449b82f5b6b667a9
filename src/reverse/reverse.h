/* reverse.h — the reverse front-end: a site's front door. */
#ifndef GH_REVERSE_H
#define GH_REVERSE_H

#include "config.h"

extern const struct frontend reverse_frontend;

#endif
