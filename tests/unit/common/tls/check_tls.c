/* check_tls.c — the TLS contexts (tls_ctx.c and friends) through real
 * handshakes in one process (tls_rig.h): settings, SNI and the choice of
 * certificate, protocol versions, ciphers, ALPN, key exchange groups and
 * client certificates.  Resumption, OCSP, load errors and the client side
 * are in check_tls_session.c.  Needs the openssl command. */
#include "suites.h"
#include "tls_rig.h"

#include "config.h"
#include "log.h"
#include "tls_int.h" /* tls_sni_parse, for malformed extensions no client sends */

#include <check.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- settings ---- */

START_TEST(settings)
{
    struct tls_server *t =
        tr_server("certificates = ( { cert = \"other.pem\"; key = \"other.key\"; } );");

    ck_assert_ptr_null(tls_server_subject_field(t)); /* no client certificates asked for */
    ck_assert_uint_eq(tls_server_handshake_timeout(t), 10000);
    tls_server_free(t);
    t = tr_server(SITES "handshake_timeout = 2.5;");
    ck_assert_str_eq(tls_server_subject_field(t), "X-Client-Subject"); /* m.test asks */
    ck_assert_uint_eq(tls_server_handshake_timeout(t), 2500);
    tls_server_free(t);
}
END_TEST

/* ---- SNI ---- */

/* server_name extension bodies: list length, then type, length, name. */
static const struct {
    const char *bytes;
    size_t len;
    int rc;
    const char *name;
} sni_cases[] = {
    /* clang-format off */
    {"\x00\x09\x00\x00\x06" "A.Test", 11, 1, "a.test"},
    {"\x00\x0a\x00\x00\x07" "a.test.", 12, 1, "a.test"},                 /* trailing dot */
    {"\x00\x0c\x01\x00\x02" "xx" "\x00\x00\x04" "b.te", 14, 1, "b.te"}, /* other type first */
    {"\x00\x05\x01\x00\x02" "xx", 7, 0, ""},                              /* no host_name */
    {"\x00\x09\x00\x00\x06" "a.tes", 10, -1, ""},                         /* short */
    {"\x00\x08\x00\x00\x06" "a.test", 11, -1, ""},                        /* list length wrong */
    {"\x00\x09\x00\x00\x07" "a.test", 11, -1, ""},                        /* name overruns */
    {"\x00\x03\x00\x00\x00", 5, -1, ""},                                  /* empty name */
    {"\x00\x06\x00\x00\x03" "a\0b", 8, -1, ""},                            /* NUL inside */
    {"\x00", 1, -1, ""},
    /* clang-format on */
};

START_TEST(sni_parse)
{
    char name[TLS_NAME_MAX + 1] = "";
    int rc = tls_sni_parse((const unsigned char *)sni_cases[_i].bytes, sni_cases[_i].len, name,
                           sizeof(name));

    ck_assert_int_eq(rc, sni_cases[_i].rc);
    if (rc > 0)
        ck_assert_str_eq(name, sni_cases[_i].name);
}
END_TEST

START_TEST(sni_names)
{
    struct tls_server *t = tr_server(SITES);
    int reason = 0;
    long s;

    s = tr_serial_for(t, "a.test", NULL);
    ck_assert_msg(s == 0x1001 || s == 0x1002, "a.test got serial %lx", s);
    s = tr_serial_for(t, "A.Test", NULL);
    ck_assert_msg(s == 0x1001 || s == 0x1002, "A.Test got serial %lx", s);
    s = tr_serial_for(t, "x.wild.test", NULL);
    ck_assert_msg(s == 0x1001 || s == 0x1002, "x.wild.test got serial %lx", s);
    ck_assert_int_eq(tr_serial_for(t, "b.test", NULL), 0x1003);
    ck_assert_int_eq(tr_serial_for(t, "cn.test", NULL), 0x1004); /* CN, no subjectAltName */
    /* a wildcard covers one label only, and not the bare domain */
    ck_assert_int_eq(tr_serial_for(t, "x.y.wild.test", &reason), -1);
    ck_assert_int_eq(reason, SSL_R_TLSV1_UNRECOGNIZED_NAME);
    ck_assert_int_eq(tr_serial_for(t, "wild.test", &reason), -1);
    ck_assert_int_eq(reason, SSL_R_TLSV1_UNRECOGNIZED_NAME);
    /* no default: an unknown or absent name is refused */
    ck_assert_int_eq(tr_serial_for(t, "unknown.test", &reason), -1);
    ck_assert_int_eq(reason, SSL_R_TLSV1_UNRECOGNIZED_NAME);
    ck_assert_int_eq(tr_last_srv_reason, SSL_R_TLSV1_UNRECOGNIZED_NAME); /* for the log */
    ck_assert_int_eq(tr_serial_for(t, NULL, &reason), -1);
    ck_assert_int_eq(reason, SSL_R_TLSV1_UNRECOGNIZED_NAME);
    tls_server_free(t);
}
END_TEST

START_TEST(sni_default)
{
    struct tls_server *t = tr_server(SITES "default_certificate = \"other.pem\";");

    ck_assert_int_eq(tr_serial_for(t, "unknown.test", NULL), 0x1003);
    ck_assert_int_eq(tr_serial_for(t, "x.y.wild.test", NULL), 0x1003);
    ck_assert_int_eq(tr_serial_for(t, NULL, NULL), 0x1003);
    ck_assert_int_eq(tr_serial_for(t, "cn.test", NULL), 0x1004); /* known names keep theirs */
    tls_server_free(t);
}
END_TEST

/* The client's signature algorithms pick between RSA and ECDSA. */
START_TEST(rsa_or_ecdsa)
{
    static const struct {
        const char *sigalgs;
        int max;
        long serial;
        int type;
    } cases[] = {
        {"ECDSA+SHA256", 0, 0x1002, EVP_PKEY_EC},
        {"rsa_pss_rsae_sha256:RSA+SHA256", 0, 0x1001, EVP_PKEY_RSA},
        {"ECDSA+SHA256", TLS1_2_VERSION, 0x1002, EVP_PKEY_EC},
        {"RSA+SHA256", TLS1_2_VERSION, 0x1001, EVP_PKEY_RSA},
    };
    struct tls_server *t = tr_server(SITES);

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SSL_CTX *ctx = tr_client_ctx(cases[i].max);
        struct tr_conn c;
        ck_assert_int_eq(SSL_CTX_set1_sigalgs_list(ctx, cases[i].sigalgs), 1);
        tr_conn_open(&c, t, tr_new_cli(ctx, "x.wild.test", NULL));
        ck_assert_msg(tr_handshake(&c), "case %u: handshake failed (%d/%d)", i, c.cli_reason,
                      c.srv_reason);
        ck_assert_int_eq(tr_served_serial(&c), cases[i].serial);
        ck_assert_int_eq(EVP_PKEY_get_base_id(X509_get0_pubkey(SSL_get0_peer_certificate(c.cli))),
                         cases[i].type);
        ck_assert_int_eq(SSL_get_verify_result(c.cli), X509_V_OK); /* the chain was sent */
        tr_conn_close(&c);
        SSL_CTX_free(ctx);
    }
    tls_server_free(t);
}
END_TEST

/* A HelloRetryRequest brings a second ClientHello through the same
 * callback, on the context it chose the first time. */
START_TEST(hello_retry)
{
    struct tls_server *t = tr_server(SITES);
    SSL_CTX *ctx = tr_client_ctx(0);
    struct tr_conn c;

    /* a key share the server does not take first, then one it does */
    ck_assert_int_eq(SSL_CTX_set1_groups_list(ctx, "P-256:X25519"), 1);
    tr_conn_open(&c, t, tr_new_cli(ctx, "b.test", NULL));
    ck_assert_int_eq(SSL_set1_groups_list(c.srv, "X25519"), 1);
    ck_assert(tr_handshake(&c));
    ck_assert_int_eq(c.hellos, 2);
    ck_assert_int_eq(tr_served_serial(&c), 0x1003);
    tr_conn_close(&c);
    SSL_CTX_free(ctx);
    tls_server_free(t);
}
END_TEST

/* ---- protocols, ciphers, ALPN ---- */

/* Handshake with a client limited to [min, max] and ciphers; returns 1 on
 * success, with the version and cipher negotiated. */
static int try_client(struct tls_server *t, int min, int max, const char *ciphers, int *version,
                      char *cipher, size_t cap, int *reason)
{
    SSL_CTX *ctx = tr_client_ctx(max);
    struct tr_conn c;
    int ok;

    SSL_CTX_set_min_proto_version(ctx, min);
    if (ciphers) {
        SSL_CTX_set_security_level(ctx, 0); /* let the client offer what it is told to */
        ck_assert_int_eq(SSL_CTX_set_cipher_list(ctx, ciphers), 1);
    }
    tr_conn_open(&c, t, tr_new_cli(ctx, "b.test", NULL));
    ok = tr_handshake(&c);
    if (ok && version)
        *version = SSL_version(c.cli);
    if (ok && cipher)
        snprintf(cipher, cap, "%s", SSL_get_cipher_name(c.cli));
    if (reason)
        *reason = c.srv_reason;
    tr_conn_close(&c);
    SSL_CTX_free(ctx);
    return ok;
}

START_TEST(protocol_versions)
{
    struct tls_server *t = tr_server(SITES);
    SSL *s = tls_server_ssl(t);
    int v = 0, reason = 0;

    ck_assert_int_eq(SSL_get_min_proto_version(s), TLS1_2_VERSION);
    SSL_free(s);
    ck_assert(try_client(t, 0, 0, NULL, &v, NULL, 0, NULL));
    ck_assert_int_eq(v, TLS1_3_VERSION);
    ck_assert(try_client(t, 0, TLS1_2_VERSION, NULL, &v, NULL, 0, NULL));
    ck_assert_int_eq(v, TLS1_2_VERSION);
    ck_assert(!try_client(t, TLS1_VERSION, TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0", NULL, NULL, 0,
                          &reason));
    ck_assert_int_eq(reason, SSL_R_UNSUPPORTED_PROTOCOL);
    ck_assert(
        !try_client(t, TLS1_VERSION, TLS1_VERSION, "DEFAULT:@SECLEVEL=0", NULL, NULL, 0, NULL));
    tls_server_free(t);

    t = tr_server(SITES "protocols = [ \"TLSv1.3\" ];");
    ck_assert(!try_client(t, 0, TLS1_2_VERSION, NULL, NULL, NULL, 0, NULL));
    ck_assert(try_client(t, 0, 0, NULL, &v, NULL, 0, NULL));
    ck_assert_int_eq(v, TLS1_3_VERSION);
    tls_server_free(t);
}
END_TEST

START_TEST(weak_ciphers)
{
    struct tls_server *t = tr_server(SITES);
    char cipher[64];
    int reason = 0;

    ck_assert(!try_client(t, 0, TLS1_2_VERSION, "AES128-SHA", NULL, NULL, 0, &reason));
    ck_assert_int_eq(reason, SSL_R_NO_SHARED_CIPHER);
    ck_assert(!try_client(t, 0, TLS1_2_VERSION, "AES128-GCM-SHA256", NULL, NULL, 0, NULL));
    ck_assert(!try_client(t, 0, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA", NULL, NULL, 0, NULL));
    ck_assert(
        !try_client(t, 0, TLS1_2_VERSION, "DES-CBC3-SHA:RC4-SHA:NULL-SHA256", NULL, NULL, 0, NULL));
    /* the same client offering one forward-secret AEAD cipher too gets it */
    ck_assert(try_client(t, 0, TLS1_2_VERSION, "AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256", NULL,
                         cipher, sizeof(cipher), NULL));
    ck_assert_str_eq(cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
    /* server preference: the client's order does not win */
    ck_assert(try_client(t, 0, TLS1_2_VERSION,
                         "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256", NULL,
                         cipher, sizeof(cipher), NULL));
    ck_assert_str_eq(cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
    tls_server_free(t);

    t = tr_server(SITES "prefer_server_ciphers = false;");
    ck_assert(try_client(t, 0, TLS1_2_VERSION,
                         "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256", NULL,
                         cipher, sizeof(cipher), NULL));
    ck_assert_str_eq(cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
    tls_server_free(t);
}
END_TEST

static const char *alpn_with(struct tls_server *t, const char *offer, size_t len, char *out,
                             int *ok)
{
    SSL_CTX *ctx = tr_client_ctx(0);
    struct tr_conn c;
    const unsigned char *sel = NULL;
    unsigned sel_len = 0;

    tr_conn_open(&c, t, tr_new_cli(ctx, "a.test", NULL));
    ck_assert_int_eq(SSL_set_alpn_protos(c.cli, (const unsigned char *)offer, (unsigned)len), 0);
    *ok = tr_handshake(&c);
    SSL_get0_alpn_selected(c.cli, &sel, &sel_len);
    snprintf(out, 32, "%.*s", (int)sel_len, sel ? (const char *)sel : "");
    tr_conn_close(&c);
    SSL_CTX_free(ctx);
    return out;
}

START_TEST(alpn)
{
    struct tls_server *t = tr_server(SITES);
    char buf[32];
    int ok;

    ck_assert_str_eq(alpn_with(t, "\x02h2\x08http/1.1", 12, buf, &ok), "http/1.1");
    ck_assert(ok);
    alpn_with(t, "\x02h2", 3, buf, &ok); /* nothing in common: refused (RFC 7301) */
    ck_assert(!ok);
    tls_server_free(t);

    t = tr_server(SITES "alpn = [ \"http/1.1\" ];");
    ck_assert_str_eq(alpn_with(t, "\x08http/1.1\x02h2", 12, buf, &ok), "http/1.1");
    ck_assert(ok);
    tls_server_free(t);
}
END_TEST

/* A listener that speaks HTTP/2 offers h2 first, http/1.1 to those
 * without it; its `alpn` may name h2, or leave it out. */
START_TEST(alpn_h2)
{
    char err[CONFIG_ERRLEN], buf[32];
    struct tls_server *t = tr_server_h2(SITES, 1);
    int ok;

    ck_assert_str_eq(alpn_with(t, "\x08http/1.1\x02h2", 12, buf, &ok), "h2");
    ck_assert(ok);
    ck_assert_str_eq(alpn_with(t, "\x08http/1.1", 9, buf, &ok), "http/1.1");
    ck_assert(ok);
    ck_assert_str_eq(alpn_with(t, "\x02h2", 3, buf, &ok), "h2");
    ck_assert(ok);
    tls_server_free(t);

    t = tr_server_h2(SITES "alpn = [ \"http/1.1\", \"h2\" ];", 1);
    ck_assert_str_eq(alpn_with(t, "\x02h2\x08http/1.1", 12, buf, &ok), "http/1.1");
    tls_server_free(t);

    t = tr_server_h2(SITES "alpn = [ \"http/1.1\" ];", 1); /* h2 switched off by alpn */
    alpn_with(t, "\x02h2", 3, buf, &ok);
    ck_assert(!ok);
    tls_server_free(t);

    t = tr_server_err_h2(SITES "alpn = [ \"h2\", \"spdy/3\" ];", 1, err, sizeof(err));
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err, "does not speak 'spdy/3' (it speaks h2, http/1.1") != NULL, "%s",
                  err);
}
END_TEST

/* ---- key exchange groups ---- */

/* Handshake with a client that offers only `groups` (an OpenSSL list),
 * at most TLS version max (0: any).  Returns 1 on success, with the group
 * agreed in *nid. */
static int try_groups(struct tls_server *t, const char *groups, int max, int *nid)
{
    SSL_CTX *ctx = tr_client_ctx(max);
    struct tr_conn c;
    int ok;

    ck_assert_int_eq(SSL_CTX_set1_groups_list(ctx, groups), 1);
    /* a.test has an RSA certificate too: a TLS 1.2 client that takes no
     * P-256 cannot take the ECDSA one, whose key is on that curve */
    tr_conn_open(&c, t, tr_new_cli(ctx, "a.test", NULL));
    ok = tr_handshake(&c);
    if (ok && nid)
        *nid = SSL_get_negotiated_group(c.cli);
    tr_conn_close(&c);
    SSL_CTX_free(ctx);
    return ok;
}

/* Mozilla's intermediate groups by default: a client cannot make the
 * server compute an ffdhe8192 (or P-521) key exchange. */
START_TEST(groups_default)
{
    struct tls_server *t = tr_server(SITES);
    int nid = 0;

    ck_assert(try_groups(t, "X25519", 0, &nid));
    ck_assert_int_eq(nid, NID_X25519);
    ck_assert(try_groups(t, "P-256", 0, &nid));
    ck_assert_int_eq(nid, NID_X9_62_prime256v1);
    ck_assert(try_groups(t, "P-384", 0, &nid));
    ck_assert_int_eq(nid, NID_secp384r1);
    ck_assert(try_groups(t, "P-384", TLS1_2_VERSION, &nid));
    ck_assert_int_eq(nid, NID_secp384r1);
    ck_assert(!try_groups(t, "ffdhe8192", 0, NULL));
    ck_assert(!try_groups(t, "ffdhe2048", 0, NULL));
    ck_assert(!try_groups(t, "P-521", 0, NULL));
    ck_assert(!try_groups(t, "X448", 0, NULL));
    ck_assert(!try_groups(t, "P-521", TLS1_2_VERSION, NULL));
    /* a client that offers a costly group first still gets a cheap one */
    ck_assert(try_groups(t, "ffdhe8192:X25519", 0, &nid));
    ck_assert_int_eq(nid, NID_X25519);
    tls_server_free(t);
}
END_TEST

START_TEST(groups_setting)
{
    struct tls_server *t = tr_server(SITES "groups = [ \"P-384\", \"x25519\" ];");
    int nid = 0;

    ck_assert(!try_groups(t, "P-256", 0, NULL));
    ck_assert(try_groups(t, "P-384", 0, &nid));
    ck_assert_int_eq(nid, NID_secp384r1);
    ck_assert(try_groups(t, "X25519", 0, &nid));
    ck_assert_int_eq(nid, NID_X25519);
    tls_server_free(t);
}
END_TEST

/* ---- client certificates ---- */

static SSL_CTX *client_with_cert(const char *name)
{
    SSL_CTX *ctx = tr_client_ctx(0);
    char cert[32], key[32];

    snprintf(cert, sizeof(cert), "%s.pem", name);
    snprintf(key, sizeof(key), "%s.key", name);
    ck_assert_int_eq(SSL_CTX_use_certificate_file(ctx, tr_path(cert), SSL_FILETYPE_PEM), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(ctx, tr_path(key), SSL_FILETYPE_PEM), 1);
    return ctx;
}

/* The server's view of the client's subject, as the core would pass it on. */
static void peer_subject(SSL *s, char *dst, size_t cap)
{
    X509 *x = SSL_get0_peer_certificate(s);
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;

    dst[0] = '\0';
    if (!x || SSL_get_verify_result(s) != X509_V_OK) {
        BIO_free(b);
        return;
    }
    X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
    n = BIO_get_mem_data(b, &data);
    snprintf(dst, cap, "%.*s", (int)n, data);
    BIO_free(b);
}

START_TEST(mtls)
{
    struct tls_server *t = tr_server(SITES);
    SSL_CTX *none = tr_client_ctx(0), *alice = client_with_cert("alice"),
            *mallory = client_with_cert("mallory");
    struct tr_conn c;
    char subject[128];

    ck_assert_str_eq(tls_server_subject_field(t), "X-Client-Subject");
    /* required on m.test: no certificate, no connection */
    tr_conn_open(&c, t, tr_new_cli(none, "m.test", NULL));
    tr_handshake(&c);
    ck_assert(!tr_exchange(&c));
    ck_assert(c.srv_fail);
    ck_assert_int_eq(c.srv_reason, SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE);
    tr_conn_close(&c);
    /* a certificate from another CA neither */
    tr_conn_open(&c, t, tr_new_cli(mallory, "m.test", NULL));
    tr_handshake(&c);
    ck_assert(!tr_exchange(&c));
    ck_assert(c.srv_fail);
    ck_assert_int_eq(c.srv_reason, SSL_R_CERTIFICATE_VERIFY_FAILED);
    tr_conn_close(&c);
    /* a good one: in, with its subject */
    tr_conn_open(&c, t, tr_new_cli(alice, "m.test", NULL));
    ck_assert(tr_handshake(&c));
    ck_assert(tr_exchange(&c));
    peer_subject(c.srv, subject, sizeof(subject));
    ck_assert_str_eq(subject, "CN=alice,O=Example");
    tr_conn_close(&c);
    /* names without client certificates do not ask for one */
    tr_conn_open(&c, t, tr_new_cli(none, "a.test", NULL));
    ck_assert(tr_handshake(&c));
    ck_assert(tr_exchange(&c));
    ck_assert_ptr_null(SSL_get0_peer_certificate(c.srv));
    tr_conn_close(&c);
    SSL_CTX_free(none);
    SSL_CTX_free(alice);
    SSL_CTX_free(mallory);
    tls_server_free(t);
}
END_TEST

START_TEST(mtls_optional)
{
    struct tls_server *t = tr_server(SITES "client_ca = \"ca.pem\"; verify_client = \"optional\";"
                                           "client_subject_field = \"X-Cert\";");
    SSL_CTX *none = tr_client_ctx(0), *alice = client_with_cert("alice");
    struct tr_conn c;
    char subject[128];

    ck_assert_str_eq(tls_server_subject_field(t), "X-Cert");
    tr_conn_open(&c, t, tr_new_cli(none, "b.test", NULL));
    ck_assert(tr_handshake(&c));
    ck_assert(tr_exchange(&c));
    peer_subject(c.srv, subject, sizeof(subject));
    ck_assert_str_eq(subject, "");
    tr_conn_close(&c);
    tr_conn_open(&c, t, tr_new_cli(alice, "b.test", NULL));
    ck_assert(tr_handshake(&c));
    ck_assert(tr_exchange(&c));
    peer_subject(c.srv, subject, sizeof(subject));
    ck_assert_str_eq(subject, "CN=alice,O=Example");
    tr_conn_close(&c);
    SSL_CTX_free(none);
    SSL_CTX_free(alice);
    tls_server_free(t);
}
END_TEST

Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");

    tcase_add_unchecked_fixture(tc, tr_make_certs, tr_remove_certs);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, settings);
    tcase_add_loop_test(tc, sni_parse, 0, (int)(sizeof(sni_cases) / sizeof(sni_cases[0])));
    tcase_add_test(tc, sni_names);
    tcase_add_test(tc, sni_default);
    tcase_add_test(tc, rsa_or_ecdsa);
    tcase_add_test(tc, hello_retry);
    tcase_add_test(tc, protocol_versions);
    tcase_add_test(tc, weak_ciphers);
    tcase_add_test(tc, alpn);
    tcase_add_test(tc, alpn_h2);
    tcase_add_test(tc, groups_default);
    tcase_add_test(tc, groups_setting);
    tcase_add_test(tc, mtls);
    tcase_add_test(tc, mtls_optional);
    suite_add_tcase(s, tc);
    return s;
}
