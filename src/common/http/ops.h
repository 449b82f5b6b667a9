/* ops.h — the operator's endpoints on any listener, in either mode: the
 * Prometheus metrics (`metrics_path`), and the live dashboard
 * (`dashboard_path`) with its data (`<dashboard_path>/data`), readable
 * from `metrics_allow` only. */
#ifndef GH_OPS_H
#define GH_OPS_H

struct exchange;

/* Answers the exchange when its target is one of its listener's operator
 * paths (403 to a client outside metrics_allow); returns 1 then, else 0
 * and the front-end decides. */
int ops_serve(struct exchange *ex);

/* The dashboard page (dashboard_page.c): HTML with its script and styles
 * inline, no outside asset. */
extern const char dashboard_page[];

#endif
