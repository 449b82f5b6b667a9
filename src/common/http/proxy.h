/* proxy.h — the steps of an exchange that talks HTTP to its upstream: the
 * request head and body up, the response head read, checked and rewritten,
 * the response body relayed back (X_PROXY); and our CONNECT to a parent
 * proxy with its answer (X_PARENT_CONNECT).  Called by the exchange driver
 * (exchange_int.h) alone; they return GH_OK / GH_AGAIN / GH_DONE /
 * GH_ERROR, record failures with exchange_fail(), and never change the
 * exchange's state. */
#ifndef GH_PROXY_H
#define GH_PROXY_H

struct exchange;

/* X_PARENT_CONNECT: sends our CONNECT to the parent and reads its answer.
 * GH_OK when the parent opened the tunnel (or switched protocols, when
 * asked to: ex->status 101); GH_AGAIN; GH_ERROR (a 502 for a refusal or a
 * parent that failed, a close when the client left). */
int proxy_parent_connect(struct exchange *ex);

/* X_PROXY: moves what it can both ways.  GH_DONE when the response went
 * whole; GH_OK when the exchange moves on: answered locally instead
 * (ex->decision DECIDE_LOCAL; the upstream is let go) or switched
 * protocols (ex->status 101: a tunnel); GH_AGAIN; GH_ERROR (an upstream
 * that failed before answering may be retried: see ex->fail). */
int proxy_step(struct exchange *ex);

#endif
