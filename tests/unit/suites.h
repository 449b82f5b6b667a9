/* suites.h — the unit suites, one per module (tests/unit/check_<module>.c). */
#ifndef GH_SUITES_H
#define GH_SUITES_H

#include <check.h>

Suite *http1_suite(void);
Suite *buf_suite(void);
Suite *config_suite(void);
Suite *config_errors_suite(void);
Suite *config_keys_suite(void);
Suite *acl_suite(void);
Suite *static_suite(void);
Suite *sni_suite(void);
Suite *intercept_suite(void);
Suite *rules_suite(void);
Suite *schedule_suite(void);
Suite *balance_suite(void);
Suite *health_suite(void);
Suite *route_suite(void);
Suite *probe_suite(void);
Suite *geo_suite(void);
Suite *proxyproto_suite(void);
Suite *tls_suite(void);
Suite *tls_session_suite(void);
Suite *cache_suite(void);
Suite *cache_store_suite(void);
Suite *apt_suite(void);
Suite *util_suite(void);
Suite *hostname_suite(void);
Suite *urlpath_suite(void);
Suite *h2_upstream_suite(void);
Suite *anonymity_suite(void);
Suite *compress_suite(void);
Suite *auth_delay_suite(void);
Suite *directory_suite(void);
Suite *login_suite(void);
Suite *keytab_suite(void);
Suite *bans_suite(void);
Suite *ratelimit_suite(void);
Suite *bwlimit_suite(void);
Suite *iptrie_suite(void);
Suite *metrics_suite(void);
Suite *shard_suite(void);
Suite *fleet_lease_suite(void);

#endif
