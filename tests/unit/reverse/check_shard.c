/* check_shard.c — the owner of a cache key across the fleet (shard.c):
 * rendezvous hashing's stability (a node that leaves moves only its own
 * keys, one that joins takes keys only for itself), its balance, values
 * every node and every version must agree on, and the cluster section's
 * parsing. */
#include "shard.h"
#include "suites.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define KEYS 30000

static int owner_of(const uint64_t *seeds, unsigned n, int k, const uint8_t *skip)
{
    char key[64];
    size_t len = gh_fmt(key, sizeof(key), "http://site.test/obj/%d", k);

    return shard_pick(seeds, n, shard_key_hash(key, len), skip);
}

START_TEST(removing_a_node_moves_only_its_keys)
{
    uint64_t seeds[3] = {shard_node_seed("a"), shard_node_seed("b"), shard_node_seed("c")};
    uint8_t skip[3] = {0, 1, 0};
    int moved_to[3] = {0}, owned[3] = {0};

    for (int k = 0; k < KEYS; k++) {
        int before = owner_of(seeds, 3, k, NULL), after = owner_of(seeds, 3, k, skip);
        owned[before]++;
        if (before != 1)
            ck_assert_int_eq(after, before); /* nobody else's key moves */
        else
            moved_to[after]++;
    }
    ck_assert_int_eq(moved_to[1], 0);
    /* b's keys spread over the two that are left */
    ck_assert_int_gt(moved_to[0], owned[1] * 4 / 10);
    ck_assert_int_gt(moved_to[2], owned[1] * 4 / 10);
}
END_TEST

START_TEST(adding_a_node_takes_keys_only_for_itself)
{
    uint64_t seeds[4] = {shard_node_seed("a"), shard_node_seed("b"), shard_node_seed("c"),
                         shard_node_seed("d")};
    int taken = 0;

    for (int k = 0; k < KEYS; k++) {
        int before = owner_of(seeds, 3, k, NULL), after = owner_of(seeds, 4, k, NULL);
        if (after != before) {
            ck_assert_int_eq(after, 3);
            taken++;
        }
    }
    /* about a quarter */
    ck_assert_int_gt(taken, KEYS / 5);
    ck_assert_int_lt(taken, KEYS * 3 / 10);
}
END_TEST

START_TEST(owners_evenly_shared)
{
    uint64_t seeds[3] = {shard_node_seed("a"), shard_node_seed("b"), shard_node_seed("c")};
    int owned[3] = {0};

    for (int k = 0; k < KEYS; k++)
        owned[owner_of(seeds, 3, k, NULL)]++;
    for (int i = 0; i < 3; i++)
        ck_assert_msg(owned[i] > KEYS * 30 / 100 && owned[i] < KEYS * 37 / 100, "node %d owns %d",
                      i, owned[i]);
    /* the order the nodes are listed in does not matter */
    uint64_t rev[3] = {seeds[2], seeds[1], seeds[0]};
    for (int k = 0; k < 1000; k++)
        ck_assert_int_eq(owner_of(seeds, 3, k, NULL), 2 - owner_of(rev, 3, k, NULL));
}
END_TEST

START_TEST(every_node_and_version_agrees)
{
    /* FNV-1a 64 (no per-process secret: all nodes must compute the same),
     * and owners fixed once and for all: a change here reshuffles every
     * fleet's cache in a rolling upgrade */
    ck_assert_uint_eq(shard_key_hash("", 0), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(shard_key_hash("a", 1), 0xaf63dc4c8601ec8cull);
    uint64_t seeds[3] = {shard_node_seed("a"), shard_node_seed("b"), shard_node_seed("c")};
    static const int want[8] = {1, 2, 0, 0, 2, 2, 2, 2};
    for (int k = 0; k < 8; k++)
        ck_assert_int_eq(owner_of(seeds, 3, k, NULL), want[k]);
    uint8_t all[3] = {1, 1, 1};
    ck_assert_int_eq(owner_of(seeds, 3, 0, all), -1);
}
END_TEST

/* Loads text as a configuration's `cluster` section; the error in err. */
static struct shard *load(const char *text, char *err, size_t cap)
{
    config_t cf;
    struct shard *s = NULL;

    config_init(&cf);
    err[0] = '\0';
    if (!config_read_string(&cf, text)) {
        gh_fmt(err, cap, "parse: %s", config_error_text(&cf));
    } else if (shard_load(&cf, &s, err, cap) < 0) {
        s = NULL;
    }
    config_destroy(&cf);
    return s;
}

START_TEST(cluster_section)
{
    char err[512];
    struct shard *s;
    static const char *const bad[][2] = {
        {"cluster = { self = \"z\"; nodes = ( \"10.0.0.1:80\" ); };", "is none of 'nodes'"},
        {"cluster = { self = \"a\"; nodes = ( \"10.0.0.1:80\", \"10.0.0.1:80\" ); };", "listed twice"},
        {"cluster = { self = \"a\"; nodes = ( { name = \"a\"; address = \"x:80\"; } ); };",
         "is not ip:port"},
        {"cluster = { self = \"a\"; nodes = ( { name = \"a\"; } ); };", "needs 'address'"},
        {"cluster = { self = \"a\"; nodes = ( { name = \"a b\"; address = \"10.0.0.1:80\"; } ); };",
         "no spaces"},
        {"cluster = { self = \"a\"; nodes = \"10.0.0.1:80\"; };", "needs 'nodes'"},
        {"cluster = { self = \"a\"; nodes = ( 1 ); };", "or a group {"},
        {"cluster = { self = \"10.0.0.1:80\"; nodes = ( \"10.0.0.1:80\" ); down_time = 0; };",
         "down_time"},
        {"cluster = 3;", "'cluster' must be a group"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_ptr_null(load(bad[i][0], err, sizeof(err)));
        ck_assert_msg(strstr(err, bad[i][1]), "case %zu: %s", i, err);
    }
    ck_assert_ptr_null(load("pools = {};", err, sizeof(err)));
    ck_assert_str_eq(err, ""); /* no section: no sharding, no error */
    s = load("cluster = { self = \"10.0.0.2:80\"; down_time = 2.5;\n"
             "  nodes = ( { name = \"a\"; address = \"10.0.0.1:80\"; }, \"10.0.0.2:80\",\n"
             "            { name = \"v6\"; address = \"[::1]:8080\"; } ); };",
             err, sizeof(err));
    ck_assert_msg(s != NULL, "%s", err);
    /* the owner by name: a node's name, or its address when it has none */
    const char *o = shard_owner_name(s, "http://site.test/", 17);
    ck_assert(strcmp(o, "a") == 0 || strcmp(o, "10.0.0.2:80") == 0 || strcmp(o, "v6") == 0);
    shard_free(s);
}
END_TEST

Suite *shard_suite(void)
{
    Suite *s = suite_create("shard");
    TCase *tc = tcase_create("shard");

    tcase_add_test(tc, removing_a_node_moves_only_its_keys);
    tcase_add_test(tc, adding_a_node_takes_keys_only_for_itself);
    tcase_add_test(tc, owners_evenly_shared);
    tcase_add_test(tc, every_node_and_version_agrees);
    tcase_add_test(tc, cluster_section);
    suite_add_tcase(s, tc);
    return s;
}
