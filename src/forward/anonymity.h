/* anonymity.h — what a policy strips from requests so that sites learn
 * nothing about the client or the network behind the gateway.
 *   off       nothing;
 *   standard  removes client-revealing fields (X-Forwarded-For, Forwarded,
 *             Via, From, Client-IP, X-Real-IP and the whole family of
 *             anonymity_standard_fields()) and adds none;
 *   strict    also replaces User-Agent, drops every Referer that names
 *             another host and removes cookies for listed domains;
 * plus explicit remove and replace lists at any level. */
#ifndef GH_ANONYMITY_H
#define GH_ANONYMITY_H

#include <libconfig.h>
#include <stddef.h>

struct exchange;

enum anonymity_level { ANON_OFF, ANON_STANDARD, ANON_STRICT };

struct anonymity {
    enum anonymity_level level;
    char **remove;                 /* field names */
    unsigned nremove;
    char **replace;                /* name, value, name, value ... */
    unsigned nreplace;             /* pairs */
    char *user_agent;              /* strict: the User-Agent sent */
    char **cookie_domains;         /* strict: no cookies to these (and below), in
                                    * hostname.h's normal form */
    unsigned ncookie;
};

/* The policy keys this module reads. */
#define ANONYMITY_KEYS "anonymity", "anonymity_remove", "anonymity_replace", "user_agent", "strip_cookies"

/* Reads the keys from a policy group; 0, or -1 with "file:line: ..." in err. */
int anonymity_load(struct anonymity *a, const config_setting_t *policy, char *err, size_t errlen);
void anonymity_free(struct anonymity *a);

/* The fields `standard` removes (NULL-terminated), each also in any
 * spelling that differs only in case or in '_' for '-'. */
const char *const *anonymity_standard_fields(void);

/* 1 when a Referer value v[0..len) is an absolute http(s) URL, without user
 * info or anything a server could read two ways, whose host is host (in
 * hostname.h's normal form; ports are not compared).  strict keeps only
 * such Referers. */
int anonymity_referer_same_host(const char *v, size_t len, const char *host, size_t hostlen);

/* Edits the request about to be forwarded to host (in hostname.h's normal
 * form). */
void anonymity_apply(const struct anonymity *a, struct exchange *ex, const char *host, size_t hostlen);

#endif
