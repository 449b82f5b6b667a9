/* common.h — what the integration suites share: the processes (harness.h),
 * the test origin whose answers each suite writes (origin.h), the client
 * (client.h), and the checks made when a gatehouse stops.  Each suite
 * writes its own configuration and its origin's answers. */
#ifndef GH_ITEST_COMMON_H
#define GH_ITEST_COMMON_H

#include "client.h"
#include "harness.h"
#include "origin.h"

#include <check.h>
#include <signal.h>

/* One origin and one gatehouse, as a suite starts them for each test. */
struct rig {
    struct origin o;
    struct th_gatehouse g;
    int fwd; /* a forward listener's port */
    int rev; /* a reverse listener's port */
};

/* Starts an origin answering with `answer` and a gatehouse (two workers,
 * info log, access log) with a forward listener (policy "lan", CONNECT
 * to 443 and 1024-65535) on r->fwd and a reverse listener on r->rev whose
 * only server is the origin.  Fails the test when either will not start. */
void rig_up_gateway_and_site(struct rig *r, origin_fn *answer);
/* That gatehouse's configuration, its pool's server on origin_port (a
 * test reloads it with another). */
void rig_conf(char *dst, size_t cap, const struct rig *r, int origin_port);

/* A listener's tls block with tests/support/make-certs.sh's RSA
 * certificate for a.test; three %s, each the certificates' directory. */
#define RIG_TLS_A_RSA                                                                    \
    "tls = { certificates = ( { cert = \"%s/a-rsa.pem\"; key = \"%s/a-rsa.key\"; } );\n" \
    "        default_certificate = \"%s/a-rsa.pem\"; };"

/* Stops r's gatehouse and origin; fails the test on gatehouse's non-zero
 * exit or a sanitizer report in either's log. */
void rig_down(struct rig *r);

/* Stops o and makes the whole run fail (exit 1) on a sanitizer report in
 * its log (the origin runs this binary's code, sanitized or not). */
void rig_origin_stop(struct origin *o);

/* Stops g and makes the whole run fail (exit 1) on a non-zero exit or a
 * sanitizer report in its error log: for suites whose rig outlives a test. */
void rig_stop_clean(struct th_gatehouse *g);

/* Starts the test directory (tests/support/slapd-rig.sh: a generated tree,
 * a CA in dir/ldap/ca.pem) in dir/ldap on two free ports, LDAP with
 * StartTLS on *ldap and ldaps on *ldaps.  Returns NULL, or why it cannot
 * run (slapd or ldap-utils not installed); exits the run when the rig
 * fails. */
const char *rig_slapd_start(const char *dir, int *ldap, int *ldaps);
/* Stops it, if it still runs (a test may have stopped it already). */
void rig_slapd_stop(const char *dir);

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
Suite *pools_reload_suite(void);
Suite *tls_suite(void);
Suite *cache_suite(void);
Suite *evasion_suite(void);
Suite *abuse_suite(void);
Suite *hello_suite(void);
Suite *transparent_suite(void);
Suite *directory_suite(void);
Suite *negotiate_suite(void);
Suite *lists_suite(void);
Suite *protect_suite(void);
Suite *ops_suite(void);
Suite *admin_suite(void);
Suite *h2_suite(void);
Suite *h2up_suite(void);
Suite *h2link_suite(void);
Suite *compress_suite(void);
Suite *shard_suite(void);
Suite *splice_suite(void);
Suite *fleet_suite(void);

#endif
