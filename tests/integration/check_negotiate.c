/* check_negotiate.c — Kerberos single sign-on at the proxy: an MIT KDC
 * started by the suite (tests/support/kdc-rig.sh: a realm in a temporary
 * directory, alice and the proxy's HTTP/localhost key), kinit with the
 * password on stdin, and curl --proxy-negotiate as the browser.  Negotiate
 * and Basic offered together; a ticket lets alice in with no password; no
 * ticket, or a token that is not one, gets 407 again.
 *
 * NEEDS krb5-kdc, krb5-admin-server (kadmin.local) and krb5-user (kinit)
 * from packaging/deps.sh --test: without them each test says so and
 * passes without running. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct origin origin;
static struct th_gatehouse gh;
static char dir[128];
static const char *skip;
static int both, only; /* Negotiate with Basic (an htpasswd file), Negotiate alone */

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "negotiate rig: %s failed\n", what);
        abort();
    }
}

static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    origin_text(re, "hello from %s to %s\n", rq->name, rq->path);
}

static void rig_start(void)
{
    char out[256], conf[4096];

    if (access("/usr/sbin/krb5kdc", X_OK) != 0 || access("/usr/sbin/kadmin.local", X_OK) != 0 ||
        system("command -v kinit >/dev/null") != 0) {
        skip = "krb5-kdc, krb5-admin-server and krb5-user are not installed "
               "(packaging/deps.sh --test)";
        return;
    }
    strcpy(dir, "/tmp/gh-krb-XXXXXX");
    must(mkdtemp(dir) != NULL, "mkdtemp");
    chmod(dir, 0755);
    must(th_sh(out, sizeof(out), "sh tests/support/kdc-rig.sh %s/kdc %d 2>&1", dir,
               th_free_port()) == 0,
         "the KDC");
    must(th_sh(out, sizeof(out), "htpasswd -cbB %s/users bob builder 2>&1 && chmod 644 %s/users",
               dir, dir) == 0,
         "htpasswd");
    must(origin_start(&origin, "o", answer) == 0, "origin");
    both = th_free_port();
    only = th_free_port();
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; };\n"
             "listeners = (\n"
             "  { name = \"both\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"both\"; },\n"
             "  { name = \"only\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"only\"; }\n"
             ");\n"
             "policies = {\n"
             "  both = { auth = { realm = \"School\"; file = \"%s/users\";\n"
             "                    negotiate = { keytab = \"%s/kdc/http.keytab\"; realm = \"GATEHOUSE.TEST\"; }; }; };\n"
             "  only = { auth = { negotiate = { keytab = \"%s/kdc/http.keytab\"; }; }; };\n"
             "};\n",
             both, only, dir, dir, dir);
    must(th_gatehouse_start(&gh, conf) == 0, "gatehouse");
}

static void rig_stop(void)
{
    char out[64];

    if (skip)
        return;
    rig_stop_clean(&gh);
    rig_origin_stop(&origin);
    th_sh(out, sizeof(out), "kill $(cat %s/kdc/kdc.pid 2>/dev/null) 2>/dev/null; rm -rf %s", dir,
          dir);
}

#define SKIP_UNLESS_READY()                                                                        \
    do {                                                                                           \
        if (skip) {                                                                                \
            fprintf(stderr, "negotiate: %s: SKIPPED: %s\n", __func__, skip);                       \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Runs cmd with the realm's client configuration and credential cache
 * `cc` (a file in dir). */
static int krb_sh(char *out, size_t cap, const char *cc, const char *cmd)
{
    return th_sh(out, cap, "KRB5_CONFIG=%s/kdc/krb5.conf KRB5CCNAME=FILE:%s/%s %s", dir, dir, cc,
                 cmd);
}

START_TEST(both_schemes_are_offered)
{
    char out[4096];

    SKIP_UNLESS_READY();
    th_sh(out, sizeof(out), "curl -s -i -m 30 -x http://127.0.0.1:%d http://127.0.0.1:%d/n1", both,
          origin.port);
    ck_assert_msg(strstr(out, "407") && strstr(out, "Proxy-Authenticate: Negotiate\r\n") &&
                      strstr(out, "Proxy-Authenticate: Basic realm=\"School\""),
                  "%s", out);
    th_sh(out, sizeof(out), "curl -s -i -m 30 -x http://127.0.0.1:%d http://127.0.0.1:%d/n2", only,
          origin.port);
    ck_assert_msg(strstr(out, "Proxy-Authenticate: Negotiate\r\n") && !strstr(out, "Basic"), "%s",
                  out);
    /* Basic still works beside it */
    th_sh(out, sizeof(out), "curl -s -m 30 -U bob:builder -x http://127.0.0.1:%d http://127.0.0.1:%d/n3",
          both, origin.port);
    ck_assert_str_eq(out, "hello from o to /n3\n");
}
END_TEST

/* alice's ticket, no password asked: 200, and the log names her (without
 * the realm where the policy names it, whole where it does not). */
START_TEST(a_ticket_is_enough)
{
    char out[4096], cmd[512];

    SKIP_UNLESS_READY();
    ck_assert_int_eq(krb_sh(out, sizeof(out), "cc-alice", "sh -c 'echo alicepw | kinit alice >/dev/null 2>&1'"), 0);
    snprintf(cmd, sizeof(cmd),
             "curl -s -m 30 --proxy-negotiate -U : -x http://localhost:%d http://127.0.0.1:%d/k1",
             both, origin.port);
    ck_assert_int_eq(krb_sh(out, sizeof(out), "cc-alice", cmd), 0);
    ck_assert_str_eq(out, "hello from o to /k1\n");
    ck_assert_int_eq(th_log_lines(gh.access, 1, " alice [", "/k1 HTTP/1.1\" 200", NULL), 1);
    snprintf(cmd, sizeof(cmd),
             "curl -s -m 30 --proxy-negotiate -U : -x http://localhost:%d http://127.0.0.1:%d/k2",
             only, origin.port);
    ck_assert_int_eq(krb_sh(out, sizeof(out), "cc-alice", cmd), 0);
    ck_assert_str_eq(out, "hello from o to /k2\n");
    ck_assert_int_eq(th_log_lines(gh.access, 1, " alice@GATEHOUSE.TEST [", "/k2 HTTP/1.1\" 200", NULL),
                     1);
}
END_TEST

/* No ticket, or a token that is none: 407, and the log says why. */
START_TEST(no_ticket_no_entry)
{
    char out[4096], cmd[512];

    SKIP_UNLESS_READY();
    snprintf(cmd, sizeof(cmd),
             "curl -s -m 30 -o /dev/null -w '%%{http_code}' --proxy-negotiate -U : "
             "-x http://localhost:%d http://127.0.0.1:%d/x1",
             both, origin.port);
    ck_assert_int_eq(krb_sh(out, sizeof(out), "cc-nobody", cmd), 0);
    ck_assert_str_eq(out, "407");
    th_sh(out, sizeof(out),
          "curl -s -m 30 -o /dev/null -w '%%{http_code}' -H 'Proxy-Authorization: Negotiate "
          "YIIBbm90IGEgdGlja2V0' -x http://127.0.0.1:%d http://127.0.0.1:%d/x2",
          both, origin.port);
    ck_assert_str_eq(out, "407");
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "Negotiate from 127.0.0.1 refused", NULL), 1);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/x2 HTTP/1.1\" 407",
                                  "why=proxy authentication failed", NULL),
                     1);
}
END_TEST

/* `negotiate` mistakes stop `gatehouse -t` with file:line. */
START_TEST(negotiate_settings_checked)
{
    char conf[1024], out[2048];

    snprintf(conf, sizeof(conf),
             "listeners = ( { name = \"f\"; mode = \"forward\"; listen = \"127.0.0.1:%d\";"
             " policy = \"p\"; } );\n"
             "policies = { p = {\n"
             "  auth = { negotiate = { keytab = \"/nonexistent/http.keytab\"; }; }; }; };\n",
             th_free_port());
    ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, ":3") && strstr(out, "cannot read keytab /nonexistent/http.keytab"),
                  "%s", out);
    snprintf(conf, sizeof(conf),
             "listeners = ( { name = \"f\"; mode = \"forward\"; listen = \"127.0.0.1:%d\";"
             " policy = \"p\"; } );\n"
             "policies = { p = {\n"
             "  auth = { negotiate = { }; }; }; };\n",
             th_free_port());
    ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, ":3") && strstr(out, "needs 'keytab'"), "%s", out);
}
END_TEST

Suite *negotiate_suite(void)
{
    Suite *s = suite_create("negotiate");
    TCase *tc = tcase_create("negotiate");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, negotiate_settings_checked);
    tcase_add_test(tc, both_schemes_are_offered);
    tcase_add_test(tc, a_ticket_is_enough);
    tcase_add_test(tc, no_ticket_no_entry);
    suite_add_tcase(s, tc);
    return s;
}
