/* check_front.c — the reverse mode as a site's front door: rebuilt
 * forwarding fields (a client's X-Forwarded-For is replaced, a trusted
 * proxy's extended), origin-revealing response fields hidden, and routing by
 * exact and wildcard host with 421 for a site not served here. */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct origin o1, o2;
static struct th_gatehouse gh;
static int port, trusted_port;

/* Both origins, "one" and "two".  Every answer carries Server: gh-origin
 * and X-Origin (origin.h), which the front door may hide. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strcmp(rq->path, "/headers") == 0) { /* the head as it arrived */
        origin_body(re, "text/plain", rq->head, rq->head_len);
    } else if (strcmp(rq->path, "/sink") == 0) { /* the body's length and sum */
        origin_text(re, "bytes=%" PRIu64 " sum=%" PRIu64 "\n", rq->body_len, rq->body_sum);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

static void rig_start(void)
{
    char conf[2048];

    if (origin_start(&o1, "one", answer) < 0 || origin_start(&o2, "two", answer) < 0)
        abort();
    port = th_free_port();
    trusted_port = th_free_port();
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; };\n"
             "listeners = (\n"
             "  { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\"; },\n"
             "  { name = \"behind-lb\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "    trusted_proxies = [ \"127.0.0.0/8\" ]; }\n"
             ");\n"
             "pools = { one = { servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
             "          two = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
             "routes = { r = ( { host = \"exact.test\"; pool = \"one\"; },\n"
             "                 { host = \"*.wild.test\"; pool = \"two\"; hide_headers = [ \"X-Origin\" ]; },\n"
             "                 { host = \"api.test\"; path = \"/api/\"; pool = \"one\"; },\n"
             "                 { host = \"edit.test\"; pool = \"one\"; max_body_bytes = 10;\n"
             "                   set_request_headers = ( ( \"X-Env\", \"prod\" ) ); remove_request_headers = [ \"X-Drop\" ];\n"
             "                   add_request_headers = ( ( \"X-Added\", \"1\" ) );\n"
             "                   set_response_headers = ( ( \"Cache-Control\", \"no-store\" ) );\n"
             "                   add_response_headers = ( ( \"X-Frame-Options\", \"DENY\" ) ); },\n"
             "                 { host = \"old.test\"; redirect = \"https://new.example/\"; redirect_code = 301; } ); };\n",
             port, trusted_port, o1.port, o2.port);
    if (th_gatehouse_start(&gh, conf) < 0)
        abort();
}

static void rig_stop(void)
{
    rig_stop_clean(&gh);
    rig_origin_stop(&o1);
    rig_origin_stop(&o2);
}

static int get(int p, const char *host, const char *path, const char *extra, struct tc_response *r)
{
    char req[1024];
    int fd = tc_connect("127.0.0.1", p);

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path, host, extra ? extra : "");
    rig_exchange(fd, req, r);
    tc_close(fd);
    return r->status;
}

START_TEST(client_claims_are_replaced)
{
    struct tc_response r = {0};

    ck_assert_int_eq(get(port, "exact.test", "/headers",
                         "X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-Proto: https\r\n", &r), 200);
    ck_assert_msg(strstr(r.body, "X-Forwarded-For: 127.0.0.1\r\n") && !strstr(r.body, "6.6.6.6") &&
                      strstr(r.body, "Forwarded: for=127.0.0.1;proto=http\r\n") &&
                      strstr(r.body, "X-Forwarded-Proto: http\r\n") &&
                      strstr(r.body, "X-Forwarded-Host: exact.test\r\n"),
                  "origin got: %s", r.body);
    tc_response_free(&r);
}
END_TEST

START_TEST(trusted_proxy_claims_are_extended)
{
    struct tc_response r = {0};

    ck_assert_int_eq(get(trusted_port, "exact.test", "/headers", "X-Forwarded-For: 203.0.113.7\r\n", &r), 200);
    ck_assert_msg(strstr(r.body, "X-Forwarded-For: 203.0.113.7, 127.0.0.1\r\n"), "origin got: %s", r.body);
    tc_response_free(&r);
}
END_TEST

START_TEST(origin_is_hidden)
{
    struct tc_response r = {0};
    size_t n;

    ck_assert_int_eq(get(port, "exact.test", "/hello", NULL, &r), 200);
    ck_assert_ptr_null(tc_header(&r, "Server", &n)); /* the origin sends "Server: gh-origin" */
    ck_assert_ptr_nonnull(tc_header(&r, "X-Origin", &n));
    tc_response_free(&r);
    ck_assert_int_eq(get(port, "a.wild.test", "/hello", NULL, &r), 200);
    ck_assert_str_eq(r.body, "hello from two\n");
    ck_assert_ptr_null(tc_header(&r, "X-Origin", &n)); /* the route's hide_headers */
    tc_response_free(&r);
}
END_TEST

START_TEST(routing_by_host)
{
    struct tc_response r = {0};

    ck_assert_int_eq(get(port, "EXACT.test:80", "/hello", NULL, &r), 200);
    ck_assert_str_eq(r.body, "hello from one\n");
    tc_response_free(&r);
    ck_assert_int_eq(get(port, "deep.er.wild.test", "/hello", NULL, &r), 200);
    ck_assert_str_eq(r.body, "hello from two\n");
    tc_response_free(&r);
    /* "*.wild.test" is the names below, not wild.test itself */
    ck_assert_int_eq(get(port, "wild.test", "/hello", NULL, &r), 421);
    tc_response_free(&r);
    ck_assert_int_eq(get(port, "elsewhere.test", "/hello", NULL, &r), 421);
    tc_response_free(&r);
    ck_assert_int_eq(get(port, "api.test", "/other", NULL, &r), 404);
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(gh.access, 2, "\" 421 ", "why=this site is not served here", NULL), 2);
}
END_TEST

START_TEST(route_header_edits)
{
    struct tc_response r = {0};
    size_t n;
    const char *v;

    ck_assert_int_eq(get(port, "edit.test", "/headers", "X-Env: dev\r\nX-Drop: 1\r\n", &r), 200);
    ck_assert_msg(strstr(r.body, "X-Env: prod\r\n") && !strstr(r.body, "X-Env: dev") &&
                      !strstr(r.body, "X-Drop") && strstr(r.body, "X-Added: 1\r\n"),
                  "origin got: %s", r.body);
    v = tc_header(&r, "X-Frame-Options", &n);
    ck_assert_msg(v && n == 4 && memcmp(v, "DENY", 4) == 0, "no X-Frame-Options");
    v = tc_header(&r, "Cache-Control", &n);
    ck_assert_msg(v && n == 8 && memcmp(v, "no-store", 8) == 0, "no Cache-Control");
    tc_response_free(&r);
}
END_TEST

START_TEST(route_body_limit)
{
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", port);

    rig_exchange(fd, "POST /sink HTTP/1.1\r\nHost: edit.test\r\nContent-Length: 20\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 413);
    tc_response_free(&r);
    tc_close(fd);
    fd = tc_connect("127.0.0.1", port);
    rig_exchange(fd, "POST /sink HTTP/1.1\r\nHost: edit.test\r\nContent-Length: 5\r\n\r\nhello", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "bytes=5 sum=532\n");
    tc_response_free(&r);
    tc_close(fd);
    /* the same size elsewhere is fine: the limit is the route's */
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\" 413 ", "why=request body larger than the route allows", NULL), 1);
}
END_TEST

START_TEST(route_redirect)
{
    struct tc_response r = {0};
    size_t n;
    const char *v;

    ck_assert_int_eq(get(port, "old.test", "/a/b?c=1", NULL, &r), 301);
    v = tc_header(&r, "Location", &n);
    ck_assert_msg(v && n == 27 && memcmp(v, "https://new.example/a/b?c=1", 27) == 0, "Location: %.*s",
                  v ? (int)n : 0, v ? v : "");
    tc_response_free(&r);
}
END_TEST

/* The README's front-door tour runs the gh-origin program (three of them
 * behind etc/examples/front-door.conf); one here, behind the same kind of
 * routes, answers /hello and an /obj/ object that is stored, then a hit. */
START_TEST(readme_tour_origin_program)
{
    struct th_gatehouse g;
    struct tc_response r = {0};
    char log[128], conf[1024], text[256] = "";
    const char *bin = getenv("GH_ORIGIN");
    int site = th_free_port(), oport = 0;
    pid_t pid;
    FILE *f;

    snprintf(log, sizeof(log), "/tmp/gh-tour-%d.log", (int)getpid());
    pid = th_spawn(log, (char *const[]){(char *)(bin && *bin ? bin : "./build/gh-origin"), "-p",
                                        "0", "-n", "one", NULL});
    ck_assert_int_eq(th_log_lines(log, 1, "PORT ", NULL), 1);
    ck_assert_ptr_nonnull(f = fopen(log, "r"));
    ck_assert_int_eq(fscanf(f, "PORT %d", &oport), 1);
    fclose(f);
    snprintf(
        conf, sizeof(conf),
        "listeners = ( { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"site\"; } );\n"
        "pools = { app = { servers = ( { address = \"127.0.0.1:%d\"; } );\n"
        "                  health_check = { path = \"/hello\"; interval = 1.0; }; }; };\n"
        "routes = { site = ( { host = \"*\"; pool = \"app\"; },\n"
        "                    { host = \"*\"; path = \"/obj/\"; pool = \"app\"; cache = true; } ); };\n",
        site, oport);
    ck_assert_int_eq(th_gatehouse_start(&g, conf), 0);
    ck_assert_int_eq(get(site, "tour.test", "/hello", NULL, &r), 200);
    ck_assert_str_eq(r.body, "hello from one\n");
    tc_response_free(&r);
    for (int i = 0; i < 2; i++) {
        const char *v;
        size_t n;
        ck_assert_int_eq(get(site, "tour.test", "/obj/a?cc=max-age%3D60", NULL, &r), 200);
        v = tc_header(&r, "Cache-Status", &n);
        snprintf(text, sizeof(text), "%.*s", v ? (int)n : 0, v ? v : "");
        ck_assert_msg(i == 0 ? strstr(text, "fwd=uri-miss") && strstr(text, "stored")
                             : strstr(text, "; hit; ttl=") != NULL,
                      "request %d: Cache-Status: %s", i + 1, text);
        tc_response_free(&r);
    }
    ck_assert_int_eq(th_gatehouse_stop(&g, SIGTERM, 10000), 0);
    th_reap(pid);
    for (int i = 0; i < 2; i++) {
        const char *which = i ? log : g.errlog;
        ck_assert_msg(!th_log_lines(which, 0, "Sanitizer", NULL) &&
                          !th_log_lines(which, 0, "runtime error:", NULL),
                      "sanitizer report in %s", which);
    }
    unlink(log);
    th_sh(NULL, 0, "rm -rf %s", g.dir);
}
END_TEST

Suite *front_suite(void)
{
    Suite *s = suite_create("front");
    TCase *tc = tcase_create("front door");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, client_claims_are_replaced);
    tcase_add_test(tc, trusted_proxy_claims_are_extended);
    tcase_add_test(tc, origin_is_hidden);
    tcase_add_test(tc, routing_by_host);
    tcase_add_test(tc, route_header_edits);
    tcase_add_test(tc, route_body_limit);
    tcase_add_test(tc, route_redirect);
    tcase_add_test(tc, readme_tour_origin_program);
    suite_add_tcase(s, tc);
    return s;
}
