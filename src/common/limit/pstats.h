/* pstats.h — a counter for every decision the protections make, by kind
 * and name (the rate limit "per_ip", the deny rule "scanners", the
 * listener "site"'s connection limits...), summed over every worker and
 * kept across reloads: a name keeps its counters as long as the process
 * lives.  The status pages of both modes show them all. */
#ifndef GH_PSTATS_H
#define GH_PSTATS_H

#include <stdatomic.h>
#include <stdint.h>

#define PSTATS_MAX 6

/* What a kind counts, in the order of its counters. */
enum pstats_kind {
    PS_RATE,        /* allowed, delayed, limited (429) */
    PS_DENY,        /* denied (403), closed, allowed (an allow rule) */
    PS_BAN,         /* events, bans, refused (a banned key's requests), lifted */
    PS_CONNECTIONS, /* admitted, refused_concurrent, refused_rate */
    PS_BANDWIDTH,   /* bytes_down, bytes_up, waits */
    PS_QUOTA,       /* over_quota (answered with the page) */
    PS_KINDS
};

/* One name's counters. */
struct pstats {
    enum pstats_kind kind;
    char name[64];
    atomic_ullong c[PSTATS_MAX];
    _Atomic(struct pstats *) next;
};

/* The counters of kind and name, made on first use (at configuration
 * load, under a lock); never freed, so a pointer stays good for the
 * process's life. */
struct pstats *pstats_get(enum pstats_kind kind, const char *name);

static inline void pstats_add(struct pstats *p, unsigned i, uint64_t n)
{
    if (p)
        atomic_fetch_add_explicit(&p->c[i], n, memory_order_relaxed);
}

/* The kind's name ("rate_limits", "deny_rules", ...) and its counters'
 * names, NULL after the last. */
const char *pstats_kind_name(enum pstats_kind kind);
const char *const *pstats_counter_names(enum pstats_kind kind);

/* Calls fn on every name's counters, kind by kind, oldest first. */
void pstats_each(void (*fn)(const struct pstats *p, void *arg), void *arg);

#endif
