/* runner.c — runs every unit suite.  CK_RUN_SUITE=name runs one;
 * CK_FORK=no keeps everything in one process for gdb. */
#include "suites.h"

#include <check.h>
#include <stdlib.h>

int main(void)
{
    SRunner *sr = srunner_create(http1_suite());
    int failed;

    srunner_add_suite(sr, buf_suite());
    srunner_add_suite(sr, compress_suite());
    srunner_add_suite(sr, acl_suite());
    srunner_add_suite(sr, metrics_suite());
    srunner_add_suite(sr, static_suite());
    srunner_add_suite(sr, sni_suite());
    srunner_add_suite(sr, intercept_suite());
    srunner_add_suite(sr, rules_suite());
    srunner_add_suite(sr, schedule_suite());
    srunner_add_suite(sr, balance_suite());
    srunner_add_suite(sr, health_suite());
    srunner_add_suite(sr, route_suite());
    srunner_add_suite(sr, shard_suite());
    srunner_add_suite(sr, probe_suite());
    srunner_add_suite(sr, geo_suite());
    srunner_add_suite(sr, proxyproto_suite());
    srunner_add_suite(sr, tls_suite());
    srunner_add_suite(sr, tls_session_suite());
    srunner_add_suite(sr, cache_suite());
    srunner_add_suite(sr, cache_store_suite());
    srunner_add_suite(sr, apt_suite());
    srunner_add_suite(sr, util_suite());
    srunner_add_suite(sr, hostname_suite());
    srunner_add_suite(sr, urlpath_suite());
    srunner_add_suite(sr, h2_upstream_suite());
    srunner_add_suite(sr, anonymity_suite());
    srunner_add_suite(sr, auth_delay_suite());
    srunner_add_suite(sr, directory_suite());
    srunner_add_suite(sr, login_suite());
    srunner_add_suite(sr, keytab_suite());
    srunner_add_suite(sr, bans_suite());
    srunner_add_suite(sr, ratelimit_suite());
    srunner_add_suite(sr, bwlimit_suite());
    srunner_add_suite(sr, iptrie_suite());
    srunner_add_suite(sr, config_suite());
    srunner_add_suite(sr, config_errors_suite());
    srunner_add_suite(sr, config_keys_suite());
    srunner_add_suite(sr, fleet_lease_suite());

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
