/* deny.h — deny and allow rules: the native first tier of what a web
 * application firewall does.  A rule names what it matches — methods, path
 * prefixes, a path, query or user-agent pattern (PCRE2), a header present
 * or holding a value, hosts, the client's country or continent (geo.h),
 * networks inline or from files (iptrie.h) — and what happens then: 403,
 * the connection closed, or allowed past everything else.  Every criterion
 * a rule gives must match, and a criterion matches when any of its entries
 * does.  Paths and queries are judged in their one normal form (urlpath.h)
 * and hosts in theirs (hostname.h), so no other spelling slips by.
 *
 * A list is parsed with its configuration generation and read-only after;
 * a reload builds new lists (and reloads their network files) beside the
 * old ones. */
#ifndef GH_DENY_H
#define GH_DENY_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <libconfig.h>
#include <pcre2.h>
#include <stddef.h>

struct gh_config;
struct iptrie;
struct protect_view;
struct pstats;

enum deny_action {
    DENY_DENY,  /* 403 with a page naming the rule */
    DENY_CLOSE, /* the connection closed, nothing answered */
    DENY_ALLOW, /* exempt from every other rule, ban and limit */
};

struct deny_rule {
    char *name;  /* its `name`, or "LIST#N" */
    char *note;  /* "deny:NAME", "close:NAME", "allow:NAME": the log's filter= */
    char *why;   /* "denied by rule NAME": the log's why= and the page */
    enum deny_action action;
    struct pstats *st;
    /* the criteria: NULL or 0 for one not given */
    char **methods, **prefixes, **hosts;
    unsigned nmethods, nprefixes, nhosts;
    pcre2_code *path, *query, *agent, *value;
    char *header;
    char (*countries)[3], (*continents)[3];
    unsigned ncountries, ncontinents;
    struct iptrie *nets;
};

/* A named list, `deny_rules.NAME = ( { ... }, ... )`. */
struct deny_list {
    char *name;
    struct deny_rule *r;
    unsigned n;
};

/* Parses the list s (a libconfig list of groups) into l.  Network files
 * and patterns are read and compiled now.  Returns 0, or -1 with
 * "file:line: message" in err (a bad pattern with its offset, a network
 * file's bad line as its own "path:line", a country without a geo
 * database). */
int deny_list_load(const struct gh_config *c, struct deny_list *l, const config_setting_t *s,
                   char *err, size_t errlen);
void deny_list_free(struct deny_list *l);

/* The rules of l that the request matches: returns the first deny or close
 * rule matching (NULL: none), and sets *allow to an allow rule matching
 * (NULL: none), which wins over it. */
const struct deny_rule *deny_judge(const struct deny_list *l, struct protect_view *v,
                                   const struct deny_rule **allow);

#endif
