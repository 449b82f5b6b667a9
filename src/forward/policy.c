/* policy.c — parsing and finding forward-mode policies (see policy.h). */
#include "policy.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const policy_keys[] = {"clients", "connect_ports", NULL};

/* Without a rule, only this machine and private networks may use the proxy:
 * never an open proxy by default. */
static const char *const private_nets[] = {"127.0.0.0/8", "::1/128",    "10.0.0.0/8",
                                           "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
                                           "fe80::/10", NULL};

static int load_clients(struct policy *p, config_setting_t *list, char *err, size_t errlen)
{
    p->clients = acl_new();
    if (!list) {
        for (const char *const *n = private_nets; *n; n++)
            acl_add(p->clients, *n, err, errlen);
        return 0;
    }
    if (!config_setting_is_array(list) && !config_setting_is_list(list)) {
        config_error(err, errlen, list, "'clients' must be a list of networks [ \"10.0.0.0/8\" ]");
        return -1;
    }
    for (int i = 0; i < config_setting_length(list); i++) {
        config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        const char *s = config_setting_get_string(e);
        char msg[256];
        if (!s) {
            config_error(err, errlen, e, "'clients' entries must be strings");
            return -1;
        }
        if (acl_add(p->clients, s, msg, sizeof(msg)) < 0) {
            config_error(err, errlen, e, "%s", msg);
            return -1;
        }
    }
    return 0;
}

/* connect_ports = ( 443, "8000-8999" ) or [ "443", "563" ]; default: 443 only. */
static int load_ports(struct policy *p, config_setting_t *list, char *err, size_t errlen)
{
    int n;

    if (!list) {
        p->connect_ports = xcalloc(1, sizeof(*p->connect_ports));
        p->connect_ports[0].lo = p->connect_ports[0].hi = 443;
        p->nconnect_ports = 1;
        return 0;
    }
    if (!config_setting_is_array(list) && !config_setting_is_list(list)) {
        config_error(err, errlen, list, "'connect_ports' must be a list ( 443, \"8000-8999\" )");
        return -1;
    }
    n = config_setting_length(list);
    p->connect_ports = xcalloc(n ? (size_t)n : 1, sizeof(*p->connect_ports));
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
            config_error(err, errlen, list, "'connect_ports' entries are ports or \"lo-hi\" ranges");
            return -1;
        }
        if (lo < 1 || hi > 65535 || lo > hi) {
            config_error(err, errlen, list, "'connect_ports': %ld-%ld is not a port range", lo, hi);
            return -1;
        }
        p->connect_ports[i].lo = (uint16_t)lo;
        p->connect_ports[i].hi = (uint16_t)hi;
        p->nconnect_ports++;
    }
    return 0;
}

int policy_connect_allowed(const struct policy *p, uint16_t port)
{
    for (unsigned i = 0; i < p->nconnect_ports; i++)
        if (port >= p->connect_ports[i].lo && port <= p->connect_ports[i].hi)
            return 1;
    return 0;
}

struct policy_set *policy_load(const struct gh_config *cfg, config_t *file, char *err,
                               size_t errlen)
{
    struct policy_set *ps = xcalloc(1, sizeof(*ps));
    config_setting_t *g = config_lookup(file, "policies");

    GH_UNUSED(cfg);
    ps->builtin.name = xstrdup("default");
    load_clients(&ps->builtin, NULL, err, errlen);
    load_ports(&ps->builtin, NULL, err, errlen);
    if (!g)
        return ps;
    if (!config_setting_is_group(g)) {
        config_error(err, errlen, g, "'policies' must be a group { name = { ... }; }");
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
        if (!config_setting_is_group(pg)) {
            config_error(err, errlen, pg, "policy '%s' must be a group { ... }", p->name);
            policy_free(ps);
            return NULL;
        }
        if (config_check_keys(pg, policy_keys, NULL, err, errlen) < 0 ||
            load_clients(p, config_setting_get_member(pg, "clients"), err, errlen) < 0 ||
            load_ports(p, config_setting_get_member(pg, "connect_ports"), err, errlen) < 0) {
            policy_free(ps);
            return NULL;
        }
    }
    return ps;
}

void policy_free(struct policy_set *ps)
{
    if (!ps)
        return;
    for (unsigned i = 0; i < ps->n; i++) {
        free(ps->p[i].name);
        acl_free(ps->p[i].clients);
        free(ps->p[i].connect_ports);
    }
    free(ps->p);
    free(ps->builtin.name);
    acl_free(ps->builtin.clients);
    free(ps->builtin.connect_ports);
    free(ps);
}

const struct policy *policy_find(const struct policy_set *ps, const char *name)
{
    for (unsigned i = 0; i < ps->n; i++)
        if (strcmp(ps->p[i].name, name) == 0)
            return &ps->p[i];
    return strcmp(name, "default") == 0 ? &ps->builtin : NULL;
}
