/* pstats_metrics.c — the protections' counters (pstats.h) in /metrics: one
 * counter family per kind, a sample per name and outcome, read at each
 * scrape from the same cells the status pages show, so the two never
 * disagree and a decision is counted once. */
#include "pstats_metrics.h"
#include "metrics.h"
#include "pstats.h"

#include <pthread.h>

static const struct {
    const char *family, *label, *help;
} families[PS_KINDS] = {
    [PS_RATE] = {"gatehouse_ratelimit_decisions_total", "rule",
                 "Rate-limit decisions, by rule and result (allowed, delayed, limited)."},
    [PS_DENY] = {"gatehouse_deny_decisions_total", "rule",
                 "Deny-rule decisions, by rule and result (denied, closed, allowed)."},
    [PS_BAN] = {"gatehouse_ban_decisions_total", "rule",
                "Ban rules: events seen, bans made, requests refused, bans lifted."},
    [PS_CONNECTIONS] = {"gatehouse_connection_limit_decisions_total", "listener",
                        "Connection limits at accept, by listener and result."},
    [PS_BANDWIDTH] = {"gatehouse_bandwidth_total", "policy",
                      "Bandwidth limits: bytes metered each way, and waits for tokens."},
    [PS_QUOTA] = {"gatehouse_quota_decisions_total", "policy",
                  "Daily quotas: requests answered with the over-quota page."},
};

struct scrape {
    struct text *o;
    int kind, seen;
};

static void one(const struct pstats *p, void *arg)
{
    struct scrape *s = arg;
    const char *const *names = pstats_counter_names(p->kind);
    char labels[256];

    if ((int)p->kind != s->kind)
        return;
    if (!s->seen++)
        metrics_family(s->o, families[s->kind].family, "counter", families[s->kind].help);
    for (unsigned i = 0; names[i]; i++)
        metrics_sample(s->o, families[s->kind].family,
                       metrics_labels(labels, sizeof(labels), families[s->kind].label, p->name,
                                      "result", names[i], NULL),
                       (double)atomic_load_explicit(&p->c[i], memory_order_relaxed));
}

static void collect(struct text *o, void *arg)
{
    (void)arg;
    for (int k = 0; k < PS_KINDS; k++) {
        struct scrape s = {o, k, 0};
        pstats_each(one, &s);
    }
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void add(void)
{
    metrics_add_collector(collect, NULL);
}

void pstats_metrics_init(void)
{
    pthread_once(&once, add);
}
