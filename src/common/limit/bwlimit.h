/* bwlimit.h — bandwidth limits: token buckets on bytes, one per key (a
 * client address, a user, a group) and one for a whole place (a forward
 * policy's ceiling), each direction its own, in the shared key table so
 * every worker draws on the same buckets (Squid's delay pools: an
 * aggregate and a share each).  The mechanism is here: a `bandwidth`
 * group's settings, the buckets' arithmetic, and the exchange_meter that
 * makes an exchange's bodies and tunnels wait their turn.  Which key an
 * exchange is counted under is the mode's. */
#ifndef GH_BWLIMIT_H
#define GH_BWLIMIT_H

#include "exchange.h"

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

struct gh_config;
struct pstats;

/* What a key is (`key`). */
enum bw_key {
    BW_CLIENT, /* the client address, IPv6 by its /64 (protection.ipv6_prefix) */
    BW_USER,   /* the authenticated user (the client address without one) */
    BW_GROUP,  /* the first of `groups` the user is in (the user without one) */
};

/* A place's `bandwidth` group. */
struct bw_limit {
    char *name;       /* the place's: its counters and the ceiling's key */
    uint64_t rate;    /* bytes a second for each key, each direction; 0: no share */
    uint64_t up_rate; /* the same from the client (0: as rate) */
    uint64_t ceiling; /* bytes a second for the whole place, each direction; 0: none */
    uint64_t burst;   /* bytes a bucket may grant at once */
    enum bw_key key;
    char **groups;    /* BW_GROUP: the groups, in order */
    unsigned ngroups;
    uint8_t v4_bits, v6_bits;
    struct pstats *st;
};

/* Reads the `bandwidth` group of g (NULL: none) for the place `name` into
 * *out (NULL when absent).  Returns 0, or -1 with "file:line: message". */
int bwlimit_load(const struct gh_config *c, const char *name, const config_setting_t *g,
                 struct bw_limit **out, char *err, size_t errlen);
void bwlimit_free(struct bw_limit *l);

/* What an exchange metered by a limit carries (in the front-end's
 * scratch): the limit and the two keys. */
struct bw_note {
    const struct bw_limit *l;
    uint64_t key, all;
};

/* Meters ex under limit l, counting it under the key bytes key/len (the
 * mode chose them: bwlimit_client_key for an address); n is where the
 * exchange's note lives as long as it does. */
void bwlimit_attach(struct exchange *ex, const struct bw_limit *l, struct bw_note *n,
                    const void *key, size_t len);

/* The key bytes of a client address cut to l's prefixes, into out (17
 * bytes); returns its length. */
size_t bwlimit_client_key(const struct bw_limit *l, const struct sockaddr_storage *ss,
                          unsigned char *out);

/* The byte-bucket arithmetic on one word (exposed for the unit tests): the
 * bytes a bucket of `rate` a second and `burst` whose theoretical arrival
 * time is *tat (ns) may take at now (ns), at most want; *wait_ns is set
 * when that is 0 (until min(want, burst / 8) bytes are there). */
uint64_t bw_available(uint64_t tat, uint64_t rate, uint64_t burst, uint64_t now, uint64_t want,
                      uint64_t *wait_ns);
/* Charges n bytes taken at now to the bucket: the new *tat. */
uint64_t bw_charge(uint64_t tat, uint64_t rate, uint64_t now, uint64_t n);

#endif
