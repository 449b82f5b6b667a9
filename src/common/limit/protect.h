/* protect.h — the protections both modes apply to a request: deny and
 * allow rules, bans, request rate limits.  The mechanism is here: the
 * `rate_limits`, `deny_rules`, `bans` and `protection` sections of a
 * configuration (protect_conf.c), the keys requests are counted under, the
 * checks and the answers they lead to (403, 429 with the RateLimit fields,
 * a closed connection, a held request), the counters, and the events that
 * lead to bans.  The policy is the modes': which listener, route or policy
 * applies which of them (a `protect_refs` each), and what a request's
 * client, user and route are (its `protect_view`).
 *
 * Order: a listener's references are checked first, then a route's or a
 * policy's.  At each place the deny lists are judged first: an allow rule
 * that matches wins over every deny rule of the place and exempts the
 * exchange from every protection after it.  Then the bans (a banned key is
 * refused as banned; one that is not is watched for the exchange's
 * events), then a deny rule that matched answers, then the rate limits. */
#ifndef GH_PROTECT_H
#define GH_PROTECT_H

#include "config.h"
#include "exchange.h"
#include "pnote.h"
#include "urlpath.h"

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

struct keytab;
struct plimit;
struct deny_list;
struct pban;

/* The `protection` section's keys (config.h's table; a core section). */
extern const struct config_section protection_section;

/* Loads the `rate_limits`, `deny_rules` and `bans` sections of root into
 * c->protect (after the `protection` and `geo` sections), and makes the
 * process's tables on the first load.  Returns 0, or -1 with "file:line:
 * message" in err. */
int protect_conf_load(struct gh_config *c, const config_setting_t *root, char *err, size_t errlen);
void protect_conf_free(struct gh_config *c);

/* What one place (a listener, a route, a forward policy) applies, by the
 * names its `rate_limits`, `deny_rules` and `bans` settings give.  Points
 * into the generation's protect_conf. */
struct protect_refs {
    const struct deny_list **lists;
    const struct pban **bans;
    const struct plimit **limits;
    unsigned nlists, nbans, nlimits;
};

/* The keys protect_refs_load reads, for a place's list of known keys. */
#define PROTECT_KEYS "rate_limits", "deny_rules", "bans"

/* Reads a place's PROTECT_KEYS from group g (NULL: none) into r, the
 * names resolved in c->protect.  Returns 0, or -1 with "file:line: ..."
 * (a name that is not defined). */
int protect_refs_load(const struct gh_config *c, const config_setting_t *g,
                      struct protect_refs *r, char *err, size_t errlen);
void protect_refs_free(struct protect_refs *r);
static inline int protect_refs_empty(const struct protect_refs *r)
{
    return !r->nlists && !r->nbans && !r->nlimits;
}

/* One request as the protections see it, filled by the mode. */
struct protect_view {
    struct exchange *ex;
    struct sockaddr_storage client; /* the client (reverse: past trusted proxies) */
    const char *user;               /* the authenticated user, NULL: none */
    const char *route;              /* the `route` key: a route, a policy, a listener */
    const char *host;               /* the host in normal form (hostname.h), "" none */
    const char *target;             /* the path and query as sent ("/a?b"; "" none) */
    size_t hostlen, targetlen;
    /* the protections' own, filled as they are needed */
    int normalised;         /* 0 not yet, 1 done, -1 the target cannot be normalised */
    size_t pathlen;         /* the normal form's path, before its '?' */
    long normlen;
    int geo_done;
    char country[3], continent[3];
    uint64_t delay_us;      /* the longest a rate limit holds the request */
    char norm[URLPATH_MAX]; /* the target in normal form (urlpath.h, URLPATH_VIEW) */
};

/* Starts a view of ex for client (the mode fills the rest). */
void protect_view_init(struct protect_view *v, struct exchange *ex,
                       const struct sockaddr_storage *client);

/* Checks the request against a place's references.  Returns 1 when it may
 * go on (a rate limit may have held it back: exchange_hold), 0 when it was
 * answered: 403 with a page naming the rule (a deny rule, a ban, with
 * Retry-After for a ban), 429 with Retry-After and the RateLimit fields,
 * or the connection closed (a deny rule's "close").  The access log's
 * filter= names the decision ("deny:NAME", "ban:NAME", "ratelimit:NAME")
 * and why= the rule. */
int protect_check(struct protect_view *v, const struct protect_refs *r);

/* Notes an event of the exchange for the bans that watch it (PEV_DENIED
 * from a filter's block, PEV_AUTH from a failed login). */
void protect_note_event(struct exchange *ex, unsigned events);

/* The exchange is over (called by the core before its log line): counts
 * its events for the bans that watched it, which may ban their keys. */
void protect_end(struct exchange *ex);

/* The process's shared key table (made at the first configuration). */
struct keytab *protect_table(void);

/* Writes the protections' counters, the key table's fill and the bans in
 * force as the JSON members "protection": {...} (no braces around) into a
 * malloc'd string; *len its length. */
char *protect_status_json(size_t *len);

/* Handles a request to lift bans: "ban=KEY" or "ban=*" in the query
 * (percent-encoded).  Returns how many were lifted, or -1 when the query
 * names no ban. */
long protect_lift_query(const char *query, size_t len);

#endif
