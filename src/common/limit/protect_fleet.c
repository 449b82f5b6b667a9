/* protect_fleet.c — the protections' share of the fleet's store
 * (fleet.h): a `shared` rate limit counted against one budget for the
 * whole fleet through leases (fleet_lease.h), and bans made or lifted on
 * one node announced to the others on the fleet's channel.  Owns the
 * messages' format; the links are fleet.c's, the tables keytab.c's and
 * bans.c's.
 *
 * Bans travel by pub/sub, not by a polled set: a message reaches every
 * node within a round trip, and nothing is read while nothing happens.
 * Each is also kept in the fleet's journal, which a node whose subscriber
 * was down reads when it is back.  A ban or lift made while this node
 * cannot reach the store waits here (held) and goes out when it can. */
#include "protect_int.h"
#include "fleet.h"
#include "fleet_lease.h"
#include "keytab.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- a shared limit ---- */

struct leasing {
    uint64_t window;
    uint32_t rate, max_block;
    struct lease_take t;
};

static long take(uint64_t v[2], int fresh, void *arg)
{
    struct leasing *a = arg;

    (void)fresh;
    fleet_lease_take(v, a->window, a->rate, a->max_block, &a->t);
    return 0;
}

/* A lease on its way: what its answer is applied to. */
struct lease_call {
    uint64_t key, window;
    uint32_t asked, rate;
    int ok;
    long long total;
};

static long apply(uint64_t v[2], int fresh, void *arg)
{
    struct lease_call *c = arg;

    (void)fresh;
    fleet_lease_apply(v, c->window, c->asked, c->ok, c->total, c->rate);
    return 0;
}

static void leased(void *arg, int ok, long long total)
{
    struct lease_call *c = arg;

    c->ok = ok;
    c->total = total;
    keytab_peek(protect_table(), c->key, apply, c, 0);
    free(c);
}

/* The window's counter in Redis: the same name on every node, whatever
 * each process's key table secret is ("rl:NAME:<sha-256 of the key, 128
 * bits>:<window>"). */
static void redis_key(char *out, size_t cap, const struct plimit *l, const void *key, size_t len,
                      uint64_t window)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    char hex[33];
    unsigned mdlen = 0;
    EVP_MD_CTX *x = EVP_MD_CTX_new();

    EVP_DigestInit_ex(x, EVP_sha256(), NULL);
    EVP_DigestUpdate(x, l->name, strlen(l->name) + 1);
    EVP_DigestUpdate(x, key, len);
    EVP_DigestFinal_ex(x, md, &mdlen);
    EVP_MD_CTX_free(x);
    for (unsigned i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    gh_fmt(out, cap, "rl:%s:%s:%llu", l->name, hex, (unsigned long long)window);
}

static uint64_t realtime_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int protect_shared_limit(const struct plimit *l, const void *key, size_t len,
                         struct rate_verdict *rv)
{
    const struct fleet_conf *fc = fleet_conf_here();
    uint64_t now = realtime_us(), per = l->rule.per_us ? l->rule.per_us : 1, window = now / per;
    struct leasing a = {window, l->rule.rate, fc ? fc->lease : 1, {.allowed = 1}};
    uint64_t k;

    if (!fleet_ready()) {
        if (fc)
            fleet_note_fallback();
        return -1;
    }
    k = keytab_hash(l->fleet_ns, key, len);
    keytab_with(protect_table(), k, take, &a, 0);
    if (a.t.ask) {
        struct lease_call *c = xmalloc(sizeof(*c));
        char rk[256];
        *c = (struct lease_call){k, window, a.t.ask, l->rule.rate, 0, 0};
        redis_key(rk, sizeof(rk), l, key, len, window);
        if (fleet_incrby(rk, a.t.ask, 2 * per / 1000 + 1000, leased, c) < 0)
            leased(c, 0, 0); /* asked again by the next request */
    }
    *rv = (struct rate_verdict){0};
    rv->allowed = a.t.allowed;
    rv->remaining = a.t.remaining;
    rv->reset_us = (window + 1) * per - now;
    rv->retry_us = rv->reset_us;
    return rv->allowed;
}

/* ---- bans ---- */

/* "ban MS KIND V4BITS V6BITS RULE TEXT" and "lift TEXT" (after the kind
 * and the node's id, fleet.h): the ban's length, how the rule cuts client
 * addresses (so the key can be made again from its text), the rule's
 * name and the key as people read it (no spaces: key_text).
 *
 * A ban or a lift that could not be published waits in `held`: when it
 * was made, the ban's length (0 for a lift) and `rest`, what follows MS in
 * a ban's message or the lift's text.  Per worker thread, in order, at
 * most HELD_MAX (the oldest make room, counted). */
#define HELD_MAX 256
struct held {
    uint64_t made, ms;
    uint8_t lift;
    char rest[176];
};
static __thread struct held held[HELD_MAX];
static __thread unsigned held_first, held_n, held_dropped;

static int publish_ban(uint64_t ms, const char *rest)
{
    char msg[256];
    size_t n = gh_fmt(msg, sizeof(msg), "%llu %s", (unsigned long long)ms, rest);
    return fleet_publish_kept("ban", msg, n);
}

static void hold(int lift, uint64_t ms, const char *rest)
{
    struct held *h;

    if (held_n == HELD_MAX) {
        held_first = (held_first + 1) % HELD_MAX;
        held_n--;
        held_dropped++;
    }
    h = &held[(held_first + held_n++) % HELD_MAX];
    h->made = gh_now_ms();
    h->ms = ms;
    h->lift = (uint8_t)lift;
    gh_fmt(h->rest, sizeof(h->rest), "%s", rest);
}

/* The store is reachable again from this thread: what was held goes out,
 * a ban with what is left of its time (one that ran out meanwhile not at
 * all). */
static void release_held(void)
{
    unsigned sent = 0;
    uint64_t now = gh_now_ms();

    while (held_n) {
        const struct held *h = &held[held_first];
        uint64_t gone = now > h->made ? now - h->made : 0;
        int rc = 0;
        if (h->lift)
            rc = fleet_publish_kept("lift", h->rest, strlen(h->rest));
        else if (h->ms > gone)
            rc = publish_ban(h->ms - gone, h->rest);
        if (rc < 0)
            return; /* down again: the rest waits for the next time */
        sent++;
        held_first = (held_first + 1) % HELD_MAX;
        held_n--;
    }
    if (held_dropped)
        log_warn("fleet: %u bans and lifts made while the store was unreachable announced; "
                 "%u older ones were dropped (at most %d wait)",
                 sent, held_dropped, HELD_MAX);
    else if (sent)
        log_info("fleet: %u bans and lifts made while the store was unreachable announced", sent);
    held_dropped = 0;
}

/* Publishes a ban or a lift, behind what is held (in order), or holds it. */
static void share(int lift, uint64_t ms, const char *rest)
{
    if (held_n && fleet_ready())
        release_held();
    if (!held_n &&
        (lift ? fleet_publish_kept("lift", rest, strlen(rest)) : publish_ban(ms, rest)) == 0)
        return;
    hold(lift, ms, rest);
}

void protect_share_ban(const struct pban *b, const char *text)
{
    const struct fleet_conf *fc = fleet_conf_here();
    char rest[sizeof(held[0].rest)];

    if (!fc || !fc->share_bans)
        return;
    gh_fmt(rest, sizeof(rest), "%d %u %u %s %s", (int)b->key.kind, b->key.v4_bits, b->key.v6_bits,
           b->name, text);
    share(0, b->rule.ban_ms, rest);
}

void protect_share_lift(const char *text)
{
    const struct fleet_conf *fc = fleet_conf_here();

    if (!fc || !fc->share_bans || strchr(text, ' ') || strlen(text) >= sizeof(held[0].rest))
        return;
    share(1, 0, text);
}

/* The key's bytes from its text: a client's address (with "/bits" when
 * cut) as protect_client_key makes them, else the text itself. */
static int key_from_text(int kind, unsigned v4, unsigned v6, const char *text, unsigned char *a,
                         const void **p, size_t *len)
{
    struct pkey k = {.kind = PK_CLIENT, .v4_bits = (uint8_t)v4, .v6_bits = (uint8_t)v6};
    struct sockaddr_storage ss = {0};
    char addr[INET6_ADDRSTRLEN];
    size_t n = strcspn(text, "/");

    if (kind != PK_CLIENT) {
        *p = text;
        *len = strlen(text);
        return 0;
    }
    if (n >= sizeof(addr) || v4 < 1 || v4 > 32 || v6 < 1 || v6 > 128)
        return -1;
    memcpy(addr, text, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
        ss.ss_family = AF_INET6;
    else
        return -1;
    protect_client_key(&k, &ss, a);
    *p = a;
    *len = 17;
    return 0;
}

static void on_lift(const char *msg, size_t len, uint64_t age_ms)
{
    char text[PNOTE_TEXT * 2];
    uint64_t now;

    if (!len || len >= sizeof(text))
        return;
    memcpy(text, msg, len);
    text[len] = '\0';
    now = gh_now_ms();
    if (bans_lift(text, now, now > age_ms ? now - age_ms : 0))
        log_info("ban lifted on another node of the fleet%s: %s",
                 age_ms ? " (from the fleet's journal)" : "", text);
}

static void on_ban(const char *msg, size_t len, uint64_t age_ms)
{
    char buf[512], rule[64], text[PNOTE_TEXT * 2];
    unsigned long long ms;
    unsigned v4, v6;
    unsigned char a[17];
    const void *p;
    size_t n;
    int kind;

    if (len >= sizeof(buf))
        return;
    memcpy(buf, msg, len);
    buf[len] = '\0';
    if (sscanf(buf, "%llu %d %u %u %63s %95s", &ms, &kind, &v4, &v6, rule, text) != 6)
        return;
    if (key_from_text(kind, v4, v6, text, a, &p, &n) < 0) {
        log_warn("fleet: a ban of '%s' under %s cannot be read: ignored", text, rule);
        return;
    }
    if (ms <= age_ms)
        return; /* from the journal, and over */
    bans_put(keytab_hash(rule, p, n), rule, text, gh_now_ms(), ms, age_ms);
    log_info("ban %s: %s banned for %llu s by another node of the fleet%s", rule, text,
             (ms - age_ms) / 1000, age_ms ? " (from the fleet's journal)" : "");
}

void protect_fleet_subscribe(void)
{
    fleet_subscribe("ban", on_ban);
    fleet_subscribe("lift", on_lift);
    fleet_on_ready(release_held);
}
