/* check_gateway.c — the forward mode with real clients: curl for http and
 * https (CONNECT to a TLS server), apt over http and https, proxy
 * authentication with an `htpasswd -B` file, client rules, a parent proxy
 * (a second gatehouse), a name that does not resolve, IPv6 loopback, a 1 GB
 * tunnel in bounded memory, and headless Chromium. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct origin o4, o6;
static struct th_gatehouse gw, parent;
static char dir[128];        /* certificates, users, the apt repository */
static pid_t tls_pid;
static int gw_port, gw6_port, auth_port, closed_port, chain_port, parent_port, repo_port, tls_port;

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "gateway rig: %s failed\n", what);
        abort();
    }
}

/* The web servers the clients reach through the gateway: gw4 on
 * 127.0.0.1, gw6 on ::1.  /bytes/N is N bytes of the pattern 'a' + i % 26. */
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

static void rig_start(void)
{
    char conf[4096], out[256], stunnel[512], path[256];
    FILE *f;

    strcpy(dir, "/tmp/gh-gw-XXXXXX");
    must(mkdtemp(dir) != NULL, "mkdtemp");
    chmod(dir, 0755);
    must(th_sh(out, sizeof(out), "htpasswd -cbB %s/users alice wonderland 2>&1", dir) == 0, "htpasswd");
    chmod(dir, 0755);
    must(th_sh(out, sizeof(out),
               "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
               "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 2 "
               "-keyout %s/key.pem -out %s/cert.pem 2>&1",
               dir, dir) == 0, "openssl req");
    must(th_sh(out, sizeof(out), "sh tests/support/apt-repo.sh %s 2>&1", dir) == 0, "apt repository");
    must(origin_start(&o4, "gw4", answer) == 0, "origin");
    must(origin_start_at(&o6, "gw6", "::1", answer) == 0, "IPv6 origin");

    parent_port = th_free_port();
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; };\n"
             "listeners = ( { name = \"upper\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"p\"; } );\n"
             "policies = { p = { auth = { file = \"%s/users\"; }; connect_ports = ( \"1024-65535\" ); }; };\n",
             parent_port, dir);
    must(th_gatehouse_start(&parent, conf) == 0, "parent gatehouse");

    gw_port = th_free_port();
    gw6_port = th_free_port();
    auth_port = th_free_port();
    closed_port = th_free_port();
    chain_port = th_free_port();
    repo_port = th_free_port();
    tls_port = th_free_port();
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; };\n"
             "resolver = { nameservers = [ \"127.0.0.1:%d\" ]; timeout = 0.3; attempts = 1; };\n"
             "listeners = (\n"
             "  { name = \"gw\"; mode = \"forward\"; listen = [ \"127.0.0.1:%d\", \"[::1]:%d\" ]; policy = \"lan\"; },\n"
             "  { name = \"staff\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"staff\"; },\n"
             "  { name = \"closed\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"nobody\"; },\n"
             "  { name = \"chain\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"chained\"; },\n"
             "  { name = \"repo\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"repo\"; }\n"
             ");\n"
             "policies = {\n"
             "  lan = { connect_ports = ( 443, \"1024-65535\" ); };\n"
             "  staff = { auth = { file = \"%s/users\"; realm = \"Staff\"; }; connect_ports = ( \"1024-65535\" ); };\n"
             "  nobody = { deny = [ \"127.0.0.0/8\", \"::1\" ]; };\n"
             "  chained = { connect_ports = ( \"1024-65535\" );\n"
             "              parent = { address = \"127.0.0.1:%d\"; user = \"alice\"; password = \"wonderland\"; }; };\n"
             "};\n"
             "pools = { files = { servers = ( { static = \"%s/repo\"; } ); }; };\n"
             "routes = { repo = ( { pool = \"files\"; } ); };\n",
             th_free_port(), gw_port, gw6_port, auth_port, closed_port, chain_port, repo_port, dir,
             parent_port, dir);
    must(th_gatehouse_start(&gw, conf) == 0, "gatehouse");

    /* a TLS server: stunnel in front of the repository listener */
    snprintf(path, sizeof(path), "%s/stunnel.conf", dir);
    f = fopen(path, "w");
    must(f != NULL, "stunnel.conf");
    fprintf(f, "foreground = yes\npid =\n[https]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
               "cert = %s/cert.pem\nkey = %s/key.pem\n",
            tls_port, repo_port, dir, dir);
    fclose(f);
    snprintf(stunnel, sizeof(stunnel), "%s/stunnel.log", dir);
    tls_pid = th_spawn(stunnel, (char *const[]){"stunnel", path, NULL});
    must(th_wait_port(tls_port) == 0, "stunnel");
}

static void rig_stop(void)
{
    th_reap(tls_pid);
    rig_stop_clean(&gw);
    rig_stop_clean(&parent);
    rig_origin_stop(&o4);
    rig_origin_stop(&o6);
    th_sh(NULL, 0, "rm -rf %s", dir);
}

START_TEST(curl_http)
{
    char out[256];

    ck_assert_int_eq(th_sh(out, sizeof(out), "curl -sS -x http://127.0.0.1:%d http://127.0.0.1:%d/hello",
                           gw_port, o4.port), 0);
    ck_assert_str_eq(out, "hello from gw4\n");
}
END_TEST

START_TEST(curl_https_through_connect)
{
    char out[256];

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -sS --cacert %s/cert.pem -x http://127.0.0.1:%d "
                           "https://127.0.0.1:%d/gh-hello_1.0_all.deb | cmp - %s/repo/gh-hello_1.0_all.deb && echo same",
                           dir, gw_port, tls_port, dir), 0);
    ck_assert_str_eq(out, "same\n");
    ck_assert_int_eq(th_log_lines(gw.access, 1, "\"CONNECT 127.0.0.1:", "\" 200 ", "listener=gw", NULL), 1);
}
END_TEST

START_TEST(apt_over_http)
{
    char out[1024], url[64], proxy[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", repo_port);
    snprintf(proxy, sizeof(proxy), "Acquire::http::Proxy \"http://127.0.0.1:%d\";", gw_port);
    ck_assert_msg(th_sh(out, sizeof(out), "sh tests/support/apt-fetch.sh %s/http '%s' '%s' 2>&1 && "
                                          "cmp %s/http/out/gh-hello_1.0_all.deb %s/repo/gh-hello_1.0_all.deb",
                        dir, url, proxy, dir, dir) == 0,
                  "apt: %s", out);
    ck_assert_int_eq(th_log_lines(gw.access, 1, "GET http://127.0.0.1:", "/gh-hello_1.0_all.deb HTTP/1.1\" 200 ",
                                  "Debian APT-HTTP", NULL), 1);
}
END_TEST

START_TEST(apt_over_https)
{
    char out[1024], url[64], proxy[256];

    snprintf(url, sizeof(url), "https://127.0.0.1:%d", tls_port);
    snprintf(proxy, sizeof(proxy),
             "Acquire::https::Proxy \"http://127.0.0.1:%d\"; Acquire::https::CaInfo \"%s/cert.pem\";",
             gw_port, dir);
    ck_assert_msg(th_sh(out, sizeof(out), "sh tests/support/apt-fetch.sh %s/https '%s' '%s' 2>&1 && "
                                          "cmp %s/https/out/gh-hello_1.0_all.deb %s/repo/gh-hello_1.0_all.deb",
                        dir, url, proxy, dir, dir) == 0,
                  "apt: %s", out);
    ck_assert_int_ge(th_log_lines(gw.access, 1, "\"CONNECT 127.0.0.1:", "Debian APT-HTTP", NULL), 1);
}
END_TEST

START_TEST(denied_client_gets_403)
{
    char out[64];

    th_sh(out, sizeof(out), "curl -s -o /dev/null -w '%%{http_code}' -x http://127.0.0.1:%d http://127.0.0.1:%d/hello",
          closed_port, o4.port);
    ck_assert_str_eq(out, "403");
    ck_assert_int_eq(th_log_lines(gw.access, 1, "listener=closed", "\" 403 ",
                                  "why=client address not allowed by policy", NULL), 1);
}
END_TEST

START_TEST(auth_407_then_200)
{
    char out[2048];

    th_sh(out, sizeof(out), "curl -s -i -x http://127.0.0.1:%d http://127.0.0.1:%d/hello", auth_port, o4.port);
    ck_assert_msg(strncmp(out, "HTTP/1.1 407 ", 13) == 0, "got %s", out);
    ck_assert_ptr_nonnull(strstr(out, "Proxy-Authenticate: Basic realm=\"Staff\""));
    /* with the password from `htpasswd -B`; the origin never sees credentials */
    ck_assert_int_eq(th_sh(out, sizeof(out), "curl -sS -x http://alice:wonderland@127.0.0.1:%d http://127.0.0.1:%d/headers",
                           auth_port, o4.port), 0);
    ck_assert_msg(strncmp(out, "GET /headers HTTP/1.1", 21) == 0, "got %s", out);
    ck_assert_ptr_null(strcasestr(out, "Proxy-Authorization"));
    ck_assert_int_eq(th_log_lines(gw.access, 1, " - alice [", "listener=staff", "\" 200 ", NULL), 1);
    /* and for CONNECT */
    ck_assert_int_eq(th_sh(out, sizeof(out), "curl -sS -p -x http://alice:wonderland@127.0.0.1:%d http://127.0.0.1:%d/hello",
                           auth_port, o4.port), 0);
    ck_assert_str_eq(out, "hello from gw4\n");
}
END_TEST

START_TEST(wrong_password_is_407)
{
    char out[64];

    th_sh(out, sizeof(out), "curl -s -o /dev/null -w '%%{http_code}' -x http://alice:rabbit@127.0.0.1:%d http://127.0.0.1:%d/hello",
          auth_port, o4.port);
    ck_assert_str_eq(out, "407");
    ck_assert_int_eq(th_log_lines(gw.access, 1, "\" 407 ", "why=proxy authentication failed", NULL), 1);
}
END_TEST

/* The chain listener sends everything through the parent gatehouse, which
 * demands the credentials the chain presents. */
START_TEST(parent_proxy_chain)
{
    char out[256];

    ck_assert_int_eq(th_sh(out, sizeof(out), "curl -sS -x http://127.0.0.1:%d http://127.0.0.1:%d/hello",
                           chain_port, o4.port), 0);
    ck_assert_str_eq(out, "hello from gw4\n");
    ck_assert_int_eq(th_log_lines(parent.access, 1, " - alice [", "\"GET http://127.0.0.1:", "/hello HTTP/1.1\" 200 ",
                                  NULL), 1);
    ck_assert_int_eq(th_log_lines(gw.access, 1, "listener=chain", "upstream=127.0.0.1:", NULL), 1);
    ck_assert_int_eq(th_sh(out, sizeof(out), "curl -sS -p -x http://127.0.0.1:%d http://127.0.0.1:%d/hello",
                           chain_port, o4.port), 0);
    ck_assert_str_eq(out, "hello from gw4\n");
    ck_assert_int_eq(th_log_lines(parent.access, 1, " - alice [", "\"CONNECT 127.0.0.1:", "\" 200 ", NULL), 1);
}
END_TEST

START_TEST(unresolvable_host_is_502_naming_it)
{
    char out[2048];

    th_sh(out, sizeof(out), "curl -s -i -x http://127.0.0.1:%d http://no-such-host.invalid/", gw_port);
    ck_assert_msg(strncmp(out, "HTTP/1.1 502 ", 13) == 0, "got %s", out);
    ck_assert_ptr_nonnull(strstr(out, "no-such-host.invalid"));
    ck_assert_int_eq(th_log_lines(gw.access, 1, "no-such-host.invalid", "\" 502 ", "why=DNS", NULL), 1);
}
END_TEST

START_TEST(ipv6_loopback)
{
    char out[256];

    ck_assert_int_eq(th_sh(out, sizeof(out), "curl -sS -x 'http://[::1]:%d' 'http://[::1]:%d/hello'",
                           gw6_port, o6.port), 0);
    ck_assert_str_eq(out, "hello from gw6\n");
    ck_assert_int_eq(th_log_lines(gw.access, 1, "::1 - - [", "upstream=[::1]:", NULL), 1);
}
END_TEST

START_TEST(gigabyte_through_a_tunnel)
{
    char out[256];
    long peak;

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -sS -p -x http://127.0.0.1:%d http://127.0.0.1:%d/bytes/1073741824 | wc -c",
                           gw_port, o4.port), 0);
    ck_assert_int_eq(atol(out), 1073741824L);
    peak = th_peak_rss_kb(gw.pid);
    ck_assert_msg(peak > 0 && peak < 50 * 1024, "peak RSS %ld KiB", peak);
}
END_TEST

/* A real browser, headless, through the gateway.  Loopback is normally
 * exempt from proxies in Chromium: "<-loopback>" takes the exemption away.
 * The browser's own calls home fail at this gateway's dead resolver. */
START_TEST(chromium_through_the_gateway)
{
    static char out[4096];

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic "
                           "--no-first-run --disable-background-networking --disable-component-update "
                           "--disable-sync --user-data-dir=%s/chromium --proxy-server=http://127.0.0.1:%d "
                           "'--proxy-bypass-list=<-loopback>' --dump-dom http://127.0.0.1:%d/hello 2>/dev/null",
                           dir, gw_port, o4.port), 0);
    ck_assert_msg(strstr(out, "hello from gw4") != NULL, "page: %s", out);
    ck_assert_int_eq(th_log_lines(gw.access, 1, "\"GET http://127.0.0.1:", "/hello HTTP/1.1\" 200 ",
                                  "HeadlessChrome", NULL), 1);
}
END_TEST

Suite *gateway_suite(void)
{
    Suite *s = suite_create("gateway");
    TCase *tc = tcase_create("gateway");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, curl_http);
    tcase_add_test(tc, curl_https_through_connect);
    tcase_add_test(tc, apt_over_http);
    tcase_add_test(tc, apt_over_https);
    tcase_add_test(tc, denied_client_gets_403);
    tcase_add_test(tc, auth_407_then_200);
    tcase_add_test(tc, wrong_password_is_407);
    tcase_add_test(tc, parent_proxy_chain);
    tcase_add_test(tc, unresolvable_host_is_502_naming_it);
    tcase_add_test(tc, ipv6_loopback);
    tcase_add_test(tc, gigabyte_through_a_tunnel);
    tcase_add_test(tc, chromium_through_the_gateway);
    suite_add_tcase(s, tc);
    return s;
}
