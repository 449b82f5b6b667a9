/* tls_client.c — a pool's TLS client context: verification against the
 * system CAs or a configured CA file, the server's name checked and sent
 * as SNI (IP literals are checked as addresses and get no SNI), and an
 * optional client certificate.  Built once per configuration generation;
 * each upstream connection only SSL_new()s. */
#include "tls_int.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

/* Owned by the pool's configuration generation; read-only once loaded. */
struct tls_client {
    SSL_CTX *ctx;
    char *server_name; /* checked and sent instead of the host; NULL: the host */
    int verify;
};

static const char *const client_keys[] = {"verify",    "ca_file", "server_name",  "cert", "key",
                                          "protocols", "ciphers", "ciphersuites", "groups", NULL};

static int load_ca(struct tls_client *t, const struct gh_config *cfg, const config_setting_t *g,
                   const char *ca, char *err, size_t errlen)
{
    const config_setting_t *where = config_setting_get_member(g, "ca_file");
    char *path;
    unsigned char *data;
    size_t len;
    int rc = 0;

    if (!ca) {
        if (!SSL_CTX_set_default_verify_paths(t->ctx))
            log_warn("OpenSSL: cannot load the system's CA certificates");
        return 0;
    }
    path = config_path(cfg, ca);
    if (tls_read_file(path, &data, &len) < 0) {
        config_error(err, errlen, where, "cannot read '%s': %s", path, strerror(errno));
        rc = -1;
    } else {
        free(data);
        if (!SSL_CTX_load_verify_locations(t->ctx, path, NULL)) {
            config_error(err, errlen, where, "no CA certificate in '%s'", path);
            rc = -1;
        }
    }
    free(path);
    return rc;
}

static int load_client_cert(struct tls_client *t, const struct gh_config *cfg,
                            const config_setting_t *g, const char *cert, const char *key, char *err,
                            size_t errlen)
{
    struct tls_cert c = {0};
    int rc = -1;

    if (!cert != !key) {
        config_error(err, errlen, g, "a client certificate needs both 'cert' and 'key'");
        return -1;
    }
    if (!cert)
        return 0;
    c.where = config_setting_get_member(g, "cert");
    c.cert_path = config_path(cfg, cert);
    c.key_path = config_path(cfg, key);
    if (tls_cert_load(&c, 0, err, errlen) == 0) {
        if (SSL_CTX_use_cert_and_key(t->ctx, c.x509, c.pkey, c.chain, 1))
            rc = 0;
        else
            config_error(err, errlen, c.where, "OpenSSL refuses '%s' with '%s'", c.cert_path,
                         c.key_path);
    }
    tls_cert_clear(&c); /* the context holds its own references */
    return rc;
}

struct tls_client *tls_client_load(const struct gh_config *cfg, const config_setting_t *g,
                                   char *err, size_t errlen)
{
    struct tls_client *t;
    struct tls_protos p;
    const char *ca = NULL, *name = NULL, *cert = NULL, *key = NULL;
    int verify = 1;

    if (config_check_group(g, err, errlen, "'tls' must be a group { verify = true; ... }") < 0)
        return NULL;
    if (config_check_keys(g, client_keys, NULL, err, errlen) < 0 ||
        config_get_bool(g, "verify", &verify, err, errlen) < 0 ||
        config_get_string(g, "ca_file", &ca, err, errlen) < 0 ||
        config_get_string(g, "server_name", &name, err, errlen) < 0 ||
        config_get_string(g, "cert", &cert, err, errlen) < 0 ||
        config_get_string(g, "key", &key, err, errlen) < 0 ||
        tls_parse_protocols(g, &p, err, errlen) < 0)
        return NULL;
    if (name && (!*name || strlen(name) > TLS_NAME_MAX)) {
        config_error(err, errlen, config_setting_get_member(g, "server_name"),
                     "'server_name' must be a host name or an IP address");
        return NULL;
    }
    t = xcalloc(1, sizeof(*t));
    t->verify = verify;
    t->server_name = name ? xstrdup(name) : NULL;
    if (!(t->ctx = SSL_CTX_new(TLS_client_method())))
        log_fatal("OpenSSL: cannot create a TLS context");
    if (tls_apply_common(t->ctx, g, &p, NULL, NULL, err, errlen) < 0 ||
        (verify && load_ca(t, cfg, g, ca, err, errlen) < 0) ||
        load_client_cert(t, cfg, g, cert, key, err, errlen) < 0) {
        ERR_clear_error();
        tls_client_free(t);
        return NULL;
    }
    /* origins that close without close_notify end a close-delimited body
     * as plain HTTP would */
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(t->ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_alpn_protos(t->ctx, (const unsigned char *)"\x08http/1.1", 9);
    return t;
}

void tls_client_free(struct tls_client *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t->server_name);
    free(t);
}

/* The bare host of "name", "name:port", "1.2.3.4:port", "[v6]" or
 * "[v6]:port"; *ip says whether it is an address literal. */
static void bare_host(const char *host, char *dst, size_t cap, int *ip)
{
    const char *end = NULL, *colon = strchr(host, ':');
    unsigned char addr[16];

    if (host[0] == '[' && (end = strchr(host, ']')))
        host++;
    else if (colon && !strchr(colon + 1, ':'))
        end = colon; /* a single colon: a port after a name or IPv4 address */
    else
        end = host + strlen(host);
    gh_fmt(dst, cap, "%.*s", (int)(end - host), host);
    *ip = inet_pton(AF_INET, dst, addr) == 1 || inet_pton(AF_INET6, dst, addr) == 1;
}

SSL *tls_client_ssl(struct tls_client *t, const char *host)
{
    char name[TLS_NAME_MAX + 1];
    int ip, ok = 1;
    SSL *s = SSL_new(t->ctx);

    if (!s)
        goto fail;
    bare_host(t->server_name ? t->server_name : host ? host : "", name, sizeof(name), &ip);
    if (!ip && name[0])
        ok = SSL_set_tlsext_host_name(s, name);
    if (ok && t->verify) {
        if (ip) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), name);
        } else {
            SSL_set_hostflags(s, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = name[0] && SSL_set1_host(s, name);
        }
    }
    if (!ok)
        goto fail;
    SSL_set_connect_state(s);
    return s;
fail:
    SSL_free(s);
    ERR_clear_error();
    return NULL;
}
