/* check_tls.c — TLS at the front door and towards upstreams, with real
 * clients: openssl s_client and curl, and an OpenSSL client of our own for
 * what needs one connection across a reload.  Certificates are made for the
 * run by tests/support/make-certs.sh. */
#include "common.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GH_TEST_MIN(a, b) ((a) < (b) ? (a) : (b))

static struct origin o1;
static struct th_gatehouse gh;
static pid_t sserver, rogue;
static int p_tls, p_def, p_mtls, p_plain, p_sserver, p_rogue, p_mopt;
static char certs[64];
static char conf_text[8192];

/* The plain origin behind the TLS listeners (the TLS upstreams are
 * openssl s_server and gatehouse itself).  /bytes/N is N bytes of the
 * pattern 'a' + i % 26. */
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

static void write_conf(const char *b_cert)
{
    snprintf(conf_text, sizeof(conf_text),
             "log = { access = \"@ACCESS@\"; level = \"info\"; };\n"
             "listeners = (\n"
             "  { name = \"tls\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "    tls = { certificates = ( { cert = \"%s/a-rsa.pem\"; key = \"%s/a-rsa.key\"; },\n"
             "                             { cert = \"%s/a-ec.pem\"; key = \"%s/a-ec.key\"; },\n"
             "                             { cert = \"%s/%s.pem\"; key = \"%s/%s.key\"; } ); }; },\n"
             "  { name = \"tlsdef\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "    tls = { certificates = ( { cert = \"%s/a-rsa.pem\"; key = \"%s/a-rsa.key\"; },\n"
             "                             { cert = \"%s/%s.pem\"; key = \"%s/%s.key\"; } );\n"
             "            default_certificate = \"%s/%s.pem\"; }; },\n"
             "  { name = \"mtls\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "    tls = { certificates = ( { cert = \"%s/a-rsa.pem\"; key = \"%s/a-rsa.key\"; } );\n"
             "            client_ca = \"%s/ca.pem\"; verify_client = \"required\";\n"
             "            client_subject_field = \"X-Client-Subject\"; }; },\n"
             "  { name = \"mopt\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "    tls = { certificates = ( { cert = \"%s/a-rsa.pem\"; key = \"%s/a-rsa.key\"; } );\n"
             "            client_ca = \"%s/ca.pem\"; verify_client = \"optional\"; }; },\n"
             "  { name = \"plain\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "    redirect_https = true; }\n"
             ");\n"
             "pools = {\n"
             "  o = { servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
             "  up = { servers = ( { address = \"127.0.0.1:%d\"; } );\n"
             "         tls = { ca_file = \"%s/ca.pem\"; server_name = \"origin.test\"; }; };\n"
             "  rogue = { servers = ( { address = \"127.0.0.1:%d\"; } );\n"
             "            tls = { ca_file = \"%s/ca.pem\"; server_name = \"origin.test\"; }; };\n"
             "  hcgood = { servers = ( { address = \"127.0.0.1:%d\"; } );\n"
             "             tls = { ca_file = \"%s/ca.pem\"; server_name = \"a.test\"; };\n"
             "             health_check = { path = \"/hello\"; interval = 0.2; timeout = 1.0; rise = 1; fall = 2; }; };\n"
             "  hcbad = { servers = ( { address = \"127.0.0.1:%d\"; } );\n"
             "            tls = { ca_file = \"%s/ca.pem\"; server_name = \"wrong.test\"; };\n"
             "            health_check = { path = \"/hello\"; interval = 0.2; timeout = 1.0; rise = 1; fall = 2; }; };\n"
             "};\n"
             "routes = { r = ( { host = \"*\"; pool = \"o\"; hsts = 31536000; },\n"
             "                 { host = \"up.test\"; pool = \"up\"; },\n"
             "                 { host = \"rogue.test\"; pool = \"rogue\"; },\n"
             "                 { host = \"secure.test\"; pool = \"o\"; client_cert = \"required\"; },\n"
             "                 { host = \"hc.test\"; pool = \"hcgood\";\n"
             "                   set_request_headers = ( ( \"Host\", \"a.test\" ) ); } ); };\n",
             p_tls, certs, certs, certs, certs, certs, b_cert, certs, b_cert, p_def, certs, certs,
             certs, b_cert, certs, b_cert, certs, b_cert, p_mtls, certs, certs, certs, p_mopt, certs,
             certs, certs, p_plain,
             o1.port, p_sserver, certs, p_rogue, certs, p_tls, certs, p_tls, certs);
}

static pid_t s_server(int port, const char *name, const char *log)
{
    char p[16], cert[128], key[128];
    char *argv[] = {"openssl", "s_server", "-quiet", "-accept", p, "-cert", cert, "-key", key,
                    "-www", NULL};

    snprintf(p, sizeof(p), "%d", port);
    snprintf(cert, sizeof(cert), "%s/%s.pem", certs, name);
    snprintf(key, sizeof(key), "%s/%s.key", certs, name);
    return th_spawn(log, argv);
}

static void rig_start(void)
{
    char out[512];

    snprintf(certs, sizeof(certs), "/tmp/gh-certs-%d", (int)getpid());
    if (th_sh(out, sizeof(out), "sh tests/support/make-certs.sh %s 2>&1", certs) != 0) {
        fprintf(stderr, "cannot make the test certificates: %s\n", out);
        abort();
    }
    if (origin_start(&o1, "one", answer) < 0)
        abort();
    p_tls = th_free_port();
    p_def = th_free_port();
    p_mtls = th_free_port();
    p_mopt = th_free_port();
    p_plain = th_free_port();
    p_sserver = th_free_port();
    p_rogue = th_free_port();
    sserver = s_server(p_sserver, "origin", "/tmp/gh-s_server.log");
    rogue = s_server(p_rogue, "rogue", "/tmp/gh-s_server-rogue.log");
    if (sserver < 0 || rogue < 0 || th_wait_port(p_sserver) < 0 || th_wait_port(p_rogue) < 0)
        abort();
    write_conf("b");
    if (th_gatehouse_start(&gh, conf_text) < 0)
        abort();
}

static void rig_stop(void)
{
    char out[64];

    rig_stop_clean(&gh);
    rig_origin_stop(&o1);
    th_reap(sserver);
    th_reap(rogue);
    th_sh(out, sizeof(out), "rm -rf %s", certs);
}

/* `openssl s_client` against port with the given extra arguments, its
 * output (stdout and stderr) in out; returns its exit status. */
static int s_client(char *out, size_t cap, int port, const char *args)
{
    return th_sh(out, cap,
                 "printf 'GET /hello HTTP/1.1\\r\\nHost: a.test\\r\\nConnection: close\\r\\n\\r\\n' | "
                 "timeout 10 openssl s_client -ign_eof -connect 127.0.0.1:%d -CAfile %s/ca.pem %s 2>&1",
                 port, certs, args);
}

/* The serial number of the certificate served for `sni` ("" for none), or -1. */
static long served_serial(int port, const char *sni, const char *args)
{
    char out[8192], extra[256];
    const char *s;

    snprintf(extra, sizeof(extra), "%s%s %s | openssl x509 -noout -serial", sni[0] ? "-servername " : "-noservername",
             sni, args ? args : "");
    s_client(out, sizeof(out), port, extra);
    s = strstr(out, "serial=");
    return s ? strtol(s + 7, NULL, 16) : -1;
}

START_TEST(certificate_by_name)
{
    ck_assert_int_eq(served_serial(p_tls, "a.test", "-sigalgs RSA-PSS+SHA256:RSA+SHA256"), 1001);
    ck_assert_int_eq(served_serial(p_tls, "b.test", NULL), 2001);
    ck_assert_int_eq(served_serial(p_tls, "x.wild.test", "-sigalgs RSA-PSS+SHA256:RSA+SHA256"), 1001);
    /* ECDSA for a client that only takes ECDSA: the same names, the other key */
    ck_assert_int_eq(served_serial(p_tls, "a.test", "-sigalgs ECDSA+SHA256"), 1002);
}
END_TEST

START_TEST(unknown_name_refused_or_default)
{
    char out[8192];

    /* no default certificate: nothing is served for a name we do not have */
    ck_assert_int_eq(served_serial(p_tls, "nope.test", NULL), -1);
    ck_assert_int_eq(served_serial(p_tls, "x.y.wild.test", NULL), -1); /* one label only */
    ck_assert_int_ne(s_client(out, sizeof(out), p_tls, "-servername nope.test"), 0);
    /* with one, the default is served */
    ck_assert_int_eq(served_serial(p_def, "nope.test", NULL), 2001);
    ck_assert_int_eq(served_serial(p_def, "", NULL), 2001);
}
END_TEST

START_TEST(old_protocols_and_weak_ciphers_refused)
{
    char out[8192];

    ck_assert_int_ne(s_client(out, sizeof(out), p_tls,
                              "-servername a.test -tls1_1 -cipher DEFAULT@SECLEVEL=0"), 0);
    ck_assert_int_ne(s_client(out, sizeof(out), p_tls,
                              "-servername a.test -tls1 -cipher DEFAULT@SECLEVEL=0"), 0);
    /* a cipher without forward secrecy, and one without AEAD */
    ck_assert_int_ne(s_client(out, sizeof(out), p_tls, "-servername a.test -tls1_2 -cipher AES128-GCM-SHA256"), 0);
    ck_assert_int_ne(s_client(out, sizeof(out), p_tls, "-servername a.test -tls1_2 -cipher ECDHE-RSA-AES128-SHA"), 0);
    /* what is offered by default works, over 1.2 and 1.3, with ALPN */
    ck_assert_int_eq(s_client(out, sizeof(out), p_tls, "-servername a.test -tls1_2 -alpn http/1.1"), 0);
    ck_assert_msg(strstr(out, "ALPN protocol: http/1.1") && strstr(out, "hello from one"), "%s", out);
    ck_assert_int_eq(s_client(out, sizeof(out), p_tls, "-servername a.test -tls1_3"), 0);
    ck_assert_msg(strstr(out, "TLSv1.3") && strstr(out, "hello from one"), "%s", out);
}
END_TEST

/* Key exchange: X25519, P-256 and P-384, so a client cannot have every
 * handshake pay for an ffdhe8192 (or P-521) key exchange. */
START_TEST(key_exchange_groups)
{
    static const struct {
        const char *groups;
        int ok;
        const char *shown; /* s_client's "Server Temp Key" */
    } cases[] = {
        {"X25519", 1, "X25519"},   {"P-256", 1, "ECDH, prime256v1"},
        {"P-384", 1, "ECDH, secp384r1"}, {"ffdhe8192", 0, NULL},
        {"ffdhe2048", 0, NULL},    {"P-521", 0, NULL},
        {"X448", 0, NULL},         {"ffdhe8192:X25519", 1, "X25519"},
    };
    char out[8192], args[128];

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(args, sizeof(args), "-servername a.test -groups %s", cases[i].groups);
        int rc = s_client(out, sizeof(out), p_tls, args);
        if (cases[i].ok) {
            ck_assert_msg(rc == 0 && strstr(out, "hello from one"), "%s refused: %.400s",
                          cases[i].groups, out);
            ck_assert_msg(strstr(out, cases[i].shown), "%s: no '%s' in %.400s",
                          cases[i].groups, cases[i].shown, out);
        } else {
            /* what the handshake agreed on, when it should not have */
            const char *key = strstr(out, "Server Temp Key");
            ck_assert_msg(rc != 0 && !strstr(out, "hello from one"), "%s accepted (%.40s)",
                          cases[i].groups, key ? key : "?");
        }
    }
    /* TLS 1.2 clients too (a.test has an RSA certificate for a P-384-only one) */
    ck_assert_int_eq(s_client(out, sizeof(out), p_tls, "-servername a.test -tls1_2 -groups P-384"), 0);
    ck_assert_msg(strstr(out, "ECDH, secp384r1") && strstr(out, "hello from one"), "%s", out);
    ck_assert_int_ne(s_client(out, sizeof(out), p_tls, "-servername a.test -tls1_2 -groups P-521"), 0);
}
END_TEST

/* `groups` and `alpn` mistakes stop `gatehouse -t` with file:line. */
START_TEST(groups_and_alpn_checked)
{
    static const struct {
        const char *setting, *expect;
    } cases[] = {
        {"groups = [ \"X25519\", \"ffdhe9999\" ];", "unknown key exchange group 'ffdhe9999'"},
        {"alpn = [ \"spdy/3.1\" ];", "'alpn': this listener does not speak 'spdy/3.1'"},
        {"alpn = [ \"h3\", \"http/1.1\" ];", "does not speak 'h3'"},
        {"alpn = [ \"http/1.1\" ]; groups = [ \"P-384\", \"X25519\" ];", NULL},
    };
    char out[2048], conf[1024];

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(conf, sizeof(conf),
                 "listeners = ( { name = \"t\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\";\n"
                 "  tls = { certificates = ( { cert = \"%s/a-rsa.pem\"; key = \"%s/a-rsa.key\"; } );\n"
                 "          %s }; } );\n"
                 "pools = { o = { servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
                 "routes = { r = ( { pool = \"o\"; } ); };\n",
                 certs, certs, cases[i].setting);
        int rc = th_gatehouse_check(conf, out, sizeof(out));
        if (!cases[i].expect) {
            ck_assert_msg(rc == 0, "case %u refused: %s", i, out);
            continue;
        }
        ck_assert_msg(rc != 0 && strstr(out, cases[i].expect) && strstr(out, ".conf:3: "),
                      "case %u: -t said: %s", i, out);
    }
}
END_TEST

/* sslscan, as an auditor would run it, against the default settings. */
START_TEST(sslscan_default_settings)
{
    static char out[65536];
    char *line;

    ck_assert_int_eq(th_sh(out, sizeof(out), "sslscan --no-colour --sni-name=a.test 127.0.0.1:%d 2>&1",
                           p_tls),
                     0);
    ck_assert_msg(strstr(out, "SSLv3     disabled") && strstr(out, "TLSv1.0   disabled") &&
                      strstr(out, "TLSv1.1   disabled") && strstr(out, "TLSv1.2   enabled") &&
                      strstr(out, "TLSv1.3   enabled"),
                  "%s", out);
    int accepted = 0;
    for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "Accepted", 8) != 0 && strncmp(line, "Preferred", 9) != 0)
            continue;
        accepted++;
        /* TLS 1.3 suites are all forward secret; 1.2 must be ECDHE with an AEAD */
        ck_assert_msg(strstr(line, "TLSv1.3") ||
                          (strstr(line, "ECDHE-") && (strstr(line, "GCM") || strstr(line, "CHACHA20"))),
                      "weak cipher accepted: %s", line);
    }
    ck_assert_int_ge(accepted, 4);
}
END_TEST

START_TEST(session_resumption)
{
    char out[8192], args[256];

    snprintf(args, sizeof(args), "-servername a.test -sess_out %s/sess.pem", certs);
    ck_assert_int_eq(s_client(out, sizeof(out), p_tls, args), 0);
    snprintf(args, sizeof(args), "-servername a.test -sess_in %s/sess.pem", certs);
    ck_assert_int_eq(s_client(out, sizeof(out), p_tls, args), 0);
    ck_assert_msg(strstr(out, "Reused, TLSv1.3"), "not resumed: %s", out);
}
END_TEST

START_TEST(client_certificates)
{
    char out[8192];

    /* the verified subject reaches the origin; a claimed one never does */
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s --cacert %s/ca.pem --cert %s/client.pem --key %s/client.key "
                           "--resolve a.test:%d:127.0.0.1 -H 'X-Client-Subject: CN=mallory' "
                           "https://a.test:%d/headers",
                           certs, certs, certs, p_mtls, p_mtls),
                     0);
    ck_assert_msg(strstr(out, "X-Client-Subject: O=Gatehouse tests,CN=alice") && !strstr(out, "mallory"),
                  "origin got: %s", out);
    ck_assert_int_ne(th_sh(out, sizeof(out),
                           "curl -s --cacert %s/ca.pem --resolve a.test:%d:127.0.0.1 https://a.test:%d/hello",
                           certs, p_mtls, p_mtls),
                     0);
    ck_assert_ptr_null(strstr(out, "hello from one"));
}
END_TEST

START_TEST(client_certificate_per_route)
{
    char out[8192];

    /* the listener asks for a certificate; the site secure.test (served
     * under a.test's certificate here) insists on one */
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s -o /dev/null -w '%%{http_code}' --cacert %s/ca.pem -H 'Host: secure.test' "
                           "--resolve a.test:%d:127.0.0.1 https://a.test:%d/hello",
                           certs, p_mopt, p_mopt), 0);
    ck_assert_str_eq(out, "403");
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s --cacert %s/ca.pem --cert %s/client.pem --key %s/client.key "
                           "-H 'Host: secure.test' --resolve a.test:%d:127.0.0.1 https://a.test:%d/hello",
                           certs, certs, certs, p_mopt, p_mopt), 0);
    ck_assert_msg(strstr(out, "hello from one"), "%s", out);
    /* other routes on that listener do without */
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s --cacert %s/ca.pem --resolve a.test:%d:127.0.0.1 https://a.test:%d/hello",
                           certs, p_mopt, p_mopt), 0);
    ck_assert_msg(strstr(out, "hello from one"), "%s", out);
    ck_assert_int_ge(th_log_lines(gh.access, 1, "listener=mopt", "\" 403 ",
                                  "why=this route needs a verified client certificate", NULL), 1);
}
END_TEST

START_TEST(health_checks_over_tls)
{
    char needle[128], out[512];

    /* a check that verifies the name it asked for is refused by an unknown
     * name, and the server goes down; the same server checked as a.test
     * stays up and serves */
    snprintf(needle, sizeof(needle), "127.0.0.1:%d is DOWN (2 failed checks: TLS handshake failed", p_tls);
    ck_assert_int_ge(th_log_lines(gh.errlog, 1, "pool 'hcbad'", needle, NULL), 1);
    ck_assert_int_eq(th_log_lines(gh.errlog, 0, "pool 'hcgood'", "is DOWN", NULL), 0);
    /* hc.test goes through hcgood (back into the TLS listener as a.test):
     * a server its checks found down would give 503 */
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s --cacert %s/ca.pem -H 'Host: hc.test' --resolve a.test:%d:127.0.0.1 "
                           "https://a.test:%d/hello", certs, p_tls, p_tls), 0);
    ck_assert_msg(strstr(out, "hello from one"), "%s", out);
}
END_TEST

START_TEST(https_redirect_and_hsts)
{
    char out[8192];

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s -D - -o /dev/null -H 'Host: www.site.test' http://127.0.0.1:%d/a?b=1",
                           p_plain),
                     0);
    ck_assert_msg(strstr(out, " 301 ") && strstr(out, "Location: https://www.site.test/a?b=1"), "%s", out);
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s -D - -o /dev/null --cacert %s/ca.pem --resolve a.test:%d:127.0.0.1 "
                           "https://a.test:%d/hello",
                           certs, p_tls, p_tls),
                     0);
    /* HTTP/2 by ALPN now: field names in lower case */
    ck_assert_msg(strstr(out, " 200") && strcasestr(out, "Strict-Transport-Security: max-age=31536000"), "%s", out);
}
END_TEST

START_TEST(upstream_tls_verified)
{
    char out[8192];

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s -D - --cacert %s/ca.pem --resolve a.test:%d:127.0.0.1 -H 'Host: up.test' "
                           "https://a.test:%d/",
                           certs, p_tls, p_tls),
                     0);
    ck_assert_msg(strstr(out, " 200 ") && strstr(out, "s_server"), "%s", out);
    /* a server whose certificate no CA we trust vouches for is refused */
    th_sh(out, sizeof(out),
          "curl -s -D - --cacert %s/ca.pem --resolve a.test:%d:127.0.0.1 -H 'Host: rogue.test' "
          "https://a.test:%d/",
          certs, p_tls, p_tls);
    ck_assert_msg(strstr(out, " 502 ") && strstr(out, "verification failed"), "%s", out);
}
END_TEST

/* ---- one connection across a reload: an OpenSSL client of our own ---- */

struct tconn {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
};

static int tls_open(struct tconn *c, int port, const char *sni)
{
    c->fd = tc_connect("127.0.0.1", port);
    c->ctx = SSL_CTX_new(TLS_client_method());
    c->ssl = SSL_new(c->ctx);
    SSL_set_tlsext_host_name(c->ssl, sni);
    SSL_set_fd(c->ssl, c->fd);
    return c->fd >= 0 && SSL_connect(c->ssl) == 1 ? 0 : -1;
}

static void tls_close(struct tconn *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    close(c->fd);
}

static long tls_serial(struct tconn *c)
{
    X509 *x = SSL_get1_peer_certificate(c->ssl);
    long v = x ? ASN1_INTEGER_get(X509_get_serialNumber(x)) : -1;

    X509_free(x);
    return v;
}

/* One keep-alive request; returns the status, or -1. */
static int tls_get(struct tconn *c, const char *host)
{
    char req[256], buf[4096];
    size_t got = 0;
    const char *end, *cl;

    snprintf(req, sizeof(req), "GET /hello HTTP/1.1\r\nHost: %s\r\n\r\n", host);
    if (SSL_write(c->ssl, req, (int)strlen(req)) <= 0)
        return -1;
    for (;;) {
        int n = SSL_read(c->ssl, buf + got, (int)(sizeof(buf) - 1 - got));
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        if ((end = strstr(buf, "\r\n\r\n")) && (cl = strcasestr(buf, "Content-Length:")) &&
            got >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
            return atoi(buf + 9);
    }
}

/* Three requests in three TLS records written back to back: OpenSSL reads
 * them ahead together, from one edge of the socket, and gatehouse must still
 * answer all three (it may not take a short SSL_read for an empty socket).
 * The last, a 300,000-byte body that crosses many records, arrives whole
 * and in order. */
START_TEST(pipelined_requests_and_a_long_body)
{
    enum { BIG = 300000 };
    const char *reqs[] = {"GET /hello HTTP/1.1\r\nHost: a.test\r\n\r\n",
                          "GET /hello HTTP/1.1\r\nHost: a.test\r\n\r\n",
                          "GET /bytes/300000 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"};
    size_t cap = BIG + 16384, got = 0;
    char *all = malloc(cap);
    struct tconn c;
    int n, answers = 0;

    ck_assert_ptr_nonnull(all);
    ck_assert_int_eq(tls_open(&c, p_tls, "a.test"), 0);
    for (int k = 0; k < 3; k++) /* one record each */
        ck_assert_int_eq(SSL_write(c.ssl, reqs[k], (int)strlen(reqs[k])), (int)strlen(reqs[k]));
    while (got < cap && (n = SSL_read(c.ssl, all + got, (int)(cap - got))) > 0)
        got += (size_t)n;
    const char *last = NULL;
    for (const char *at = all; (at = memmem(at, got - (size_t)(at - all), "HTTP/1.1 200 ", 13)); at += 13) {
        answers++;
        last = at;
    }
    ck_assert_int_eq(answers, 3);
    const char *body = memmem(last, got - (size_t)(last - all), "\r\n\r\n", 4);
    ck_assert_ptr_nonnull(body);
    body += 4;
    ck_assert_uint_eq(got - (size_t)(body - all), BIG);
    for (size_t i = 0; i < BIG; i++)
        if (body[i] != (char)('a' + i % 26))
            ck_abort_msg("byte %zu of the long body is wrong", i);
    tls_close(&c);
    free(all);
}
END_TEST

START_TEST(reload_swaps_certificate)
{
    struct tconn before, after;

    ck_assert_int_eq(tls_open(&before, p_def, "b.test"), 0);
    ck_assert_int_eq(tls_serial(&before), 2001);
    ck_assert_int_eq(tls_get(&before, "b.test"), 200);
    write_conf("b-new");
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf_text), 0);
    ck_assert_int_eq(tls_open(&after, p_def, "b.test"), 0);
    ck_assert_int_eq(tls_serial(&after), 2002); /* the new certificate */
    ck_assert_int_eq(tls_get(&after, "b.test"), 200);
    ck_assert_int_eq(tls_get(&before, "b.test"), 200); /* the old connection lives on */
    tls_close(&before);
    tls_close(&after);
    write_conf("b");
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf_text), 0);
}
END_TEST

START_TEST(bad_files_named_by_check)
{
    char out[2048], conf[1024];

    snprintf(conf, sizeof(conf),
             "listeners = ( { name = \"t\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\";\n"
             "  tls = { certificates = ( { cert = \"%s/a-rsa.pem\"; key = \"%s/b.key\"; } ); }; } );\n"
             "pools = { o = { servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
             "routes = { r = ( { pool = \"o\"; } ); };\n",
             certs, certs);
    ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "b.key"), "-t said: %s", out);
    snprintf(conf, sizeof(conf),
             "listeners = ( { name = \"t\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\";\n"
             "  tls = { certificates = ( { cert = \"%s/missing.pem\"; key = \"%s/a-rsa.key\"; } ); }; } );\n"
             "pools = { o = { servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
             "routes = { r = ( { pool = \"o\"; } ); };\n",
             certs, certs);
    ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "missing.pem"), "-t said: %s", out);
}
END_TEST

/* ---- close_notify before every close: local answers over TLS ----
 *
 * A gatehouse of its own: a short client_header (for the 408), a body
 * limit, a status page nobody here may read, and a route to a dead port.
 * Every answer that ends the connection must end the TLS stream with
 * close_notify before the TCP FIN.  Without it the client reads "unexpected
 * eof", OpenSSL marks the session as not resumable, and a client that
 * resumes by session id (tickets off) pays for a full handshake next time. */

static struct th_gatehouse cgh;
static char ccerts[64];
static int p_close;

static void close_rig_start(void)
{
    char conf[2048], out[512];

    snprintf(ccerts, sizeof(ccerts), "/tmp/gh-certs-close-%d", (int)getpid());
    if (th_sh(out, sizeof(out), "sh tests/support/make-certs.sh %s 2>&1", ccerts) != 0) {
        fprintf(stderr, "cannot make the test certificates: %s\n", out);
        abort();
    }
    p_close = th_free_port();
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; level = \"info\"; };\n"
             "timeouts = { client_header = 1; };\n"
             "http = { max_body_bytes = 100; };\n"
             "listeners = ( { name = \"t\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "  status_path = \"/_status\"; status_allow = [ \"10.0.0.0/8\" ];\n"
             "  tls = { certificates = ( { cert = \"%s/a-rsa.pem\"; key = \"%s/a-rsa.key\"; } );\n"
             "          session_tickets = false; }; } );\n"
             "pools = { dead = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
             "routes = { r = ( { host = \"a.test\"; path = \"/app/\"; pool = \"dead\"; } ); };\n",
             p_close, ccerts, ccerts, th_free_port());
    if (th_gatehouse_start(&cgh, conf) < 0)
        abort();
}

static void close_rig_stop(void)
{
    char out[64];

    rig_stop_clean(&cgh);
    th_sh(out, sizeof(out), "rm -rf %s", ccerts);
}

/* A client that resumes by session id only. */
static SSL_CTX *id_client(int max_version)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    SSL_CTX_set_max_proto_version(ctx, max_version);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    return ctx;
}

/* Sends req (len bytes) on a new TLS connection (offering sess, may be
 * NULL) and reads until the server ends the stream.  Returns the status
 * answered, or -1; *end gets SSL_get_error of the read that ended it
 * (SSL_ERROR_ZERO_RETURN: close_notify), *reused whether the session was
 * resumed.  The connection is then closed as a client does (its own
 * close_notify), and *out (if not NULL) gets its session. */
static int answer_then_end(SSL_CTX *ctx, SSL_SESSION *sess, const char *req, size_t len, int *end,
                           int *reused, SSL_SESSION **out)
{
    char buf[8192];
    size_t got = 0;
    int fd = tc_connect("127.0.0.1", p_close), n, status = -1;
    SSL *ssl = SSL_new(ctx);

    *end = -1;
    SSL_set_tlsext_host_name(ssl, "a.test");
    SSL_set_fd(ssl, fd);
    if (sess)
        SSL_set_session(ssl, sess);
    if (fd < 0 || SSL_connect(ssl) != 1)
        goto done;
    *reused = SSL_session_reused(ssl);
    if (len && SSL_write(ssl, req, (int)len) != (int)len)
        goto done;
    while ((n = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got))) > 0)
        got = GH_TEST_MIN(got + (size_t)n, sizeof(buf) - 1);
    *end = SSL_get_error(ssl, n);
    buf[got] = '\0';
    if (got > 12 && strncmp(buf, "HTTP/1.1 ", 9) == 0)
        status = atoi(buf + 9);
    SSL_shutdown(ssl);
    if (out)
        *out = SSL_get1_session(ssl);
done:
    ERR_clear_error();
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    return status;
}

static const struct {
    const char *what;
    const char *req;
    int status;
} local_answers[] = {
    {"two Host fields", "GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", 400},
    {"a bad field name", "GET / HTTP/1.1\r\nHost: a.test\r\nBad Name: x\r\n\r\n", 400},
    {"a head too large", NULL, 431},
    {"a head never finished", "GET / HTTP/1.1\r\nHost: a.test\r\n", 408},
    {"a body over max_body_bytes",
     "POST /app/x HTTP/1.1\r\nHost: a.test\r\nContent-Length: 200\r\n\r\n", 413},
    {"no route for the path",
     "POST /nope HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
     "0123456789",
     404},
    {"no route for the host", "GET / HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n",
     421},
    {"the status page refused", "GET /_status HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
     403},
    {"a dead server", "GET /app/x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", 502},
    {"HTTP/3.0", "GET / HTTP/3.0\r\nHost: a.test\r\n\r\n", 505},
    {"an unknown coding", "POST /app/x HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: x-foo, chunked\r\n\r\n",
     501},
    {"an ordinary close", "GET /nope HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", 404},
};

START_TEST(close_notify_on_local_answers)
{
    static char big[20000];
    const char *req = local_answers[_i].req;
    size_t len = req ? strlen(req) : 0;
    int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};

    if (!req) { /* more than max_header_bytes (16384) */
        len = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a.test\r\nX-Pad: ");
        memset(big + len, 'p', 17000);
        len += 17000;
        len += (size_t)snprintf(big + len, sizeof(big) - len, "\r\n\r\n");
        req = big;
    }
    for (unsigned v = 0; v < 2; v++) {
        SSL_CTX *ctx = id_client(versions[v]);
        SSL_SESSION *sess = NULL;
        int end, reused = 0;
        int status = answer_then_end(ctx, NULL, req, len, &end, &reused, &sess);
        ck_assert_msg(status == local_answers[_i].status, "%s (TLS 1.%d): status %d, want %d",
                      local_answers[_i].what, 2 + v, status, local_answers[_i].status);
        ck_assert_msg(end == SSL_ERROR_ZERO_RETURN,
                      "%s (TLS 1.%d): the stream ended without close_notify (SSL error %d)",
                      local_answers[_i].what, 2 + v, end);
        if (versions[v] == TLS1_2_VERSION) {
            /* the session, cleanly closed, is resumed by its id */
            int status2 = answer_then_end(ctx, sess, local_answers[11].req,
                                          strlen(local_answers[11].req), &end, &reused, NULL);
            ck_assert_int_eq(status2, 404);
            ck_assert_msg(reused, "%s: the session was not resumed", local_answers[_i].what);
        }
        SSL_SESSION_free(sess);
        SSL_CTX_free(ctx);
    }
}
END_TEST

Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, certificate_by_name);
    tcase_add_test(tc, unknown_name_refused_or_default);
    tcase_add_test(tc, old_protocols_and_weak_ciphers_refused);
    tcase_add_test(tc, key_exchange_groups);
    tcase_add_test(tc, groups_and_alpn_checked);
    tcase_add_test(tc, sslscan_default_settings);
    tcase_add_test(tc, session_resumption);
    tcase_add_test(tc, client_certificates);
    tcase_add_test(tc, client_certificate_per_route);
    tcase_add_test(tc, health_checks_over_tls);
    tcase_add_test(tc, https_redirect_and_hsts);
    tcase_add_test(tc, upstream_tls_verified);
    tcase_add_test(tc, pipelined_requests_and_a_long_body);
    tcase_add_test(tc, reload_swaps_certificate);
    tcase_add_test(tc, bad_files_named_by_check);
    suite_add_tcase(s, tc);

    tc = tcase_create("close_notify");
    tcase_add_unchecked_fixture(tc, close_rig_start, close_rig_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, close_notify_on_local_answers, 0,
                        (int)(sizeof(local_answers) / sizeof(local_answers[0])));
    suite_add_tcase(s, tc);
    return s;
}
