/* dashboard.h — the live dashboard's memory: a ring of one sample per
 * second over the last hour (DASHBOARD_SAMPLES of 56 bytes, about 200 KB,
 * whatever the traffic), taken by a thread of its own from the
 * core's totals (observe.h), the cache, and the servers' health as the
 * reverse mode reports it; and its data as JSON.  The page itself is
 * ops.c's. */
#ifndef GH_DASHBOARD_H
#define GH_DASHBOARD_H

#include <stdint.h>

#define DASHBOARD_SAMPLES 3600

struct text;

/* Where the servers' health comes from: each(arg) calls cb once per server
 * with its pool, its address and whether it takes traffic. */
typedef void (*dashboard_server_cb)(void *cbarg, const char *pool, const char *server, int up);
void dashboard_set_health(void (*each)(dashboard_server_cb cb, void *cbarg));

/* Starts the sampling thread (once, at start-up); stops it. */
void dashboard_start(void);
void dashboard_stop(void);

/* Takes one sample now (the thread does, every second; tests may too). */
void dashboard_sample(void);

/* Writes the JSON document: the samples after sequence number `since`
 * (0: all kept), the servers now, and the top tables (top.h). */
void dashboard_json(struct text *o, uint64_t since);

#endif
