/* protect_int.h — what protect_conf.c, protect.c and deny.c share: the
 * parsed limits and bans of a generation, the keys requests are counted
 * under, and the view's lazily computed parts.  Not for the modes: they
 * see protect.h. */
#ifndef GH_PROTECT_INT_H
#define GH_PROTECT_INT_H

#include "bans.h"
#include "deny.h"
#include "protect.h"
#include "pstats.h"
#include "ratelimit.h"

/* What a request is counted under (`key`). */
enum pkey_kind {
    PK_CLIENT, /* the client address, IPv6 by its first v6_bits */
    PK_HEADER, /* a request field's value (`header:Name`) */
    PK_COOKIE, /* a cookie's value (`cookie:name`) */
    PK_USER,   /* the authenticated user */
    PK_ROUTE,  /* the route, the policy or the listener */
};

struct pkey {
    enum pkey_kind kind;
    char *name;             /* PK_HEADER, PK_COOKIE: the field or cookie */
    uint8_t v4_bits, v6_bits;
};

/* `rate_limits.NAME`. */
struct plimit {
    char *name;
    char *note; /* "ratelimit:NAME" */
    char *why;  /* "rate limit exceeded: NAME" */
    struct rate_rule rule;
    struct pkey key;
    int headers; /* RateLimit fields on the answers it lets through */
    int shared;  /* counted across the fleet (fleet_lease.h) while its store answers */
    char *fleet_ns; /* "fleet:NAME": the key table's namespace of its leases */
    struct pstats *st;
};

/* `bans.NAME`. */
struct pban {
    struct ban_rule rule;
    char *name;
    char *note; /* "ban:NAME" */
    char *why;  /* "banned by NAME" */
    unsigned events; /* PEV_* */
    struct pkey key;
    struct pstats *st;
};

/* A generation's named protections. */
struct protect_conf {
    struct plimit *limits;
    struct deny_list *lists;
    struct pban *bans;
    unsigned nlimits, nlists, nbans;
    const struct geo *geo; /* the generation's, for country rules */
};

/* The client address cut to the key's prefix (IPv4-mapped as IPv4): a
 * family byte (4 or 6), then the address, 17 bytes in all. */
void protect_client_key(const struct pkey *k, const struct sockaddr_storage *ss, unsigned char *a);

/* ---- the fleet's share (protect_fleet.c) ---- */

/* Counts a request of a `shared` limit under key (len bytes) against the
 * fleet's budget, leasing as fleet_lease.h says, and fills rv.  Returns 1
 * allowed, 0 refused, or -1 when the fleet's store is not answering: the
 * caller counts it locally (and the fallback is counted). */
int protect_shared_limit(const struct plimit *l, const void *key, size_t len,
                         struct rate_verdict *rv);

/* Tells the fleet that b banned the key people read as `text` here. */
void protect_share_ban(const struct pban *b, const char *text);
/* Tells the fleet that the bans of `text` ("*": all) were lifted here. */
void protect_share_lift(const char *text);

/* Hears the fleet's channel (fleet.h) for bans made or lifted on other
 * nodes, to impose or lift them here. */
void protect_fleet_subscribe(void);

/* The request's target in normal form, made on first need: returns 0 with
 * v->norm, v->pathlen and v->normlen set, or -1 when the target cannot be
 * normalised (a NUL, a broken escape: then no path or query rule
 * matches, and the request's own mode refuses it). */
int protect_view_norm(struct protect_view *v);

/* The client's country and continent codes, looked up on first need ("" when
 * unknown). */
void protect_view_geo(struct protect_view *v);

#endif
