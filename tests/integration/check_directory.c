/* check_directory.c — proxy users from an LDAP directory: a real slapd,
 * started by the suite on 127.0.0.1 with a generated tree and a test CA
 * (tests/support/slapd-rig.sh), asked over StartTLS and over ldaps; curl
 * as the client.  Good and bad passwords, groups from the directory
 * (posixGroup memberUid, groupOfNames member, memberOf) choosing filter
 * rules, a TLS certificate the CA does not vouch for, a directory that
 * is down (407, a log line: it fails closed), and the cache carrying on
 * while slapd is stopped until its TTL runs out.  A subtree anonymous
 * clients cannot search (ou=staff) is searched with the search account
 * (search_dn), whose wrong password is "directory unavailable"; a list of
 * URIs whose first is dead still logs in by the second.
 *
 * NEEDS slapd and ldap-utils (packaging/deps.sh --test): without them each
 * test says so on stderr and passes without running. */
#include "common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct origin origin;
static struct th_gatehouse gh;
static char dir[128];
static const char *skip;
static int st, ad, shrt, dead, badca; /* the listeners' ports, one per policy */
static int srch, nosrch, badsrch, multi;

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "directory rig: %s failed\n", what);
        abort();
    }
}

/* Answers, and notes each path it was asked for in /tmp/gh-dir-seen-PORT
 * (the origin runs in a process of its own, without this one's dir). */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    char path[192];
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/gh-dir-seen-%d", rq->port);
    if ((f = fopen(path, "a"))) {
        fprintf(f, "%s\n", rq->path);
        fclose(f);
    }
    origin_text(re, "hello from %s to %s\n", rq->name, rq->path);
}

/* Whether the origin was asked for path. */
static int origin_got_path(const char *path)
{
    return th_sh(NULL, 0, "grep -qx '%s' /tmp/gh-dir-seen-%d", path, origin.port) == 0;
}

/* One policy's ldap group: the suite's slapd over StartTLS, with extra settings. */
static int ldap_group(char *out, size_t cap, int port, const char *extra)
{
    return snprintf(out, cap,
                    "ldap = { uri = \"ldap://127.0.0.1:%d\"; starttls = true; ca = \"%s/ldap/ca.pem\";"
                    " base = \"dc=example,dc=org\"; %s }",
                    port, dir, extra);
}

/* A policy's ldap group for ou=staff (anonymous clients may only bind
 * there), with the search account cn=reader and its password (NULL: no
 * search account). */
static void staff_group(char *out, size_t cap, int port, const char *password)
{
    char extra[256] = "";

    if (password)
        snprintf(extra, sizeof(extra),
                 "search_dn = \"cn=reader,dc=example,dc=org\"; search_password = \"%s\";",
                 password);
    snprintf(out, cap,
             "ldap = { uri = \"ldap://127.0.0.1:%d\"; starttls = true; ca = \"%s/ldap/ca.pem\";"
             " base = \"ou=staff,dc=example,dc=org\"; %s }",
             port, dir, extra);
}

static void rig_start(void)
{
    char conf[12288], g_st[512], g_ad[512], g_short[512], g_dead[512], g_badca[512];
    char g_srch[512], g_nosrch[512], g_badsrch[512], g_multi[512];
    int lport, tport;
    FILE *f;

    strcpy(dir, "/tmp/gh-dir-XXXXXX");
    must(mkdtemp(dir) != NULL, "mkdtemp");
    chmod(dir, 0755);
    if ((skip = rig_slapd_start(dir, &lport, &tport)) != NULL) {
        rmdir(dir);
        return;
    }
    snprintf(conf, sizeof(conf), "%s/sites.txt", dir);
    must((f = fopen(conf, "w")) != NULL, "sites.txt");
    fputs("nothing.example\n", f);
    fclose(f);
    chmod(conf, 0644);
    must(origin_start(&origin, "o", answer) == 0, "origin");

    ldap_group(g_st, sizeof(g_st), lport, "");
    snprintf(g_ad, sizeof(g_ad),
             "ldap = { uri = \"ldaps://127.0.0.1:%d\"; ca = \"%s/ldap/ca.pem\";"
             " base = \"dc=example,dc=org\"; bind_dn = \"uid=%%s,ou=people,dc=example,dc=org\";"
             " group_filter = \"\"; }",
             tport, dir);
    ldap_group(g_short, sizeof(g_short), lport, "cache_ttl = 1;");
    ldap_group(g_dead, sizeof(g_dead), th_free_port(), "timeout = 2;");
    snprintf(g_badca, sizeof(g_badca),
             "ldap = { uri = \"ldap://127.0.0.1:%d\"; starttls = true;"
             " ca = \"/etc/ssl/certs/ca-certificates.crt\"; base = \"dc=example,dc=org\"; }",
             lport);
    staff_group(g_srch, sizeof(g_srch), lport, "readerpw");
    staff_group(g_nosrch, sizeof(g_nosrch), lport, NULL);
    staff_group(g_badsrch, sizeof(g_badsrch), lport, "wrong");
    snprintf(g_multi, sizeof(g_multi),
             "ldap = { uri = \"ldap://127.0.0.1:%d ldap://127.0.0.1:%d\"; starttls = true;"
             " ca = \"%s/ldap/ca.pem\"; base = \"dc=example,dc=org\"; timeout = 2; }",
             th_free_port(), lport, dir);
    srch = th_free_port();
    nosrch = th_free_port();
    badsrch = th_free_port();
    multi = th_free_port();
    st = th_free_port();
    ad = th_free_port();
    shrt = th_free_port();
    dead = th_free_port();
    badca = th_free_port();
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; };\n"
             "lists = { sites = { path = \"%s/sites.txt\"; format = \"domains\"; }; };\n"
             "listeners = (\n"
             "  { name = \"st\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"st\"; },\n"
             "  { name = \"ad\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"ad\"; },\n"
             "  { name = \"short\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"short\"; },\n"
             "  { name = \"dead\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"dead\"; },\n"
             "  { name = \"badca\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"badca\"; },\n"
             "  { name = \"srch\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"srch\"; },\n"
             "  { name = \"nosrch\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"nosrch\"; },\n"
             "  { name = \"badsrch\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"badsrch\"; },\n"
             "  { name = \"multi\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"multi\"; }\n"
             ");\n"
             "policies = {\n"
             "  st = { auth = { realm = \"School\"; %s; };\n"
             "         filter = ( { groups = [ \"teachers\" ]; block = [ \"sites\" ]; },\n"
             "                    { default = \"block\"; } ); };\n"
             "  ad = { auth = { %s; };\n"
             "         filter = ( { groups = [ \"pupils\" ]; block = [ \"sites\" ]; },\n"
             "                    { default = \"block\"; } ); };\n"
             "  short = { auth = { %s; }; };\n"
             "  dead = { auth = { %s; }; };\n"
             "  badca = { auth = { %s; }; };\n"
             "  srch = { auth = { %s; };\n"
             "           filter = ( { groups = [ \"staffers\" ]; block = [ \"sites\" ]; },\n"
             "                      { default = \"block\"; } ); };\n"
             "  nosrch = { auth = { %s; }; };\n"
             "  badsrch = { auth = { %s; }; };\n"
             "  multi = { auth = { %s; }; };\n"
             "};\n",
             dir, st, ad, shrt, dead, badca, srch, nosrch, badsrch, multi, g_st, g_ad, g_short,
             g_dead, g_badca, g_srch, g_nosrch, g_badsrch, g_multi);
    must(th_gatehouse_start(&gh, conf) == 0, "gatehouse");
}

static void rig_stop(void)
{
    char out[64];

    if (skip)
        return;
    rig_stop_clean(&gh);
    rig_slapd_stop(dir);
    th_sh(out, sizeof(out), "rm -rf %s /tmp/gh-dir-seen-%d", dir, origin.port);
    rig_origin_stop(&origin);
}

#define SKIP_UNLESS_READY()                                                                        \
    do {                                                                                           \
        if (skip) {                                                                                \
            fprintf(stderr, "directory: %s: SKIPPED: %s\n", __func__, skip);                       \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* curl through the listener on port with user:password (NULL: none):
 * "STATUS BODY" into out. */
static void get(char *out, size_t cap, int port, const char *cred, const char *path)
{
    char u[128] = "";

    if (cred)
        snprintf(u, sizeof(u), "-U '%s'", cred);
    th_sh(out, cap, "curl -s -m 30 -w '%%{http_code} ' -o %s/body -x http://127.0.0.1:%d %s "
                    "http://127.0.0.1:%d%s; cat %s/body",
          dir, port, u, origin.port, path, dir);
}

START_TEST(good_and_bad_passwords)
{
    char out[4096], want[128];

    SKIP_UNLESS_READY();
    snprintf(want, sizeof(want), "200 hello from o to /a1");
    get(out, sizeof(out), st, "alice:wonderland", "/a1");
    ck_assert_str_eq(out, strcat(want, "\n"));
    ck_assert_int_eq(th_log_lines(gh.access, 1, " alice [", "\"GET http://127.0.0.1:", "/a1 HTTP/1.1\" 200",
                                  NULL),
                     1);
    get(out, sizeof(out), st, "alice:wrong", "/a2");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/a2 HTTP/1.1\" 407", "why=proxy authentication failed",
                                  NULL),
                     1);
    get(out, sizeof(out), st, "nosuchuser:wonderland", "/a3");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    /* no credentials: the challenge names the realm */
    th_sh(out, sizeof(out), "curl -s -i -m 30 -x http://127.0.0.1:%d http://127.0.0.1:%d/a4", st,
          origin.port);
    ck_assert_msg(strstr(out, "407") && strstr(out, "Proxy-Authenticate: Basic realm=\"School\""),
                  "%s", out);
    /* over ldaps, with a DN template */
    get(out, sizeof(out), ad, "bob:builder", "/a5");
    ck_assert_msg(strncmp(out, "200 hello", 9) == 0, "%s", out);
    get(out, sizeof(out), ad, "bob:wonderland", "/a6");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert(!origin_got_path("/a2") && !origin_got_path("/a6"));
}
END_TEST

/* Groups from the directory choose the filter rule: posixGroup memberUid
 * (teachers), groupOfNames member (pupils) and, with no group search at
 * all, the memberOf attribute alone (the "ad" policy). */
START_TEST(groups_choose_the_rule)
{
    char out[4096];

    SKIP_UNLESS_READY();
    get(out, sizeof(out), st, "alice:wonderland", "/g1"); /* teachers: allowed */
    ck_assert_msg(strncmp(out, "200 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, " alice [", "/g1 HTTP/1.1\" 200", "filter=allow:default",
                                  NULL),
                     1);
    get(out, sizeof(out), st, "bob:builder", "/g2"); /* pupils: the default */
    ck_assert_msg(strncmp(out, "403 ", 4) == 0, "%s", out);
    get(out, sizeof(out), st, "carol:carolpw", "/g3"); /* no group */
    ck_assert_msg(strncmp(out, "403 ", 4) == 0, "%s", out);
    get(out, sizeof(out), ad, "bob:builder", "/g4"); /* memberOf: pupils */
    ck_assert_msg(strncmp(out, "200 ", 4) == 0, "%s", out);
    get(out, sizeof(out), ad, "alice:wonderland", "/g5"); /* posixGroup is not memberOf */
    ck_assert_msg(strncmp(out, "403 ", 4) == 0, "%s", out);
    ck_assert(origin_got_path("/g1") && origin_got_path("/g4"));
    ck_assert(!origin_got_path("/g2") && !origin_got_path("/g3") &&
              !origin_got_path("/g5"));
}
END_TEST

/* A directory that cannot be reached, or whose certificate the CA does
 * not vouch for: 407 and a log line saying why, never a way in. */
START_TEST(unreachable_directory_fails_closed)
{
    char out[4096];

    SKIP_UNLESS_READY();
    get(out, sizeof(out), dead, "alice:wonderland", "/d1");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/d1 HTTP/1.1\" 407",
                                  "why=proxy authentication: directory unavailable", NULL),
                     1);
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "user \"alice\"", "directory unavailable",
                                  "Can't contact LDAP server", NULL),
                     1);
    get(out, sizeof(out), badca, "alice:wonderland", "/d2");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "directory unavailable", "StartTLS: Connect error",
                                  NULL),
                     1);
    ck_assert(!origin_got_path("/d1") && !origin_got_path("/d2"));
}
END_TEST

/* ou=staff cannot be searched anonymously: dave logs in (and his group
 * counts) only through a policy with the search account; without one, or
 * with its wrong password, the directory is unavailable (407, a log line
 * saying why), never a way in. */
START_TEST(search_account_finds_users)
{
    char out[4096];

    SKIP_UNLESS_READY();
    get(out, sizeof(out), srch, "dave:davepw", "/e1"); /* staffers: allowed */
    ck_assert_str_eq(out, "200 hello from o to /e1\n");
    ck_assert_int_eq(th_log_lines(gh.access, 1, " dave [", "/e1 HTTP/1.1\" 200", NULL), 1);
    get(out, sizeof(out), srch, "dave:wrong", "/e2");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/e2 HTTP/1.1\" 407",
                                  "why=proxy authentication failed", NULL),
                     1);
    get(out, sizeof(out), nosrch, "dave:davepw", "/e3");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/e3 HTTP/1.1\" 407",
                                  "why=proxy authentication: directory unavailable", NULL),
                     1);
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "user \"dave\"", "search for the user",
                                  "Insufficient access", NULL),
                     1);
    get(out, sizeof(out), badsrch, "dave:davepw", "/e4");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/e4 HTTP/1.1\" 407",
                                  "why=proxy authentication: directory unavailable", NULL),
                     1);
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "user \"dave\"", "directory unavailable",
                                  "bind as search_dn: Invalid credentials", NULL),
                     1);
    ck_assert(origin_got_path("/e1"));
    ck_assert(!origin_got_path("/e2") && !origin_got_path("/e3") && !origin_got_path("/e4"));
}
END_TEST

/* uri lists several servers: the first is dead, the second answers. */
START_TEST(second_uri_answers)
{
    char out[4096];

    SKIP_UNLESS_READY();
    get(out, sizeof(out), multi, "alice:wonderland", "/m1");
    ck_assert_str_eq(out, "200 hello from o to /m1\n");
    get(out, sizeof(out), multi, "alice:wrong", "/m2");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/m2 HTTP/1.1\" 407",
                                  "why=proxy authentication failed", NULL),
                     1);
}
END_TEST

/* Runs last: it stops slapd.  What was looked up stays answered from the
 * cache, good and bad, until its TTL; past it, 407 and a log line. */
START_TEST(cache_outlives_the_directory_until_its_ttl)
{
    char out[4096];

    SKIP_UNLESS_READY();
    get(out, sizeof(out), st, "alice:wonderland", "/c1");
    ck_assert_msg(strncmp(out, "200 ", 4) == 0, "%s", out);
    get(out, sizeof(out), st, "bob:wrong", "/c2");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    get(out, sizeof(out), shrt, "carol:carolpw", "/c3");
    ck_assert_msg(strncmp(out, "200 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "p=$(cat %s/ldap/slapd.pid) && kill $p && i=0 && "
                           "while kill -0 $p 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; "
                           "i=$((i+1)); done; ! kill -0 $p 2>/dev/null",
                           dir),
                     0);
    /* cached (TTL 300 s): the good password still works, the bad one is
     * still refused as bad, the groups still hold */
    get(out, sizeof(out), st, "alice:wonderland", "/c4");
    ck_assert_msg(strncmp(out, "200 ", 4) == 0, "%s", out);
    get(out, sizeof(out), st, "bob:wrong", "/c5");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/c5 HTTP/1.1\" 407",
                                  "why=proxy authentication failed", NULL),
                     1);
    /* never looked up: the directory is asked, and is down */
    get(out, sizeof(out), st, "alice:neverseen", "/c6");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/c6 HTTP/1.1\" 407",
                                  "why=proxy authentication: directory unavailable", NULL),
                     1);
    /* past the short policy's TTL (1 s) the cached login is gone too */
    th_sleep_ms(1500);
    get(out, sizeof(out), shrt, "carol:carolpw", "/c7");
    ck_assert_msg(strncmp(out, "407 ", 4) == 0, "%s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/c7 HTTP/1.1\" 407",
                                  "why=proxy authentication: directory unavailable", NULL),
                     1);
    ck_assert(origin_got_path("/c4"));
    ck_assert(!origin_got_path("/c6") && !origin_got_path("/c7"));
}
END_TEST

/* Configuration mistakes stop `gatehouse -t` with file:line. */
START_TEST(ldap_settings_checked)
{
    static const struct {
        const char *ldap, *says;
    } cases[] = {
        {"uri = \"ldap://127.0.0.1\"; base = \"dc=x\";", "ldap:// with starttls"},
        {"uri = \"ldaps://127.0.0.1\";", "needs 'uri'"},
        {"uri = \"ldaps://h\"; base = \"dc=x\"; bind_dn = \"uid=alice\";", "must hold %s"},
        {"uri = \"ldaps://h\"; base = \"dc=x\"; user_filter = \"(uid=%x)\";", "not a placeholder"},
        {"uri = \"ldaps://h\"; base = \"dc=x\"; search_dn = \"cn=a\";", "go together"},
        {"uri = \"ldaps://h\"; base = \"dc=x\"; tiemout = 3;", "tiemout"},
    };
    char conf[1024], out[2048];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(conf, sizeof(conf),
                 "listeners = ( { name = \"f\"; mode = \"forward\"; listen = \"127.0.0.1:%d\";"
                 " policy = \"p\"; } );\n"
                 "policies = { p = {\n"
                 "  auth = { ldap = { %s }; }; }; };\n",
                 th_free_port(), cases[i].ldap);
        ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
        ck_assert_msg(strstr(out, ":3") != NULL && strstr(out, cases[i].says) != NULL,
                      "%s: %s", cases[i].ldap, out);
    }
}
END_TEST

Suite *directory_suite(void)
{
    Suite *s = suite_create("directory");
    TCase *tc = tcase_create("directory");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, ldap_settings_checked);
    tcase_add_test(tc, good_and_bad_passwords);
    tcase_add_test(tc, groups_choose_the_rule);
    tcase_add_test(tc, unreachable_directory_fails_closed);
    tcase_add_test(tc, search_account_finds_users);
    tcase_add_test(tc, second_uri_answers);
    tcase_add_test(tc, cache_outlives_the_directory_until_its_ttl);
    suite_add_tcase(s, tc);
    return s;
}
