/* tls_rig.c — the TLS suites' certificates and handshake pair (see
 * tls_rig.h). */
#include "tls_rig.h"

#include "config.h"

#include <check.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

void tr_make_certs(void)
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

void tr_remove_certs(void)
{
    char cmd[96];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "check_tls: could not remove %s\n", dir);
}

const char *tr_path(const char *name)
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
    const char *conf = tr_path("t.conf");
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
struct tls_server *tr_server_err_h2(const char *body, int h2, char *err, size_t errlen)
{
    struct tls_server *t;

    err[0] = '\0';
    t = tls_server_load(fake_cfg(), tls_group(body), h2, err, errlen);
    config_destroy(&cf);
    return t;
}

struct tls_server *tr_server_err(const char *body, char *err, size_t errlen)
{
    return tr_server_err_h2(body, 0, err, errlen);
}

struct tls_server *tr_server_h2(const char *body, int h2)
{
    char err[CONFIG_ERRLEN];
    struct tls_server *t = tr_server_err_h2(body, h2, err, sizeof(err));

    ck_assert_msg(t != NULL, "tls_server_load: %s", err);
    return t;
}

struct tls_server *tr_server(const char *body)
{
    return tr_server_h2(body, 0);
}

struct tls_client *tr_client_err(const char *body, char *err, size_t errlen)
{
    struct tls_client *t;

    err[0] = '\0';
    t = tls_client_load(fake_cfg(), tls_group(body), err, errlen);
    config_destroy(&cf);
    return t;
}

/* ---- handshakes on a socketpair ---- */

SSL_CTX *tr_client_ctx(int max_version)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(SSL_CTX_load_verify_locations(c, tr_path("ca.pem"), NULL), 1);
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
    struct tr_conn *c = arg;

    int tls12 =
        SSL_get_max_proto_version(ssl) != 0 && SSL_get_max_proto_version(ssl) < TLS1_3_VERSION;

    (void)version;
    if (!write_p || content_type != SSL3_RT_HANDSHAKE || len <= 4 || p[0] != SSL3_MT_CLIENT_HELLO)
        return;
    c->hellos++;
    c->offered |= offers_session(p + 4, len - 4, tls12);
}

void tr_conn_open(struct tr_conn *c, struct tls_server *t, SSL *cli)
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
SSL *tr_new_cli(SSL_CTX *ctx, const char *sni, SSL_SESSION *sess)
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
int tr_handshake(struct tr_conn *c)
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
int tr_exchange(struct tr_conn *c)
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
void tr_conn_close(struct tr_conn *c)
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
long tr_served_serial(const struct tr_conn *c)
{
    X509 *x = SSL_get0_peer_certificate(c->cli);

    return x ? ASN1_INTEGER_get(X509_get0_serialNumber(x)) : -1;
}

int tr_last_srv_reason; /* the server's, in the last serial_for */

/* Connects with sni; returns the serial served, or -1 when refused (the
 * client's reason in *reason). */
long tr_serial_for(struct tls_server *t, const char *sni, int *reason)
{
    SSL_CTX *ctx = tr_client_ctx(0);
    struct tr_conn c;
    long serial = -1;

    tr_conn_open(&c, t, tr_new_cli(ctx, sni, NULL));
    if (tr_handshake(&c))
        serial = tr_served_serial(&c);
    if (reason)
        *reason = c.cli_reason;
    tr_last_srv_reason = c.srv_reason;
    tr_conn_close(&c);
    SSL_CTX_free(ctx);
    return serial;
}