/* pool_metrics.h — the pools and servers as /metrics and the dashboard
 * see them: read from pool_state's table at each scrape (health, requests
 * in flight, queue, requests, failures, ejections, retries); the latency
 * histograms are counted by choose.c into the servers' states. */
#ifndef GH_POOL_METRICS_H
#define GH_POOL_METRICS_H

/* Registers the collector and the dashboard's health source (once; later
 * calls do nothing).  Main thread. */
void pool_metrics_init(void);

#endif
