/* common.h — shared set-up for the integration suites: one origin, one
 * gatehouse with a forward and a reverse listener in front of it. */
#ifndef GH_ITEST_COMMON_H
#define GH_ITEST_COMMON_H

#include "client.h"
#include "harness.h"
#include "origin.h"

#include <check.h>
#include <signal.h>

struct rig {
    struct th_origin o;
    struct th_gatehouse g;
    int fwd;   /* forward listener port */
    int rev;   /* reverse listener port */
};

/* A configuration with both listeners and a pool of `origin_port`. */
void rig_conf(char *dst, size_t cap, int fwd, int rev, int origin_port);
/* Starts an origin named "o1" and gatehouse in front of it. */
void rig_up(struct rig *r);
void rig_down(struct rig *r);

/* Stops o and makes the whole run fail (exit 1) on a sanitizer report in
 * its log (the origin runs this binary's code, sanitized or not). */
void rig_origin_stop(struct origin *o);

/* Stops g and makes the whole run fail (exit 1) on a non-zero exit or a
 * sanitizer report in its error log: for suites whose rig outlives a test. */
void rig_stop_clean(struct th_gatehouse *g);

/* Sends raw bytes on fd and reads one response into r (asserting success). */
void rig_exchange(int fd, const char *raw, struct tc_response *r);

Suite *proxy_suite(void);
Suite *lifecycle_suite(void);
Suite *tunnel_suite(void);
Suite *strict_suite(void);
Suite *limits_suite(void);
Suite *gateway_suite(void);
Suite *filter_suite(void);
Suite *front_suite(void);
Suite *pools_suite(void);
Suite *tls_suite(void);
Suite *cache_suite(void);
Suite *evasion_suite(void);
Suite *abuse_suite(void);
Suite *hello_suite(void);

#endif
