/* forward.c — the forward front-end's decisions (see forward.h): who may use
 * the gateway, and where an absolute-form request goes.  It never touches a
 * socket; the core forwards what it names. */
#include "forward.h"
#include "exchange.h"
#include "log.h"
#include "pages.h"
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

/* Checks the client's proxy credentials.  Returns 1 when the request may go
 * on, 0 when it was answered (407, held back after repeated failures). */
static int authenticate(struct exchange *ex, const struct policy *p)
{
    const struct http_head *r = exchange_request(ex);
    int i = http1_find(r, exchange_base(ex), "proxy-authorization", 0);
    char user[128], challenge[256];

    if (i >= 0 && auth_check(p->users, exchange_str(ex, r->fields[i].value), r->fields[i].value.len,
                             user, sizeof(user))) {
        auth_succeeded(exchange_client(ex));
        exchange_set_user(ex, user);
        return 1;
    }
    gh_fmt(challenge, sizeof(challenge), "Proxy-Authenticate: Basic realm=\"%s\", charset=\"UTF-8\"\r\n",
           p->realm);
    exchange_respond(ex, 407, "text/plain; charset=utf-8", challenge,
                     "proxy authentication required\n", 30);
    if (i >= 0) { /* a wrong password, not a first challenge */
        uint32_t hold = auth_failed(exchange_client(ex));
        if (hold)
            exchange_delay(ex, hold);
        exchange_error_reason(ex, "proxy authentication failed");
    } else {
        exchange_error_reason(ex, "proxy authentication required");
    }
    return 0;
}

static void handle(struct exchange *ex)
{
    const struct policy *p = exchange_listener(ex)->fe_conf;
    const struct http_head *r = exchange_request(ex);
    const char *host;
    char target[8200];

    if (!policy_client_allowed(p, exchange_client(ex))) {
        exchange_error(ex, 403, "client address not allowed by policy");
        return;
    }
    if (r->form == HTTP_TARGET_ORIGIN || r->form == HTTP_TARGET_ASTERISK) {
        pages_serve(ex); /* asked about the proxy itself: no credentials needed */
        return;
    }
    if (p->users && !authenticate(ex, p))
        return;
    host = exchange_str(ex, r->host);
    if (r->form == HTTP_TARGET_AUTHORITY) {
        if (!policy_connect_allowed(p, r->port)) {
            exchange_error(ex, 403, "CONNECT to this port is not allowed by policy");
            return;
        }
        if (policy_uses_parent(p, host, r->host.len)) {
            if (p->parent->authorization)
                exchange_set_field(ex, "Proxy-Authorization", p->parent->authorization,
                                   strlen(p->parent->authorization));
            exchange_tunnel_via(ex, p->parent->host, strlen(p->parent->host), p->parent->port,
                                p->parent->label);
            return;
        }
        exchange_tunnel(ex, host, r->host.len, r->port, NULL);
        return;
    }
    if (!gh_strcaseeq(exchange_str(ex, r->scheme), r->scheme.len, "http")) {
        exchange_error(ex, 501, "only http:// URLs are forwarded; use CONNECT for https");
        return;
    }
    /* The absolute URL's authority overrides any Host field (RFC 9112 3.2.2). */
    exchange_set_field(ex, "Host", exchange_str(ex, r->authority), r->authority.len);
    if (policy_uses_parent(p, host, r->host.len)) {
        /* a parent proxy gets the absolute form, and our credentials */
        if (p->parent->authorization)
            exchange_set_field(ex, "Proxy-Authorization", p->parent->authorization,
                               strlen(p->parent->authorization));
        exchange_forward(ex, p->parent->host, strlen(p->parent->host), p->parent->port,
                         p->parent->label);
        return;
    }
    if (r->path.len == 0)
        exchange_set_target(ex, "/", 1);
    else if (exchange_str(ex, r->path)[0] == '?') { /* "http://h?q" means "/?q" */
        size_t n = gh_fmt(target, sizeof(target), "/%.*s", (int)r->path.len, exchange_str(ex, r->path));
        exchange_set_target(ex, target, n);
    } else {
        exchange_set_target(ex, exchange_str(ex, r->path), r->path.len);
    }
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
