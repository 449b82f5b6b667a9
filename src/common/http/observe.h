/* observe.h — what the core counts of the traffic it carries, for
 * /metrics and the dashboard: per listener, the requests by status class
 * and protocol, the bytes each way, the connections open and accepted,
 * the TLS handshakes and resumptions, and the requests' durations.  The
 * series live in metrics.h's registry; this module only names them and
 * keeps the process-wide totals the dashboard samples. */
#ifndef GH_OBSERVE_H
#define GH_OBSERVE_H

#include <stdint.h>

struct exchange;
struct metric_hist;

/* An exchange ended (exchange_end, before its log line): counts it on its
 * listener under its status class ("2xx"..., "none" when nothing was
 * answered) and protocol `proto` (the connection's: "http/1.1" today). */
void observe_exchange(const struct exchange *ex, const char *proto);

/* A client connection opened (+1) or closed (-1) on listener `lname`. */
void observe_conn(const char *lname, int delta);

/* A TLS handshake on listener `lname` ended: ok or failed, and whether it
 * resumed a session. */
void observe_tls(const char *lname, int ok, int resumed);

/* The process-wide totals the dashboard samples: requests, those answered
 * 5xx, and a histogram of every request's duration. */
struct observe_totals {
    uint64_t requests, errors;
    const struct metric_hist *duration;
};
void observe_totals(struct observe_totals *t);

/* Registers the collector of open connections per listener (once, at
 * start-up). */
void observe_init(void);

#endif
