/* policy.h — forward-mode policies: named rule sets a listener refers to.
 * Today a policy says which clients may use the proxy; filtering, ports and
 * authentication join it in later issues. */
#ifndef GH_POLICY_H
#define GH_POLICY_H

#include "acl.h"
#include "apt.h"
#include "cache.h"
#include "anonymity.h"
#include "auth.h"
#include "filter.h"
#include "config.h"
#include "bwlimit.h"
#include "protect.h"
#include "quota.h"

struct port_range {
    uint16_t lo, hi;
};

/* An upstream proxy to chain to. */
struct parent {
    char *host;
    uint16_t port;
    char *label;           /* "parent host:port" for the log */
    char *authorization;   /* "Basic ..." or NULL */
    char **domains;        /* only these (and subdomains), in hostname.h's normal form;
                            * NULL: everything */
    unsigned ndomains;
};

/* What a filtered tunnel's Encrypted Client Hello may do (tunnel_ech). */
enum tunnel_ech {
    TUNNEL_ECH_SAME_NAME, /* pass when its outer name is the CONNECT's host */
    TUNNEL_ECH_REFUSE,    /* never pass */
    TUNNEL_ECH_ALLOW,     /* pass; the outer name is judged like any */
};

struct policy {
    char *name;
    struct acl *clients;   /* who may use the proxy */
    struct acl *deny;      /* refused even when in clients */
    struct auth_users *users; /* proxy authentication, NULL: none */
    struct auth_groups *groups; /* user groups, NULL: none */
    char *realm;
    uint32_t login_ttl;    /* a transparent listener's captive login lasts this long (s) */
    struct negotiate *negotiate; /* Kerberos single sign-on (auth.negotiate), NULL: none */
    int basic;             /* Basic is offered: a password file or a directory */
    struct filter filter;  /* content filtering rules, in order */
    char *block_page;      /* the block page template, NULL: built in */
    struct anonymity anon;
    struct parent *parent; /* NULL: go direct */
    struct port_range *connect_ports; /* where CONNECT may go */
    unsigned nconnect_ports;
    /* filtered tunnels that need not be TLS: any port, or these */
    uint8_t non_tls_any;
    struct port_range *non_tls_ports;
    unsigned nnon_tls_ports;
    enum tunnel_ech tunnel_ech;
    struct cache_rules cache; /* caching through this policy */
    struct apt_profile apt;   /* its apt profile (in the same `cache` group) */
    struct protect_refs protect; /* its rate_limits, deny_rules, bans */
    struct bw_limit *bandwidth;  /* its bandwidth limits, NULL: none */
    struct quota *quota;         /* its users' daily volume, NULL: none */
    struct acl *status_allow; /* who may lift bans on the status page */
    int line;
};

struct policy_set {
    struct policy *p;
    unsigned n;
    struct policy builtin; /* "default": loopback and private ranges */
};

/* Parses the top-level `policies` group; NULL with err on a bad one. */
struct policy_set *policy_load(const struct gh_config *cfg, config_t *file,
                               const struct list_set *lists, char *err, size_t errlen);
void policy_free(struct policy_set *ps);

/* 1 when the client may use the proxy under this policy. */
int policy_client_allowed(const struct policy *p, const struct sockaddr_storage *client);

/* 1 when requests for host (in hostname.h's normal form) go through the
 * policy's parent proxy. */
int policy_uses_parent(const struct policy *p, const char *host, size_t len);

/* 1 when CONNECT to `port` is allowed by the policy. */
int policy_connect_allowed(const struct policy *p, uint16_t port);

/* 1 when a filtered CONNECT tunnel to `port` may carry something other
 * than TLS (tunnel_non_tls). */
int policy_tunnel_non_tls(const struct policy *p, uint16_t port);

/* The named policy, or NULL. "default" is always there unless redefined. */
const struct policy *policy_find(const struct policy_set *ps, const char *name);

#endif
