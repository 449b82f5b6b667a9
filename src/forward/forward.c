/* forward.c — the forward front-end's decisions (see forward.h): who may use
 * the gateway, and where an absolute-form request goes.  It never touches a
 * socket; the core forwards what it names. */
#include "forward.h"
#include "apt.h"
#include "auth_delay.h"
#include "metrics.h"
#include "top.h"
#include "cache.h"
#include "exchange.h"
#include "log.h"
#include "blockpage.h"
#include "filter.h"
#include "hostname.h"
#include "login.h"
#include "intercept.h"
#include "pages.h"
#include "notes.h"
#include "proxy_auth.h"
#include "safesearch.h"
#include "policy.h"
#include "protect.h"
#include "urlpath.h"
#include "sni.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const sections[] = {"policies", "lists", NULL};

/* The front-end's state for one configuration generation. */
struct forward_state {
    struct list_set *lists;
    struct policy_set *policies;
};
static const char *const listener_keys[] = {"policy", NULL};

static void unload(void *state);

static void *load(const struct gh_config *cfg, config_t *file, char *err, size_t errlen)
{
    struct forward_state *st = xcalloc(1, sizeof(*st));

    auth_delay_subscribe();
    st->lists = lists_load(cfg, file, err, errlen);
    if (st->lists)
        st->policies = policy_load(cfg, file, st->lists, err, errlen);
    if (!st->policies) {
        unload(st);
        return NULL;
    }
    return st;
}

static void *listener(const struct gh_config *cfg, void *state, config_setting_t *ls, char *err,
                      size_t errlen)
{
    const char *name = "default";
    const struct policy *p;

    GH_UNUSED(cfg);
    if (config_get_string(ls, "policy", &name, err, errlen) < 0)
        return NULL;
    p = policy_find(((struct forward_state *)state)->policies, name);
    if (!p)
        config_error(err, errlen, config_setting_get_member(ls, "policy"),
                     "listener uses policy '%s', which is not defined in 'policies'", name);
    return (void *)p;
}

static void unload(void *state)
{
    struct forward_state *st = state;

    policy_free(st->policies);
    lists_free(st->lists);
    free(st);
}

/* The filter rule for this exchange's client, user and the local time. */
static const struct filter_rule *rule_for(struct exchange *ex, const struct policy *p)
{
    time_t now = time(NULL);
    struct tm tm;

    if (!p->filter.n)
        return NULL;
    localtime_r(&now, &tm);
    return filter_select(&p->filter, exchange_client(ex), exchange_user(ex), p->groups, &tm);
}

/* Answers 403 with the block page and notes the decision for the log. */
static void block(struct exchange *ex, const struct policy *p, const char *url, const char *category,
                  const char *rule)
{
    char page[16384], note[96];
    size_t n = blockpage_render(p->block_page, url, category, rule, exchange_client_text(ex), page,
                                sizeof(page));

    gh_fmt(note, sizeof(note), "block:%s", category);
    exchange_set_filter(ex, note);
    protect_note_event(ex, PEV_DENIED);
    exchange_respond(ex, 403, "text/html; charset=utf-8", "Cache-Control: no-store\r\n", page, n);
    exchange_error_reason(ex, "blocked by the filter");
}

/* Filters a request for host (and path, the filter's view).  Returns 1
 * when it may go on. */
static int filter_request(struct exchange *ex, const struct policy *p, const struct filter_rule *r,
                          const char *host, size_t hostlen, const char *path, size_t pathlen)
{
    struct filter_verdict v;
    char url[2048], note[96];

    if (!r)
        return 1;
    filter_check(r, host, hostlen, path, pathlen, &v);
    gh_fmt(url, sizeof(url), "%.*s%.*s", (int)hostlen, host, (int)pathlen, path);
    if (v.block) {
        block(ex, p, url, v.category, v.rule);
        return 0;
    }
    if (pathlen && filter_refuses_extension(r, path, pathlen)) {
        block(ex, p, url, "file-type", "blocked extension");
        return 0;
    }
    gh_fmt(note, sizeof(note), "allow:%s", v.category);
    exchange_set_filter(ex, note);
    return 1;
}

/* Writes "host[:port]" (an IPv6 literal in brackets; the port left out when
 * it is dflt) into dst; returns its length. */
static size_t authority(char *dst, size_t cap, const char *host, uint16_t port, uint16_t dflt)
{
    size_t n = strchr(host, ':') ? gh_fmt(dst, cap, "[%s]", host) : gh_fmt(dst, cap, "%s", host);

    if (port != dflt)
        n += gh_fmt(dst + n, cap - n, ":%u", (unsigned)port);
    return n;
}

/* CONNECT host:port, host in normal form. */
static void tunnel(struct exchange *ex, const struct policy *p, const struct filter_rule *fr,
                   const char *host, size_t hostlen)
{
    const struct http_head *r = exchange_request(ex);
    char target[HOSTNAME_MAX + 16];
    const char *safe;
    size_t n;

    if (!policy_connect_allowed(p, r->port)) {
        exchange_error(ex, 403, "CONNECT to this port is not allowed by policy");
        return;
    }
    if (!filter_request(ex, p, fr, host, hostlen, "", 0))
        return;
    if (fr && fr->safe_search && (safe = safesearch_host(host, hostlen))) {
        exchange_tunnel(ex, safe, strlen(safe), r->port, NULL);
        return;
    }
    if (policy_uses_parent(p, host, hostlen)) {
        /* the parent is asked for the name the filter judged */
        n = authority(target, sizeof(target), host, r->port, 0);
        exchange_set_target(ex, target, n);
        exchange_set_field(ex, "Host", target, n);
        if (p->parent->authorization)
            exchange_set_field(ex, "Proxy-Authorization", p->parent->authorization,
                               strlen(p->parent->authorization));
        exchange_tunnel_via(ex, p->parent->host, strlen(p->parent->host), p->parent->port,
                            p->parent->label);
        return;
    }
    exchange_tunnel(ex, host, hostlen, r->port, NULL);
}

/* Writes the path and query to forward into out: the normal form when a
 * filter rule judges the request, so that the origin gets exactly what was
 * judged (the view, urlpath.h, goes to view); otherwise the target as the
 * client wrote it (RFC 9110 7.7), "/" put before a bare query or nothing.
 * Returns its length, or -1 after answering 400. */
static long target_path(struct exchange *ex, const struct filter_rule *fr, char *out, size_t cap,
                        char *view, long *viewlen)
{
    const struct http_head *r = exchange_request(ex);
    /* origin-form: an intercepted request, whose whole target is the path */
    struct http_slice ps = r->form == HTTP_TARGET_ORIGIN ? r->target : r->path;
    const char *path = exchange_str(ex, ps), *why = NULL;
    long n;

    if (!fr) {
        n = (long)gh_fmt(out, cap, "%s%.*s", ps.len && path[0] == '/' ? "" : "/", (int)ps.len,
                         path);
        return n;
    }
    *viewlen = urlpath_normalize(path, ps.len, URLPATH_VIEW, view, URLPATH_MAX, &why);
    n = *viewlen < 0 ? -1 : urlpath_normalize(path, ps.len, 0, out, cap, &why);
    if (n < 0)
        exchange_error(ex, 400, why);
    return n;
}

/* GET http://host/path, host in normal form. */
static void forward_http(struct exchange *ex, const struct policy *p, const struct filter_rule *fr,
                         const char *host, size_t hostlen)
{
    const struct http_head *r = exchange_request(ex);
    char view[URLPATH_MAX], target[HOSTNAME_MAX + 16 + URLPATH_MAX], auth[HOSTNAME_MAX + 8];
    int parent = policy_uses_parent(p, host, hostlen);
    size_t authlen = authority(auth, sizeof(auth), host, r->port, 80), pre = 0;
    long n, viewlen = 0;
    const char *safe;

    if (!gh_strcaseeq(exchange_str(ex, r->scheme), r->scheme.len, "http")) {
        exchange_error(ex, 501, "only http:// URLs are forwarded; use CONNECT for https");
        return;
    }
    if (parent) /* a parent proxy gets the absolute form */
        pre = gh_fmt(target, sizeof(target), "http://%s", auth);
    if ((n = target_path(ex, fr, target + pre, sizeof(target) - pre, view, &viewlen)) < 0)
        return;
    if (!filter_request(ex, p, fr, host, hostlen, view, (size_t)viewlen))
        return;
    /* The absolute URL's authority overrides any Host field (RFC 9112
     * 3.2.2), in the normal form it was judged in. */
    exchange_set_field(ex, "Host", auth, authlen);
    anonymity_apply(&p->anon, ex, host, hostlen);
    if (cache_request(ex, apt_rules_for(&p->apt, &p->cache, host, hostlen)) != CACHE_FORWARD)
        return; /* answered from the cache, or queued behind another's fetch */
    exchange_set_target(ex, target, pre + (size_t)n);
    if (parent) {
        if (p->parent->authorization)
            exchange_set_field(ex, "Proxy-Authorization", p->parent->authorization,
                               strlen(p->parent->authorization));
        exchange_forward_via(ex, p->parent->host, strlen(p->parent->host), p->parent->port,
                             p->parent->label);
        return;
    }
    if (fr && fr->safe_search && (safe = safesearch_host(host, hostlen))) {
        if (safesearch_is_youtube(host, hostlen))
            exchange_set_field(ex, "YouTube-Restrict", "Strict", 6);
        exchange_forward(ex, safe, strlen(safe), r->port, NULL);
        return;
    }
    exchange_forward(ex, host, hostlen, r->port, NULL);
}

/* Counts the exchange's bytes against the policy's bandwidth limits, under
 * its client's address, its user or its user's group as the policy says
 * (a request without a user is counted under its address). */
static void meter(struct exchange *ex, const struct policy *p)
{
    const struct bw_limit *l = p->bandwidth;
    const char *user = exchange_user(ex), *key = user;
    unsigned char addr[17];
    char k[300];
    size_t n;

    if (l->key == BW_GROUP && user) {
        for (unsigned i = 0; i < l->ngroups; i++)
            if (auth_in_group(p->groups, user, l->groups[i])) {
                key = l->groups[i];
                break;
            }
    }
    if (l->key == BW_CLIENT || !key) {
        n = bwlimit_client_key(l, exchange_client(ex), addr);
        bwlimit_attach(ex, l, &fwd_notes_of(ex)->bw, addr, n);
        return;
    }
    /* a user and a group of the same name are different keys */
    n = gh_fmt(k, sizeof(k), "%c%s", key == user ? 'u' : 'g', key);
    bwlimit_attach(ex, l, &fwd_notes_of(ex)->bw, k, n);
}

/* A user past the day's volume: 403 with a page saying so. */
static void over_quota(struct exchange *ex, const struct policy *p)
{
    char body[1024], note[96];
    size_t n = gh_fmt(body, sizeof(body),
                      "<!DOCTYPE html>\n<html><head><title>Daily quota used up</title></head>\n"
                      "<body><h1>Daily quota used up</h1>\n<p>You have used today's %llu MB "
                      "through this proxy (%llu MB so far). It starts again at midnight.</p>\n"
                      "<hr><p>gatehouse</p></body></html>\n",
                      (unsigned long long)(p->quota->daily / 1000000),
                      (unsigned long long)(quota_used(p->quota, exchange_user(ex)) / 1000000));

    gh_fmt(note, sizeof(note), "quota:%s", p->name);
    exchange_set_filter(ex, note);
    exchange_respond(ex, 403, "text/html; charset=utf-8", "Cache-Control: no-store\r\n", body, n);
    exchange_error_reason(ex, "daily quota used up");
}


/* The listener's protections (deny rules, bans, limits), before anything
 * else.  Returns 1 when the request may go on. */
static int listener_admits(struct exchange *ex, struct protect_view *pv)
{
    const struct protect_refs *lp = exchange_listener(ex)->protect;

    return protect_refs_empty(lp) || protect_check(pv, lp);
}

/* The policy's own, once its user is known (authenticated, or logged in
 * at the captive page): its protections, the day's quota, and the meter
 * of its bandwidth limits.  Returns 1 when the request may go on. */
static int policy_admits(struct exchange *ex, const struct policy *p, struct protect_view *pv)
{
    pv->user = exchange_user(ex);
    if (!protect_refs_empty(&p->protect) && !protect_check(pv, &p->protect))
        return 0;
    if (p->quota && pv->user && quota_over(p->quota, pv->user)) {
        over_quota(ex, p);
        return 0;
    }
    if (p->bandwidth)
        meter(ex, p);
    return 1;
}

/* What the protections see of a request: its client, host (normal form,
 * "" when not yet known) and target. */
static void view_of(struct protect_view *pv, struct exchange *ex, const struct policy *p,
                    const char *host, int hostlen)
{
    const struct http_head *r = exchange_request(ex);

    protect_view_init(pv, ex, exchange_client(ex));
    pv->host = hostlen > 0 ? host : "";
    pv->hostlen = hostlen > 0 ? (size_t)hostlen : 0;
    pv->target = "";
    pv->targetlen = 0;
    if (exchange_intercepted_hello(ex)) {
        /* no request: a ClientHello */
    } else if (r->form == HTTP_TARGET_ABSOLUTE) {
        pv->target = exchange_str(ex, r->path);
        pv->targetlen = r->path.len;
    } else if (r->form != HTTP_TARGET_AUTHORITY) {
        pv->target = exchange_str(ex, r->target);
        pv->targetlen = r->target.len;
    }
    pv->route = p->name;
}

static void intercepted_tls(struct exchange *ex, const struct policy *p,
                            const struct sockaddr_storage *dst, struct protect_view *pv);

/* Splits an intercepted request's Host field into its host (normal form,
 * into host, HOSTNAME_MAX) and port (80 when none).  Returns the host's
 * length, or -1 after answering 400. */
static int host_field(struct exchange *ex, char *host, uint16_t *port)
{
    char v[HOSTNAME_MAX + 16];
    int n = exchange_field(ex, "host", v, sizeof(v)), hl;
    char *colon, *h = v;

    *port = 80;
    if (n > 0 && v[0] == '[') { /* an IPv6 literal */
        h = v + 1;
        colon = strchr(h, ']');
        if (colon) {
            *colon++ = '\0';
            if (*colon == ':')
                *port = (uint16_t)atoi(colon + 1);
        }
    } else if (n > 0 && (colon = strrchr(v, ':'))) {
        *colon = '\0';
        *port = (uint16_t)atoi(colon + 1);
    }
    hl = n > 0 ? hostname_normalize(h, strlen(h), host, HOSTNAME_MAX) : -1;
    if (hl < 0)
        exchange_error(ex, 400, "an intercepted request needs a Host that is a DNS name or an "
                                "IP address");
    return hl;
}

/* A request on an intercepted connection (a transparent listener's): it
 * is filtered by its Host and URL as any, and goes to the original
 * destination dst alone, once the Host is seen to resolve to dst
 * (exchange_pin): a client cannot name an allowed host and reach a
 * blocked address.  No parent proxy, no safe-search steering and no
 * cache: the connection's destination is the client's. */
static void intercepted_http(struct exchange *ex, const struct policy *p,
                             const struct sockaddr_storage *dst, struct protect_view *pv)
{
    const struct http_head *r = exchange_request(ex);
    const struct filter_rule *fr;
    char host[HOSTNAME_MAX], view[URLPATH_MAX], target[URLPATH_MAX], auth[HOSTNAME_MAX + 8];
    long n, viewlen = 0;
    uint16_t port;
    int hl;

    if (r->form != HTTP_TARGET_ORIGIN) {
        exchange_error(ex, 400, "an intercepted connection takes origin-form requests only");
        return;
    }
    if ((hl = host_field(ex, host, &port)) < 0)
        return;
    pv->host = host;
    pv->hostlen = (size_t)hl;
    if (!listener_admits(ex, pv))
        return;
    if (port != intercept_port(dst)) {
        log_info("intercepted connection from %s to port %u refused: its Host names port %u",
                 exchange_client_text(ex), intercept_port(dst), (unsigned)port);
        exchange_error(ex, 409, "the Host port is not the original destination's");
        return;
    }
    if (p->users && !login_gate(ex, p, 0, host))
        return; /* the captive login, or its page */
    if (!policy_admits(ex, p, pv))
        return;
    fr = rule_for(ex, p); /* which may name the user */
    if ((n = target_path(ex, fr, target, sizeof(target), view, &viewlen)) < 0)
        return;
    if (!filter_request(ex, p, fr, host, (size_t)hl, view, (size_t)viewlen))
        return;
    exchange_set_field(ex, "Host", auth, authority(auth, sizeof(auth), host, port, 80));
    anonymity_apply(&p->anon, ex, host, (size_t)hl);
    exchange_set_target(ex, target, (size_t)n);
    exchange_forward(ex, host, (size_t)hl, port, NULL);
    exchange_pin(ex, dst);
}

static void handle(struct exchange *ex)
{
    const struct policy *p = exchange_listener(ex)->fe_conf;
    const struct http_head *r = exchange_request(ex);
    const struct sockaddr_storage *dst = exchange_original_dst(ex);
    int proxy_itself = r->form == HTTP_TARGET_ORIGIN || r->form == HTTP_TARGET_ASTERISK;
    struct protect_view pv;
    char host[HOSTNAME_MAX];
    int hostlen = 0;

    if (!policy_client_allowed(p, exchange_client(ex))) {
        exchange_error(ex, 403, "client address not allowed by policy");
        return;
    }
    /* One normal form of the host for every decision below: the lists,
     * safe search, cookies, the parent's domains, apt mirrors, and the
     * name resolved.  A name no resolver takes is never guessed at. */
    if (!dst && !proxy_itself)
        hostlen = hostname_normalize(exchange_str(ex, r->host), r->host.len, host, sizeof(host));
    view_of(&pv, ex, p, host, hostlen);
    if (dst) {
        if (exchange_intercepted_hello(ex))
            intercepted_tls(ex, p, dst, &pv);
        else
            intercepted_http(ex, p, dst, &pv);
        return;
    }
    if (proxy_itself) {
        /* asked about the proxy itself: no credentials, and no protection
         * (a banned operator can still lift bans from status_allow) */
        pages_serve(ex, p->status_allow);
        return;
    }
    if (!listener_admits(ex, &pv))
        return;
    if (hostlen < 0) {
        exchange_error(ex, 400, "host is not a DNS name or an IP address");
        return;
    }
    if (p->users && !proxy_authenticate(ex, p))
        return;
    if (!policy_admits(ex, p, &pv))
        return;
    if (r->form == HTTP_TARGET_AUTHORITY)
        tunnel(ex, p, rule_for(ex, p), host, (size_t)hostlen);
    else
        forward_http(ex, p, rule_for(ex, p), host, (size_t)hostlen);
}

/* A request queued behind another's cache fill, or parked while the
 * directory is asked about its credentials, is decided again (what ran
 * before the park is idempotent: the protections count an exchange once). */
static void resume(struct exchange *ex)
{
    if (cache_waiting(ex))
        cache_wait_restart(ex);
    handle(ex);
}

/* The first refused media type in a Content-Type value, as a pointer into
 * it with *len, or NULL.  The value is read as browsers read it (Fetch,
 * "extract a MIME type"): a list split at commas outside quoted strings,
 * each member a type (its essence before ';', whitespace trimmed), the last
 * valid one winning; so every member is judged. */
static const char *refused_member(const struct filter_rule *fr, const char *v, size_t vlen,
                                  size_t *len)
{
    size_t i = 0;

    while (i < vlen) {
        size_t start, end;
        int quoted = 0;
        while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        start = i;
        for (; i < vlen && (quoted || v[i] != ','); i++) {
            if (v[i] == '"')
                quoted = !quoted;
            else if (v[i] == '\\' && quoted && i + 1 < vlen)
                i++;
        }
        end = start; /* the essence: "type/subtype", before any parameters */
        while (end < i && v[end] != ';')
            end++;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end > start && filter_refuses_type(fr, v + start, end - start)) {
            *len = end - start;
            return v + start;
        }
    }
    return NULL;
}

/* Plain-http downloads of refused types never reach the client.  Every
 * Content-Type field is judged, and every member of a list in one: a
 * browser uses the last. */
static void response(struct exchange *ex)
{
    const struct policy *p = exchange_listener(ex)->fe_conf;
    const struct filter_rule *fr = rule_for(ex, p);
    const struct http_head *h = exchange_response(ex);
    const char *base = exchange_response_base(ex), *t;
    size_t len;

    if (!fr || !fr->ntypes)
        return;
    for (int i = http1_find(h, base, "content-type", 0); i >= 0;
         i = http1_find(h, base, "content-type", i + 1)) {
        if ((t = refused_member(fr, base + h->fields[i].value.off, h->fields[i].value.len, &len))) {
            char type[128];
            gh_fmt(type, sizeof(type), "%.*s", (int)len, t);
            block(ex, p, "(download)", "file-type", type);
            return;
        }
    }
}

/* Refuses a tunnel for what its first bytes were: `kind` for the log's
 * filter= field, `why` (static) for its why= field. */
static int refuse_tunnel(struct exchange *ex, const char *kind, const char *why)
{
    char note[96];

    gh_fmt(note, sizeof(note), "refuse-tunnel:%s", kind);
    exchange_set_filter(ex, note);
    exchange_error_reason(ex, why);
    return -1;
}

/* Whether a host in normal form is an IP literal. */
static int is_address(const char *host)
{
    unsigned char a[16];

    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* An Encrypted Client Hello hides the name the server acts on behind an
 * outer one.  `same`: the outer name is the CONNECT's own host, so nothing
 * is hidden that the CONNECT did not say (a browser's "GREASE" ECH, sent to
 * every server, looks so); not `same`: another name or none (a decoy, such
 * as a front-end's public name). */
static int judge_ech(struct exchange *ex, const struct policy *p, int same)
{
    switch (p->tunnel_ech) {
    case TUNNEL_ECH_ALLOW:
        return 0;
    case TUNNEL_ECH_REFUSE:
        return refuse_tunnel(ex, "ech", "encrypted ClientHello refused by policy");
    default:
        return same ? 0 : refuse_tunnel(ex, "ech", "encrypted ClientHello hides the server name");
    }
}

/* Judges a tunnel's first bytes, h, under filter rule fr: they must be a
 * TLS ClientHello, read whole, naming a valid host that the rule's lists
 * let through (a client may CONNECT to an allowed host and name a blocked
 * one inside), and hiding no other name behind Encrypted Client Hello.
 * `target` is the host the tunnel was asked for (the CONNECT's, or an
 * intercepted connection's original address), port its port.  An
 * intercepted hello's outer ECH name counts as its host: it is checked
 * against the destination as any name is (exchange_pin).  The normal form
 * of the name goes to name (HOSTNAME_MAX), its length to *namelen (0:
 * none).  Returns 0 or -1 (refused, noted for the log).  The README's
 * "Filtering" section gives the reasons for each choice. */
static int judge_hello(struct exchange *ex, const struct policy *p, const struct filter_rule *fr,
                       const struct sni_hello *h, const char *target, uint16_t port, int intercepted,
                       char *name, int *namelen)
{
    struct filter_verdict v;
    char norm[HOSTNAME_MAX], note[96];
    int nl, tl;

    *namelen = 0;
    switch (h->result) {
    case SNI_HELLO:
        break;
    case SNI_NOT_TLS:
        return policy_tunnel_non_tls(p, port) ? 0 : refuse_tunnel(ex, "not-tls", h->why);
    case SNI_TOO_LARGE:
        return refuse_tunnel(ex, "too-large", h->why);
    case SNI_TIMEOUT:
        return refuse_tunnel(ex, "timeout", h->why);
    default:
        return refuse_tunnel(ex, "malformed", h->why);
    }
    tl = hostname_normalize(target, strlen(target), norm, sizeof(norm));
    if (!h->namelen) {
        /* clients send no name for an address (RFC 6066 3), and the lists
         * judged the address as the CONNECT's target; a name must be said */
        if (tl < 0 || !is_address(norm))
            return refuse_tunnel(ex, "no-sni", "ClientHello names no server");
        return h->ech ? judge_ech(ex, p, 0) : 0;
    }
    nl = hostname_normalize(h->name, h->namelen, name, HOSTNAME_MAX);
    if (nl < 0)
        return refuse_tunnel(ex, "bad-sni", "ClientHello server name is not a valid host name");
    *namelen = nl;
    filter_check(fr, name, (size_t)nl, "", 0, &v);
    if (v.block) {
        gh_fmt(note, sizeof(note), "block-sni:%s", v.category);
        exchange_set_filter(ex, note);
        exchange_error_reason(ex, "TLS server name blocked by the filter");
        return -1;
    }
    if (h->ech)
        return judge_ech(ex, p, intercepted || (nl == tl && memcmp(name, norm, (size_t)nl) == 0));
    return 0;
}

/* Judges a CONNECT tunnel by its first bytes where a filter rule applies
 * (judge_hello); without a rule a tunnel is a byte pipe. */
static int tunnel_hello(struct exchange *ex, const struct sni_hello *h)
{
    const struct policy *p = exchange_listener(ex)->fe_conf;
    const struct filter_rule *fr = rule_for(ex, p);
    char name[HOSTNAME_MAX];
    uint16_t port;
    const char *host = exchange_connect_target(ex, &port);
    int nl;

    if (!fr)
        return 0;
    return judge_hello(ex, p, fr, h, host, port, 0, name, &nl);
}

/* An intercepted TLS connection (a transparent listener's; no request, its
 * ClientHello instead): judged as a CONNECT to its original destination
 * would be, then spliced to that destination alone, once the hello's name
 * is seen to resolve to it.  A refusal is a TLS alert (exchange.h). */
static void intercepted_tls(struct exchange *ex, const struct policy *p,
                            const struct sockaddr_storage *dst, struct protect_view *pv)
{
    const struct filter_rule *fr;
    const struct sni_hello *h = exchange_intercepted_hello(ex);
    char ip[INET6_ADDRSTRLEN], name[HOSTNAME_MAX];
    uint16_t port = (uint16_t)intercept_port(dst);
    int nl = 0;

    if (!listener_admits(ex, pv))
        return;
    if (p->users && !login_gate(ex, p, 1, NULL))
        return; /* not logged in: no page can be shown over TLS */
    if (!policy_admits(ex, p, pv))
        return;
    fr = rule_for(ex, p);
    intercept_ip_text(dst, ip, sizeof(ip));
    if (fr) {
        if (!filter_request(ex, p, fr, ip, strlen(ip), "", 0))
            return; /* the address itself is blocked */
        if (judge_hello(ex, p, fr, h, ip, port, 1, name, &nl) < 0) {
            exchange_error(ex, h->result == SNI_MALFORMED ? 400 : 403, NULL);
            return;
        }
    } else if (h->result == SNI_HELLO && h->namelen) {
        nl = hostname_normalize(h->name, h->namelen, name, sizeof(name));
    }
    if (nl > 0)
        exchange_tunnel(ex, name, (size_t)nl, port, NULL);
    else
        exchange_tunnel(ex, ip, strlen(ip), port, NULL);
    exchange_pin(ex, dst);
}

/* The exchange is over: its bytes count for its user's day (quota), its
 * filter decision by policy, decision and list for /metrics, and the
 * dashboard's tables of blocked categories and of users (or client
 * addresses) by bytes, both ways. */
static void finished(struct exchange *ex)
{
    const struct listener_conf *l = exchange_listener(ex);
    const struct policy *p = l ? l->fe_conf : NULL;
    const char *note = exchange_filter(ex), *colon;
    const char *who = exchange_user(ex);
    char decision[40], list[96], labels[400];
    uint64_t in, out;

    if (!p)
        return;
    exchange_bytes(ex, &in, &out);
    if (p->quota && who)
        quota_charge(p->quota, who, in + out);
    top_add(top_get("Top users by bytes", "bytes"), who && *who ? who : exchange_client_text(ex),
            in + out);
    if (!note[0])
        return;
    colon = strchr(note, ':');
    gh_fmt(decision, sizeof(decision), "%.*s", (int)(colon ? colon - note : (long)strlen(note)), note);
    gh_fmt(list, sizeof(list), "%s", colon ? colon + 1 : "");
    metric_inc(metrics_counter("gatehouse_forward_decisions_total",
                               "Filter decisions, by policy, decision (allow, block, block-sni, "
                               "refuse-tunnel) and list or reason.",
                               metrics_labels(labels, sizeof(labels), "policy", p->name, "decision",
                                              decision, "list", list, NULL)));
    if (strncmp(decision, "block", 5) == 0)
        top_add(top_get("Top blocked categories", "requests"), list, 1);
}

const struct frontend forward_frontend = {
    .name = "forward",
    .sections = sections,
    .listener_keys = listener_keys,
    .load = load,
    .listener = listener,
    .free = unload,
    .handle = handle,
    .response = response,
    .finished = finished,
    .tunnel_hello = tunnel_hello,
    .resume = resume,
    .transparent = 1,
};
