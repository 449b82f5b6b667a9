/* policy.c — parsing and finding forward-mode policies (see policy.h). */
#include "policy.h"
#include "apt.h"
#include "directory.h"
#include "negotiate.h"
#include "hostname.h"
#include "util.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>

static const char *const policy_keys[] = {"clients", "deny",   "connect_ports", "auth",
                                          "parent",  "filter", "block_page",    "cache",
                                          "tunnel_non_tls", "tunnel_ech", "status_allow",
                                          "bandwidth", "quota", PROTECT_KEYS, ANONYMITY_KEYS, NULL};
static const char *const auth_keys[] = {"file", "realm", "groups", "login_ttl", "ldap",
                                        "negotiate", NULL};
static const char *const parent_keys[] = {"address", "user", "password", "domains", NULL};

/* Without a rule, only this machine and private networks may use the proxy:
 * never an open proxy by default. */
static const char *const private_nets[] = {"127.0.0.0/8", "::1/128",    "10.0.0.0/8",
                                           "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
                                           "fe80::/10", NULL};
/* Who may lift bans from the status page unless status_allow says: this machine. */
static const char *const loopback[] = {"127.0.0.0/8", "::1/128", NULL};

static int load_auth(const struct gh_config *cfg, struct policy *p, config_setting_t *g,
                     char *err, size_t errlen)
{
    const char *file = NULL, *realm = "Gatehouse", *groups = NULL;
    config_setting_t *ldap = g ? config_setting_get_member(g, "ldap") : NULL;
    config_setting_t *neg = g ? config_setting_get_member(g, "negotiate") : NULL;
    struct directory *dir = NULL;
    char *path, msg[512];
    long ttl = 3600;

    if (!g)
        return 0;
    if (config_check_group(g, err, errlen,
                           "'auth' must be a group { file = \"users.htpasswd\"; }") < 0 ||
        config_check_keys(g, auth_keys, NULL, err, errlen) < 0 ||
        config_get_string(g, "file", &file, err, errlen) < 0 ||
        config_get_string(g, "realm", &realm, err, errlen) < 0 ||
        config_get_string(g, "groups", &groups, err, errlen) < 0 ||
        config_get_int(g, "login_ttl", 1, 604800, &ttl, err, errlen) < 0)
        return -1;
    p->login_ttl = (uint32_t)ttl;
    if (!file && !ldap && !neg) {
        config_error(err, errlen, g, "'auth' needs 'file' (an htpasswd file), 'ldap' (a "
                                     "directory) or 'negotiate' (Kerberos)");
        return -1;
    }
    p->basic = file || ldap;
    if (neg && !(p->negotiate = negotiate_load(neg, cfg, err, errlen)))
        return -1;
    for (const char *c = realm; *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) {
            config_error(err, errlen, g, "'realm' must not hold quotes, backslashes or control bytes");
            return -1;
        }
    if (ldap && !(dir = directory_load(ldap, cfg, err, errlen)))
        return -1;
    if (file) {
        path = config_path(cfg, file);
        p->users = auth_load(path, msg, sizeof(msg));
        free(path);
    } else {
        p->users = auth_new();
    }
    if (!p->users) {
        directory_free(dir);
        config_error(err, errlen, config_setting_get_member(g, "file"), "%s", msg);
        return -1;
    }
    if (dir)
        auth_use_directory(p->users, dir);
    p->realm = xstrdup(realm);
    if (groups) {
        path = config_path(cfg, groups);
        p->groups = auth_load_groups(path, msg, sizeof(msg));
        free(path);
        if (!p->groups) {
            config_error(err, errlen, config_setting_get_member(g, "groups"), "%s", msg);
            return -1;
        }
    }
    if (dir) {
        if (!p->groups)
            p->groups = auth_groups_new();
        auth_groups_use_directory(p->groups, dir);
    }
    return 0;
}

/* Reads a block page template (placeholders {{url}}, {{category}},
 * {{rule}}, {{client}}). */
static int load_block_page(const struct gh_config *cfg, struct policy *p, const config_setting_t *pg,
                           char *err, size_t errlen)
{
    const char *file = NULL;
    char *path;
    FILE *f;
    long n;

    if (config_get_string(pg, "block_page", &file, err, errlen) < 0)
        return -1;
    if (!file)
        return 0;
    path = config_path(cfg, file);
    f = fopen(path, "r");
    if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > 65536 || fseek(f, 0, SEEK_SET) < 0) {
        config_error(err, errlen, config_setting_get_member(pg, "block_page"),
                     "block page %s: %s", path, f ? "unreadable or over 64 KiB" : strerror(errno));
        if (f)
            fclose(f);
        free(path);
        return -1;
    }
    p->block_page = xcalloc(1, (size_t)n + 1);
    if (fread(p->block_page, 1, (size_t)n, f) != (size_t)n) {
        config_error(err, errlen, config_setting_get_member(pg, "block_page"), "block page %s: short read",
                     path);
        fclose(f);
        free(path);
        return -1;
    }
    fclose(f);
    free(path);
    return 0;
}

static int load_parent(struct policy *p, config_setting_t *g, char *err, size_t errlen)
{
    const char *address = NULL, *user = NULL, *password = NULL;
    struct parent *pa;
    struct sockaddr_storage ss;
    socklen_t len;
    char label[128];

    if (!g)
        return 0;
    if (config_check_group(g, err, errlen,
                           "'parent' must be a group { address = \"host:port\"; }") < 0 ||
        config_check_keys(g, parent_keys, NULL, err, errlen) < 0 ||
        config_get_string(g, "address", &address, err, errlen) < 0 ||
        config_get_string(g, "user", &user, err, errlen) < 0 ||
        config_get_string(g, "password", &password, err, errlen) < 0)
        return -1;
    if (!address || config_parse_addr(address, &ss, &len) < 0 || !strchr(address, ':')) {
        config_error(err, errlen, g, "'parent' needs 'address' = \"ip:port\"");
        return -1;
    }
    pa = p->parent = xcalloc(1, sizeof(*pa));
    if (address[0] == '[') {
        const char *rb = strchr(address, ']');
        pa->host = xstrndup(address + 1, (size_t)(rb - address - 1));
    } else {
        pa->host = xstrndup(address, (size_t)(strrchr(address, ':') - address));
    }
    pa->port = (uint16_t)atoi(strrchr(address, ':') + 1);
    gh_fmt(label, sizeof(label), "parent %s", address);
    pa->label = xstrdup(label);
    if (user || password) {
        char plain[512];
        unsigned char b64[700];
        int n = (int)gh_fmt(plain, sizeof(plain), "%s:%s", user ? user : "", password ? password : "");
        EVP_EncodeBlock(b64, (const unsigned char *)plain, n);
        gh_fmt(label, sizeof(label), "Basic %s", (const char *)b64);
        pa->authorization = xstrdup(label);
    }
    if (config_get_strings(g, "domains", 0, &pa->domains, &pa->ndomains, err, errlen) < 0)
        return -1;
    for (unsigned i = 0; i < pa->ndomains; i++) {
        /* one normal form: "Partner.Example." is partner.example */
        char *d = hostname_config(pa->domains[i]);
        if (!d) {
            config_error(err, errlen,
                         config_setting_get_elem(config_setting_get_member(g, "domains"), i),
                         "'domains': '%s' is not a host name", pa->domains[i]);
            return -1;
        }
        free(pa->domains[i]);
        pa->domains[i] = d;
    }
    return 0;
}

int policy_client_allowed(const struct policy *p, const struct sockaddr_storage *client)
{
    return acl_match(p->clients, client) && !acl_match(p->deny, client);
}

int policy_uses_parent(const struct policy *p, const char *host, size_t len)
{
    if (!p->parent)
        return 0;
    if (!p->parent->domains)
        return 1;
    for (unsigned i = 0; i < p->parent->ndomains; i++)
        if (hostname_under(host, len, p->parent->domains[i], strlen(p->parent->domains[i])))
            return 1; /* the domain itself or any name below it */
    return 0;
}

/* A list of ports and ranges, ( 443, "8000-8999" ) or [ "443", "563" ],
 * for the setting `key`, into *out and *n. */
static int load_port_list(config_setting_t *list, const char *key, struct port_range **out,
                          unsigned *nout, char *err, size_t errlen)
{
    int n;

    if (!config_setting_is_array(list) && !config_setting_is_list(list)) {
        config_error(err, errlen, list, "'%s' must be a list ( 443, \"8000-8999\" )", key);
        return -1;
    }
    n = config_setting_length(list);
    *out = xcalloc(n ? (size_t)n : 1, sizeof(**out));
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        long lo = 0, hi = 0;
        int got = 0;
        char tail = 0;
        if (config_setting_type(e) == CONFIG_TYPE_INT) {
            lo = hi = config_setting_get_int(e);
            got = 1;
        } else if (config_setting_type(e) == CONFIG_TYPE_STRING) {
            got = sscanf(config_setting_get_string(e), "%ld-%ld%c", &lo, &hi, &tail);
            if (got == 1)
                hi = lo;
            got = got == 1 || got == 2;
        }
        if (!got) {
            config_error(err, errlen, list, "'%s' entries are ports or \"lo-hi\" ranges", key);
            return -1;
        }
        if (lo < 1 || hi > 65535 || lo > hi) {
            config_error(err, errlen, list, "'%s': %ld-%ld is not a port range", key, lo, hi);
            return -1;
        }
        (*out)[i].lo = (uint16_t)lo;
        (*out)[i].hi = (uint16_t)hi;
        (*nout)++;
    }
    return 0;
}

static int in_ranges(const struct port_range *r, unsigned n, uint16_t port)
{
    for (unsigned i = 0; i < n; i++)
        if (port >= r[i].lo && port <= r[i].hi)
            return 1;
    return 0;
}

/* connect_ports; default: 443 only. */
static int load_ports(struct policy *p, config_setting_t *list, char *err, size_t errlen)
{
    if (!list) {
        p->connect_ports = xcalloc(1, sizeof(*p->connect_ports));
        p->connect_ports[0].lo = p->connect_ports[0].hi = 443;
        p->nconnect_ports = 1;
        return 0;
    }
    return load_port_list(list, "connect_ports", &p->connect_ports, &p->nconnect_ports, err,
                          errlen);
}

/* tunnel_non_tls = false (default) | true | ( 22, "8000-8999" ), and
 * tunnel_ech = "same-name" (default) | "refuse" | "allow": what a CONNECT
 * tunnel may start with where a filter rule applies (forward.c). */
static int load_tunnel(struct policy *p, config_setting_t *pg, char *err, size_t errlen)
{
    config_setting_t *nt = config_setting_get_member(pg, "tunnel_non_tls");
    const char *ech = NULL;

    if (nt && config_setting_type(nt) == CONFIG_TYPE_BOOL) {
        p->non_tls_any = (uint8_t)config_setting_get_bool(nt);
    } else if (nt && (config_setting_is_array(nt) || config_setting_is_list(nt))) {
        if (load_port_list(nt, "tunnel_non_tls", &p->non_tls_ports, &p->nnon_tls_ports, err,
                           errlen) < 0)
            return -1;
    } else if (nt) {
        config_error(err, errlen, nt,
                     "'tunnel_non_tls' is true, false or a list of ports ( 22, \"8000-8999\" )");
        return -1;
    }
    if (config_get_string(pg, "tunnel_ech", &ech, err, errlen) < 0)
        return -1;
    if (!ech || strcmp(ech, "same-name") == 0) {
        p->tunnel_ech = TUNNEL_ECH_SAME_NAME;
    } else if (strcmp(ech, "refuse") == 0) {
        p->tunnel_ech = TUNNEL_ECH_REFUSE;
    } else if (strcmp(ech, "allow") == 0) {
        p->tunnel_ech = TUNNEL_ECH_ALLOW;
    } else {
        config_error(err, errlen, config_setting_get_member(pg, "tunnel_ech"),
                     "'tunnel_ech' is \"same-name\", \"refuse\" or \"allow\"");
        return -1;
    }
    return 0;
}

int policy_tunnel_non_tls(const struct policy *p, uint16_t port)
{
    return p->non_tls_any || in_ranges(p->non_tls_ports, p->nnon_tls_ports, port);
}

int policy_connect_allowed(const struct policy *p, uint16_t port)
{
    return in_ranges(p->connect_ports, p->nconnect_ports, port);
}

/* A daily quota counts users: the policy must have them. */
static int load_quota(const struct gh_config *cfg, struct policy *p, const config_setting_t *g,
                      char *err, size_t errlen)
{
    if (g && !p->users) {
        config_error(err, errlen, g, "policy '%s': a 'quota' counts users and needs 'auth'",
                     p->name);
        return -1;
    }
    return quota_load(cfg, p->name, g, &p->quota, err, errlen);
}

struct policy_set *policy_load(const struct gh_config *cfg, config_t *file,
                               const struct list_set *lists, char *err, size_t errlen)
{
    struct policy_set *ps = xcalloc(1, sizeof(*ps));
    config_setting_t *g = config_lookup(file, "policies");

    ps->builtin.name = xstrdup("default");
    ps->builtin.clients = acl_new();
    ps->builtin.deny = acl_new();
    ps->builtin.status_allow = acl_new();
    config_get_networks(NULL, "clients", ps->builtin.clients, private_nets, err, errlen);
    config_get_networks(NULL, "status_allow", ps->builtin.status_allow, loopback, err, errlen);
    load_ports(&ps->builtin, NULL, err, errlen);
    if (!g)
        return ps;
    if (config_check_group(g, err, errlen, "'policies' must be a group { name = { ... }; }") < 0) {
        policy_free(ps);
        return NULL;
    }
    ps->n = (unsigned)config_setting_length(g);
    ps->p = xcalloc(ps->n ? ps->n : 1, sizeof(*ps->p));
    for (unsigned i = 0; i < ps->n; i++) {
        config_setting_t *pg = config_setting_get_elem(g, i);
        struct policy *p = &ps->p[i];
        p->name = xstrdup(config_setting_name(pg));
        p->line = (int)config_setting_source_line(pg);
        if (config_check_group(pg, err, errlen, "policy '%s' must be a group { ... }", p->name) <
            0) {
            policy_free(ps);
            return NULL;
        }
        if (config_check_keys(pg, policy_keys, NULL, err, errlen) < 0 ||
            config_get_networks(pg, "clients", p->clients = acl_new(), private_nets, err, errlen) <
                0 ||
            config_get_networks(pg, "deny", p->deny = acl_new(), NULL, err, errlen) < 0 ||
            load_auth(cfg, p, config_setting_get_member(pg, "auth"), err, errlen) < 0 ||
            load_parent(p, config_setting_get_member(pg, "parent"), err, errlen) < 0 ||
            filter_load(&p->filter, config_setting_get_member(pg, "filter"), lists, err, errlen) <
                0 ||
            load_block_page(cfg, p, pg, err, errlen) < 0 ||
            anonymity_load(&p->anon, pg, err, errlen) < 0 ||
            load_ports(p, config_setting_get_member(pg, "connect_ports"), err, errlen) < 0 ||
            load_tunnel(p, pg, err, errlen) < 0 ||
            cache_rules_load(&p->cache, config_setting_get_member(pg, "cache"), 0, apt_cache_keys,
                             err, errlen) < 0 ||
            apt_load(&p->apt, &p->cache, config_setting_get_member(pg, "cache"), err, errlen) < 0 ||
            config_get_networks(pg, "status_allow", p->status_allow = acl_new(), loopback, err,
                                errlen) < 0 ||
            protect_refs_load(cfg, pg, &p->protect, err, errlen) < 0 ||
            bwlimit_load(cfg, p->name, config_setting_get_member(pg, "bandwidth"), &p->bandwidth,
                         err, errlen) < 0 ||
            load_quota(cfg, p, config_setting_get_member(pg, "quota"), err, errlen) < 0) {
            policy_free(ps);
            return NULL;
        }
    }
    return ps;
}

static void free_policy(struct policy *p)
{
    free(p->name);
    acl_free(p->clients);
    acl_free(p->deny);
    acl_free(p->status_allow);
    protect_refs_free(&p->protect);
    bwlimit_free(p->bandwidth);
    quota_free(p->quota);
    free(p->connect_ports);
    free(p->non_tls_ports);
    auth_free(p->users);
    negotiate_free(p->negotiate);
    auth_groups_free(p->groups);
    free(p->realm);
    filter_free(&p->filter);
    cache_rules_free(&p->cache);
    apt_free(&p->apt);
    free(p->block_page);
    anonymity_free(&p->anon);
    if (p->parent) {
        config_strings_free(p->parent->domains);
        free(p->parent->host);
        free(p->parent->label);
        free(p->parent->authorization);
        free(p->parent);
    }
}

void policy_free(struct policy_set *ps)
{
    if (!ps)
        return;
    for (unsigned i = 0; i < ps->n; i++)
        free_policy(&ps->p[i]);
    free(ps->p);
    free_policy(&ps->builtin);
    free(ps);
}

const struct policy *policy_find(const struct policy_set *ps, const char *name)
{
    for (unsigned i = 0; i < ps->n; i++)
        if (strcmp(ps->p[i].name, name) == 0)
            return &ps->p[i];
    return strcmp(name, "default") == 0 ? &ps->builtin : NULL;
}
