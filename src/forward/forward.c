/* forward.c — the forward front-end's decisions (see forward.h): who may use
 * the gateway, and where an absolute-form request goes.  It never touches a
 * socket; the core forwards what it names. */
#include "forward.h"
#include "exchange.h"
#include "log.h"
#include "policy.h"
#include "util.h"

#include <stdlib.h>

static const char *const sections[] = {"policies", NULL};
static const char *const listener_keys[] = {"policy", NULL};

static void *load(const struct gh_config *cfg, config_t *file, char *err, size_t errlen)
{
    return policy_load(cfg, file, err, errlen);
}

static void *listener(const struct gh_config *cfg, void *state, config_setting_t *ls, char *err,
                      size_t errlen)
{
    const char *name = "default";
    const struct policy *p;

    GH_UNUSED(cfg);
    if (config_get_string(ls, "policy", &name, err, errlen) < 0)
        return NULL;
    p = policy_find(state, name);
    if (!p)
        config_error(err, errlen, config_setting_get_member(ls, "policy"),
                     "listener uses policy '%s', which is not defined in 'policies'", name);
    return (void *)p;
}

static void unload(void *state)
{
    policy_free(state);
}

static void handle(struct exchange *ex)
{
    const struct policy *p = exchange_listener(ex)->fe_conf;
    const struct http_head *r = exchange_request(ex);
    char host[256];

    if (!acl_match(p->clients, exchange_client(ex))) {
        exchange_error(ex, 403, "client address not allowed by policy");
        return;
    }
    if (r->form == HTTP_TARGET_AUTHORITY) {
        if (!policy_connect_allowed(p, r->port)) {
            exchange_error(ex, 403, "CONNECT to this port is not allowed by policy");
            return;
        }
        exchange_tunnel(ex, exchange_str(ex, r->host), r->host.len, r->port, NULL);
        return;
    }
    if (r->form != HTTP_TARGET_ABSOLUTE) {
        exchange_error(ex, 400, "this is a proxy: ask for an absolute URL (http://host/path)");
        return;
    }
    if (!gh_strcaseeq(exchange_str(ex, r->scheme), r->scheme.len, "http")) {
        exchange_error(ex, 501, "only http:// URLs are forwarded; use CONNECT for https");
        return;
    }
    if (r->host.len >= sizeof(host)) {
        exchange_error(ex, 400, "host name too long");
        return;
    }
    memcpy(host, exchange_str(ex, r->host), r->host.len);
    host[r->host.len] = '\0';
    /* The absolute URL's authority overrides any Host field (RFC 9112 3.2.2). */
    exchange_set_field(ex, "Host", exchange_str(ex, r->authority), r->authority.len);
    if (r->path.len)
        exchange_set_target(ex, exchange_str(ex, r->path), r->path.len);
    else
        exchange_set_target(ex, "/", 1);
    exchange_forward(ex, host, r->host.len, r->port, NULL);
}

const struct frontend forward_frontend = {
    .name = "forward",
    .sections = sections,
    .listener_keys = listener_keys,
    .load = load,
    .listener = listener,
    .free = unload,
    .handle = handle,
};
