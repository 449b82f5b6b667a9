/* runner.c — runs the integration suites against real processes on
 * loopback.  GH_BIN names gatehouse, GH_ORIGIN the gh-origin program (the
 * Makefile sets them). */
#include "common.h"

#include <stdlib.h>

int main(void)
{
    SRunner *sr = srunner_create(proxy_suite());
    int failed;

    srunner_add_suite(sr, strict_suite());
    srunner_add_suite(sr, limits_suite());
    srunner_add_suite(sr, tunnel_suite());
    srunner_add_suite(sr, gateway_suite());
    srunner_add_suite(sr, filter_suite());
    srunner_add_suite(sr, hello_suite());
    srunner_add_suite(sr, transparent_suite());
    srunner_add_suite(sr, directory_suite());
    srunner_add_suite(sr, negotiate_suite());
    srunner_add_suite(sr, lists_suite());
    srunner_add_suite(sr, front_suite());
    srunner_add_suite(sr, pools_suite());
    srunner_add_suite(sr, pools_reload_suite());
    srunner_add_suite(sr, tls_suite());
    srunner_add_suite(sr, cache_suite());
    srunner_add_suite(sr, shard_suite());
    srunner_add_suite(sr, compress_suite());
    srunner_add_suite(sr, splice_suite());
    srunner_add_suite(sr, evasion_suite());
    srunner_add_suite(sr, abuse_suite());
    srunner_add_suite(sr, protect_suite());
    srunner_add_suite(sr, h2_suite());
    srunner_add_suite(sr, h2up_suite());
    srunner_add_suite(sr, h2link_suite());
    srunner_add_suite(sr, lifecycle_suite());
    srunner_add_suite(sr, ops_suite());
    srunner_add_suite(sr, admin_suite());
    srunner_add_suite(sr, fleet_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
