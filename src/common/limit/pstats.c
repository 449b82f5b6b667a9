/* pstats.c — the protections' counters (see pstats.h).  Owns the list of
 * named counters, which only grows (one entry per name a configuration
 * ever used) and is read without a lock: entries are linked in whole. */
#include "pstats.h"
#include "pstats_metrics.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>

static const char *const kind_names[PS_KINDS] = {
    "rate_limits", "deny_rules", "bans", "connections", "bandwidth", "quotas",
};

static const char *const counters[PS_KINDS][PSTATS_MAX + 1] = {
    {"allowed", "delayed", "limited", NULL},
    {"denied", "closed", "allowed", NULL},
    {"events", "bans", "refused", "lifted", NULL},
    {"admitted", "refused_concurrent", "refused_rate", NULL},
    {"bytes_down", "bytes_up", "waits", NULL},
    {"over_quota", NULL},
};

static _Atomic(struct pstats *) head;
static pthread_mutex_t grow = PTHREAD_MUTEX_INITIALIZER;

struct pstats *pstats_get(enum pstats_kind kind, const char *name)
{
    _Atomic(struct pstats *) *tail;
    struct pstats *p;

    pthread_mutex_lock(&grow);
    for (tail = &head; (p = atomic_load(tail)); tail = &p->next)
        if (p->kind == kind && strcmp(p->name, name) == 0)
            break;
    if (!p) {
        p = xcalloc(1, sizeof(*p));
        p->kind = kind;
        gh_fmt(p->name, sizeof(p->name), "%s", name);
        atomic_store(tail, p); /* whole before it is seen */
    }
    pthread_mutex_unlock(&grow);
    pstats_metrics_init(); /* /metrics shows them from the first name on */
    return p;
}

const char *pstats_kind_name(enum pstats_kind kind)
{
    return kind_names[kind];
}

const char *const *pstats_counter_names(enum pstats_kind kind)
{
    return counters[kind];
}

void pstats_each(void (*fn)(const struct pstats *p, void *arg), void *arg)
{
    for (int k = 0; k < PS_KINDS; k++)
        for (struct pstats *p = atomic_load(&head); p; p = atomic_load(&p->next))
            if ((int)p->kind == k)
                fn(p, arg);
}
