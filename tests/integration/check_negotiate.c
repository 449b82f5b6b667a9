/* check_negotiate.c — Kerberos single sign-on at the proxy: an MIT KDC
 * started by the suite (tests/support/kdc-rig.sh: a realm in a temporary
 * directory, alice and the proxy's HTTP/localhost key), kinit with the
 * password on stdin, and curl --proxy-negotiate as the browser.  Negotiate
 * and Basic offered together; a ticket lets alice in with no password; no
 * ticket, or a token that is not one, gets 407 again.
 *
 * With a slapd beside the KDC (tests/support/slapd-rig.sh: alice is in
 * teachers, bob in pupils), a Kerberos user's groups come from the
 * directory, looked up by name: alice's rule lets her through, bob's
 * default blocks him (403, the block page); a directory that is down
 * refuses (407, a log line) unless negotiate.groups_optional.  In a
 * subtree anonymous clients cannot search, the search account finds dave
 * (and his group); alice, not in it, goes on with no directory groups.
 *
 * NEEDS krb5-kdc, krb5-admin-server (kadmin.local) and krb5-user (kinit)
 * from packaging/deps.sh --test, and slapd and ldap-utils for the
 * directory's tests: without them each test says so and passes without
 * running. */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static struct origin origin;
static struct th_gatehouse gh;
static char dir[128];
static const char *skip, *noldap;
static int both, only; /* Negotiate with Basic (an htpasswd file), Negotiate alone */
static int sso, ssodown, ssoopt; /* with a directory: up, down, down with groups_optional */
static int ssostaff;               /* ou=staff, found with the search account */

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

/* The policies with a directory (its ldap groups into out): none when
 * slapd is not installed. */
static void directory_policies(char *out, size_t cap)
{
    char o[256];
    int lport, tport, deadport = th_free_port();
    FILE *f;

    out[0] = '\0';
    if ((noldap = rig_slapd_start(dir, &lport, &tport)) != NULL)
        return;
    snprintf(o, sizeof(o), "%s/sites.txt", dir);
    must((f = fopen(o, "w")) != NULL, "sites.txt");
    fputs("nothing.example\n", f);
    fclose(f);
    chmod(o, 0644);
    snprintf(out, cap,
             "  sso = { auth = { negotiate = { keytab = \"%s/kdc/http.keytab\"; realm = \"GATEHOUSE.TEST\"; };\n"
             "                   ldap = { uri = \"ldap://127.0.0.1:%d\"; starttls = true; ca = \"%s/ldap/ca.pem\";\n"
             "                            base = \"dc=example,dc=org\"; }; };\n"
             "          filter = ( { groups = [ \"teachers\" ]; block = [ \"sites\" ]; },\n"
             "                     { default = \"block\"; } ); };\n"
             "  ssodown = { auth = { negotiate = { keytab = \"%s/kdc/http.keytab\"; realm = \"GATEHOUSE.TEST\"; };\n"
             "                       ldap = { uri = \"ldap://127.0.0.1:%d\"; starttls = true; timeout = 2;\n"
             "                                base = \"dc=example,dc=org\"; }; }; };\n"
             "  ssoopt = { auth = { negotiate = { keytab = \"%s/kdc/http.keytab\"; realm = \"GATEHOUSE.TEST\";\n"
             "                                    groups_optional = true; };\n"
             "                      ldap = { uri = \"ldap://127.0.0.1:%d\"; starttls = true; timeout = 2;\n"
             "                               base = \"dc=example,dc=org\"; }; }; };\n"
             "  ssostaff = { auth = { negotiate = { keytab = \"%s/kdc/http.keytab\"; realm = \"GATEHOUSE.TEST\"; };\n"
             "                        ldap = { uri = \"ldap://127.0.0.1:%d\"; starttls = true; ca = \"%s/ldap/ca.pem\";\n"
             "                                 base = \"ou=staff,dc=example,dc=org\";\n"
             "                                 search_dn = \"cn=reader,dc=example,dc=org\"; search_password = \"readerpw\"; }; };\n"
             "               filter = ( { groups = [ \"staffers\" ]; block = [ \"sites\" ]; },\n"
             "                          { default = \"block\"; } ); };\n",
             dir, lport, dir, dir, deadport, dir, deadport, dir, lport, dir);
}

static void rig_start(void)
{
    char out[256], conf[8192], pols[4096], lists[256] = "", ls[1024] = "";

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
    directory_policies(pols, sizeof(pols));
    both = th_free_port();
    only = th_free_port();
    if (!noldap) {
        sso = th_free_port();
        ssodown = th_free_port();
        ssoopt = th_free_port();
        ssostaff = th_free_port();
        snprintf(lists, sizeof(lists),
                 "lists = { sites = { path = \"%s/sites.txt\"; format = \"domains\"; }; };\n", dir);
        snprintf(ls, sizeof(ls),
                 " ,{ name = \"sso\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"sso\"; }\n"
                 " ,{ name = \"ssodown\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"ssodown\"; }\n"
                 " ,{ name = \"ssoopt\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"ssoopt\"; }\n"
                 " ,{ name = \"ssostaff\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"ssostaff\"; }\n",
                 sso, ssodown, ssoopt, ssostaff);
    }
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; };\n"
             "%s"
             "listeners = (\n"
             "  { name = \"both\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"both\"; },\n"
             "  { name = \"only\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"only\"; }\n"
             "%s"
             ");\n"
             "policies = {\n"
             "  both = { auth = { realm = \"School\"; file = \"%s/users\";\n"
             "                    negotiate = { keytab = \"%s/kdc/http.keytab\"; realm = \"GATEHOUSE.TEST\"; }; }; };\n"
             "  only = { auth = { negotiate = { keytab = \"%s/kdc/http.keytab\"; }; }; };\n"
             "%s"
             "};\n",
             lists, both, only, ls, dir, dir, dir, pols);
    must(th_gatehouse_start(&gh, conf) == 0, "gatehouse");
}

static void rig_stop(void)
{
    char out[64];

    if (skip)
        return;
    rig_stop_clean(&gh);
    rig_origin_stop(&origin);
    rig_slapd_stop(dir);
    th_sh(out, sizeof(out),
          "kill $(cat %s/kdc/kdc.pid 2>/dev/null) 2>/dev/null; rm -rf %s", dir, dir);
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

/* A fresh token for HTTP/localhost from alice's ticket, as a browser
 * would send it: curl --proxy-negotiate is pointed at a stand-in proxy
 * here that answers 407 Negotiate and keeps the token it then gets (so
 * gatehouse sees it first, and no replay cache objects). */
static void fresh_token(char *tok, size_t cap)
{
    int port = th_free_port(), ls, fd = -1, one = 1, n;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char cmd[512], req[16384] = "", *t = NULL, *e = NULL;
    size_t got = 0;
    struct pollfd pf;
    static const char ask[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                              "Proxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n";

    ls = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    must(ls >= 0 && bind(ls, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(ls, 4) == 0,
         "the stand-in proxy");
    snprintf(cmd, sizeof(cmd),
             "sh -c 'curl -s -m 10 --proxy-negotiate -U : -x http://localhost:%d "
             "http://127.0.0.1:%d/t0 >/dev/null 2>&1 &'",
             port, origin.port);
    must(krb_sh(NULL, 0, "cc-alice", cmd) == 0, "curl to the stand-in proxy");
    pf = (struct pollfd){.fd = ls, .events = POLLIN};
    must(poll(&pf, 1, 10000) == 1 && (fd = accept(ls, NULL, NULL)) >= 0, "curl's connection");
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){10, 0}, sizeof(struct timeval));
    /* its first request has no token: ask, and read the second */
    while (!(t = strstr(req, "Proxy-Authorization: Negotiate ")) && got < sizeof(req) - 1) {
        if ((n = (int)recv(fd, req + got, sizeof(req) - 1 - got, 0)) <= 0)
            break;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") && !strstr(req, "Negotiate") &&
            send(fd, ask, sizeof(ask) - 1, 0) < 0)
            break;
        if (strstr(req, "\r\n\r\n") && !strstr(req, "Negotiate"))
            got = 0, req[0] = '\0';
    }
    must(t && (e = strstr(t, "\r\n")), "a Negotiate token from curl");
    t += strlen("Proxy-Authorization: ");
    snprintf(tok, cap, "%.*s", (int)(e - t), t);
    close(fd);
    close(ls);
}

/* Negotiate is connection-based, as browsers use it (RFC 4559 section 6):
 * once a connection has been authenticated they send no more tokens on
 * it.  The proxy remembers the user for that connection: the second
 * request on it is alice's, without another 407 round; another
 * connection is asked again. */
START_TEST(a_connection_stays_logged_in)
{
    char out[4096], tok[8192], req[9000];
    struct tc_response r = {0};
    int fd;

    SKIP_UNLESS_READY();
    ck_assert_int_eq(krb_sh(out, sizeof(out), "cc-alice", "sh -c 'echo alicepw | kinit alice >/dev/null 2>&1'"), 0);
    fresh_token(tok, sizeof(tok));
    fd = tc_connect("127.0.0.1", both);
    snprintf(req, sizeof(req),
             "GET http://127.0.0.1:%d/s1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Proxy-Authorization: %s\r\n\r\n",
             origin.port, origin.port, tok);
    rig_exchange(fd, req, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "hello from o to /s1\n");
    tc_response_free(&r);
    snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/s2 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
             origin.port, origin.port);
    rig_exchange(fd, req, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "hello from o to /s2\n");
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_eq(th_log_lines(gh.access, 1, " alice [", "/s2 HTTP/1.1\" 200", NULL), 1);
    /* another connection is not logged in */
    fd = tc_connect("127.0.0.1", both);
    snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/s3 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
             origin.port, origin.port);
    rig_exchange(fd, req, &r);
    ck_assert_int_eq(r.status, 407);
    tc_response_free(&r);
    tc_close(fd);
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

#define SKIP_UNLESS_DIRECTORY()                                                                     \
    do {                                                                                           \
        SKIP_UNLESS_READY();                                                                       \
        if (noldap) {                                                                              \
            fprintf(stderr, "negotiate: %s: SKIPPED: %s\n", __func__, noldap);                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* curl --proxy-negotiate with user's ticket (kinit'ed into cc-USER)
 * through the listener on port: "STATUS BODY" into out. */
static void sso_get(char *out, size_t cap, const char *user, int port, const char *path)
{
    char cmd[512], cc[32];

    snprintf(cc, sizeof(cc), "cc-%s", user);
    snprintf(cmd, sizeof(cmd), "sh -c 'echo %spw | kinit %s >/dev/null 2>&1'", user, user);
    ck_assert_int_eq(krb_sh(out, cap, cc, cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "curl -s -m 30 -w '%%{http_code} ' -o %s/body --proxy-negotiate -U : "
             "-x http://localhost:%d http://127.0.0.1:%d%s; cat %s/body",
             dir, port, origin.port, path, dir);
    krb_sh(out, cap, cc, cmd);
}

/* Kerberos users' groups from the directory, by name, choose the rule:
 * alice (teachers) through, bob (pupils: the default) blocked with the
 * block page; each asked once, then from the cache. */
START_TEST(directory_groups_for_tickets)
{
    char out[8192];

    SKIP_UNLESS_DIRECTORY();
    sso_get(out, sizeof(out), "alice", sso, "/s1");
    ck_assert_str_eq(out, "200 hello from o to /s1\n");
    ck_assert_int_eq(th_log_lines(gh.access, 1, " alice [", "/s1 HTTP/1.1\" 200",
                                  "filter=allow:default", NULL),
                     1);
    sso_get(out, sizeof(out), "bob", sso, "/s2");
    ck_assert_msg(strncmp(out, "403 ", 4) == 0 && strstr(out, "This page is blocked"), "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, " bob [", "/s2 HTTP/1.1\" 403", "filter=block:",
                                  NULL),
                     1);
    /* again, from the cache: the same answers */
    sso_get(out, sizeof(out), "alice", sso, "/s3");
    ck_assert_str_eq(out, "200 hello from o to /s3\n");
    sso_get(out, sizeof(out), "bob", sso, "/s4");
    ck_assert_msg(strncmp(out, "403 ", 4) == 0, "%s", out);
}
END_TEST

/* ou=staff is searched with the search account (anonymous clients find
 * nothing there): dave's group lets him through; alice is not in it, so
 * she goes on with no directory groups (the default: blocked), and the
 * log says so. */
START_TEST(search_account_for_tickets)
{
    char out[8192];

    SKIP_UNLESS_DIRECTORY();
    sso_get(out, sizeof(out), "dave", ssostaff, "/t1");
    ck_assert_str_eq(out, "200 hello from o to /t1\n");
    ck_assert_int_eq(th_log_lines(gh.access, 1, " dave [", "/t1 HTTP/1.1\" 200", NULL), 1);
    sso_get(out, sizeof(out), "alice", ssostaff, "/t2");
    ck_assert_msg(strncmp(out, "403 ", 4) == 0 && strstr(out, "This page is blocked"), "%s", out);
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "Kerberos user \"alice\"",
                                  "is not in the directory (no such user)", NULL),
                     1);
}
END_TEST

/* The directory is down: the groups are unknown, so the ticket alone is
 * refused (407, a log line saying why); with groups_optional the user
 * goes on without directory groups, and the log says so. */
START_TEST(directory_down_refuses_unless_optional)
{
    char out[8192];

    SKIP_UNLESS_DIRECTORY();
    sso_get(out, sizeof(out), "alice", ssodown, "/o1");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/o1 HTTP/1.1\" 407",
                                  "why=proxy authentication: directory unavailable", NULL),
                     1);
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "user \"alice\"", "directory unavailable",
                                  "Can't contact LDAP server", NULL),
                     1);
    sso_get(out, sizeof(out), "alice", ssoopt, "/o2");
    ck_assert_str_eq(out, "200 hello from o to /o2\n");
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "Kerberos user \"alice\"",
                                  "without directory groups (groups_optional)",
                                  "Can't contact LDAP server", NULL),
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
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, negotiate_settings_checked);
    tcase_add_test(tc, both_schemes_are_offered);
    tcase_add_test(tc, a_ticket_is_enough);
    tcase_add_test(tc, no_ticket_no_entry);
    tcase_add_test(tc, a_connection_stays_logged_in);
    tcase_add_test(tc, directory_groups_for_tickets);
    tcase_add_test(tc, directory_down_refuses_unless_optional);
    tcase_add_test(tc, search_account_for_tickets);
    suite_add_tcase(s, tc);
    return s;
}
