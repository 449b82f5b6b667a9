/* choose.c — picking the server an exchange goes to (see choose.h).
 *
 * What it remembers of an exchange lives in the exchange's scratch space:
 * the pool order, the pool being tried, the server held (counted in flight
 * until choose_finished), the servers already tried, and the keys
 * computed while the request head was still readable. */
#include "choose.h"
#include "cache.h"
#include "log.h"
#include "pool.h"
#include "static.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <strings.h>

struct choice {
    const struct route *rt;
    const struct pool_order *order;
    unsigned pi;                         /* the pool of `order` being tried */
    int server;                          /* held server of that pool */
    uint8_t held, queued, tries, has_key;
    uint8_t qpi;                         /* the pool it is queued on */
    uint64_t skip[POOL_MAX_SERVERS / 64];/* servers of that pool already tried */
    uint64_t key;                        /* hash of the request's key */
    char sticky[17];                     /* the sticky cookie's value, "" none */
    char host[152];                      /* the public Host, for Location */
    void *shard;                         /* the owner node a hop went to (shard.c), NULL */
};

_Static_assert(sizeof(struct choice) <= EXCHANGE_SCRATCH, "choice outgrew the scratch space");

static struct choice *note(struct exchange *ex)
{
    return exchange_scratch(ex);
}

static uint32_t random32(void)
{
    static __thread uint32_t x;

    if (!x)
        x = (uint32_t)gh_now_ms() ^ (uint32_t)(uintptr_t)&x ^ 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

/* The value of cookie `name` in the request, or NULL. */
static const char *cookie_value(const struct exchange *ex, const char *name, size_t *len)
{
    const struct http_head *r = exchange_request(ex);
    size_t nl = strlen(name);

    for (int i = http1_find(r, exchange_base(ex), "cookie", 0); i >= 0;
         i = http1_find(r, exchange_base(ex), "cookie", i + 1)) {
        const char *v = exchange_str(ex, r->fields[i].value), *end = v + r->fields[i].value.len;
        while (v < end) {
            const char *semi = memchr(v, ';', (size_t)(end - v));
            const char *stop = semi ? semi : end;
            while (v < stop && (*v == ' ' || *v == '\t'))
                v++;
            if ((size_t)(stop - v) > nl && memcmp(v, name, nl) == 0 && v[nl] == '=') {
                *len = (size_t)(stop - v) - nl - 1;
                return v + nl + 1;
            }
            v = stop + 1;
        }
    }
    return NULL;
}

/* The hash key of the request for the first hashing pool of the order,
 * read now: the request head is not kept for a retry. */
static void note_keys(struct exchange *ex, struct choice *c, const struct sockaddr_storage *client)
{
    const struct http_head *r = exchange_request(ex);
    const struct pool *hp = NULL, *sp = NULL;
    const char *v = NULL;
    size_t len = 0;
    char buf[512];

    for (unsigned i = 0; i < c->order->n; i++) {
        if (!hp && c->order->p[i]->bal == &balance_hash)
            hp = c->order->p[i];
        if (!sp && c->order->p[i]->sticky)
            sp = c->order->p[i];
    }
    if (sp && (v = cookie_value(ex, sp->sticky, &len)) && len < sizeof(c->sticky)) {
        memcpy(c->sticky, v, len);
        c->sticky[len] = '\0';
    }
    if (!hp)
        return;
    switch (hp->hash_key) {
    case HASH_CLIENT:
        if (client->ss_family == AF_INET6) {
            v = (const char *)&((const struct sockaddr_in6 *)client)->sin6_addr;
            len = 16;
        } else {
            v = (const char *)&((const struct sockaddr_in *)client)->sin_addr;
            len = 4;
        }
        break;
    case HASH_URI:
        v = exchange_str(ex, r->target);
        len = r->target.len;
        break;
    case HASH_HEADER: {
        int n = exchange_field(ex, hp->hash_name, buf, sizeof(buf));
        v = n >= 0 ? buf : NULL;
        len = n >= 0 ? (size_t)n : 0;
        break;
    }
    case HASH_COOKIE:
        v = cookie_value(ex, hp->hash_name, &len);
        break;
    }
    if (v) {
        c->key = balance_hash_bytes(v, len);
        c->has_key = 1;
    }
}

/* Sends the exchange to server i of pool p, which it now holds. */
static void go(struct exchange *ex, struct choice *c, struct pool *p, unsigned i)
{
    const struct server *sv = &p->servers[i];

    c->held = 1;
    c->server = (int)i;
    exchange_set_label(ex, sv->label);
    if (sv->root) {
        static_serve(ex, sv->root);
        return;
    }
    if (p->send_proxy)
        exchange_send_proxy_header(ex, p->send_proxy);
    exchange_forward(ex, sv->host, strlen(sv->host), sv->port, sv->label);
    if (p->tls)
        exchange_upstream_tls(ex, p->tls);
    if (p->h2_streams)
        exchange_upstream_h2(ex, p->h2_streams, p->h2_conns);
}

/* Tries the pools from the current one on.  Decides the exchange unless
 * every healthy server is busy and it is already queued (it stays) or
 * retrying (the caller reports the failure). */
static void pick_and_go(struct exchange *ex, struct choice *c, int retrying)
{
    uint8_t skip[POOL_MAX_SERVERS];

    for (; c->pi < c->order->n; c->pi++, memset(c->skip, 0, sizeof(c->skip))) {
        struct pool *p = c->order->p[c->pi];
        struct pick pk = {.now = gh_now_ms(), .key = c->key, .has_key = c->has_key,
                          .rnd = random32(), .skip = skip};
        unsigned i;
        int sticky = c->sticky[0] && p->sticky ? pool_by_cookie(p, c->sticky, strlen(c->sticky)) : -1;

        for (unsigned k = 0; k < p->nservers; k++)
            skip[k] = (uint8_t)((c->skip[k / 64] >> (k % 64)) & 1);
        pk.prefer = sticky >= 0 ? sticky + 1 : 0;
        switch (pool_pick(p, &pk, &i)) {
        case PICK_OK:
            if (c->queued) {
                atomic_fetch_sub(&c->order->p[c->qpi]->st->queued, 1);
                c->queued = 0;
            }
            go(ex, c, p, i);
            return;
        case PICK_FULL:
            if (retrying || c->queued)
                return;
            if (atomic_fetch_add(&p->st->queued, 1) < p->queue_size) {
                c->queued = 1;
                c->qpi = (uint8_t)c->pi;
                exchange_queue(ex, p->queue_timeout_ms);
            } else {
                atomic_fetch_sub(&p->st->queued, 1);
                exchange_error_detail(ex, 503, "every server is busy and the queue is full", p->name);
            }
            return;
        case PICK_DOWN:
            break; /* the next pool of the order */
        }
    }
    if (c->queued) {
        atomic_fetch_sub(&c->order->p[c->qpi]->st->queued, 1);
        c->queued = 0;
    }
    if (!retrying && !cache_answer_unreachable(ex, "no healthy server is left"))
        exchange_error_detail(ex, 503, "no healthy server is left", c->order->p[0]->name);
}

void choose_server(struct exchange *ex, const struct route *rt, const struct pool_order *order,
                   const struct sockaddr_storage *client)
{
    choose_prepare(ex, rt, order, client);
    pick_and_go(ex, note(ex), 0);
}

void **choose_shard_slot(struct exchange *ex)
{
    return &note(ex)->shard;
}

void choose_prepare(struct exchange *ex, const struct route *rt, const struct pool_order *order,
                    const struct sockaddr_storage *client)
{
    struct choice *c = note(ex);
    char host[sizeof(c->host)];
    int n = exchange_field(ex, "host", host, sizeof(host));

    c->rt = rt;
    c->order = order;
    c->server = -1;
    if (n > 0)
        memcpy(c->host, host, (size_t)n + 1);
    note_keys(ex, c, client);
    for (unsigned i = 0; i < order->n; i++)
        budget_request(&order->p[i]->budget, gh_now_ms());
}

const struct server *choose_held(struct exchange *ex)
{
    struct choice *c = note(ex);

    return c->order && c->held ? &c->order->p[c->pi]->servers[c->server] : NULL;
}

const struct route *choose_route(struct exchange *ex)
{
    return note(ex)->rt;
}

void choose_sticky_cookie(struct exchange *ex)
{
    struct choice *c = note(ex);
    const struct pool *p;
    const struct server *sv;
    char v[128];
    size_t n;

    if (!c->order || !c->held)
        return;
    p = c->order->p[c->pi];
    sv = &p->servers[c->server];
    if (!p->sticky || strcmp(c->sticky, sv->cookie) == 0)
        return;
    n = gh_fmt(v, sizeof(v), "%s=%s; Path=/; HttpOnly", p->sticky, sv->cookie);
    exchange_add_response_field(ex, "Set-Cookie", v, n);
}

const char *choose_public_host(struct exchange *ex)
{
    return note(ex)->host;
}

/* Gives the held server back with the exchange's outcome. */
static void release(struct choice *c, int ok)
{
    struct pool *p = c->order->p[c->pi];
    const struct server *sv = &p->servers[c->server];

    c->held = 0;
    if (pool_done(p, (unsigned)c->server, ok, gh_now_ms())) {
        log_warn("pool '%s' server %s %s", p->name, sv->label,
                 ok ? "takes requests again" : "ejected after failed requests");
        if (!ok)
            atomic_fetch_add_explicit(&sv->st->ejections, 1, memory_order_relaxed);
    }
}

int choose_upstream_failed(struct exchange *ex, int sent, const char *why)
{
    struct choice *c = note(ex);
    struct pool *p;

    if (!c->order || !c->held)
        return 0;
    p = c->order->p[c->pi];
    c->skip[c->server / 64] |= 1ull << (c->server % 64);
    log_info("pool '%s' server %s failed: %s", p->name, p->servers[c->server].label, why);
    release(c, 0);
    if (sent && !exchange_idempotent(ex))
        return 0;
    if (c->tries >= p->retries || !budget_retry(&p->budget, gh_now_ms()))
        return 0;
    c->tries++;
    atomic_fetch_add_explicit(&p->st->retries, 1, memory_order_relaxed);
    pick_and_go(ex, c, 1);
    return exchange_status(ex) == 0 && c->held;
}

void choose_resume(struct exchange *ex)
{
    pick_and_go(ex, note(ex), 0);
}

void choose_finished(struct exchange *ex)
{
    struct choice *c = note(ex);
    int status = exchange_status(ex);

    if (!c->order)
        return;
    if (c->queued) {
        atomic_fetch_sub(&c->order->p[c->qpi]->st->queued, 1);
        c->queued = 0;
    }
    if (c->held) {
        const struct pool *p = c->order->p[c->pi];
        int failed = status == 502 || status == 504 || (p->eject_5xx && status >= 500);
        metric_observe(p->servers[c->server].st->latency, exchange_elapsed_ms(ex) * 1000u);
        release(c, !failed);
    }
}
