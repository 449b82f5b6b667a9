/* filter.h — content filtering for the forward mode: which rule applies to
 * a client now (by network, user, group and time window), and what it says
 * about a host, a URL, a file type or a response's MIME type. */
#ifndef GH_FILTER_H
#define GH_FILTER_H

#include "acl.h"
#include "config.h"
#include "schedule.h"

#include <time.h>

struct rulelist;
struct auth_groups;

/* The named lists of a configuration (top-level `lists`). */
struct list_set {
    struct rulelist **l;
    unsigned n;
};

struct list_set *lists_load(const struct gh_config *cfg, config_t *file, char *err, size_t errlen);
void lists_free(struct list_set *ls);

/* One entry of a policy's `filter` list. */
struct filter_rule {
    struct acl *clients;          /* NULL: any client */
    char **users, **groups;       /* empty: anyone */
    unsigned nusers, ngroups;
    struct window *when;          /* empty: always */
    unsigned nwhen;
    struct rulelist **block, **allow;
    unsigned nblock, nallow;
    int default_block;            /* what a host on no list gets */
    char **types, **extensions;   /* refused downloads (plain http) */
    unsigned ntypes, nextensions;
    int safe_search;
};

struct filter {
    struct filter_rule *r;
    unsigned n;
};

/* Parses a policy's `filter` list against the loaded lists. */
int filter_load(struct filter *f, const config_setting_t *list, const struct list_set *lists,
                char *err, size_t errlen);
void filter_free(struct filter *f);

/* The first rule that applies to this client, user and local time, or NULL. */
const struct filter_rule *filter_select(const struct filter *f, const struct sockaddr_storage *client,
                                        const char *user, const struct auth_groups *groups,
                                        const struct tm *now);

struct filter_verdict {
    int block;
    const char *category;  /* the list that decided, or "default" */
    const char *rule;      /* the matching rule's text, or "" */
};

/* Decides host (and path, "" for CONNECT): an allow list wins over block
 * lists, then the rule's default.  host in any spelling (the lists read it
 * in hostname.h's normal form); path in the filter's view of the target
 * (urlpath_normalize with URLPATH_VIEW).  A path with ";parameters" is
 * judged twice, as written and without them (as Tomcat and Jetty map it),
 * and blocked when either reading is: an allow list admits it only when it
 * admits both. */
void filter_check(const struct filter_rule *r, const char *host, size_t hostlen, const char *path,
                  size_t pathlen, struct filter_verdict *v);

/* Whether a plain-http download is refused by its path's extension or by
 * its Content-Type (either may be NULL).  The path is the filter's view;
 * its last segment's extension is read as urlpath_extension reads it,
 * with and without the segment's ";parameters", and either may refuse;
 * case is ignored. */
int filter_refuses_extension(const struct filter_rule *r, const char *path, size_t len);
int filter_refuses_type(const struct filter_rule *r, const char *ctype, size_t len);

#endif
