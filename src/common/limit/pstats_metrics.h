/* pstats_metrics.h — the protections' counters exported in /metrics. */
#ifndef GH_PSTATS_METRICS_H
#define GH_PSTATS_METRICS_H

/* Registers the collector (once, whoever calls first; any thread). */
void pstats_metrics_init(void);

#endif
