/* check_filter.c — the school gateway's filter with real lists and real
 * clients: block pages for http, refused CONNECTs, a blocked name inside
 * an allowed CONNECT's TLS ClientHello, allow lists winning, refused file
 * types, safe search, anonymity at each level, and a list reload while a
 * tunnel stays open. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct origin origin;
static struct th_gatehouse gh;
static char dir[128];
static pid_t tls_pid;
static int school, types, anon_std, anon_strict, anon_off, tls_port;
static char conf_text[8192];

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "filter rig: %s failed\n", what);
        abort();
    }
}

/* The web server behind the gateway, plain and (through stunnel) TLS.
 * /bytes/N is N bytes of application/octet-stream. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    uint64_t n;

    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strcmp(rq->path, "/headers") == 0) { /* the head as it arrived */
        origin_body(re, "text/plain", rq->head, rq->head_len);
    } else if (origin_path_num(rq, "/bytes/", &n)) {
        origin_pattern(re, n);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

static void write_file(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    must(f != NULL, path);
    fputs(text, f);
    fclose(f);
    chmod(path, 0644);
}

static void make_conf(const char *extra_block)
{
    snprintf(conf_text, sizeof(conf_text),
             "log = { access = \"@ACCESS@\"; };\n"
             "resolver = { nameservers = [ \"127.0.0.1:%d\" ]; timeout = 0.3; attempts = 1; };\n"
             "listeners = (\n"
             "  { name = \"school\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"school\"; },\n"
             "  { name = \"types\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"types\"; },\n"
             "  { name = \"std\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"std\"; },\n"
             "  { name = \"strict\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"strict\"; },\n"
             "  { name = \"off\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"off\"; }\n"
             ");\n"
             "lists = {\n"
             "  adult = { path = \"%s/cat/adult\"; };\n"
             "  extra = { path = \"%s/extra.txt\"; };\n"
             "  ok = { path = \"%s/ok.txt\"; };\n"
             "};\n"
             "policies = {\n"
             "  school = { connect_ports = ( \"1024-65535\", 443 ); block_page = \"%s/block.html\";\n"
             "             filter = ( { block = [ \"adult\"%s ]; allow = [ \"ok\" ]; block_extensions = [ \"exe\", \"msi\" ];\n"
             "                          safe_search = true; } ); };\n"
             "  types = { filter = ( { block_types = [ \"application/octet-stream\" ]; } ); };\n"
             "  std = { anonymity = \"standard\"; };\n"
             "  strict = { anonymity = \"strict\"; user_agent = \"Gate/1\"; strip_cookies = [ \"127.0.0.1\" ];\n"
             "             anonymity_remove = [ \"X-Secret\" ]; anonymity_replace = ( ( \"Accept-Language\", \"en\" ) ); };\n"
             "  off = { connect_ports = ( \"1024-65535\" ); };\n"
             "};\n",
             th_free_port(), school, types, anon_std, anon_strict, anon_off, dir, dir, dir, dir,
             extra_block);
}

static void rig_start(void)
{
    char out[512], path[256], log[256];
    FILE *f;

    strcpy(dir, "/tmp/gh-filter-XXXXXX");
    must(mkdtemp(dir) != NULL, "mkdtemp");
    chmod(dir, 0755);
    must(th_sh(out, sizeof(out), "mkdir -p %s/cat/adult && chmod -R a+rX %s", dir, dir) == 0, "mkdir");
    /* the UT1 layout: a category directory with domains, urls, expressions */
    write_file("cat/adult/domains", "# adult sites\nbad.example\n.worse.example\nallowed.example\n127.0.0.2\n");
    write_file("cat/adult/urls", "127.0.0.1/blocked-path\n");
    write_file("cat/adult/expressions", "naughty[0-9]+\n");
    write_file("extra.txt", "# nothing yet\n");
    write_file("ok.txt", "allowed.example\n");
    write_file("block.html", "<h1>BLOCKED</h1> url={{url}} category={{category}} rule={{rule}}\n");
    must(th_sh(out, sizeof(out),
               "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
               "-subj /CN=127.0.0.1 -days 2 -keyout %s/key.pem -out %s/cert.pem 2>&1", dir, dir) == 0,
         "openssl req");
    must(origin_start(&origin, "fo", answer) == 0, "origin");
    school = th_free_port();
    types = th_free_port();
    anon_std = th_free_port();
    anon_strict = th_free_port();
    anon_off = th_free_port();
    tls_port = th_free_port();
    make_conf("");
    must(th_gatehouse_start(&gh, conf_text) == 0, "gatehouse");
    snprintf(path, sizeof(path), "%s/stunnel.conf", dir);
    f = fopen(path, "w");
    must(f != NULL, "stunnel.conf");
    fprintf(f, "foreground = yes\npid =\n[t]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
               "cert = %s/cert.pem\nkey = %s/key.pem\n", tls_port, origin.port, dir, dir);
    fclose(f);
    snprintf(log, sizeof(log), "%s/stunnel.log", dir);
    tls_pid = th_spawn(log, (char *const[]){"stunnel", path, NULL});
    must(th_wait_port(tls_port) == 0, "stunnel");
}

static void rig_stop(void)
{
    th_reap(tls_pid);
    rig_stop_clean(&gh);
    rig_origin_stop(&origin);
    th_sh(NULL, 0, "rm -rf %s", dir);
}

/* Asks the proxy for an absolute URL; returns the status. */
static int ask(int port, const char *url, const char *extra, struct tc_response *r)
{
    char req[1024];
    int fd = tc_connect("127.0.0.1", port);

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", url, extra ? extra : "");
    rig_exchange(fd, req, r);
    tc_close(fd);
    return r->status;
}

START_TEST(blocked_http_gets_the_block_page)
{
    struct tc_response r = {0};

    ck_assert_int_eq(ask(school, "http://www.bad.example/page", NULL, &r), 403);
    ck_assert_msg(strstr(r.body, "BLOCKED") && strstr(r.body, "url=www.bad.example/page") &&
                      strstr(r.body, "category=adult") && strstr(r.body, "rule=bad.example"),
                  "page: %s", r.body);
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "http://www.bad.example/page", "\" 403 ",
                                  "filter=block:adult", NULL), 1);
    /* the urls and expressions files of the category too */
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/blocked-path/x", origin.port);
    ck_assert_int_eq(ask(school, url, NULL, &r), 403);
    tc_response_free(&r);
    ck_assert_int_eq(ask(school, "http://naughty42.example/", NULL, &r), 403);
    tc_response_free(&r);
    /* an address listed in the category */
    ck_assert_int_eq(ask(school, "http://127.0.0.2/", NULL, &r), 403);
    tc_response_free(&r);
}
END_TEST

START_TEST(unlisted_and_allowed_pass)
{
    struct tc_response r = {0};
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", origin.port);
    ck_assert_int_eq(ask(school, url, NULL, &r), 200);
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(gh.access, 1, url, "filter=allow:default", NULL), 1);
    /* on the block list and on the allow list: the allow list wins (the
     * request then fails at the dead resolver, which proves it went on) */
    ck_assert_int_eq(ask(school, "http://allowed.example/", NULL, &r), 502);
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "allowed.example", "filter=allow:ok", NULL), 1);
}
END_TEST

START_TEST(blocked_connect)
{
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", school);

    rig_exchange(fd, "CONNECT www.bad.example:443 HTTP/1.1\r\nHost: www.bad.example:443\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 403);
    ck_assert_ptr_nonnull(strstr(r.body, "category=adult"));
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "CONNECT www.bad.example:443", "filter=block:adult", NULL), 1);
}
END_TEST

/* CONNECT to an allowed host whose ClientHello names a blocked one. */
START_TEST(blocked_sni_inside_allowed_connect)
{
    char out[4096];

    th_sh(out, sizeof(out),
          "echo | timeout 10 openssl s_client -proxy 127.0.0.1:%d -connect 127.0.0.1:%d "
          "-servername www.bad.example 2>&1", school, tls_port);
    ck_assert_ptr_null(strstr(out, "BEGIN CERTIFICATE"));
    ck_assert_int_eq(th_log_lines(gh.access, 1, "CONNECT 127.0.0.1:", "filter=block-sni:adult",
                                  "why=TLS server name blocked by the filter", NULL), 1);
    /* the same tunnel with an innocent name completes its handshake */
    th_sh(out, sizeof(out),
          "echo | timeout 10 openssl s_client -proxy 127.0.0.1:%d -connect 127.0.0.1:%d "
          "-servername good.example 2>&1", school, tls_port);
    ck_assert_msg(strstr(out, "BEGIN CERTIFICATE") != NULL, "s_client: %s", out);
}
END_TEST

START_TEST(refused_file_types)
{
    struct tc_response r = {0};
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/bytes/10?f=setup.exe", origin.port);
    ck_assert_int_eq(ask(school, url, NULL, &r), 200); /* the query is not the path */
    tc_response_free(&r);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/downloads/setup.EXE", origin.port);
    ck_assert_int_eq(ask(school, url, NULL, &r), 403);
    ck_assert_ptr_nonnull(strstr(r.body, "category=file-type"));
    tc_response_free(&r);
    /* by the response's Content-Type: the origin's bytes are octet-stream */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/bytes/1000", origin.port);
    ck_assert_int_eq(ask(types, url, NULL, &r), 403);
    tc_response_free(&r);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", origin.port);
    ck_assert_int_eq(ask(types, url, NULL, &r), 200);
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/bytes/1000", "listener=types", "filter=block:file-type", NULL), 1);
}
END_TEST

START_TEST(safe_search_steers_connect)
{
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", school);

    /* the resolver here is dead: the 502 page names where it tried to go */
    rig_exchange(fd, "CONNECT www.google.com:443 HTTP/1.1\r\nHost: www.google.com:443\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 502);
    ck_assert_ptr_nonnull(strstr(r.body, "forcesafesearch.google.com"));
    tc_response_free(&r);
    tc_close(fd);
}
END_TEST

static const char *headers_via(int port, struct tc_response *r)
{
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/headers", origin.port);
    ask(port, url,
        "X-Forwarded-For: 10.1.2.3\r\nX-Real-IP: 10.1.2.3\r\nForwarded: for=10.1.2.3\r\n"
        "From: pupil@school.example\r\nUser-Agent: Pupil/1\r\nReferer: http://elsewhere.example/\r\n"
        "Cookie: id=1\r\nX-Secret: s\r\nAccept-Language: fr\r\n", r);
    return r->body;
}

START_TEST(anonymity_levels)
{
    struct tc_response r = {0};
    const char *got;

    got = headers_via(anon_off, &r);
    ck_assert_msg(strstr(got, "X-Forwarded-For: 10.1.2.3") && strstr(got, "Via: 1.1 gatehouse") &&
                      strstr(got, "User-Agent: Pupil/1"), "off: %s", got);
    tc_response_free(&r);
    got = headers_via(anon_std, &r);
    ck_assert_msg(!strstr(got, "X-Forwarded-For") && !strstr(got, "X-Real-IP") && !strstr(got, "Forwarded:") &&
                      !strstr(got, "From:") && !strstr(got, "Via:") && strstr(got, "User-Agent: Pupil/1") &&
                      strstr(got, "Cookie: id=1"), "standard: %s", got);
    tc_response_free(&r);
    got = headers_via(anon_strict, &r);
    ck_assert_msg(!strstr(got, "X-Forwarded-For") && !strstr(got, "Via:") && strstr(got, "User-Agent: Gate/1") &&
                      !strstr(got, "Pupil") && !strstr(got, "Referer:") && !strstr(got, "Cookie:") &&
                      !strstr(got, "X-Secret") && strstr(got, "Accept-Language: en") && !strstr(got, "Accept-Language: fr"),
                  "strict: %s", got);
    tc_response_free(&r);
}
END_TEST

/* A list changes and gatehouse reloads while a tunnel is open: the tunnel
 * keeps working, new requests see the new list.  (The tunnel carries plain
 * http, so it goes through the unfiltered listener: where a filter applies
 * a tunnel must be TLS, see check_hello.c.) */
START_TEST(reload_lists_keeps_tunnels)
{
    struct tc_response r = {0};
    char req[256], url[256], est[64];
    int fd = tc_connect("127.0.0.1", anon_off);
    const char *ok = "HTTP/1.1 200 Connection established\r\n\r\n";

    snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n", origin.port);
    ck_assert_int_eq(tc_send_all(fd, req, strlen(req)), 0);
    ck_assert_int_eq(recv(fd, est, strlen(ok), MSG_WAITALL), (ssize_t)strlen(ok));
    rig_exchange(fd, "GET /hello HTTP/1.1\r\nHost: o\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 200);
    tc_response_free(&r);

    write_file("extra.txt", "newly-blocked.example\n");
    make_conf(", \"extra\"");
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf_text), 0);

    rig_exchange(fd, "GET /hello HTTP/1.1\r\nHost: o\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 200);
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_eq(ask(school, "http://newly-blocked.example/", NULL, &r), 403);
    ck_assert_ptr_nonnull(strstr(r.body, "category=extra"));
    tc_response_free(&r);
    /* a list that fails to load keeps the running lists */
    snprintf(url, sizeof(url), "%s/extra.txt", dir);
    unlink(url);
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf_text), -1);
    ck_assert_int_eq(ask(school, "http://newly-blocked.example/", NULL, &r), 403);
    tc_response_free(&r);
}
END_TEST

Suite *filter_suite(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = tcase_create("filter");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, blocked_http_gets_the_block_page);
    tcase_add_test(tc, unlisted_and_allowed_pass);
    tcase_add_test(tc, blocked_connect);
    tcase_add_test(tc, blocked_sni_inside_allowed_connect);
    tcase_add_test(tc, refused_file_types);
    tcase_add_test(tc, safe_search_steers_connect);
    tcase_add_test(tc, anonymity_levels);
    tcase_add_test(tc, reload_lists_keeps_tunnels);
    suite_add_tcase(s, tc);
    return s;
}
