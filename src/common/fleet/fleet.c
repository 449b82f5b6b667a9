/* fleet.c — the links to the fleet's Redis (see fleet.h): the `fleet`
 * section, one command link per worker thread and a subscriber on worker
 * 0, each reconnecting with a doubling backoff; a watchdog that gives up
 * on an answer later than `timeout`; the outage logged once (and the
 * recovery), and the /metrics series.  Owns its links and the thread's
 * copy of the settings; what the keys and messages mean is the callers'. */
#include "fleet.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "redis_loop.h"
#include "util.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- the section ---- */

#define DAY (86400L * 1000)

/* A numeric "ip:port", "[v6]:port", or an absolute Unix socket path: the
 * link never waits on a name lookup. */
static int parse_address(struct gh_config *c, const struct config_key *k, const config_setting_t *s,
                         char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    const char *a;

    if (config_key_read(c, k, s, err, errlen) < 0)
        return -1;
    a = c->fleet.address;
    if (!a || (a[0] == '/' && strlen(a) < sizeof(((struct sockaddr_un *)0)->sun_path)))
        return 0;
    if (a[0] != '*' && config_parse_addr(a, &ss, &len) == 0)
        return 0;
    config_error(err, errlen, s, "fleet: bad address '%s' (want \"ip:port\", \"[v6]:port\" or "
                                 "a Unix socket's absolute path)", a);
    return -1;
}

/* The file every node of the fleet is given: at least 32 bytes (say, 
 * `head -c 48 /dev/urandom`), read at each load; the secret is SHA-256 of
 * a label and its bytes.  Reloads read it as the service user (-t checks). */
static int parse_ticket_key(struct gh_config *c, const struct config_key *k,
                            const config_setting_t *s, char *err, size_t errlen)
{
    unsigned char buf[4096];
    size_t n;
    char *path;
    FILE *f;

    if (config_key_read(c, k, s, err, errlen) < 0)
        return -1;
    if (!c->fleet.ticket_key_file)
        return 0;
    path = config_path(c, c->fleet.ticket_key_file);
    free(c->fleet.ticket_key_file);
    c->fleet.ticket_key_file = path;
    config_note_reread(path);
    if (!(f = fopen(path, "rb"))) {
        config_error(err, errlen, s, "fleet: cannot read ticket_key_file '%s': %s", path,
                     strerror(errno));
        return -1;
    }
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (n < 32) {
        config_error(err, errlen, s, "fleet: ticket_key_file '%s' holds %zu bytes: at least 32 "
                                     "random ones are needed", path, n);
        OPENSSL_cleanse(buf, sizeof(buf));
        return -1;
    }
    EVP_Digest(buf, n, c->fleet.ticket_secret, NULL, EVP_sha256(), NULL);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

static const struct config_key fleet_keys[] = {
    /* name, kind and field, range, default as README.md writes it, words, what, parse */
    {"address", CONFIG_STRING(fleet.address), 0, 0, NULL, NULL, NULL, parse_address},
    {"password", CONFIG_STRING(fleet.password), 0, 0, NULL, NULL, NULL, NULL},
    {"db", CONFIG_U32(fleet.db), 0, 65535, "0", NULL, NULL, NULL},
    {"prefix", CONFIG_STRING(fleet.prefix), 0, 0, "gatehouse:", NULL, NULL, NULL},
    {"connect_timeout", CONFIG_MSEC(fleet.connect_timeout), 10, DAY, "1", NULL, NULL, NULL},
    {"timeout", CONFIG_MSEC(fleet.timeout), 10, DAY, "0.5", NULL, NULL, NULL},
    {"retry_min", CONFIG_MSEC(fleet.retry_min), 10, DAY, "0.1", NULL, NULL, NULL},
    {"retry_max", CONFIG_MSEC(fleet.retry_max), 10, DAY, "5", NULL, NULL, NULL},
    {"lease", CONFIG_U32(fleet.lease), 1, 1000000, "64", NULL, NULL, NULL},
    {"share_bans", CONFIG_BOOL(fleet.share_bans), 0, 0, "true", NULL, NULL, NULL},
    {"share_purges", CONFIG_BOOL(fleet.share_purges), 0, 0, "true", NULL, NULL, NULL},
    {"share_auth", CONFIG_BOOL(fleet.share_auth), 0, 0, "true", NULL, NULL, NULL},
    {"share_quotas", CONFIG_BOOL(fleet.share_quotas), 0, 0, "true", NULL, NULL, NULL},
    {"ticket_key_file", CONFIG_STRING(fleet.ticket_key_file), 0, 0, NULL, NULL, NULL,
     parse_ticket_key},
    {0},
};

const struct config_section fleet_section = {"fleet", fleet_keys};

/* ---- the process's view: outages, counters ---- */

static atomic_int in_outage;         /* an outage is logged and not yet over */
static atomic_int links_up;          /* command links up now */
static atomic_int subs_up;           /* subscribers whose SUBSCRIBE was confirmed */
static atomic_ullong outage_start;   /* ms */
static atomic_ullong n_outages, n_fallbacks, n_ok, n_failed, n_sent, n_received, n_replayed;
static atomic_int have_fleet;        /* some thread attached with an address */

/* The handlers by kind: written by the main thread (a new kind's entry is
 * filled before the count shows it), read by worker 0's. */
#define KINDS 8
static struct {
    const char *kind;
    _Atomic(fleet_msg_fn *) fn;
} kinds[KINDS];
static atomic_uint nkinds;

static void collect(struct text *o, void *arg)
{
    char l[64];

    (void)arg;
    if (!atomic_load(&have_fleet))
        return;
    metrics_family(o, "gatehouse_fleet_up", "gauge",
                   "1 when the fleet's Redis answers, 0 during an outage (local state).");
    metrics_sample(o, "gatehouse_fleet_up", "",
                   !atomic_load(&in_outage) && atomic_load(&links_up) > 0 ? 1 : 0);
    metrics_family(o, "gatehouse_fleet_links", "gauge",
                   "Links to the fleet's Redis up now: a command link per worker, and the "
                   "subscriber once subscribed.");
    metrics_sample(o, "gatehouse_fleet_links", "",
                   (double)(atomic_load(&links_up) + atomic_load(&subs_up)));
    metrics_family(o, "gatehouse_fleet_outages_total", "counter",
                   "Outages of the fleet's Redis seen by this process.");
    metrics_sample(o, "gatehouse_fleet_outages_total", "", (double)atomic_load(&n_outages));
    metrics_family(o, "gatehouse_fleet_fallbacks_total", "counter",
                   "Decisions made on local state because the fleet's Redis was down.");
    metrics_sample(o, "gatehouse_fleet_fallbacks_total", "", (double)atomic_load(&n_fallbacks));
    metrics_family(o, "gatehouse_fleet_commands_total", "counter",
                   "Commands sent to the fleet's Redis, by result (ok, failed).");
    metrics_sample(o, "gatehouse_fleet_commands_total",
                   metrics_labels(l, sizeof(l), "result", "ok", NULL), (double)atomic_load(&n_ok));
    metrics_sample(o, "gatehouse_fleet_commands_total",
                   metrics_labels(l, sizeof(l), "result", "failed", NULL),
                   (double)atomic_load(&n_failed));
    metrics_family(o, "gatehouse_fleet_messages_total", "counter",
                   "Messages on the fleet's channel, by way (sent, received, replayed from "
                   "the journal).");
    metrics_sample(o, "gatehouse_fleet_messages_total",
                   metrics_labels(l, sizeof(l), "way", "sent", NULL), (double)atomic_load(&n_sent));
    metrics_sample(o, "gatehouse_fleet_messages_total",
                   metrics_labels(l, sizeof(l), "way", "received", NULL),
                   (double)atomic_load(&n_received));
    metrics_sample(o, "gatehouse_fleet_messages_total",
                   metrics_labels(l, sizeof(l), "way", "replayed", NULL),
                   (double)atomic_load(&n_replayed));
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static uint64_t node_id;

static void init_once(void)
{
    if (RAND_bytes((unsigned char *)&node_id, sizeof(node_id)) != 1)
        node_id = (uint64_t)getpid() << 32 ^ gh_now_ms();
    metrics_add_collector(collect, NULL);
}

uint64_t fleet_node_id(void)
{
    pthread_once(&once, init_once);
    return node_id;
}

void fleet_subscribe(const char *kind, fleet_msg_fn *fn)
{
    unsigned n = atomic_load(&nkinds);

    for (unsigned i = 0; i < n; i++)
        if (strcmp(kinds[i].kind, kind) == 0) {
            atomic_store(&kinds[i].fn, fn);
            return;
        }
    if (n == KINDS)
        log_fatal("fleet: more than %d kinds of message", KINDS);
    kinds[n].kind = kind;
    atomic_store(&kinds[n].fn, fn);
    atomic_store(&nkinds, n + 1);
}

static _Atomic(fleet_ready_fn *) on_ready_fn;

void fleet_on_ready(fleet_ready_fn *fn)
{
    atomic_store(&on_ready_fn, fn);
}

/* "KIND NODE rest", age_ms old: to the kind's handler, unless this
 * process sent it.  Returns 1 when a handler took it. */
static int dispatch(const char *m, size_t len, uint64_t age_ms)
{
    const char *sp = memchr(m, ' ', len), *rest;
    unsigned n = atomic_load(&nkinds);
    char node[17];

    if (!sp || (size_t)(sp - m) + 18 > len || sp[17] != ' ')
        return 0;
    rest = sp + 18;
    gh_fmt(node, sizeof(node), "%016llx", (unsigned long long)fleet_node_id());
    if (memcmp(sp + 1, node, 16) == 0)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (strlen(kinds[i].kind) == (size_t)(sp - m) && memcmp(kinds[i].kind, m, (size_t)(sp - m)) == 0) {
            fleet_msg_fn *fn = atomic_load(&kinds[i].fn);
            if (fn)
                fn(rest, len - (size_t)(rest - m), age_ms);
            return fn != NULL;
        }
    return 0;
}

void fleet_note_fallback(void)
{
    atomic_fetch_add_explicit(&n_fallbacks, 1, memory_order_relaxed);
}

static void outage_begins(const char *address, const char *why)
{
    int no = 0;

    if (!atomic_compare_exchange_strong(&in_outage, &no, 1))
        return;
    atomic_store(&outage_start, gh_now_ms());
    atomic_fetch_add(&n_outages, 1);
    log_warn("fleet: the store at %s is unreachable (%s): limits and bans are local until it "
             "is back", address, why);
}

static void outage_ends(const char *address)
{
    int yes = 1;

    if (!atomic_compare_exchange_strong(&in_outage, &yes, 0))
        return;
    log_info("fleet: the store at %s is reachable again after %.1f s: sharing resumes", address,
             (double)(gh_now_ms() - atomic_load(&outage_start)) / 1000.0);
}

/* ---- links ---- */

struct client;

struct link {
    struct client *cl;
    redisAsyncContext *ac; /* NULL: closed (a retry may be armed) */
    int sub;               /* the subscriber */
    int up;                /* connected (and counted in links_up: the command link) */
    int subscribed;        /* the subscriber's SUBSCRIBE is confirmed (counted in subs_up) */
    int failing;           /* a deferred close is queued */
    unsigned pending;      /* commands without an answer */
    uint32_t backoff;      /* ms, the next retry's wait */
    const char *why;       /* the deferred close's reason */
    struct timer retry, dog;
};

struct client {
    struct loop *loop;
    unsigned id;
    struct fleet_conf conf; /* copies */
    char channel[256];
    struct link cmd, sub;
    char seen[48];         /* the last journal entry read ("" none yet) */
    uint8_t replay_wanted; /* the subscriber is back: read the journal once cmd is */
};

static __thread struct client *here;

static void link_open(struct link *L);
static void journal_read(struct client *cl);
static void sent(struct link *L);
static void answered(struct link *L, const redisReply *r);

static struct link *of_timer(struct timer *t, size_t off)
{
    return (struct link *)((char *)t - off);
}

static void on_retry(struct timer *t)
{
    link_open(of_timer(t, offsetof(struct link, retry)));
}

/* The link is closed (by hiredis or by us): note it, retry later. */
static void link_down(struct link *L, const char *why)
{
    struct client *cl = L->cl;

    if (L->up && !L->sub)
        atomic_fetch_sub(&links_up, 1);
    if (L->subscribed)
        atomic_fetch_sub(&subs_up, 1);
    L->up = L->subscribed = 0;
    L->pending = 0;
    loop_timer_cancel(cl->loop, &L->dog);
    outage_begins(cl->conf.address, why);
    loop_timer_set(cl->loop, &L->retry, L->backoff);
    L->backoff = GH_MIN(cl->conf.retry_max, L->backoff * 2);
}

/* Closes the link outside hiredis's callbacks. */
static void close_now(void *arg)
{
    struct link *L = arg;
    redisAsyncContext *ac = L->ac;

    L->failing = 0;
    if (!ac)
        return;
    L->ac = NULL;
    ac->data = NULL; /* its disconnect callback is ours no more */
    redisAsyncFree(ac); /* unanswered commands hear ok = 0 */
    link_down(L, L->why);
}

static void link_fail(struct link *L, const char *why)
{
    if (L->failing || !L->ac)
        return;
    L->failing = 1;
    L->why = why;
    loop_defer(L->cl->loop, close_now, L);
}

static void on_dog(struct timer *t)
{
    struct link *L = of_timer(t, offsetof(struct link, dog));

    link_fail(L, L->up ? "no answer in time" : "connect timed out");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct link *L = ac->data;

    if (!L)
        return;
    if (status != REDIS_OK) {
        L->ac = NULL; /* hiredis frees it */
        link_down(L, ac->errstr[0] ? ac->errstr : "connect failed");
        return;
    }
    loop_timer_cancel(L->cl->loop, &L->dog);
    if (L->pending)
        loop_timer_set(L->cl->loop, &L->dog, L->cl->conf.timeout);
    L->up = 1;
    L->backoff = L->cl->conf.retry_min;
    if (!L->sub)
        atomic_fetch_add(&links_up, 1);
    outage_ends(L->cl->conf.address);
    if (!L->sub && L->cl->replay_wanted)
        journal_read(L->cl);
    if (!L->sub) {
        fleet_ready_fn *fn = atomic_load(&on_ready_fn);
        if (fn && here == L->cl)
            fn();
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct link *L = ac->data;

    (void)status;
    if (!L)
        return;
    L->ac = NULL;
    link_down(L, "connection lost");
}

/* An answer came (or the link closed: r NULL). */
static void answered(struct link *L, const redisReply *r)
{
    if (L->pending)
        L->pending--;
    atomic_fetch_add_explicit(r && r->type != REDIS_REPLY_ERROR ? &n_ok : &n_failed, 1,
                              memory_order_relaxed);
    if (!L->ac || L->failing)
        return;
    if (L->pending)
        loop_timer_set(L->cl->loop, &L->dog, L->cl->conf.timeout);
    else
        loop_timer_cancel(L->cl->loop, &L->dog);
}

static void sent(struct link *L)
{
    if (!L->pending++ && L->up)
        loop_timer_set(L->cl->loop, &L->dog, L->cl->conf.timeout);
}

/* AUTH and SELECT: refused, the link is useless. */
static void on_setup(redisAsyncContext *ac, void *reply, void *priv)
{
    struct link *L = ac->data;
    const redisReply *r = reply;

    (void)priv;
    if (!L)
        return;
    answered(L, r);
    if (r && r->type == REDIS_REPLY_ERROR) {
        log_error("fleet: %s refused the link's setup: %s", L->cl->conf.address, r->str);
        link_fail(L, "setup refused");
    }
}

static void on_message(redisAsyncContext *ac, void *reply, void *priv)
{
    struct link *L = ac->data;
    const redisReply *r = reply;

    (void)priv;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(r->element[0]->str, "subscribe") == 0 && L && !L->subscribed) {
        L->subscribed = 1; /* from now on every message published reaches us */
        atomic_fetch_add(&subs_up, 1);
        journal_read(L->cl); /* and what was kept while we did not listen */
        return;
    }
    if (strcmp(r->element[0]->str, "message") != 0 || r->element[2]->type != REDIS_REPLY_STRING)
        return;
    atomic_fetch_add_explicit(&n_received, 1, memory_order_relaxed);
    dispatch(r->element[2]->str, r->element[2]->len, 0);
}

static redisAsyncContext *connect_to(const char *a)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon;
    size_t n;

    if (a[0] == '/')
        return redisAsyncConnectUnix(a);
    colon = strrchr(a, ':');
    if (a[0] == '[') {
        n = (size_t)(colon - a) - 2;
        memcpy(host, a + 1, GH_MIN(n, sizeof(host) - 1));
    } else {
        n = (size_t)(colon - a);
        memcpy(host, a, GH_MIN(n, sizeof(host) - 1));
    }
    host[GH_MIN(n, sizeof(host) - 1)] = '\0';
    return redisAsyncConnect(host, atoi(colon + 1));
}

static void link_open(struct link *L)
{
    struct client *cl = L->cl;
    redisAsyncContext *ac = connect_to(cl->conf.address);

    if (!ac || ac->err) {
        link_down(L, ac && ac->errstr[0] ? ac->errstr : "cannot connect");
        if (ac)
            redisAsyncFree(ac);
        return;
    }
    if (redis_loop_attach(cl->loop, ac) < 0) {
        redisAsyncFree(ac);
        link_down(L, "cannot watch the socket");
        return;
    }
    /* TCP keep-alive: a subscriber waits for messages, and only this
     * tells it that a Redis which vanished without a FIN is gone */
    redisEnableKeepAlive(&ac->c);
    L->ac = ac;
    ac->data = L;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (cl->conf.password) {
        redisAsyncCommand(ac, on_setup, NULL, "AUTH %s", cl->conf.password);
        sent(L);
    }
    if (L->sub) {
        redisAsyncCommand(ac, on_message, NULL, "SUBSCRIBE %s", cl->channel);
    } else if (cl->conf.db) {
        redisAsyncCommand(ac, on_setup, NULL, "SELECT %u", cl->conf.db);
        sent(L);
    }
    loop_timer_set(cl->loop, &L->dog, cl->conf.connect_timeout);
}

static void link_close(struct link *L)
{
    redisAsyncContext *ac = L->ac;

    loop_timer_cancel(L->cl->loop, &L->retry);
    loop_timer_cancel(L->cl->loop, &L->dog);
    if (L->up && !L->sub)
        atomic_fetch_sub(&links_up, 1);
    if (L->subscribed)
        atomic_fetch_sub(&subs_up, 1);
    L->up = L->subscribed = 0;
    if (ac) {
        L->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
    }
}

static void link_init(struct client *cl, struct link *L, int sub)
{
    L->cl = cl;
    L->sub = sub;
    L->backoff = cl->conf.retry_min;
    L->retry.on_fire = on_retry;
    L->dog.on_fire = on_dog;
}

/* ---- the thread's client ---- */

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void conf_copy(struct fleet_conf *d, const struct fleet_conf *s)
{
    *d = *s;
    d->address = dup_or_null(s->address);
    d->password = dup_or_null(s->password);
    d->prefix = xstrdup(s->prefix ? s->prefix : "");
    d->ticket_key_file = NULL; /* the links do not need it */
    OPENSSL_cleanse(d->ticket_secret, sizeof(d->ticket_secret));
}

static void conf_drop(struct fleet_conf *d)
{
    free(d->address);
    free(d->password);
    free(d->prefix);
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_link(const struct fleet_conf *a, const struct fleet_conf *b)
{
    return same_str(a->address, b->address) && same_str(a->password, b->password) &&
           a->db == b->db && same_str(a->prefix, b->prefix);
}

static void client_start(struct loop *l, const struct fleet_conf *fc, unsigned id)
{
    struct client *cl = xcalloc(1, sizeof(*cl));

    pthread_once(&once, init_once);
    atomic_store(&have_fleet, 1);
    cl->loop = l;
    cl->id = id;
    conf_copy(&cl->conf, fc);
    gh_fmt(cl->channel, sizeof(cl->channel), "%sevents", cl->conf.prefix);
    link_init(cl, &cl->cmd, 0);
    link_open(&cl->cmd);
    if (id == 0) {
        link_init(cl, &cl->sub, 1);
        link_open(&cl->sub);
    }
    here = cl;
}

static void client_free(void *arg)
{
    struct client *cl = arg;

    conf_drop(&cl->conf);
    free(cl);
}

void fleet_detach(void)
{
    struct client *cl = here;

    if (!cl)
        return;
    here = NULL;
    link_close(&cl->cmd);
    if (cl->id == 0)
        link_close(&cl->sub);
    /* after a close_now deferred already, which still reads the link */
    loop_defer(cl->loop, client_free, cl);
}

void fleet_attach(struct loop *l, const struct gh_config *c, unsigned worker_id)
{
    if (c->fleet.address)
        client_start(l, &c->fleet, worker_id);
}

void fleet_configure(const struct gh_config *c)
{
    struct client *cl = here;
    struct loop *l;
    unsigned id;

    if (cl && c->fleet.address && same_link(&cl->conf, &c->fleet)) {
        char *a = cl->conf.address, *p = cl->conf.password, *x = cl->conf.prefix;
        cl->conf = c->fleet; /* timeouts and lease size: in place */
        cl->conf.address = a;
        cl->conf.password = p;
        cl->conf.prefix = x;
        cl->conf.ticket_key_file = NULL;
        OPENSSL_cleanse(cl->conf.ticket_secret, sizeof(cl->conf.ticket_secret));
        return;
    }
    if (!cl && !c->fleet.address)
        return;
    if (!cl) {
        log_warn("fleet: a reload cannot start the fleet's links: restart to share state");
        return;
    }
    l = cl->loop;
    id = cl->id;
    fleet_detach();
    if (c->fleet.address)
        client_start(l, &c->fleet, id);
}

int fleet_ready(void)
{
    struct client *cl = here;
    return cl && cl->cmd.up && !cl->cmd.failing;
}

const struct fleet_conf *fleet_conf_here(void)
{
    return here ? &here->conf : NULL;
}

/* ---- commands ---- */

struct call {
    fleet_int_fn *fn;
    void *arg;
};

static void on_int(redisAsyncContext *ac, void *reply, void *priv)
{
    struct link *L = ac->data;
    const redisReply *r = reply;
    struct call *k = priv;
    int ok = r && r->type == REDIS_REPLY_INTEGER;

    if (L)
        answered(L, r);
    else
        atomic_fetch_add_explicit(ok ? &n_ok : &n_failed, 1, memory_order_relaxed);
    k->fn(k->arg, ok, ok ? r->integer : 0);
    free(k);
}

static void on_ignored(redisAsyncContext *ac, void *reply, void *priv)
{
    struct link *L = ac->data;

    (void)priv;
    if (L)
        answered(L, reply);
}

int fleet_incrby(const char *key, uint32_t n, uint64_t ttl_ms, fleet_int_fn *fn, void *arg)
{
    struct client *cl = here;
    struct call *k;

    if (!fleet_ready())
        return -1;
    k = xmalloc(sizeof(*k));
    k->fn = fn;
    k->arg = arg;
    if (redisAsyncCommand(cl->cmd.ac, on_int, k, "INCRBY %s%s %u", cl->conf.prefix, key, n) !=
        REDIS_OK) {
        free(k);
        return -1;
    }
    sent(&cl->cmd);
    if (redisAsyncCommand(cl->cmd.ac, on_ignored, NULL, "PEXPIRE %s%s %llu", cl->conf.prefix, key,
                          (unsigned long long)ttl_ms) == REDIS_OK)
        sent(&cl->cmd);
    return 0;
}

/* ---- the journal: messages kept for the nodes that were not listening ---- */

/* A stream, PREFIX "journal", keeps about JOURNAL_LEN of the messages sent
 * with fleet_publish_kept.  A process reads the entries it has not seen
 * when its subscriber is confirmed (at start, and after each outage), a
 * page at a time, each handed on with its age (from the entry's id, the
 * store's clock when it was added). */
#define JOURNAL_LEN 10000
#define JOURNAL_PAGE 500

static void on_journal(redisAsyncContext *ac, void *reply, void *priv)
{
    struct link *L = ac->data;
    const redisReply *r = reply;
    struct timespec ts;
    uint64_t now;

    (void)priv;
    if (!L)
        return;
    answered(L, r);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        L->cl->replay_wanted = 1; /* the next time the link is up */
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i], *f;
        uint64_t at;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        gh_fmt(L->cl->seen, sizeof(L->cl->seen), "%s", e->element[0]->str);
        f = e->element[1];
        if (f->type != REDIS_REPLY_ARRAY || f->elements != 2 ||
            f->element[1]->type != REDIS_REPLY_STRING)
            continue;
        at = strtoull(e->element[0]->str, NULL, 10);
        if (dispatch(f->element[1]->str, f->element[1]->len, now > at ? now - at : 0))
            atomic_fetch_add_explicit(&n_replayed, 1, memory_order_relaxed);
    }
    if (r->elements == JOURNAL_PAGE)
        journal_read(L->cl);
}

/* Asks for the next page of the journal after what cl has seen. */
static void journal_read(struct client *cl)
{
    struct link *L = &cl->cmd;
    char from[52] = "-";

    if (!L->ac || L->failing) {
        cl->replay_wanted = 1;
        return;
    }
    cl->replay_wanted = 0;
    if (cl->seen[0])
        gh_fmt(from, sizeof(from), "(%s", cl->seen);
    if (redisAsyncCommand(L->ac, on_journal, NULL, "XRANGE %sjournal %s + COUNT %d",
                          cl->conf.prefix, from, JOURNAL_PAGE) == REDIS_OK)
        sent(L);
}

static int publish(const char *kind, const char *msg, size_t len, int kept)
{
    struct client *cl = here;
    char head[64];
    size_t n;

    if (!fleet_ready()) {
        if (cl)
            fleet_note_fallback();
        return -1;
    }
    n = gh_fmt(head, sizeof(head), "%s %016llx ", kind, (unsigned long long)fleet_node_id());
    if (redisAsyncCommand(cl->cmd.ac, on_ignored, NULL, "PUBLISH %s %b%b", cl->channel, head, n,
                          msg, len) != REDIS_OK)
        return -1;
    sent(&cl->cmd);
    atomic_fetch_add_explicit(&n_sent, 1, memory_order_relaxed);
    if (kept && redisAsyncCommand(cl->cmd.ac, on_ignored, NULL,
                                  "XADD %sjournal MAXLEN ~ %d * m %b%b", cl->conf.prefix,
                                  JOURNAL_LEN, head, n, msg, len) == REDIS_OK)
        sent(&cl->cmd);
    return 0;
}

int fleet_publish(const char *kind, const char *msg, size_t len)
{
    return publish(kind, msg, len, 0);
}

int fleet_publish_kept(const char *kind, const char *msg, size_t len)
{
    return publish(kind, msg, len, 1);
}
