/* check_tls.c — the TLS contexts (tls_ctx.c and friends) through real
 * handshakes in one process: a server SSL from tls_server_ssl and a client
 * SSL on a non-blocking socketpair, stepped in turn.  Every certificate is
 * made at run time with the openssl command (a CA and an intermediate, an
 * RSA and an ECDSA certificate for a.test and *.wild.test, others for
 * b.test, a CN-only name, a site asking for client certificates, an
 * expired one, a client, and a rogue CA), so no key is ever committed.
 * Run from anywhere; needs the openssl command. */
#include "suites.h"

#include "config.h"
#include "log.h"
#include "tls.h"
#include "tls_int.h" /* tls_sni_parse, for malformed extensions no client sends */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

/* Certificates: name, key, serial, signer, subject, subjectAltName, days. */
static const char gen_script[] =
    "set -e\n"
    "EC='ec -pkeyopt ec_paramgen_curve:P-256'\n"
    "leaf() {\n"
    "  openssl req -new -newkey $2 -nodes -keyout $1.key -subj \"$5\" ${6:+-addext "
    "\"subjectAltName=$6\"} |\n"
    "  openssl x509 -req -CA $4.pem -CAkey $4.key -set_serial $3 -days $7 -copy_extensions copy "
    "-out $1.pem\n"
    "}\n"
    "openssl req -x509 -newkey $EC -nodes -keyout ca.key -out ca.pem -days 30 -subj '/CN=Test CA'\n"
    "openssl req -x509 -newkey $EC -nodes -keyout int.key -out int.pem -days 30 "
    "-subj '/CN=Test Intermediate' -CA ca.pem -CAkey ca.key -set_serial 2\n"
    "openssl req -x509 -newkey $EC -nodes -keyout rogue.key -out rogue.pem -days 30 "
    "-subj '/CN=a.test' -addext 'subjectAltName=DNS:a.test'\n"
    "leaf site rsa:2048 0x1001 int /CN=a.test 'DNS:a.test,DNS:*.wild.test' 30\n"
    "leaf site-ecdsa \"$EC\" 0x1002 int /CN=a.test 'DNS:a.test,DNS:*.wild.test' 30\n"
    "cat int.pem >> site.pem; cat int.pem >> site-ecdsa.pem\n"
    "leaf other \"$EC\" 0x1003 ca /CN=b.test DNS:b.test 30\n"
    "leaf cn \"$EC\" 0x1004 ca /CN=cn.test '' 30\n"
    "leaf mtls \"$EC\" 0x1005 ca /CN=m.test DNS:m.test 30\n"
    "leaf old \"$EC\" 0x1006 ca /CN=old.test DNS:old.test -1\n"
    "leaf alice \"$EC\" 0x2001 ca '/O=Example/CN=alice' '' 30\n"
    "leaf mallory \"$EC\" 0x2002 rogue '/CN=mallory' '' 30\n"
    "printf 'V\\t%s\\t\\t1001\\tunknown\\t/CN=a.test\\n' "
    "\"$(date -u -d '+30 days' +%y%m%d%H%M%SZ)\" > index.txt\n"
    "openssl ocsp -issuer int.pem -cert site.pem -reqout site.req -no_nonce\n"
    "openssl ocsp -index index.txt -rsigner int.pem -rkey int.key -CA int.pem -reqin site.req "
    "-respout site.ocsp -ndays 1\n";

static void make_certs(void)
{
    char script[128], cmd[160];
    FILE *f;

    snprintf(dir, sizeof(dir), "/tmp/gh-tls-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        abort();
    }
    snprintf(script, sizeof(script), "%s/gen.sh", dir);
    f = fopen(script, "w");
    if (!f || fputs(gen_script, f) < 0 || fclose(f) != 0) {
        perror(script);
        abort();
    }
    snprintf(cmd, sizeof(cmd), "cd %s && sh ./gen.sh > gen.log 2>&1", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "check_tls: generating certificates failed, see %s/gen.log\n", dir);
        abort();
    }
}

static void remove_certs(void)
{
    char cmd[96];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "check_tls: could not remove %s\n", dir);
}

static const char *path(const char *name)
{
    static char p[4][128];
    static int i;

    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
    return p[i];
}

/* ---- loading from configuration text ---- */

static config_t cf;

/* Parses "tls = { body };" from a file in the certificates' directory. */
static const config_setting_t *tls_group(const char *body)
{
    const char *conf = path("t.conf");
    FILE *f = fopen(conf, "w");

    ck_assert_ptr_nonnull(f);
    fprintf(f, "tls = {\n%s\n};\n", body);
    fclose(f);
    config_init(&cf);
    ck_assert_msg(config_read_file(&cf, conf), "%s:%d: %s", conf, config_error_line(&cf),
                  config_error_text(&cf));
    return config_lookup(&cf, "tls");
}

static struct gh_config *fake_cfg(void)
{
    static struct gh_config c;

    c.dir = dir;
    return &c;
}

/* A listener's TLS from body; `h2`: the listener speaks HTTP/2. */
static struct tls_server *server_err_h2(const char *body, int h2, char *err, size_t errlen)
{
    struct tls_server *t;

    err[0] = '\0';
    t = tls_server_load(fake_cfg(), tls_group(body), h2, err, errlen);
    config_destroy(&cf);
    return t;
}

static struct tls_server *server_err(const char *body, char *err, size_t errlen)
{
    return server_err_h2(body, 0, err, errlen);
}

static struct tls_server *server_h2(const char *body, int h2)
{
    char err[CONFIG_ERRLEN];
    struct tls_server *t = server_err_h2(body, h2, err, sizeof(err));

    ck_assert_msg(t != NULL, "tls_server_load: %s", err);
    return t;
}

static struct tls_server *server(const char *body)
{
    return server_h2(body, 0);
}

static struct tls_client *client_err(const char *body, char *err, size_t errlen)
{
    struct tls_client *t;

    err[0] = '\0';
    t = tls_client_load(fake_cfg(), tls_group(body), err, errlen);
    config_destroy(&cf);
    return t;
}

#define SITES                                                                               \
    "certificates = ( { cert = \"site.pem\"; key = \"site.key\"; },\n"                      \
    "                 { cert = \"site-ecdsa.pem\"; key = \"site-ecdsa.key\"; },\n"          \
    "                 { cert = \"other.pem\"; key = \"other.key\"; },\n"                    \
    "                 { cert = \"cn.pem\"; key = \"cn.key\"; },\n"                          \
    "                 { cert = \"mtls.pem\"; key = \"mtls.key\"; client_ca = \"ca.pem\";\n" \
    "                   verify_client = \"required\"; } );\n"

/* ---- handshakes on a socketpair ---- */

struct conn {
    SSL *srv, *cli;
    int fds[2];
    int srv_done, cli_done, srv_fail, cli_fail;
    int srv_reason, cli_reason; /* of the first error each side saw */
    int offered;                /* the ClientHello offered a session */
    int hellos;                 /* ClientHellos sent (2 after a HelloRetryRequest) */
};

static SSL_CTX *client_ctx(int max_version)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(SSL_CTX_load_verify_locations(c, path("ca.pem"), NULL), 1);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    if (max_version)
        SSL_CTX_set_max_proto_version(c, max_version);
    return c;
}

/* Whether a ClientHello (handshake body p[0..n)) offers to resume: a
 * pre_shared_key or a non-empty session ticket, or (TLS 1.2 clients only,
 * which send no compatibility id) a session id. */
static int offers_session(const unsigned char *p, size_t n, int tls12)
{
    size_t i = 2 + 32, l;

    if (n < i + 1)
        return 0;
    if (tls12 && p[i] > 0)
        return 1;
    i += 1 + p[i];
    if (i + 2 > n)
        return 0;
    i += 2 + ((size_t)p[i] << 8 | p[i + 1]);
    if (i + 1 > n)
        return 0;
    i += 1 + p[i];
    for (i += 2; i + 4 <= n; i += 4 + l) {
        unsigned type = (unsigned)p[i] << 8 | p[i + 1];
        l = (size_t)p[i + 2] << 8 | p[i + 3];
        if (type == 41 || (type == 35 && l > 0))
            return 1;
    }
    return 0;
}

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg)
{
    const unsigned char *p = buf;
    struct conn *c = arg;

    int tls12 =
        SSL_get_max_proto_version(ssl) != 0 && SSL_get_max_proto_version(ssl) < TLS1_3_VERSION;

    (void)version;
    if (!write_p || content_type != SSL3_RT_HANDSHAKE || len <= 4 || p[0] != SSL3_MT_CLIENT_HELLO)
        return;
    c->hellos++;
    c->offered |= offers_session(p + 4, len - 4, tls12);
}

static void conn_open(struct conn *c, struct tls_server *t, SSL *cli)
{
    memset(c, 0, sizeof(*c));
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, c->fds), 0);
    c->srv = tls_server_ssl(t);
    ck_assert_ptr_nonnull(c->srv);
    c->cli = cli;
    ck_assert_ptr_nonnull(c->cli);
    SSL_set_fd(c->srv, c->fds[0]);
    SSL_set_fd(c->cli, c->fds[1]);
    SSL_set_msg_callback(c->cli, msg_cb);
    SSL_set_msg_callback_arg(c->cli, c);
}

/* A client SSL from ctx with SNI `sni` (NULL: none), offering sess. */
static SSL *new_cli(SSL_CTX *ctx, const char *sni, SSL_SESSION *sess)
{
    SSL *s = SSL_new(ctx);

    ck_assert_ptr_nonnull(s);
    SSL_set_connect_state(s);
    if (sni)
        SSL_set_tlsext_host_name(s, sni);
    if (sess)
        ck_assert_int_eq(SSL_set_session(s, sess), 1);
    return s;
}

static void step(SSL *s, int *done, int *fail, int *reason)
{
    int rc, e;

    if (*done || *fail)
        return;
    rc = SSL_do_handshake(s);
    if (rc == 1) {
        *done = 1;
        return;
    }
    e = SSL_get_error(s, rc);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        *fail = 1;
        *reason = ERR_GET_REASON(ERR_peek_error());
    }
    ERR_clear_error();
}

/* Runs both handshakes; 1 when both completed.  After a failure the other
 * side gets a few more turns to read the alert. */
static int handshake(struct conn *c)
{
    for (int i = 0; i < 100 && !(c->srv_done && c->cli_done); i++) {
        step(c->cli, &c->cli_done, &c->cli_fail, &c->cli_reason);
        step(c->srv, &c->srv_done, &c->srv_fail, &c->srv_reason);
        if (c->srv_fail || c->cli_fail) {
            for (int j = 0; j < 3; j++) {
                step(c->cli, &c->cli_done, &c->cli_fail, &c->cli_reason);
                step(c->srv, &c->srv_done, &c->srv_fail, &c->srv_reason);
            }
            break;
        }
    }
    return c->srv_done && c->cli_done;
}

/* After the handshake: the server says "ok" and the client reads it (and
 * with it any session tickets).  Returns 1 if the client read "ok". */
static int exchange(struct conn *c)
{
    char buf[8];
    int n = -1;

    if (SSL_write(c->srv, "ok", 2) != 2)
        return 0;
    for (int i = 0; i < 10 && n <= 0; i++) {
        n = SSL_read(c->cli, buf, sizeof(buf));
        if (n <= 0 && SSL_get_error(c->cli, n) != SSL_ERROR_WANT_READ) {
            c->cli_reason = ERR_GET_REASON(ERR_peek_error());
            break;
        }
        SSL_read(c->srv, buf, 0); /* lets the server answer anything pending */
    }
    ERR_clear_error();
    return n == 2 && memcmp(buf, "ok", 2) == 0;
}

/* A clean close: without close_notify OpenSSL marks the session as not
 * resumable (and drops it from the server's cache). */
static void conn_close(struct conn *c)
{
    if (SSL_is_init_finished(c->cli))
        SSL_shutdown(c->cli);
    if (SSL_is_init_finished(c->srv))
        SSL_shutdown(c->srv);
    ERR_clear_error();
    SSL_free(c->srv);
    SSL_free(c->cli);
    close(c->fds[0]);
    close(c->fds[1]);
}

/* The serial of the certificate the client was shown, or -1. */
static long served_serial(const struct conn *c)
{
    X509 *x = SSL_get0_peer_certificate(c->cli);

    return x ? ASN1_INTEGER_get(X509_get0_serialNumber(x)) : -1;
}

static int last_srv_reason; /* the server's, in the last serial_for */

/* Connects with sni; returns the serial served, or -1 when refused (the
 * client's reason in *reason). */
static long serial_for(struct tls_server *t, const char *sni, int *reason)
{
    SSL_CTX *ctx = client_ctx(0);
    struct conn c;
    long serial = -1;

    conn_open(&c, t, new_cli(ctx, sni, NULL));
    if (handshake(&c))
        serial = served_serial(&c);
    if (reason)
        *reason = c.cli_reason;
    last_srv_reason = c.srv_reason;
    conn_close(&c);
    SSL_CTX_free(ctx);
    return serial;
}

/* ---- settings ---- */

START_TEST(settings)
{
    struct tls_server *t =
        server("certificates = ( { cert = \"other.pem\"; key = \"other.key\"; } );");

    ck_assert_ptr_null(tls_server_subject_field(t)); /* no client certificates asked for */
    ck_assert_uint_eq(tls_server_handshake_timeout(t), 10000);
    tls_server_free(t);
    t = server(SITES "handshake_timeout = 2.5;");
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
    struct tls_server *t = server(SITES);
    int reason = 0;
    long s;

    s = serial_for(t, "a.test", NULL);
    ck_assert_msg(s == 0x1001 || s == 0x1002, "a.test got serial %lx", s);
    s = serial_for(t, "A.Test", NULL);
    ck_assert_msg(s == 0x1001 || s == 0x1002, "A.Test got serial %lx", s);
    s = serial_for(t, "x.wild.test", NULL);
    ck_assert_msg(s == 0x1001 || s == 0x1002, "x.wild.test got serial %lx", s);
    ck_assert_int_eq(serial_for(t, "b.test", NULL), 0x1003);
    ck_assert_int_eq(serial_for(t, "cn.test", NULL), 0x1004); /* CN, no subjectAltName */
    /* a wildcard covers one label only, and not the bare domain */
    ck_assert_int_eq(serial_for(t, "x.y.wild.test", &reason), -1);
    ck_assert_int_eq(reason, SSL_R_TLSV1_UNRECOGNIZED_NAME);
    ck_assert_int_eq(serial_for(t, "wild.test", &reason), -1);
    ck_assert_int_eq(reason, SSL_R_TLSV1_UNRECOGNIZED_NAME);
    /* no default: an unknown or absent name is refused */
    ck_assert_int_eq(serial_for(t, "unknown.test", &reason), -1);
    ck_assert_int_eq(reason, SSL_R_TLSV1_UNRECOGNIZED_NAME);
    ck_assert_int_eq(last_srv_reason, SSL_R_TLSV1_UNRECOGNIZED_NAME); /* for the log */
    ck_assert_int_eq(serial_for(t, NULL, &reason), -1);
    ck_assert_int_eq(reason, SSL_R_TLSV1_UNRECOGNIZED_NAME);
    tls_server_free(t);
}
END_TEST

START_TEST(sni_default)
{
    struct tls_server *t = server(SITES "default_certificate = \"other.pem\";");

    ck_assert_int_eq(serial_for(t, "unknown.test", NULL), 0x1003);
    ck_assert_int_eq(serial_for(t, "x.y.wild.test", NULL), 0x1003);
    ck_assert_int_eq(serial_for(t, NULL, NULL), 0x1003);
    ck_assert_int_eq(serial_for(t, "cn.test", NULL), 0x1004); /* known names keep theirs */
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
    struct tls_server *t = server(SITES);

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SSL_CTX *ctx = client_ctx(cases[i].max);
        struct conn c;
        ck_assert_int_eq(SSL_CTX_set1_sigalgs_list(ctx, cases[i].sigalgs), 1);
        conn_open(&c, t, new_cli(ctx, "x.wild.test", NULL));
        ck_assert_msg(handshake(&c), "case %u: handshake failed (%d/%d)", i, c.cli_reason,
                      c.srv_reason);
        ck_assert_int_eq(served_serial(&c), cases[i].serial);
        ck_assert_int_eq(EVP_PKEY_get_base_id(X509_get0_pubkey(SSL_get0_peer_certificate(c.cli))),
                         cases[i].type);
        ck_assert_int_eq(SSL_get_verify_result(c.cli), X509_V_OK); /* the chain was sent */
        conn_close(&c);
        SSL_CTX_free(ctx);
    }
    tls_server_free(t);
}
END_TEST

/* A HelloRetryRequest brings a second ClientHello through the same
 * callback, on the context it chose the first time. */
START_TEST(hello_retry)
{
    struct tls_server *t = server(SITES);
    SSL_CTX *ctx = client_ctx(0);
    struct conn c;

    /* a key share the server does not take first, then one it does */
    ck_assert_int_eq(SSL_CTX_set1_groups_list(ctx, "P-256:X25519"), 1);
    conn_open(&c, t, new_cli(ctx, "b.test", NULL));
    ck_assert_int_eq(SSL_set1_groups_list(c.srv, "X25519"), 1);
    ck_assert(handshake(&c));
    ck_assert_int_eq(c.hellos, 2);
    ck_assert_int_eq(served_serial(&c), 0x1003);
    conn_close(&c);
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
    SSL_CTX *ctx = client_ctx(max);
    struct conn c;
    int ok;

    SSL_CTX_set_min_proto_version(ctx, min);
    if (ciphers) {
        SSL_CTX_set_security_level(ctx, 0); /* let the client offer what it is told to */
        ck_assert_int_eq(SSL_CTX_set_cipher_list(ctx, ciphers), 1);
    }
    conn_open(&c, t, new_cli(ctx, "b.test", NULL));
    ok = handshake(&c);
    if (ok && version)
        *version = SSL_version(c.cli);
    if (ok && cipher)
        snprintf(cipher, cap, "%s", SSL_get_cipher_name(c.cli));
    if (reason)
        *reason = c.srv_reason;
    conn_close(&c);
    SSL_CTX_free(ctx);
    return ok;
}

START_TEST(protocol_versions)
{
    struct tls_server *t = server(SITES);
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

    t = server(SITES "protocols = [ \"TLSv1.3\" ];");
    ck_assert(!try_client(t, 0, TLS1_2_VERSION, NULL, NULL, NULL, 0, NULL));
    ck_assert(try_client(t, 0, 0, NULL, &v, NULL, 0, NULL));
    ck_assert_int_eq(v, TLS1_3_VERSION);
    tls_server_free(t);
}
END_TEST

START_TEST(weak_ciphers)
{
    struct tls_server *t = server(SITES);
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

    t = server(SITES "prefer_server_ciphers = false;");
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
    SSL_CTX *ctx = client_ctx(0);
    struct conn c;
    const unsigned char *sel = NULL;
    unsigned sel_len = 0;

    conn_open(&c, t, new_cli(ctx, "a.test", NULL));
    ck_assert_int_eq(SSL_set_alpn_protos(c.cli, (const unsigned char *)offer, (unsigned)len), 0);
    *ok = handshake(&c);
    SSL_get0_alpn_selected(c.cli, &sel, &sel_len);
    snprintf(out, 32, "%.*s", (int)sel_len, sel ? (const char *)sel : "");
    conn_close(&c);
    SSL_CTX_free(ctx);
    return out;
}

START_TEST(alpn)
{
    struct tls_server *t = server(SITES);
    char buf[32];
    int ok;

    ck_assert_str_eq(alpn_with(t, "\x02h2\x08http/1.1", 12, buf, &ok), "http/1.1");
    ck_assert(ok);
    alpn_with(t, "\x02h2", 3, buf, &ok); /* nothing in common: refused (RFC 7301) */
    ck_assert(!ok);
    tls_server_free(t);

    t = server(SITES "alpn = [ \"http/1.1\" ];");
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
    struct tls_server *t = server_h2(SITES, 1);
    int ok;

    ck_assert_str_eq(alpn_with(t, "\x08http/1.1\x02h2", 12, buf, &ok), "h2");
    ck_assert(ok);
    ck_assert_str_eq(alpn_with(t, "\x08http/1.1", 9, buf, &ok), "http/1.1");
    ck_assert(ok);
    ck_assert_str_eq(alpn_with(t, "\x02h2", 3, buf, &ok), "h2");
    ck_assert(ok);
    tls_server_free(t);

    t = server_h2(SITES "alpn = [ \"http/1.1\", \"h2\" ];", 1);
    ck_assert_str_eq(alpn_with(t, "\x02h2\x08http/1.1", 12, buf, &ok), "http/1.1");
    tls_server_free(t);

    t = server_h2(SITES "alpn = [ \"http/1.1\" ];", 1); /* h2 switched off by alpn */
    alpn_with(t, "\x02h2", 3, buf, &ok);
    ck_assert(!ok);
    tls_server_free(t);

    t = server_err_h2(SITES "alpn = [ \"h2\", \"spdy/3\" ];", 1, err, sizeof(err));
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err, "does not speak 'spdy/3' (it speaks h2, http/1.1") != NULL, "%s", err);
}
END_TEST

/* ---- key exchange groups ---- */

/* Handshake with a client that offers only `groups` (an OpenSSL list),
 * at most TLS version max (0: any).  Returns 1 on success, with the group
 * agreed in *nid. */
static int try_groups(struct tls_server *t, const char *groups, int max, int *nid)
{
    SSL_CTX *ctx = client_ctx(max);
    struct conn c;
    int ok;

    ck_assert_int_eq(SSL_CTX_set1_groups_list(ctx, groups), 1);
    /* a.test has an RSA certificate too: a TLS 1.2 client that takes no
     * P-256 cannot take the ECDSA one, whose key is on that curve */
    conn_open(&c, t, new_cli(ctx, "a.test", NULL));
    ok = handshake(&c);
    if (ok && nid)
        *nid = SSL_get_negotiated_group(c.cli);
    conn_close(&c);
    SSL_CTX_free(ctx);
    return ok;
}

/* Mozilla's intermediate groups by default: a client cannot make the
 * server compute an ffdhe8192 (or P-521) key exchange. */
START_TEST(groups_default)
{
    struct tls_server *t = server(SITES);
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
    struct tls_server *t = server(SITES "groups = [ \"P-384\", \"x25519\" ];");
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
    SSL_CTX *ctx = client_ctx(0);
    char cert[32], key[32];

    snprintf(cert, sizeof(cert), "%s.pem", name);
    snprintf(key, sizeof(key), "%s.key", name);
    ck_assert_int_eq(SSL_CTX_use_certificate_file(ctx, path(cert), SSL_FILETYPE_PEM), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(ctx, path(key), SSL_FILETYPE_PEM), 1);
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
    struct tls_server *t = server(SITES);
    SSL_CTX *none = client_ctx(0), *alice = client_with_cert("alice"),
            *mallory = client_with_cert("mallory");
    struct conn c;
    char subject[128];

    ck_assert_str_eq(tls_server_subject_field(t), "X-Client-Subject");
    /* required on m.test: no certificate, no connection */
    conn_open(&c, t, new_cli(none, "m.test", NULL));
    handshake(&c);
    ck_assert(!exchange(&c));
    ck_assert(c.srv_fail);
    ck_assert_int_eq(c.srv_reason, SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE);
    conn_close(&c);
    /* a certificate from another CA neither */
    conn_open(&c, t, new_cli(mallory, "m.test", NULL));
    handshake(&c);
    ck_assert(!exchange(&c));
    ck_assert(c.srv_fail);
    ck_assert_int_eq(c.srv_reason, SSL_R_CERTIFICATE_VERIFY_FAILED);
    conn_close(&c);
    /* a good one: in, with its subject */
    conn_open(&c, t, new_cli(alice, "m.test", NULL));
    ck_assert(handshake(&c));
    ck_assert(exchange(&c));
    peer_subject(c.srv, subject, sizeof(subject));
    ck_assert_str_eq(subject, "CN=alice,O=Example");
    conn_close(&c);
    /* names without client certificates do not ask for one */
    conn_open(&c, t, new_cli(none, "a.test", NULL));
    ck_assert(handshake(&c));
    ck_assert(exchange(&c));
    ck_assert_ptr_null(SSL_get0_peer_certificate(c.srv));
    conn_close(&c);
    SSL_CTX_free(none);
    SSL_CTX_free(alice);
    SSL_CTX_free(mallory);
    tls_server_free(t);
}
END_TEST

START_TEST(mtls_optional)
{
    struct tls_server *t = server(SITES "client_ca = \"ca.pem\"; verify_client = \"optional\";"
                                        "client_subject_field = \"X-Cert\";");
    SSL_CTX *none = client_ctx(0), *alice = client_with_cert("alice");
    struct conn c;
    char subject[128];

    ck_assert_str_eq(tls_server_subject_field(t), "X-Cert");
    conn_open(&c, t, new_cli(none, "b.test", NULL));
    ck_assert(handshake(&c));
    ck_assert(exchange(&c));
    peer_subject(c.srv, subject, sizeof(subject));
    ck_assert_str_eq(subject, "");
    conn_close(&c);
    conn_open(&c, t, new_cli(alice, "b.test", NULL));
    ck_assert(handshake(&c));
    ck_assert(exchange(&c));
    peer_subject(c.srv, subject, sizeof(subject));
    ck_assert_str_eq(subject, "CN=alice,O=Example");
    conn_close(&c);
    SSL_CTX_free(none);
    SSL_CTX_free(alice);
    tls_server_free(t);
}
END_TEST

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
    struct conn c;
    struct attempt a;

    conn_open(&c, t, new_cli(ctx, sni, sess));
    a.ok = handshake(&c) && exchange(&c);
    a.reused = a.ok && SSL_session_reused(c.srv);
    a.offered = c.offered;
    if (out)
        *out = a.ok ? SSL_get1_session(c.cli) : NULL;
    conn_close(&c);
    return a;
}

/* A session for sni resumes there, not on another name, not on a name
 * asking for client certificates. */
static void check_resumption(struct tls_server *t, int max)
{
    SSL_CTX *ctx = client_ctx(max);
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
    struct tls_server *t = server(SITES "session_cache = false;");

    check_resumption(t, 0);
    check_resumption(t, TLS1_2_VERSION);
    tls_server_free(t);
}
END_TEST

START_TEST(resume_cache)
{
    struct tls_server *t = server(SITES "session_tickets = false;");

    check_resumption(t, 0);
    check_resumption(t, TLS1_2_VERSION);
    tls_server_free(t);
}
END_TEST

/* Another listener, or the same one reloaded: the same names and settings
 * resume, the same names asking for client certificates do not. */
START_TEST(resume_across_listeners)
{
    struct tls_server *t1 = server(SITES), *t2 = server(SITES);
    struct tls_server *t3 = server(SITES "client_ca = \"ca.pem\"; verify_client = \"required\";");
    SSL_CTX *ctx = client_ctx(0);
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
    struct tls_server *t = server(SITES "session_cache = false; ticket_rotation = 1;");
    SSL_CTX *ctx = client_ctx(0);
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
    SSL_CTX *ctx = client_ctx(0);
    struct conn c;
    const unsigned char *resp = NULL;
    long len;

    ck_assert_int_eq(SSL_CTX_set1_sigalgs_list(ctx, sigalgs), 1);
    conn_open(&c, t, new_cli(ctx, "a.test", NULL));
    SSL_set_tlsext_status_type(c.cli, TLSEXT_STATUSTYPE_ocsp);
    ck_assert(handshake(&c));
    len = SSL_get_tlsext_status_ocsp_resp(c.cli, &resp);
    conn_close(&c);
    SSL_CTX_free(ctx);
    return resp ? len : -1;
}

START_TEST(ocsp)
{
    struct tls_server *t = server(SITES "ocsp_response = \"site.ocsp\";");
    FILE *f = fopen(path("site.ocsp"), "rb");
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
    struct tls_server *t = server_err(bad[_i].body, err, sizeof(err));

    ck_assert_msg(t == NULL, "case %d loaded", _i);
    for (int k = 0; k < 2; k++)
        ck_assert_msg(strstr(err, bad[_i].expect[k]), "case %d: '%s' lacks '%s'", _i, err,
                      bad[_i].expect[k]);
}
END_TEST

START_TEST(expired_warns)
{
    char err[CONFIG_ERRLEN], logbuf[4096];
    const char *logfile = path("warn.log");
    struct tls_server *t;
    SSL_CTX *ctx;
    struct conn c;
    FILE *f;
    size_t n;

    ck_assert_int_eq(log_configure(logfile, "off", LOG_WARN, err, sizeof(err)), 0);
    t = server("certificates = ( { cert = \"old.pem\"; key = \"old.key\"; } );");
    log_configure("stderr", "off", LOG_WARN, err, sizeof(err));
    f = fopen(logfile, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(logbuf, 1, sizeof(logbuf) - 1, f);
    logbuf[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(logbuf, "t.conf:2: certificate '") && strstr(logbuf, "/old.pem' expired"),
                  "log: %s", logbuf);
    /* served all the same (to a client that does not check) */
    ctx = client_ctx(0);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    conn_open(&c, t, new_cli(ctx, "old.test", NULL));
    ck_assert(handshake(&c));
    ck_assert_int_eq(served_serial(&c), 0x1006);
    ck_assert_int_eq(SSL_get_verify_result(c.cli), X509_V_ERR_CERT_HAS_EXPIRED);
    conn_close(&c);
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
    struct conn c;
    long v = -1;
    const char *name;

    conn_open(&c, t, tls_client_ssl(cl, host));
    if (handshake(&c) && exchange(&c))
        v = X509_V_OK;
    else if (SSL_get_verify_result(c.cli) != X509_V_OK)
        v = SSL_get_verify_result(c.cli);
    name = SSL_get_servername(c.srv, TLSEXT_NAMETYPE_host_name);
    if (sni)
        snprintf(sni, 64, "%s", name ? name : "");
    if (serial)
        *serial = served_serial(&c);
    conn_close(&c);
    return v;
}

START_TEST(client_verify)
{
    char err[CONFIG_ERRLEN], sni[64];
    struct tls_server *t = server(SITES "default_certificate = \"site.pem\";");
    struct tls_server *rogue =
        server("certificates = ( { cert = \"rogue.pem\"; key = \"rogue.key\"; } );");
    struct tls_client *cl = client_err("ca_file = \"ca.pem\";", err, sizeof(err));
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

    named = client_err("ca_file = \"ca.pem\"; server_name = \"b.test\";", err, sizeof(err));
    ck_assert_msg(named != NULL, "%s", err);
    ck_assert_int_eq(upstream(named, "10.1.2.3", t, sni, NULL), X509_V_OK);
    ck_assert_str_eq(sni, "b.test");
    tls_client_free(named);

    lax = client_err("verify = false;", err, sizeof(err));
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
    struct tls_server *t = server(SITES);
    struct tls_client *cl = client_err("", err, sizeof(err));

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
    struct tls_server *t = server(SITES);
    struct tls_client *cl = client_err(
        "ca_file = \"ca.pem\"; cert = \"alice.pem\"; key = \"alice.key\";", err, sizeof(err));
    struct tls_client *anon = client_err("ca_file = \"ca.pem\";", err, sizeof(err));

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
        struct tls_client *cl = client_err(cases[i].body, err, sizeof(err));
        ck_assert_msg(cl == NULL, "case %u loaded", i);
        ck_assert_msg(strstr(err, cases[i].expect), "case %u: '%s' lacks '%s'", i, err,
                      cases[i].expect);
    }
}
END_TEST

Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");

    tcase_add_unchecked_fixture(tc, make_certs, remove_certs);
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
