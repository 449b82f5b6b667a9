/* quota.h — daily volume quotas per user, kept on disk: a place (a forward
 * policy) gives each user so many bytes a day, both directions counted;
 * a user past it is refused with a page until the day ends.  What a user
 * used is appended to the place's file as exchanges end, and read back at
 * start-up, so a restart or a reload does not reset anybody's day.  In a
 * fleet (fleet.h, share_quotas) each charge is also added to the fleet's
 * count of the user's day in Redis, and a user over the quota there is
 * refused here too. */
#ifndef GH_QUOTA_H
#define GH_QUOTA_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

struct gh_config;
struct pstats;
struct qstore;

/* A place's `quota` group. */
struct quota {
    uint64_t daily;    /* bytes a user may move a day */
    struct qstore *st; /* the file's (shared by every generation) */
    struct pstats *ps;
    char *name;        /* the place's */
    char *fleet_ns;    /* "fleetq:NAME": the key table's namespace of the fleet's totals */
};

/* Reads the `quota` group g (NULL: none) of the place `name` into *out.
 * Opens (or creates) its file, reading what today used so far.  Returns
 * 0, or -1 with "file:line: message" in err. */
int quota_load(const struct gh_config *c, const char *name, const config_setting_t *g,
               struct quota **out, char *err, size_t errlen);
void quota_free(struct quota *q);

/* Bytes user has moved today. */
uint64_t quota_used(const struct quota *q, const char *user);

/* 1 when user has used its quota up today (counted in the place's
 * `quotas` counters), 0 otherwise. */
int quota_over(const struct quota *q, const char *user);

/* Adds bytes to user's day, in memory and in the file. */
void quota_charge(const struct quota *q, const char *user, uint64_t bytes);

/* Today's number in local time (days change at local midnight). */
uint32_t quota_today(void);

#endif
