/* check_abuse.c — the forward gateway against a client that tries to get
 * round it: password guessing spread over accounts and addresses, fields
 * that give the client away under other names, Referers written to fool a
 * naive reader, parent proxies that lead back to the gateway, rewrite
 * fields aimed at the origin (both modes), and a download type hidden in a
 * second Content-Type.  Clients come from several loopback addresses
 * (curl --interface 127.0.0.N). */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct origin origin;
static struct th_gatehouse gh, other;
static char dir[128];
static int staff, std_port, strict_port, types, plain, site, self_port, a_port, b_port;

/* /types?t=A&t=B...: 200 "types\n" with one Content-Type field per t, in
 * order, as an origin that hides a download behind a harmless type would. */
static void types_answer(const struct origin_request *rq, struct origin_reply *re)
{
    char t[1024];

    origin_bare(re);
    origin_add(re, "Server: gh-origin");
    origin_add(re, "X-Origin: %s", rq->name);
    for (int i = 0; origin_query(rq, "t", i, t, sizeof(t)) == 0; i++)
        origin_add(re, "Content-Type: %s", t);
    origin_body(re, NULL, "types\n", 6);
}

/* The origin behind every listener. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strcmp(rq->path, "/headers") == 0) { /* the head as it arrived */
        origin_body(re, "text/plain", rq->head, rq->head_len);
    } else if (strcmp(rq->path, "/types") == 0) {
        types_answer(rq, re);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "abuse rig: %s failed\n", what);
        abort();
    }
}

static void rig_start(void)
{
    char conf[4096], out[256];

    strcpy(dir, "/tmp/gh-abuse-XXXXXX");
    must(mkdtemp(dir) != NULL, "mkdtemp");
    chmod(dir, 0755);
    must(th_sh(out, sizeof(out),
               "htpasswd -cbB %s/users alice wonderland 2>&1 && "
               "htpasswd -bB %s/users bob builder 2>&1 && chmod 644 %s/users",
               dir, dir, dir) == 0,
         "htpasswd");
    must(origin_start(&origin, "ab", answer) == 0, "origin");
    staff = th_free_port();
    std_port = th_free_port();
    strict_port = th_free_port();
    types = th_free_port();
    plain = th_free_port();
    site = th_free_port();
    self_port = th_free_port();
    a_port = th_free_port();
    b_port = th_free_port();
    snprintf(
        conf, sizeof(conf),
        "workers = 2;\n"
        "log = { access = \"@ACCESS@\"; };\n"
        "http = { underscores_in_headers = true; };\n"
        "resolver = { nameservers = [ \"127.0.0.1:%d\" ]; timeout = 0.3; attempts = 1; };\n"
        "listeners = (\n"
        "  { name = \"staff\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"staff\"; },\n"
        "  { name = \"std\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"std\"; },\n"
        "  { name = \"strict\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"strict\"; },\n"
        "  { name = \"types\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"types\"; },\n"
        "  { name = \"plain\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"plain\"; },\n"
        "  { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"site\"; },\n"
        "  { name = \"self\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"self\"; },\n"
        "  { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"a\"; }\n"
        ");\n"
        "policies = {\n"
        "  staff = { auth = { file = \"%s/users\"; }; };\n"
        "  std = { anonymity = \"standard\"; };\n"
        "  strict = { anonymity = \"strict\"; };\n"
        "  types = { filter = ( { block_types = [ \"application/octet-stream\",\n"
        "                                         \"application/x-msdownload\" ]; } ); };\n"
        "  plain = { };\n"
        "  self = { anonymity = \"strict\"; connect_ports = ( \"1024-65535\" );\n"
        "           parent = { address = \"127.0.0.1:%d\"; }; };\n"
        "  a = { anonymity = \"strict\"; connect_ports = ( \"1024-65535\" );\n"
        "        parent = { address = \"127.0.0.1:%d\"; }; };\n"
        "};\n"
        "pools = { app = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
        "routes = { site = ( { pool = \"app\"; } ); };\n",
        th_free_port(), staff, std_port, strict_port, types, plain, site, self_port, a_port, dir,
        self_port, b_port, origin.port);
    must(th_gatehouse_start(&gh, conf) == 0, "gatehouse");
    /* a second gatehouse: the parent of listener a, whose own parent is a
     * again for one domain */
    snprintf(
        conf, sizeof(conf),
        "log = { access = \"@ACCESS@\"; };\n"
        "listeners = ( { name = \"b\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"b\"; } );\n"
        "policies = { b = { anonymity = \"strict\"; connect_ports = ( \"1024-65535\" );\n"
        "                   parent = { address = \"127.0.0.1:%d\"; domains = [ \"loop.example\" ]; }; }; };\n",
        b_port, a_port);
    must(th_gatehouse_start(&other, conf) == 0, "second gatehouse");
}

static void rig_stop(void)
{
    rig_stop_clean(&other);
    rig_stop_clean(&gh);
    rig_origin_stop(&origin);
    th_sh(NULL, 0, "rm -rf %s", dir);
}

/* ---- brute-force delay ---- */

/* One request through the staff listener from 127.0.0.<from> with
 * user:password; returns the status, and the seconds curl took in *secs. */
static int login(int from, const char *user, const char *password, double *secs)
{
    char out[128];
    int status = 0;
    double t = 0;

    th_sh(out, sizeof(out),
          "curl -s -o /dev/null -w '%%{http_code} %%{time_total}' --interface 127.0.0.%d "
          "-x 'http://%s:%s@127.0.0.1:%d' http://127.0.0.1:%d/hello",
          from, user, password, staff, origin.port);
    ck_assert_int_eq(sscanf(out, "%d %lf", &status, &t), 2);
    if (secs)
        *secs = t;
    return status;
}

/* Lines of the error log about held answers for user from 127.0.0.<from>
 * that contain `what`. */
static int held(int from, const char *user, const char *what)
{
    char who[96];

    snprintf(who, sizeof(who), "from 127.0.0.%d for user \"%s\" (failures: ", from, user);
    return th_log_lines(gh.errlog, 0, who, what, NULL);
}

/* Today's bug: a good login reset the address's count, so one good login
 * between guesses at another account kept every guess free. */
START_TEST(alternating_with_a_good_login_is_delayed)
{
    double secs;

    for (int round = 1; round <= 5; round++) {
        ck_assert_int_eq(login(11, "alice", "wonderland", NULL), 200);
        ck_assert_int_eq(login(11, "mallory", "guess", &secs), 407);
        if (round == 4) /* the daemon holds the answer: a lower bound only */
            ck_assert_msg(secs >= 0.25, "the 4th guess was answered after %.3f s", secs);
    }
    ck_assert_int_eq(
        held(11, "mallory", "4 from the address, 4 for the name); 407 held back 250 ms"), 1);
    ck_assert_int_eq(
        held(11, "mallory", "5 from the address, 5 for the name); 407 held back 500 ms"), 1);
    ck_assert_int_eq(held(11, "mallory", "held back"), 2);
    ck_assert_int_eq(th_log_lines(gh.access, 5, "127.0.0.11 - - [", "\" 407 ", "listener=staff",
                                  "why=proxy authentication failed", NULL),
                     5);
}
END_TEST

/* alice's good login from address 21 does not clear what 21 did to trent,
 * and trent's count follows him to address 22. */
START_TEST(good_login_keeps_other_users_counts)
{
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(login(21, "trent", "guess", NULL), 407);
    ck_assert_int_eq(login(21, "alice", "wonderland", NULL), 200);
    ck_assert_int_eq(login(22, "trent", "guess", NULL), 407);
    ck_assert_int_eq(held(22, "trent", "1 from the address, 4 for the name); 407 held back 250 ms"),
                     1);
    ck_assert_int_eq(login(21, "trent", "guess", NULL), 407);
    ck_assert_int_eq(held(21, "trent", "4 from the address, 5 for the name); 407 held back 500 ms"),
                     1);
}
END_TEST

/* One account guessed from many addresses, one guess each. */
START_TEST(one_name_from_many_addresses_is_delayed)
{
    double secs = 0;

    for (int from = 31; from <= 36; from++)
        ck_assert_int_eq(login(from, "victor", "guess", &secs), 407);
    ck_assert_msg(secs >= 1.0, "the 6th guess was answered after %.3f s", secs);
    ck_assert_int_eq(held(33, "victor", "held back"), 0);
    ck_assert_int_eq(
        held(34, "victor", "1 from the address, 4 for the name); 407 held back 250 ms"), 1);
    ck_assert_int_eq(
        held(35, "victor", "1 from the address, 5 for the name); 407 held back 500 ms"), 1);
    ck_assert_int_eq(
        held(36, "victor", "1 from the address, 6 for the name); 407 held back 1000 ms"), 1);
    /* the account's owner is never held back */
    ck_assert_int_eq(login(37, "alice", "wonderland", &secs), 200);
}
END_TEST

/* A good login clears that user's failures from that address, and only
 * those: the address's guesses at someone else still count. */
START_TEST(good_login_clears_its_own_failures)
{
    ck_assert_int_eq(login(41, "nobody-here", "x", NULL), 407);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(login(41, "bob", "wrong", NULL), 407);
    ck_assert_int_eq(held(41, "bob", "4 from the address, 3 for the name); 407 held back 250 ms"),
                     1);
    ck_assert_int_eq(held(41, "bob", "5 from the address, 4 for the name); 407 held back 500 ms"),
                     1);
    ck_assert_int_eq(login(41, "bob", "builder", NULL), 200);
    ck_assert_int_eq(login(41, "bob", "wrong", NULL), 407);
    ck_assert_int_eq(held(41, "bob", "held back"), 2); /* now 2 from the address, 1 for the name */
    ck_assert_int_eq(login(41, "nobody-here", "x", NULL), 407);
    ck_assert_int_eq(login(41, "nobody-here", "x", NULL), 407);
    ck_assert_int_eq(
        held(41, "nobody-here", "4 from the address, 3 for the name); 407 held back 250 ms"), 1);
}
END_TEST

/* ---- anonymity ---- */

/* The field names README.md lists for `standard` (a unit test holds that
 * list equal to the code's table). */
static int readme_fields(char names[][64], int cap)
{
    FILE *f = fopen("README.md", "r");
    char line[4096];
    int n = 0, inside = 0;

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        if (strstr(line, "<!-- standard-fields:begin")) {
            inside = 1;
            continue;
        }
        if (strstr(line, "<!-- standard-fields:end"))
            break;
        for (char *p = line; inside && (p = strchr(p, '`'));) {
            char *e = strchr(p + 1, '`');
            ck_assert_ptr_nonnull(e);
            ck_assert_int_lt(n, cap);
            snprintf(names[n++], 64, "%.*s", (int)(e - p - 1), p + 1);
            p = e + 1;
        }
    }
    fclose(f);
    return n;
}

/* GET port's way to the origin's /headers with extra fields; the head the
 * origin received in r->body. */
static void via(int port, const char *extra, struct tc_response *r)
{
    char req[8192];
    int fd = tc_connect("127.0.0.1", port);

    snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/headers HTTP/1.1\r\nHost: x\r\n%s\r\n",
             origin.port, extra);
    rig_exchange(fd, req, r);
    tc_close(fd);
    ck_assert_int_eq(r->status, 200);
}

START_TEST(standard_removes_the_whole_family)
{
    static char names[128][64], extra[8192];
    struct tc_response r = {0};
    int n = readme_fields(names, 128), len = 0;

    ck_assert_int_ge(n, 30);
    for (int i = 0; i < n; i++)
        len += snprintf(extra + len, sizeof(extra) - (size_t)len, "%s: 10.9.8.7\r\n", names[i]);
    /* other spellings a server takes for the same fields */
    snprintf(extra + len, sizeof(extra) - (size_t)len,
             "X_REAL_IP: 10.9.8.7\r\nproxy_client_ip: 10.9.8.7\r\nWL_Proxy-Client_IP: 10.9.8.7\r\n"
             "X-FORWARDED-FOR: 10.9.8.7\r\nX-Keep: kept\r\n");
    via(std_port, extra, &r);
    ck_assert_msg(!strstr(r.body, "10.9.8.7") && strstr(r.body, "X-Keep: kept"), "standard: %s",
                  r.body);
    tc_response_free(&r);
    /* without anonymity they all arrive: what the check above would see */
    via(plain, extra, &r);
    for (int i = 0; i < n; i++) {
        char f[80];
        snprintf(f, sizeof(f), "\r\n%.63s: 10.9.8.7", names[i]);
        ck_assert_msg(strstr(r.body, f) != NULL, "off: %s missing", names[i]);
    }
    tc_response_free(&r);
}
END_TEST

START_TEST(strict_reads_referer_as_a_server_does)
{
    struct tc_response r = {0};
    char extra[512], same[128];

    snprintf(same, sizeof(same), "Referer: http://127.0.0.1:%d/from\r\n", origin.port);
    via(strict_port, same, &r);
    ck_assert_msg(strstr(r.body, same + 0) != NULL, "same host: %s", r.body);
    tc_response_free(&r);
    /* the host is after the user info */
    via(strict_port, "Referer: http://127.0.0.1:x@evil.example/secret\r\n", &r);
    ck_assert_msg(!strstr(r.body, "Referer") && !strstr(r.body, "evil"), "userinfo: %s", r.body);
    tc_response_free(&r);
    via(strict_port, "Referer: http://evil.example\\@127.0.0.1/secret\r\n", &r);
    ck_assert_msg(!strstr(r.body, "Referer"), "backslash: %s", r.body);
    tc_response_free(&r);
    via(strict_port, "Referer: http://127.0.0.1.evil.example/\r\n", &r);
    ck_assert_msg(!strstr(r.body, "Referer"), "suffix: %s", r.body);
    tc_response_free(&r);
    /* every field is judged, not only the first */
    snprintf(extra, sizeof(extra),
             "Referer: http://127.0.0.1/first\r\nReferer: http://evil.example/second\r\n"
             "Referer: HTTP://0x7f.1./third\r\n");
    via(strict_port, extra, &r);
    ck_assert_msg(strstr(r.body, "Referer: http://127.0.0.1/first\r\n") &&
                      !strstr(r.body, "evil") &&
                      strstr(r.body, "Referer: HTTP://0x7f.1./third\r\n"),
                  "several: %s", r.body);
    tc_response_free(&r);
    via(strict_port, "Referer: http://evil.example/first\r\nReferer: http://127.0.0.1/second\r\n",
        &r);
    ck_assert_msg(!strstr(r.body, "evil") && strstr(r.body, "Referer: http://127.0.0.1/second\r\n"),
                  "several: %s", r.body);
    tc_response_free(&r);
}
END_TEST

/* ---- hops ---- */

/* A parent that is the gateway itself, with anonymity strict (no Via). */
START_TEST(parent_that_is_itself_is_a_loop)
{
    struct tc_response r = {0};
    char req[256];
    int fd;

    snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/hello HTTP/1.1\r\nHost: x\r\n\r\n",
             origin.port);
    fd = tc_connect("127.0.0.1", self_port);
    rig_exchange(fd, req, &r);
    ck_assert_int_eq(r.status, 508);
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_ge(th_log_lines(gh.errlog, 1, "forwarding loop: \"GET http://127.0.0.1:",
                                  "listener self came back", NULL),
                     1);
    ck_assert_int_ge(
        th_log_lines(gh.access, 1, "listener=self", "\" 508 ", "why=forwarding loop", NULL), 1);
    /* a tunnel the same way: the parent (itself) refuses, the client gets 502 */
    snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n", origin.port);
    fd = tc_connect("127.0.0.1", self_port);
    rig_exchange(fd, req, &r);
    ck_assert_int_eq(r.status, 502);
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_ge(
        th_log_lines(gh.access, 1, "\"CONNECT 127.0.0.1:", "\" 508 ", "why=forwarding loop", NULL),
        1);
}
END_TEST

/* Two gatehouses, each the other's parent (b only for loop.example). */
START_TEST(two_gatehouses_pointing_at_each_other)
{
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", a_port);

    rig_exchange(fd, "GET http://loop.example/ HTTP/1.1\r\nHost: loop.example\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 508);
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_eq(th_log_lines(other.access, 1, "\"GET http://loop.example/", "\" 508 ", NULL),
                     1);
    ck_assert_int_ge(th_log_lines(gh.access, 1, "\"GET http://loop.example/", "\" 508 ",
                                  "listener=a", "why=forwarding loop", NULL),
                     1);
    fd = tc_connect("127.0.0.1", a_port);
    rig_exchange(fd, "CONNECT loop.example:8443 HTTP/1.1\r\nHost: loop.example:8443\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 502);
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_ge(th_log_lines(gh.access, 1, "\"CONNECT loop.example:8443", "\" 508 ", NULL), 1);
}
END_TEST

/* The chain without a loop works, and the origin sees no mark, not even
 * one a client made up. */
START_TEST(marks_never_reach_origins)
{
    struct tc_response r = {0};

    via(a_port, "Gatehouse-Hop: 0123456789abcdef0123456789abcdef\r\n", &r);
    ck_assert_msg(!strcasestr(r.body, "gatehouse-hop") && !strcasestr(r.body, "Connection:"),
                  "origin got: %s", r.body);
    tc_response_free(&r);
    ck_assert_int_ge(th_log_lines(other.access, 1, "/headers HTTP/1.1\" 200 ", NULL), 1);
    via(plain, "Gatehouse-Hop: x\r\nGatehouse_Hop: y\r\n", &r);
    ck_assert_msg(!strcasestr(r.body, "hop"), "origin got: %s", r.body);
    tc_response_free(&r);
}
END_TEST

/* X-Original-URL and X-Rewrite-URL never reach an origin, in either mode,
 * cacheable or not. */
START_TEST(rewrite_fields_never_reach_origins)
{
    static const char extra[] =
        "X-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\n"
        "x-original-url: /admin\r\nX_Original_URL: /admin\r\nX-Keep: kept\r\n";
    struct tc_response r = {0};
    char req[512];
    int fd;

    via(plain, extra, &r);
    ck_assert_msg(!strstr(r.body, "/admin") && strstr(r.body, "X-Keep: kept"), "forward: %s",
                  r.body);
    tc_response_free(&r);
    snprintf(req, sizeof(req),
             "POST /headers HTTP/1.1\r\nHost: site.test\r\n%sContent-Length: 0\r\n\r\n", extra);
    fd = tc_connect("127.0.0.1", site);
    rig_exchange(fd, req, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(!strstr(r.body, "/admin") && strstr(r.body, "X-Keep: kept"), "reverse: %s",
                  r.body);
    tc_response_free(&r);
    tc_close(fd);
}
END_TEST

/* ---- Content-Type ---- */

static int types_status(const char *query)
{
    struct tc_response r = {0};
    char req[512];
    int fd = tc_connect("127.0.0.1", types), status;

    snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/types?%s HTTP/1.1\r\nHost: x\r\n\r\n",
             origin.port, query);
    rig_exchange(fd, req, &r);
    status = r.status;
    tc_response_free(&r);
    tc_close(fd);
    return status;
}

START_TEST(every_content_type_is_judged)
{
    ck_assert_int_eq(types_status("t=text/plain"), 200);
    ck_assert_int_eq(types_status("t=text/plain&t=application/octet-stream"), 403);
    ck_assert_int_eq(types_status("t=application/octet-stream&t=text/plain"), 403);
    ck_assert_int_eq(types_status("t=text/plain&t=text/html&t=application/x-msdownload"), 403);
    /* a list in one field: browsers take its last valid member */
    ck_assert_int_eq(types_status("t=text/html,%20application/octet-stream"), 403);
    ck_assert_int_eq(types_status("t=text/html,application/octet-stream;%20x=1,"), 403);
    /* spellings of one type */
    ck_assert_int_eq(types_status("t=APPLICATION/X-MSDOWNLOAD"), 403);
    ck_assert_int_eq(types_status("t=application/octet-stream%09;%20charset=x"), 403);
    ck_assert_int_eq(types_status("t=application/octet-stream%20;x=y"), 403);
    /* a comma inside a quoted parameter is not a second member */
    ck_assert_int_eq(types_status("t=text/plain;%20x=%22a,application/octet-stream%22"), 200);
    ck_assert_int_ge(th_log_lines(gh.access, 1, "/types?t=text/plain&t=application/octet-stream ",
                                  "\" 403 ", "filter=block:file-type", NULL),
                     1);
}
END_TEST

Suite *abuse_suite(void)
{
    Suite *s = suite_create("abuse");
    TCase *tc = tcase_create("abuse");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, alternating_with_a_good_login_is_delayed);
    tcase_add_test(tc, good_login_keeps_other_users_counts);
    tcase_add_test(tc, one_name_from_many_addresses_is_delayed);
    tcase_add_test(tc, good_login_clears_its_own_failures);
    tcase_add_test(tc, standard_removes_the_whole_family);
    tcase_add_test(tc, strict_reads_referer_as_a_server_does);
    tcase_add_test(tc, parent_that_is_itself_is_a_loop);
    tcase_add_test(tc, two_gatehouses_pointing_at_each_other);
    tcase_add_test(tc, marks_never_reach_origins);
    tcase_add_test(tc, rewrite_fields_never_reach_origins);
    tcase_add_test(tc, every_content_type_is_judged);
    suite_add_tcase(s, tc);
    return s;
}
