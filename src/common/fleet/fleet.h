/* fleet.h — the store a fleet of gatehouses shares, in Redis: the `fleet`
 * section, one link per worker thread on the worker's own loop (and, on
 * worker 0, a second link subscribed to the fleet's channel), reconnection
 * with backoff, the outage's log lines and the /metrics series.  What is
 * shared, and under which keys, is the callers': the rate limits' leases
 * (fleet_lease.h, protect.c), the bans (protect.c).  When the store cannot
 * be reached every call here says so at once and the callers use their
 * local state: nothing waits for Redis, and no request fails for it. */
#ifndef GH_FLEET_H
#define GH_FLEET_H

#include <stddef.h>
#include <stdint.h>

struct gh_config;
struct loop;
struct config_section;

/* The `fleet` section's settings (a member of gh_config). */
struct fleet_conf {
    char *address;    /* "ip:port", "[v6]:port" or a Unix socket's path; NULL: no fleet */
    char *password;   /* AUTH; NULL: none */
    uint32_t db;      /* SELECT */
    char *prefix;     /* of every key and of the channel */
    uint32_t connect_timeout, timeout, retry_min, retry_max; /* ms */
    uint32_t lease;   /* the largest block of a rate limit's tokens taken at once */
    int share_bans;   /* publish bans made here, impose bans made elsewhere */
    int share_purges; /* publish cache purges made here, carry out those made elsewhere */
    int share_auth;   /* publish failed proxy logins, count those made elsewhere */
    int share_quotas; /* count daily quotas in Redis too */
    char *ticket_key_file; /* the fleet's TLS session ticket secret, NULL: none */
    unsigned char ticket_secret[32]; /* derived from the file (when it is set) */
};

/* The `fleet` section's keys (config.h's table; a core section). */
extern const struct config_section fleet_section;

/* Starts the calling worker thread's link (when c names an address) on
 * loop l; worker 0 also subscribes to the fleet's channel.  Connecting
 * happens on the loop: this returns at once. */
void fleet_attach(struct loop *l, const struct gh_config *c, unsigned worker_id);
/* A new generation on the calling worker: a changed address, password, db
 * or prefix makes a new link; no address closes it. */
void fleet_configure(const struct gh_config *c);
/* Closes the calling thread's links (at the worker's exit). */
void fleet_detach(void);

/* Whether the calling thread's command link is up and answering: callers
 * use the fleet's state only then. */
int fleet_ready(void);
/* The calling thread's settings (NULL when it has no fleet). */
const struct fleet_conf *fleet_conf_here(void);

/* What a command's caller hears: ok 0 when the link failed or timed out
 * before the answer (value 0), else the integer Redis answered. */
typedef void fleet_int_fn(void *arg, int ok, long long value);

/* INCRBY prefix+key by n, and PEXPIRE it to ttl_ms, in one round trip;
 * fn(arg, ...) hears the new total, once, on this thread's loop.  Returns
 * 0, or -1 when the link is not ready (fn is not called). */
int fleet_incrby(const char *key, uint32_t n, uint64_t ttl_ms, fleet_int_fn *fn, void *arg);

/* Publishes a message of `kind` (a word: "ban", "purge") on the fleet's
 * channel (prefix + "events") as "KIND NODE msg", NODE this process's id
 * in hex.  Returns 0, or -1 when the link is not ready (then the fallback
 * is counted). */
int fleet_publish(const char *kind, const char *msg, size_t len);
/* The same, and the message is also kept in the fleet's journal (a Redis
 * stream of about 10,000 messages): a process that was not listening when
 * it was sent (starting, or cut off from the store) hears it when its
 * subscriber is back, with its age.  For state that lasts (bans). */
int fleet_publish_kept(const char *kind, const char *msg, size_t len);

/* What hears a kind's messages: msg is what the publisher gave (binary
 * safe, len bytes), age_ms how long ago (0 for a message heard as it was
 * sent, more for one read from the journal, which may also repeat one
 * heard before an outage); called on worker 0's thread. */
typedef void fleet_msg_fn(const char *msg, size_t len, uint64_t age_ms);

/* Sets the handler of a kind (kind a string that lives as long as the
 * process; at most 8 kinds).  Called while configurations load, in the
 * main thread; a kind set again keeps one entry.  Messages this process
 * published are not handed back. */
void fleet_subscribe(const char *kind, fleet_msg_fn *fn);

/* What is called on a worker's thread each time its command link comes
 * up (at start, and after an outage): fleet_ready() holds then, and what
 * could not be published while it did not may go now.  Set once, while
 * configurations load, in the main thread. */
typedef void fleet_ready_fn(void);
void fleet_on_ready(fleet_ready_fn *fn);

/* Counts a decision made on local state because the store was down. */
void fleet_note_fallback(void);

/* A random word drawn once per process: a message carries it, so that its
 * publisher knows its own. */
uint64_t fleet_node_id(void);

#endif
