/* config.h — one configuration generation: loading, references, and the
 * vocabulary every section's parser speaks.
 *
 * A generation is immutable once loaded and shared by every worker through a
 * reference count; SIGHUP builds a new one beside it and workers move to it
 * for their next exchange.  This module reads the file and dispatches: each
 * section belongs to the module that uses it, which owns its keys, their
 * defaults and their checks in one table (struct config_key, below):
 * `log` log_conf.c, `http` http_conf.c, `http2` h2_conf.c, `timeouts`
 * timeouts.c, `resolver` resolver_conf.c, `cache` cache_conf.c, `geo`
 * geo_conf.c, `protection`,
 * `rate_limits`, `deny_rules` and `bans` protect_conf.c, `listeners`
 * listeners.c, and the front-ends' sections their own parsers.  Only the
 * top-level keys, `workers`, `user` and `include_dir`, are read here; the
 * drop-ins of include_dir are merged into the file first
 * (config_dropins.c). */
#ifndef GH_CONFIG_H
#define GH_CONFIG_H

#include "cache.h"
#include "fleet.h"
#include "h2_conf.h"
#include "http1.h"
#include "listeners.h"
#include "log.h"
#include "resolver.h"
#include "timeouts.h"

#include <libconfig.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>

struct frontend;
struct exchange;
struct geo;
struct protect_conf;
struct sni_hello;

#define CONFIG_ERRLEN 1024

/* One configuration generation: built by config_load, then read-only and
 * shared by reference (config_ref, config_unref); each field's section
 * names the module that parses it. */
struct gh_config {
    atomic_int refs;
    char *path;       /* the file loaded */
    char *dir;        /* its directory, for relative paths */
    unsigned workers; /* resolved: >= 1 */
    char *user;       /* NULL: default choice (see main) */
    char *include_dir; /* the drop-in directory (config_dropins.h), as written */
    /* log (the `log` section: log_conf.c) */
    int log_level;    /* enum log_level */
    char *log_error;  /* path, "stderr" */
    char *log_access; /* path, "stdout", "stderr", "off" */
    int log_format;   /* LOG_FORMAT_* */
    /* the `http` section (http_conf.c) */
    char *via_name; /* pseudonym in Via */
    struct http1_limits limits;
    uint64_t max_body;               /* request body bytes; 0 = unlimited */
    int allow_trace;                 /* forward TRACE (off: 405) */
    struct timeouts to;              /* the `timeouts` section (timeouts.c) */
    struct h2_conf h2;               /* the `http2` section (h2_conf.c) */
    struct resolver_conf dns;        /* the `resolver` section (resolver_conf.c) */
    struct cache_conf cache;         /* the `cache` section (cache_conf.c) */
    struct geo *geo;                 /* the `geo` section (geo_conf.c), NULL: none */
    struct {                         /* the `protection` section (protect_conf.c) */
        uint32_t max_keys, max_bans, ipv6_prefix, ipv4_prefix;
    } protection;
    struct protect_conf *protect;    /* rate_limits, deny_rules, bans (protect_conf.c) */
    struct fleet_conf fleet;         /* the `fleet` section (fleet.c) */
    struct listener_conf *listeners; /* the `listeners` list (listeners.c) */
    unsigned nlisteners;
    char **reread;    /* files a reload reads again (TLS certificates and keys), for -t */
    unsigned nreread;
    char **sources;   /* the files read: the main one, then conf.d's drop-ins */
    unsigned nsources;
    void **fe_state; /* per front-end, indexed like the table given to load */
    const struct frontend *const *fes;
    unsigned nfes;
};

/* What a front-end is to the core: its name (the listener's mode), the
 * top-level sections and listener keys it owns, and its hooks. */
struct frontend {
    const char *name;
    const char *const *sections;      /* top-level keys it parses, NULL-terminated */
    const char *const *listener_keys; /* listener keys it parses, NULL-terminated */
    int transparent;                  /* its listeners may be `transparent` */
    int http2;                        /* it takes HTTP/2 clients: each stream an exchange */
    /* Parses its sections from the root; returns its state or NULL with a
     * "file:line: message" in err. */
    void *(*load)(const struct gh_config *cfg, config_t *file, char *err, size_t errlen);
    /* Parses a listener's own keys (policy, routes...); returns its per-listener
     * settings or NULL with err set.  May return a pointer into state. */
    void *(*listener)(const struct gh_config *cfg, void *state, config_setting_t *ls, char *err,
                      size_t errlen);
    void (*free)(void *state);
    /* Decides one exchange whose request head is parsed: answers it locally
     * or names an upstream (see exchange.h). */
    void (*handle)(struct exchange *ex);
    /* Optional: sees an upstream's response head before it is relayed and
     * may answer locally instead (exchange_respond and friends), which drops
     * the upstream response. */
    void (*response)(struct exchange *ex);
    /* Optional: judges a CONNECT tunnel by its first bytes, before any
     * byte is relayed either way: the client's TLS ClientHello as read (a
     * name or none, ECH), or why it could not be read (not TLS, the
     * server spoke first, malformed, too large, cut short, not in time:
     * sni.h).  Returns 0 to let the tunnel through, -1 to refuse it: the
     * core closes it, with a TLS alert when the client began TLS, and
     * logs the exchange's reason (exchange_error_reason). */
    int (*tunnel_hello)(struct exchange *ex, const struct sni_hello *hello);
    /* Optional: the upstream named by exchange_forward failed before
     * answering: the connect was refused or timed out, the name did not
     * resolve, or the connection closed before any response byte while no
     * byte of a request body had been sent.  `sent` says whether the request
     * head had gone out (so only an idempotent request may be repeated).
     * The front-end may name another upstream (exchange_forward) and return
     * 1; with 0 the core answers 502 or 504. */
    int (*upstream_failed)(struct exchange *ex, int sent, const char *why);
    /* Optional: a queued exchange (exchange_queue) may try again: decide, or
     * return without deciding to stay queued. */
    void (*resume)(struct exchange *ex);
    /* Optional: the exchange is over, whatever happened; called once, just
     * before its access-log line. */
    void (*finished)(struct exchange *ex);
    /* Optional: this generation's state now serves traffic (start background
     * work such as health checks).  Called in the main thread, once, after
     * privileges are dropped; `free` stops what it started. */
    void (*activate)(void *state);
};

/* Loads and validates a file.  Returns a generation with one reference, or
 * NULL with "file:line: message" in err. */
struct gh_config *config_load(const char *path, const struct frontend *const *fes, unsigned nfes,
                              char *err, size_t errlen);

struct gh_config *config_ref(struct gh_config *c);
void config_unref(struct gh_config *c);

/* The state a front-end built for this generation. */
void *config_fe_state(const struct gh_config *c, const struct frontend *fe);

/* The generation now serves traffic: runs the front-ends' activate hooks. */
void config_activate(struct gh_config *c);

/* ---- a section's keys, in one table (nginx's command tables) ----
 *
 * A module that owns a section writes each key once: its name, its type,
 * the field it fills, its range and its default, as README.md writes them.
 * The defaults are read by the same code that reads the file, so a default
 * out of its own range cannot be written; a unit test holds README.md's
 * tables to these ones. */

/* What a key holds, which is also the type of its field. */
enum config_kind {
    CONFIG_K_U32,    /* an integer in [lo, hi], into a uint32_t (or unsigned) */
    CONFIG_K_U64,    /* an integer in [lo, hi], into a uint64_t */
    CONFIG_K_BOOL,   /* true or false, into an int */
    CONFIG_K_MSEC,   /* seconds, int or float, in [lo, hi] milliseconds, into a
                      * uint32_t of milliseconds */
    CONFIG_K_STRING, /* a string, into a malloc'd char * (freed with the generation) */
    CONFIG_K_WORD,   /* one of `words`, its index into an int */
};

struct config_key {
    const char *name;
    enum config_kind kind;
    size_t offset;            /* of its field in struct gh_config (CONFIG_AT) */
    long lo, hi;              /* U32, U64: the range; MSEC: the range in ms */
    const char *dflt;         /* the default as README.md writes it ("8192", "10"
                               * seconds, "false", "info", "gatehouse"); NULL:
                               * none, the field stays zero */
    const char *const *words; /* WORD: the words, NULL-terminated; the value is
                               * the index */
    const char *what;         /* WORD: what a word names, for the error
                               * ("unknown log level 'x' (error, warn, ...)") */
    /* Optional: reads the key in place of its kind's reader, usually to check
     * or rewrite what config_key_read stored (a token, a path).  s is the
     * setting; for a default, a setting made from dflt.  Returns 0, or -1
     * with "file:line: message" in err. */
    int (*parse)(struct gh_config *c, const struct config_key *k, const config_setting_t *s,
                 char *err, size_t errlen);
};

/* The offset of `member` in struct gh_config; the compiler refuses a member
 * that is not of `type`, so a table cannot write past a narrower field. */
#define CONFIG_AT(member, type) \
    (offsetof(struct gh_config, member) + 0 * sizeof((type *)0 == &((struct gh_config *)0)->member))
/* The kind and the field of a key, checked together. */
#define CONFIG_U32(member) CONFIG_K_U32, CONFIG_AT(member, uint32_t)
#define CONFIG_U64(member) CONFIG_K_U64, CONFIG_AT(member, uint64_t)
#define CONFIG_BOOL(member) CONFIG_K_BOOL, CONFIG_AT(member, int)
#define CONFIG_MSEC(member) CONFIG_K_MSEC, CONFIG_AT(member, uint32_t)
#define CONFIG_STRING(member) CONFIG_K_STRING, CONFIG_AT(member, char *)
#define CONFIG_WORD(member) CONFIG_K_WORD, CONFIG_AT(member, int)

/* A top-level group that a module owns, and its keys (ending with a NULL
 * name).  A NULL name is the file's top level itself. */
struct config_section {
    const char *name;
    const struct config_key *keys;
};

/* The core's sections, NULL-terminated: the top level (workers, user),
 * log, http, timeouts, resolver, protection.  For tests that hold them to
 * README.md. */
extern const struct config_section *const config_core_sections[];

/* Sets every key of the table to its default.  A default that its own
 * reader refuses is a defect of the table: the process stops. */
void config_keys_defaults(struct gh_config *c, const struct config_key *keys);

/* Reads the keys of the table that g holds (unknown keys are not checked:
 * see config_section_load).  Returns 0, or -1 with err. */
int config_keys_read(struct gh_config *c, const config_setting_t *g, const struct config_key *keys,
                     char *err, size_t errlen);

/* Reads one key from its setting s by its kind (the reader a parse hook
 * calls first).  Returns 0, or -1 with err. */
int config_key_read(struct gh_config *c, const struct config_key *k, const config_setting_t *s,
                    char *err, size_t errlen);

/* Frees what the table's keys allocated (strings) and zeroes their fields. */
void config_keys_free(struct gh_config *c, const struct config_key *keys);

/* Reads the section from the root: absent leaves the defaults; present it
 * must be a group of the table's keys and no other.  Returns 0, or -1 with
 * err. */
int config_section_load(struct gh_config *c, const config_setting_t *root,
                        const struct config_section *sec, char *err, size_t errlen);

/* ---- helpers for the sections' parsers (front-ends use them too) ---- */

/* Formats "file:line: message" for a setting. */
void config_error(char *err, size_t errlen, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Checks that s is a group { ... }.  Returns 0, or -1 with err holding
 * "file:line: " and the message fmt formats, which names the setting and
 * shows the shape wanted ("'log' must be a group { ... }"). */
int config_check_group(const config_setting_t *s, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Checks that every member of a group has a name in `known` (NULL-terminated,
 * and up to two lists); returns 0 or -1 with err naming the unknown key. */
int config_check_keys(const config_setting_t *group, const char *const *known,
                      const char *const *known2, char *err, size_t errlen);

/* Typed getters: a missing key leaves *out at its default and returns 0; a
 * wrong type or out-of-range value returns -1 with err. */
int config_get_int(const config_setting_t *g, const char *key, long lo, long hi, long *out,
                   char *err, size_t errlen);
int config_get_bool(const config_setting_t *g, const char *key, int *out, char *err, size_t errlen);
int config_get_string(const config_setting_t *g, const char *key, const char **out, char *err,
                      size_t errlen);
/* Seconds as int or float, stored as milliseconds. */
int config_get_seconds(const config_setting_t *g, const char *key, double lo, double hi,
                       uint32_t *ms, char *err, size_t errlen);

/* config_get_strings flags: an empty list is refused. */
#define CONFIG_NONEMPTY 1u

/* Reads the setting `key` of g, a list of strings: [ "a", "b" ] or
 * ( "a", "b" ).  Absent (or g NULL): returns 0 with *out NULL and *n 0.  Present:
 * returns 0 with *out a malloc'd array of the *n strings copied, then a
 * NULL (so never NULL itself, even for [ ]); free it with
 * config_strings_free.  Returns -1, *out NULL, with err at the setting's
 * line when it is not a list ("'key' must be a list of strings [ ... ]",
 * "a non-empty list" with CONFIG_NONEMPTY, which also refuses [ ]), or at
 * the entry's line when an entry is not a non-empty string. */
int config_get_strings(const config_setting_t *g, const char *key, unsigned flags, char ***out,
                       unsigned *n, char *err, size_t errlen);

/* Frees a NULL-terminated list of strings (NULL is a no-op). */
void config_strings_free(char **list);

/* Reads the setting `key` of g, a list of networks ("10.0.0.0/8", "::1",
 * as acl_add reads them), into a.  Absent (or g NULL): adds `dflt`
 * (NULL-terminated, NULL: none).  Returns 0, or -1 with err as
 * config_get_strings ("'key' must be a list of networks [ ... ]"), or at a
 * bad entry's line ("'key': bad network ..."). */
int config_get_networks(const config_setting_t *g, const char *key, struct acl *a,
                        const char *const *dflt, char *err, size_t errlen);

/* Notes a file the generation being loaded read and that every reload
 * reads again as the service user (a TLS key): `gatehouse -t` checks the
 * service user can read it.  Outside a load: no-op.  Main thread only. */
void config_note_reread(const char *path);

/* Resolves a possibly relative path against the configuration's directory;
 * returns a malloc'd string. */
char *config_path(const struct gh_config *c, const char *p);

/* Parses "host:port", "[v6]:port" or "*:port" into an address (numeric hosts
 * only).  Returns 0 or -1. */
int config_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len);

#endif
