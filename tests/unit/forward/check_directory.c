/* check_directory.c — the directory login's pieces without a server: the
 * escapes of RFC 4515 and RFC 4514 (a user name cannot widen a filter or
 * move a DN), what its settings refuse, and a lookup of a directory that
 * is not there: pending at first, never blocking the caller, then down
 * (failing closed), never ok; an empty password is refused unasked. */
#include "directory.h"
#include "suites.h"

#include <check.h>
#include <libconfig.h>
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

Suite *directory_suite(void)
{
    Suite *s = suite_create("directory");
    TCase *tc = tcase_create("directory");

    tcase_add_test(tc, filter_escape);
    tcase_add_test(tc, dn_escape);
    tcase_add_test(tc, settings_refused);
    tcase_add_test(tc, a_missing_directory_fails_closed);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
