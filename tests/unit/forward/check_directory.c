/* check_directory.c — the directory login's pieces without a server: the
 * escapes of RFC 4515 and RFC 4514 (a user name cannot widen a filter or
 * move a DN), what its settings refuse, and a lookup of a directory that
 * is not there: pending at first, never blocking the caller, then down
 * (failing closed), never ok; an empty password is refused unasked.  A
 * lookup by name (a Kerberos user's groups) has cache keys no password's
 * can match, and fails closed the same way. */
#include "directory.h"
#include "directory_int.h"
#include "suites.h"

#include <check.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(filter_escape)
{
    char out[64];

    ck_assert_int_eq(directory_filter_escape("alice", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "alice");
    ck_assert_int_eq(directory_filter_escape("*)(uid=*", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "\\2a\\29\\28uid=\\2a");
    ck_assert_int_eq(directory_filter_escape("a\\b", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "a\\5cb");
    ck_assert_int_eq(directory_filter_escape("0123456789", out, 8), -1);
}
END_TEST

START_TEST(dn_escape)
{
    char out[64];

    ck_assert_int_eq(directory_dn_escape("alice", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "alice");
    ck_assert_int_eq(directory_dn_escape("a,ou=admins", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "a\\,ou\\=admins");
    ck_assert_int_eq(directory_dn_escape(" #x+y ", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "\\ #x\\+y\\ ");
    ck_assert_int_eq(directory_dn_escape("#x", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "\\#x");
}
END_TEST

/* Loads `text` as the ldap group; NULL with err on a refusal. */
static struct directory *load(const char *text, char *err, size_t errlen)
{
    config_t c;
    struct directory *d = NULL;
    char full[1024];

    snprintf(full, sizeof(full), "ldap = { %s };\n", text);
    config_init(&c);
    ck_assert_msg(config_read_string(&c, full) == CONFIG_TRUE, "%s", full);
    d = directory_load(config_lookup(&c, "ldap"), NULL, err, errlen);
    config_destroy(&c);
    return d;
}

START_TEST(settings_refused)
{
    static const struct {
        const char *text, *says;
    } cases[] = {
        {"uri = \"ldap://h\"; base = \"dc=x\";", "starttls"},
        {"uri = \"ldaps://h ldap://g\"; base = \"dc=x\";", "each of them"},
        {"uri = \"ldaps://h\"; base = \"dc=x\"; starttls = true;", "each of them"},
        {"base = \"dc=x\";", "needs 'uri'"},
        {"uri = \"ldaps://h\"; base = \"dc=x\"; bind_dn = \"cn=a\";", "must hold %s"},
        {"uri = \"ldaps://h\"; base = \"dc=x\"; group_filter = \"(x=%s)\";", "not a placeholder"},
        {"uri = \"ldaps://h\"; base = \"dc=x\"; search_password = \"p\";", "go together"},
        {"uri = \"ldaps://h\"; base = \"dc=x\"; search_dn = \"cn=r\"; search_password = \"\";",
         "must not be empty"},
        {"uri = \"ldaps://h\"; base = \"dc=x\"; timeout = 0;", "timeout"},
        {"uri = \"ldaps://h\"; base = \"dc=x\"; cache_ttl = 0;", "cache_ttl"},
    };
    char err[512];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        ck_assert_ptr_null(load(cases[i].text, err, sizeof(err)));
        ck_assert_msg(strstr(err, cases[i].says) != NULL, "%s: %s", cases[i].text, err);
    }
}
END_TEST

/* Nothing listens on port 1: the check returns at once (pending), and the
 * answer that comes is "down", kept for the callers waiting on it. */
START_TEST(a_missing_directory_fails_closed)
{
    char err[512], why[200];
    struct directory *d = load("uri = \"ldap://127.0.0.1:1\"; starttls = true; "
                               "base = \"dc=x\"; timeout = 1;",
                               err, sizeof(err));
    enum dir_result r = DIR_PENDING;

    ck_assert_msg(d != NULL, "%s", err);
    ck_assert_int_eq(directory_check(d, "alice", "", why, sizeof(why)), DIR_BAD);
    ck_assert_str_eq(why, "empty password");
    ck_assert_int_eq(directory_check(d, "alice", "pw", why, sizeof(why)), DIR_PENDING);
    for (int i = 0; i < 500 && r == DIR_PENDING; i++) { /* 5 s at most */
        usleep(10000);
        r = directory_check(d, "alice", "pw", why, sizeof(why));
    }
    ck_assert_int_eq(r, DIR_DOWN);
    ck_assert_msg(strstr(why, "ldap://127.0.0.1:1") != NULL, "%s", why);
    ck_assert_int_eq(directory_in_group(d, "alice", "teachers"), 0);
    directory_forget_all();
    directory_free(d);
}
END_TEST

/* A lookup by name and one by password never share a cache entry: not
 * with an empty password, not with any. */
START_TEST(name_keys_are_apart)
{
    char err[512];
    unsigned char by_name[32], empty[32], pw[32], again[32];
    struct directory *d = load("uri = \"ldaps://127.0.0.1:1\"; base = \"dc=x\";", err, sizeof(err));

    ck_assert_msg(d != NULL, "%s", err);
    directory_key(d, "alice", NULL, by_name);
    directory_key(d, "alice", "", empty);
    directory_key(d, "alice", "pw", pw);
    directory_key(d, "alice", NULL, again);
    ck_assert(memcmp(by_name, again, 32) == 0);
    ck_assert(memcmp(by_name, empty, 32) != 0);
    ck_assert(memcmp(by_name, pw, 32) != 0);
    ck_assert(memcmp(empty, pw, 32) != 0);
    directory_key(d, "alice\x01", NULL, again); /* the kind byte is not a name's */
    ck_assert(memcmp(by_name, again, 32) != 0);
    directory_free(d);
}
END_TEST

/* An empty password is never sent as a bind (it would be an
 * unauthenticated one, which a directory "accepts"): refused before the
 * network is tried, where the missing directory would say down. */
START_TEST(empty_password_bind_refused)
{
    char err[512];
    struct dir_answer *a = calloc(1, sizeof(*a));
    struct directory *d = load("uri = \"ldaps://127.0.0.1:1\"; base = \"dc=x\"; timeout = 1;"
                               " bind_dn = \"uid=%s,dc=x\";",
                               err, sizeof(err));

    ck_assert_msg(d != NULL, "%s", err);
    directory_lookup(d, "alice", "", a);
    ck_assert_int_eq(a->result, DIR_BAD);
    ck_assert_str_eq(a->why, "empty password");
    directory_lookup(d, "alice", "pw", a); /* the same, with a password: asked, down */
    ck_assert_int_eq(a->result, DIR_DOWN);
    directory_lookup(d, "alice", NULL, a); /* by name: asked, down, never ok */
    ck_assert_int_eq(a->result, DIR_DOWN);
    ck_assert_msg(strstr(a->why, "ldaps://127.0.0.1:1") != NULL, "%s", a->why);
    free(a);
    directory_free(d);
}
END_TEST

/* A Kerberos user's groups from a directory that is not there: pending,
 * then down; never in a group. */
START_TEST(groups_by_name_fail_closed)
{
    char err[512], why[200];
    struct directory *d = load("uri = \"ldap://127.0.0.1:1\"; starttls = true; "
                               "base = \"dc=x\"; timeout = 1;",
                               err, sizeof(err));
    enum dir_result r = DIR_PENDING;

    ck_assert_msg(d != NULL, "%s", err);
    ck_assert_int_eq(directory_groups_by_name(d, "", why, sizeof(why)), DIR_BAD);
    ck_assert_int_eq(directory_groups_by_name(d, "dave", why, sizeof(why)), DIR_PENDING);
    for (int i = 0; i < 500 && r == DIR_PENDING; i++) { /* 5 s at most */
        usleep(10000);
        r = directory_groups_by_name(d, "dave", why, sizeof(why));
    }
    ck_assert_int_eq(r, DIR_DOWN);
    ck_assert_msg(strstr(why, "ldap://127.0.0.1:1") != NULL, "%s", why);
    ck_assert_int_eq(directory_in_group(d, "dave", "teachers"), 0);
    /* the name's answer is not a password's: that one is asked afresh */
    ck_assert_int_eq(directory_check(d, "dave", "pw", why, sizeof(why)), DIR_PENDING);
    directory_forget_all();
    directory_free(d);
}
END_TEST

Suite *directory_suite(void)
{
    Suite *s = suite_create("directory");
    TCase *tc = tcase_create("directory");

    tcase_add_test(tc, filter_escape);
    tcase_add_test(tc, dn_escape);
    tcase_add_test(tc, settings_refused);
    tcase_add_test(tc, a_missing_directory_fails_closed);
    tcase_add_test(tc, name_keys_are_apart);
    tcase_add_test(tc, empty_password_bind_refused);
    tcase_add_test(tc, groups_by_name_fail_closed);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
