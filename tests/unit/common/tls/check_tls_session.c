/* check_tls_session.c — the TLS contexts through real handshakes
 * (tls_rig.h), continued: session resumption (tickets, the cache, across
 * listeners, key rotation), OCSP stapling, the errors a user sees when
 * loading, and the client side towards pools.  Needs the openssl
 * command. */
#include "suites.h"
#include "tls_rig.h"

#include "config.h"
#include "log.h"

#include <check.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

/* ---- resumption ---- */

struct attempt {
    int ok;      /* handshake and exchange completed */
    int reused;  /* the server resumed */
    int offered; /* the client offered a session */
};

/* Connects ctx to sni offering sess; *out gets the new session if asked. */
static struct attempt resume(struct tls_server *t, SSL_CTX *ctx, const char *sni, SSL_SESSION *sess,
                             SSL_SESSION **out)
{
    struct tr_conn c;
    struct attempt a;

    tr_conn_open(&c, t, tr_new_cli(ctx, sni, sess));
    a.ok = tr_handshake(&c) && tr_exchange(&c);
    a.reused = a.ok && SSL_session_reused(c.srv);
    a.offered = c.offered;
    if (out)
        *out = a.ok ? SSL_get1_session(c.cli) : NULL;
    tr_conn_close(&c);
    return a;
}

/* A session for sni resumes there, not on another name, not on a name
 * asking for client certificates. */
static void check_resumption(struct tls_server *t, int max)
{
    SSL_CTX *ctx = tr_client_ctx(max);
    SSL_SESSION *sess;
    struct attempt a;

    a = resume(t, ctx, "a.test", NULL, &sess);
    ck_assert(a.ok && !a.reused);
    ck_assert_ptr_nonnull(sess);
    ck_assert(SSL_SESSION_is_resumable(sess));
    a = resume(t, ctx, "a.test", sess, NULL);
    ck_assert(a.ok && a.offered);
    ck_assert_msg(a.reused, "not resumed on the same name (max %x)", max);
    a = resume(t, ctx, "x.wild.test", sess, NULL); /* same certificates, same site */
    ck_assert(a.ok && a.offered && a.reused);
    a = resume(t, ctx, "b.test", sess, NULL);
    ck_assert(a.ok && a.offered);
    ck_assert_msg(!a.reused, "a.test's session resumed on b.test (max %x)", max);
    a = resume(t, ctx, "m.test", sess, NULL); /* asks for a client certificate */
    ck_assert(a.offered);
    ck_assert_msg(!a.ok && !a.reused, "a.test's session bypassed m.test's client check");
    SSL_SESSION_free(sess);
    SSL_CTX_free(ctx);
}

START_TEST(resume_tickets)
{
    struct tls_server *t = tr_server(SITES "session_cache = false;");

    check_resumption(t, 0);
    check_resumption(t, TLS1_2_VERSION);
    tls_server_free(t);
}
END_TEST

START_TEST(resume_cache)
{
    struct tls_server *t = tr_server(SITES "session_tickets = false;");

    check_resumption(t, 0);
    check_resumption(t, TLS1_2_VERSION);
    tls_server_free(t);
}
END_TEST

/* Another listener, or the same one reloaded: the same names and settings
 * resume, the same names asking for client certificates do not. */
START_TEST(resume_across_listeners)
{
    struct tls_server *t1 = tr_server(SITES), *t2 = tr_server(SITES);
    struct tls_server *t3 =
        tr_server(SITES "client_ca = \"ca.pem\"; verify_client = \"required\";");
    SSL_CTX *ctx = tr_client_ctx(0);
    SSL_SESSION *sess;
    struct attempt a;

    a = resume(t1, ctx, "b.test", NULL, &sess);
    ck_assert(a.ok);
    a = resume(t2, ctx, "b.test", sess, NULL);
    ck_assert(a.ok && a.offered && a.reused);
    a = resume(t3, ctx, "b.test", sess, NULL);
    ck_assert(a.offered && !a.ok && !a.reused);
    SSL_SESSION_free(sess);
    SSL_CTX_free(ctx);
    tls_server_free(t1);
    tls_server_free(t2);
    tls_server_free(t3);
}
END_TEST

static void sleep_until(time_t when)
{
    while (time(NULL) < when) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Tickets are accepted in the epoch they were made in and the next one. */
START_TEST(ticket_rotation)
{
    struct tls_server *t = tr_server(SITES "session_cache = false; ticket_rotation = 1;");
    SSL_CTX *ctx = tr_client_ctx(0);
    SSL_SESSION *sess;
    struct attempt a;
    time_t made;

    sleep_until(time(NULL) + 1); /* start at the beginning of a second */
    made = time(NULL);
    a = resume(t, ctx, "a.test", NULL, &sess);
    ck_assert(a.ok);
    sleep_until(made + 1);
    a = resume(t, ctx, "a.test", sess, NULL);
    ck_assert(a.ok && a.offered);
    ck_assert_msg(a.reused, "a ticket from the previous epoch was refused");
    sleep_until(made + 2);
    a = resume(t, ctx, "a.test", sess, NULL);
    ck_assert(a.ok && a.offered);
    ck_assert_msg(!a.reused, "a ticket two epochs old was accepted");
    SSL_SESSION_free(sess);
    SSL_CTX_free(ctx);
    tls_server_free(t);
}
END_TEST

/* ---- OCSP ---- */

static long stapled(struct tls_server *t, const char *sigalgs)
{
    SSL_CTX *ctx = tr_client_ctx(0);
    struct tr_conn c;
    const unsigned char *resp = NULL;
    long len;

    ck_assert_int_eq(SSL_CTX_set1_sigalgs_list(ctx, sigalgs), 1);
    tr_conn_open(&c, t, tr_new_cli(ctx, "a.test", NULL));
    SSL_set_tlsext_status_type(c.cli, TLSEXT_STATUSTYPE_ocsp);
    ck_assert(tr_handshake(&c));
    len = SSL_get_tlsext_status_ocsp_resp(c.cli, &resp);
    tr_conn_close(&c);
    SSL_CTX_free(ctx);
    return resp ? len : -1;
}

START_TEST(ocsp)
{
    struct tls_server *t = tr_server(SITES "ocsp_response = \"site.ocsp\";");
    FILE *f = fopen(tr_path("site.ocsp"), "rb");
    long size;

    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    ck_assert_int_eq(stapled(t, "rsa_pss_rsae_sha256:RSA+SHA256"), size); /* site.pem's */
    ck_assert_int_eq(stapled(t, "ECDSA+SHA256"), -1); /* site-ecdsa.pem has none */
    tls_server_free(t);
}
END_TEST

/* ---- errors a user sees ---- */

static const struct {
    const char *body;
    const char *expect[2];
} bad[] = {
    {"certificates = ( { cert = \"nope.pem\"; key = \"site.key\"; } );",
     {"t.conf:2: cannot read '", "/nope.pem': No such file or directory"}},
    {"certificates = ( { cert = \"site.pem\"; key = \"nope.key\"; } );",
     {"t.conf:2: cannot read", "nope.key"}},
    {"certificates = ( { cert = \"site.pem\"; key = \"other.key\"; } );",
     {"t.conf:2: ", "/other.key' does not match the certificate in '"}},
    {"certificates = ( { cert = \"site.key\"; key = \"site.key\"; } );",
     {"t.conf:2: ", "/site.key' holds no PEM certificate"}},
    {"certificates = ( { cert = \"site.pem\"; key = \"site.pem\"; } );",
     {"t.conf:2: ", "/site.pem' holds no usable private key"}},
    {"certificates = ( { cert = \"site.pem\"; } );", {"t.conf:2: ", "needs both 'cert' and 'key'"}},
    {SITES "protocols = [ \"TLSv1.2\", \"TLSv1.4\" ];",
     {"t.conf:8: ", "unknown protocol 'TLSv1.4'"}},
    {SITES "protocols = [ \"SSLv3\" ];", {"t.conf:8: ", "unknown protocol 'SSLv3'"}},
    {SITES "default_certificate = \"nope.pem\";",
     {"t.conf:8: ", "default_certificate 'nope.pem' is not one of the certificates listed"}},
    {SITES "verify_client = \"sometimes\";", {"t.conf:8: ", "'verify_client' must be"}},
    {SITES "verify_client = \"required\";", {"t.conf:2: ", "needs 'client_ca'"}},
    {SITES "ciphers = \"RC5-MD4\";", {"t.conf:8: ", "no usable cipher in 'ciphers'"}},
    {SITES "ciphersuites = \"TLS_NOPE\";", {"t.conf:8: ", "no usable cipher suite"}},
    {SITES "alpn = [ ];", {"t.conf:8: ", "'alpn' must be a non-empty list"}},
    {SITES "alpn = [ \"h2\" ];",
     {"t.conf:8: ", "'alpn': this listener does not speak 'h2' (it speaks http/1.1"}},
    {SITES "alpn = [ \"http/1.1\", \"h2\" ];", {"t.conf:8: ", "does not speak 'h2'"}},
    {SITES "groups = [ \"X25519\", \"ffdhe9999\" ];",
     {"t.conf:8: ", "unknown key exchange group 'ffdhe9999'"}},
    {SITES "groups = [ \"X25519:P-256\" ];",
     {"t.conf:8: ", "unknown key exchange group 'X25519:P-256'"}},
    {SITES "groups = [ ];", {"t.conf:8: ", "'groups' must be a non-empty list"}},
    {SITES "groups = \"X25519\";", {"t.conf:8: ", "'groups' must be a non-empty list"}},
    {SITES "client_subject_field = \"X-Client: Subject\";",
     {"t.conf:8: ", "'client_subject_field' must be a header field name"}},
    {SITES "colour = \"blue\";", {"t.conf:8: ", "unknown setting 'colour'"}},
    {SITES "ocsp_response = \"site.key\";", {"t.conf:8: ", "is not a DER OCSP response"}},
    {"certificates = ( { cert = \"site-ecdsa.pem\"; key = \"site-ecdsa.key\";\n"
     "  ocsp_response = \"site.ocsp\"; } );",
     {"t.conf:3: ", "is not an OCSP response for '"}},
    {"certificates = ( { cert = \"site.pem\"; key = \"site.key\"; verify_client = \"required\";\n"
     "  client_ca = \"ca.pem\"; }, { cert = \"site-ecdsa.pem\"; key = \"site-ecdsa.key\"; } );",
     {"t.conf:", "ask for client certificates differently"}},
    {"certificates = [ ];", {"t.conf:2: ", "'certificates' must be a list"}},
};

START_TEST(load_errors)
{
    char err[CONFIG_ERRLEN];
    struct tls_server *t = tr_server_err(bad[_i].body, err, sizeof(err));

    ck_assert_msg(t == NULL, "case %d loaded", _i);
    for (int k = 0; k < 2; k++)
        ck_assert_msg(strstr(err, bad[_i].expect[k]), "case %d: '%s' lacks '%s'", _i, err,
                      bad[_i].expect[k]);
}
END_TEST

START_TEST(expired_warns)
{
    char err[CONFIG_ERRLEN], logbuf[4096];
    const char *logfile = tr_path("warn.log");
    struct tls_server *t;
    SSL_CTX *ctx;
    struct tr_conn c;
    FILE *f;
    size_t n;

    ck_assert_int_eq(log_configure(logfile, "off", LOG_WARN, err, sizeof(err)), 0);
    t = tr_server("certificates = ( { cert = \"old.pem\"; key = \"old.key\"; } );");
    log_configure("stderr", "off", LOG_WARN, err, sizeof(err));
    f = fopen(logfile, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(logbuf, 1, sizeof(logbuf) - 1, f);
    logbuf[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(logbuf, "t.conf:2: certificate '") && strstr(logbuf, "/old.pem' expired"),
                  "log: %s", logbuf);
    /* served all the same (to a client that does not check) */
    ctx = tr_client_ctx(0);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    tr_conn_open(&c, t, tr_new_cli(ctx, "old.test", NULL));
    ck_assert(tr_handshake(&c));
    ck_assert_int_eq(tr_served_serial(&c), 0x1006);
    ck_assert_int_eq(SSL_get_verify_result(c.cli), X509_V_ERR_CERT_HAS_EXPIRED);
    tr_conn_close(&c);
    SSL_CTX_free(ctx);
    tls_server_free(t);
}
END_TEST

/* ---- the client side ---- */

/* Connects a tls_client SSL for host to server t; returns the client's
 * verification result, or -1 when the handshake failed otherwise. */
static long upstream(struct tls_client *cl, const char *host, struct tls_server *t, char *sni,
                     long *serial)
{
    struct tr_conn c;
    long v = -1;
    const char *name;

    tr_conn_open(&c, t, tls_client_ssl(cl, host));
    if (tr_handshake(&c) && tr_exchange(&c))
        v = X509_V_OK;
    else if (SSL_get_verify_result(c.cli) != X509_V_OK)
        v = SSL_get_verify_result(c.cli);
    name = SSL_get_servername(c.srv, TLSEXT_NAMETYPE_host_name);
    if (sni)
        snprintf(sni, 64, "%s", name ? name : "");
    if (serial)
        *serial = tr_served_serial(&c);
    tr_conn_close(&c);
    return v;
}

START_TEST(client_verify)
{
    char err[CONFIG_ERRLEN], sni[64];
    struct tls_server *t = tr_server(SITES "default_certificate = \"site.pem\";");
    struct tls_server *rogue =
        tr_server("certificates = ( { cert = \"rogue.pem\"; key = \"rogue.key\"; } );");
    struct tls_client *cl = tr_client_err("ca_file = \"ca.pem\";", err, sizeof(err));
    struct tls_client *named, *lax;

    ck_assert_msg(cl != NULL, "%s", err);
    ck_assert_int_eq(upstream(cl, "a.test", t, sni, NULL), X509_V_OK);
    ck_assert_str_eq(sni, "a.test");
    ck_assert_int_eq(upstream(cl, "b.test:8443", t, sni, NULL), X509_V_OK);
    ck_assert_str_eq(sni, "b.test");
    ck_assert_int_eq(upstream(cl, "x.wild.test", t, NULL, NULL), X509_V_OK);
    /* the wrong name: served a.test's certificate (the default) */
    ck_assert_int_eq(upstream(cl, "wrong.example", t, sni, NULL), X509_V_ERR_HOSTNAME_MISMATCH);
    ck_assert_str_eq(sni, "wrong.example");
    /* an IP literal: no SNI, checked as an address */
    ck_assert_int_eq(upstream(cl, "127.0.0.1", t, sni, NULL), X509_V_ERR_IP_ADDRESS_MISMATCH);
    ck_assert_str_eq(sni, "");
    ck_assert_int_eq(upstream(cl, "[::1]:443", t, sni, NULL), X509_V_ERR_IP_ADDRESS_MISMATCH);
    ck_assert_str_eq(sni, "");
    /* an untrusted server with the right name */
    ck_assert_int_eq(upstream(cl, "a.test", rogue, NULL, NULL),
                     X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    tls_client_free(cl);

    named = tr_client_err("ca_file = \"ca.pem\"; server_name = \"b.test\";", err, sizeof(err));
    ck_assert_msg(named != NULL, "%s", err);
    ck_assert_int_eq(upstream(named, "10.1.2.3", t, sni, NULL), X509_V_OK);
    ck_assert_str_eq(sni, "b.test");
    tls_client_free(named);

    lax = tr_client_err("verify = false;", err, sizeof(err));
    ck_assert_msg(lax != NULL, "%s", err);
    ck_assert_int_eq(upstream(lax, "a.test", rogue, NULL, NULL), X509_V_OK);
    tls_client_free(lax);
    tls_server_free(t);
    tls_server_free(rogue);
}
END_TEST

START_TEST(client_system_cas)
{
    char err[CONFIG_ERRLEN];
    struct tls_server *t = tr_server(SITES);
    struct tls_client *cl = tr_client_err("", err, sizeof(err));

    ck_assert_msg(cl != NULL, "%s", err);
    /* our test CA is not among the system's */
    ck_assert_int_eq(upstream(cl, "a.test", t, NULL, NULL),
                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    tls_client_free(cl);
    tls_server_free(t);
}
END_TEST

START_TEST(client_certificate)
{
    char err[CONFIG_ERRLEN];
    struct tls_server *t = tr_server(SITES);
    struct tls_client *cl = tr_client_err(
        "ca_file = \"ca.pem\"; cert = \"alice.pem\"; key = \"alice.key\";", err, sizeof(err));
    struct tls_client *anon = tr_client_err("ca_file = \"ca.pem\";", err, sizeof(err));

    ck_assert_msg(cl && anon, "%s", err);
    ck_assert_int_eq(upstream(cl, "m.test", t, NULL, NULL), X509_V_OK);
    ck_assert_int_ne(upstream(anon, "m.test", t, NULL, NULL), X509_V_OK);
    tls_client_free(cl);
    tls_client_free(anon);
    tls_server_free(t);
}
END_TEST

START_TEST(client_errors)
{
    static const struct {
        const char *body, *expect;
    } cases[] = {
        {"ca_file = \"nope.pem\";", "t.conf:2: cannot read '"},
        {"ca_file = \"site.key\";", "no CA certificate in '"},
        {"cert = \"alice.pem\";", "needs both 'cert' and 'key'"},
        {"cert = \"alice.pem\"; key = \"other.key\";",
         "/other.key' does not match the certificate"},
        {"protocols = [ \"TLSv2\" ];", "unknown protocol 'TLSv2'"},
        {"verify = \"yes\";", "'verify' must be true or false"},
        {"sni = \"x\";", "unknown setting 'sni'"},
        {"groups = [ \"P-999\" ];", "t.conf:2: unknown key exchange group 'P-999'"},
    };
    char err[CONFIG_ERRLEN];

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tls_client *cl = tr_client_err(cases[i].body, err, sizeof(err));
        ck_assert_msg(cl == NULL, "case %u loaded", i);
        ck_assert_msg(strstr(err, cases[i].expect), "case %u: '%s' lacks '%s'", i, err,
                      cases[i].expect);
    }
}
END_TEST

Suite *tls_session_suite(void)
{
    Suite *s = suite_create("tls_session");
    TCase *tc = tcase_create("tls_session");

    tcase_add_unchecked_fixture(tc, tr_make_certs, tr_remove_certs);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, resume_tickets);
    tcase_add_test(tc, resume_cache);
    tcase_add_test(tc, resume_across_listeners);
    tcase_add_test(tc, ticket_rotation);
    tcase_add_test(tc, ocsp);
    tcase_add_loop_test(tc, load_errors, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, expired_warns);
    tcase_add_test(tc, client_verify);
    tcase_add_test(tc, client_system_cas);
    tcase_add_test(tc, client_certificate);
    tcase_add_test(tc, client_errors);
    suite_add_tcase(s, tc);
    return s;
}
