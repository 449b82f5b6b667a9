/* tls_ctx.c — a listener's TLS contexts, built from its `tls = { ... }`
 * group once per configuration generation, in the main thread.
 *
 * One SSL_CTX per set of names served by the same certificates (a "site",
 * see tls_names.c), holding an RSA and an ECDSA certificate side by side
 * when both are listed, plus a certificate-less front context that every
 * connection starts on: its ClientHello callback reads the SNI, switches
 * the connection to its site (or the default one, or refuses the handshake
 * with unrecognized_name) before session resumption is looked at, so each
 * site's own session id context decides what may resume.  Every context
 * carries the same protocol, cipher, ticket and ALPN settings.
 *
 * A tls_server is reference counted by the SSLs made from it, so a reload
 * may free it while handshakes on the old generation are still running.
 * The upstream (client) side is in tls_client.c. */
#include "tls_int.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Mozilla's "intermediate" TLS 1.2 list without its DHE entries: ECDHE
 * key exchange with AES-GCM or ChaCha20-Poly1305 only. */
#define INTERMEDIATE_CIPHERS                                     \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* Mozilla's "intermediate" key exchange groups.  A client may otherwise
 * pick any group OpenSSL knows, ffdhe8192 among them, whose key exchange
 * costs the server far more than an X25519 one: a cheap way to load it. */
#define INTERMEDIATE_GROUPS "X25519:P-256:P-384"

/* The protocols a listener speaks, as ALPN names them (RFC 7301): h2 only
 * where the listener speaks HTTP/2. */
static const char *const spoken[] = {"h2", "http/1.1", "http/1.0", NULL};

#define DEFAULT_SUBJECT_FIELD "X-Client-Subject"

/* Owned by the listener's configuration generation, then by the last SSL
 * made from it; read-only once loaded, so workers share it freely. */
struct tls_server {
    atomic_int refs; /* the generation's, plus one per SSL */
    SSL_CTX *front;  /* where connections start (no certificate) */
    struct tls_cert *certs;
    unsigned ncerts;
    struct tls_site *sites;
    unsigned nsites;
    struct tls_name *names; /* sorted */
    unsigned nnames;
    int default_site; /* for an unknown or absent SNI; -1: refuse */
    struct tls_tickets *tickets;
    unsigned char *alpn; /* wire format, in preference order */
    unsigned alpn_len;
    char *subject_field; /* NULL when no client certificate is asked for */
    uint32_t handshake_timeout;
};

/* What every context of a listener shares, parsed first. */
struct settings {
    struct tls_protos protos;
    int prefer_server;
    int tickets;
    int cache;
    unsigned rotation; /* seconds */
};

static const char *const server_keys[] = {"certificates",
                                          "default_certificate",
                                          "protocols",
                                          "ciphers",
                                          "ciphersuites",
                                          "prefer_server_ciphers",
                                          "alpn",
                                          "groups",
                                          "session_tickets",
                                          "ticket_rotation",
                                          "session_cache",
                                          "ocsp_response",
                                          "client_ca",
                                          "verify_client",
                                          "client_subject_field",
                                          "handshake_timeout",
                                          NULL};
static const char *const cert_keys[] = {"cert",      "key",           "ocsp_response",
                                        "client_ca", "verify_client", NULL};

static int ssl_index = -1;
static pthread_once_t ssl_index_once = PTHREAD_ONCE_INIT;

static void server_unref(struct tls_server *t);

/* An SSL made by tls_server_ssl is freed: drop its reference. */
static void ssl_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    GH_UNUSED(parent);
    GH_UNUSED(ad);
    GH_UNUSED(idx);
    GH_UNUSED(argl);
    GH_UNUSED(argp);
    if (ptr)
        server_unref(ptr);
}

static void ssl_index_init(void)
{
    ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, ssl_gone);
    if (ssl_index < 0)
        log_fatal("OpenSSL: no ex_data index for TLS listeners");
}

/* ---- settings shared with tls_client.c ---- */

static const struct {
    const char *name;
    int version;
    uint64_t no;
} protocols[] = {
    {"TLSv1", TLS1_VERSION, SSL_OP_NO_TLSv1},
    {"TLSv1.1", TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
    {"TLSv1.2", TLS1_2_VERSION, SSL_OP_NO_TLSv1_2},
    {"TLSv1.3", TLS1_3_VERSION, SSL_OP_NO_TLSv1_3},
};

int tls_parse_protocols(const config_setting_t *g, struct tls_protos *p, char *err, size_t errlen)
{
    const config_setting_t *s = config_setting_get_member(g, "protocols");
    char **names;
    unsigned mask = 0, i, n;
    int lo = -1, hi = -1;

    *p = (struct tls_protos){TLS1_2_VERSION, TLS1_3_VERSION, 0};
    if (config_get_strings(g, "protocols", CONFIG_NONEMPTY, &names, &n, err, errlen) < 0)
        return -1;
    for (unsigned e = 0; e < n; e++) {
        for (i = 0; i < GH_ARRAY_LEN(protocols) && strcmp(names[e], protocols[i].name) != 0; i++)
            ;
        if (i == GH_ARRAY_LEN(protocols)) {
            config_error(err, errlen, s,
                         "unknown protocol '%s' (TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)", names[e]);
            config_strings_free(names);
            return -1;
        }
        mask |= 1u << i;
    }
    config_strings_free(names);
    if (!s)
        return 0;
    for (i = 0; i < GH_ARRAY_LEN(protocols); i++)
        if (mask & (1u << i)) {
            lo = lo < 0 ? (int)i : lo;
            hi = (int)i;
        }
    p->min = protocols[lo].version;
    p->max = protocols[hi].version;
    for (i = (unsigned)lo; i < (unsigned)hi; i++)
        if (!(mask & (1u << i)))
            p->gaps |= protocols[i].no;
    if (lo < 2)
        log_warn("%s:%d: TLSv1 and TLSv1.1 also need ciphers = \"...:@SECLEVEL=0\" with "
                 "OpenSSL 3",
                 config_setting_source_file(s), config_setting_source_line(s));
    return 0;
}

/* The `groups` list of g, checked name by name (so the message names the
 * bad one) and applied to ctx; def (NULL: OpenSSL's list) when absent. */
static int apply_groups(SSL_CTX *ctx, const config_setting_t *g, const char *def, char *err,
                        size_t errlen)
{
    const config_setting_t *s = config_setting_get_member(g, "groups");
    char list[1024], **names;
    size_t n = 0;
    unsigned count;

    if (config_get_strings(g, "groups", CONFIG_NONEMPTY, &names, &count, err, errlen) < 0)
        return -1;
    for (unsigned i = 0; i < count; i++) {
        const char *name = names[i];
        if (strchr(name, ':') || !SSL_CTX_set1_groups_list(ctx, name) ||
            n + strlen(name) + 2 > sizeof(list)) {
            ERR_clear_error();
            config_error(err, errlen, s,
                         "unknown key exchange group '%s' (for example \"X25519\", \"P-256\", "
                         "\"P-384\")",
                         name);
            config_strings_free(names);
            return -1;
        }
        n += gh_fmt(list + n, sizeof(list) - n, "%s%s", n ? ":" : "", name);
    }
    config_strings_free(names);
    if (!s && !def)
        return 0;
    if (!SSL_CTX_set1_groups_list(ctx, s ? list : def))
        log_fatal("OpenSSL: cannot set the key exchange groups %s", s ? list : def);
    return 0;
}

int tls_apply_common(SSL_CTX *ctx, const config_setting_t *g, const struct tls_protos *p,
                     const char *def_ciphers, const char *def_groups, char *err, size_t errlen)
{
    const char *ciphers = def_ciphers, *suites = NULL;

    if (config_get_string(g, "ciphers", &ciphers, err, errlen) < 0 ||
        config_get_string(g, "ciphersuites", &suites, err, errlen) < 0)
        return -1;
    SSL_CTX_set_min_proto_version(ctx, p->min);
    SSL_CTX_set_max_proto_version(ctx, p->max);
    SSL_CTX_set_options(ctx, p->gaps | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* the core writes partially, from buffers that move between attempts */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* Read what the socket holds, not a record header and then its body:
     * one read(2) per request instead of two plus the one that meets
     * EAGAIN.  Safe with edge-triggered epoll because the core clears a TLS
     * socket's readiness only when SSL_read wants more from the socket. */
    SSL_CTX_set_read_ahead(ctx, 1);
    if (ciphers && !SSL_CTX_set_cipher_list(ctx, ciphers)) {
        config_error(err, errlen, config_setting_get_member(g, "ciphers"),
                     "no usable cipher in 'ciphers' (\"%s\")", ciphers);
        ERR_clear_error();
        return -1;
    }
    if (suites && !SSL_CTX_set_ciphersuites(ctx, suites)) {
        config_error(err, errlen, config_setting_get_member(g, "ciphersuites"),
                     "no usable cipher suite in 'ciphersuites' (\"%s\")", suites);
        ERR_clear_error();
        return -1;
    }
    return apply_groups(ctx, g, def_groups, err, errlen);
}

/* ---- callbacks (worker threads; read-only on the tls_server) ---- */

/* Picks the site by SNI before anything else of the ClientHello is acted
 * on, resumption included. */
static int hello_cb(SSL *s, int *al, void *arg)
{
    const struct tls_server *t = arg;
    const unsigned char *p;
    size_t len;
    char name[TLS_NAME_MAX + 1];
    int site = -1;

    if (SSL_client_hello_isv2(s)) {
        *al = SSL_AD_PROTOCOL_VERSION;
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_server_name, &p, &len)) {
        int rc = tls_sni_parse(p, len, name, sizeof(name));
        if (rc < 0) {
            *al = SSL_AD_DECODE_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
        if (rc > 0)
            site = tls_names_find(t->names, t->nnames, name);
    }
    if (site < 0)
        site = t->default_site;
    if (site < 0) {
        /* first in the error queue, for tls_io_handshake's reason */
        ERR_raise(ERR_LIB_SSL, SSL_R_TLSV1_UNRECOGNIZED_NAME);
        *al = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (SSL_get_SSL_CTX(s) != t->front && SSL_get_SSL_CTX(s) != t->sites[site].ctx) {
        *al = SSL_AD_ILLEGAL_PARAMETER; /* a second ClientHello naming another site */
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (!SSL_set_SSL_CTX(s, t->sites[site].ctx)) {
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_set_verify(s, t->sites[site].verify, NULL);
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* The site is chosen already: acknowledge the server_name extension. */
static int servername_cb(SSL *s, int *al, void *arg)
{
    GH_UNUSED(s);
    GH_UNUSED(al);
    GH_UNUSED(arg);
    return SSL_TLSEXT_ERR_OK;
}

/* The first of our protocols the client offers; none in common is fatal
 * (RFC 7301), no ALPN from the client is fine. */
static int alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    const struct tls_server *t = arg;
    unsigned char *sel;

    GH_UNUSED(s);
    if (inlen == 0)
        return SSL_TLSEXT_ERR_NOACK;
    if (SSL_select_next_proto(&sel, outlen, t->alpn, t->alpn_len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* Staples the OCSP response of the certificate OpenSSL chose. */
static int status_cb(SSL *s, void *arg)
{
    const struct tls_site *site = arg;
    X509 *x = SSL_get_certificate(s);

    for (int k = 0; x && k < TLS_SLOTS; k++) {
        const struct tls_cert *c = site->certs[k] >= 0 ? &site->base[site->certs[k]] : NULL;
        if (c && c->ocsp && (c->x509 == x || X509_cmp(c->x509, x) == 0)) {
            unsigned char *copy = OPENSSL_memdup(c->ocsp, c->ocsp_len);
            if (!copy || !SSL_set_tlsext_status_ocsp_resp(s, copy, (long)c->ocsp_len)) {
                OPENSSL_free(copy);
                return SSL_TLSEXT_ERR_NOACK;
            }
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* ---- loading ---- */

/* "off", "optional" or "required" → SSL_VERIFY_*. */
static int parse_verify(const config_setting_t *g, int *mode, char *err, size_t errlen)
{
    const char *v = NULL;

    if (config_get_string(g, "verify_client", &v, err, errlen) < 0)
        return -1;
    if (!v)
        return 0;
    if (strcmp(v, "off") == 0)
        *mode = SSL_VERIFY_NONE;
    else if (strcmp(v, "optional") == 0)
        *mode = SSL_VERIFY_PEER;
    else if (strcmp(v, "required") == 0)
        *mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else {
        config_error(err, errlen, config_setting_get_member(g, "verify_client"),
                     "'verify_client' must be \"off\", \"optional\" or \"required\"");
        return -1;
    }
    return 0;
}

/* c->auth = SHA-256(verify mode, client CA path, its contents). */
static int auth_digest(struct tls_cert *c, char *err, size_t errlen)
{
    unsigned char *ca = NULL;
    size_t calen = 0;
    unsigned char mode = (unsigned char)c->verify;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok;

    if (c->client_ca && tls_read_file(c->client_ca, &ca, &calen) < 0) {
        config_error(err, errlen, c->where, "cannot read '%s': %s", c->client_ca, strerror(errno));
        EVP_MD_CTX_free(md);
        return -1;
    }
    ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, &mode, 1) &&
         (!c->client_ca || EVP_DigestUpdate(md, c->client_ca, strlen(c->client_ca) + 1)) &&
         (!ca || EVP_DigestUpdate(md, ca, calen)) && EVP_DigestFinal_ex(md, c->auth, NULL);
    EVP_MD_CTX_free(md);
    free(ca);
    if (!ok)
        log_fatal("OpenSSL: SHA-256 failed");
    return 0;
}

/* Loads one certificates[] entry into t->certs[t->ncerts++]; def carries
 * the listener's client-certificate settings. */
static int load_cert(struct tls_server *t, const struct gh_config *cfg, const config_setting_t *e,
                     const struct tls_cert *def, char *err, size_t errlen)
{
    struct tls_cert *c = &t->certs[t->ncerts];
    const char *cert = NULL, *key = NULL, *ocsp = NULL, *ca = NULL;

    if (config_check_group(e, err, errlen,
                           "each certificate must be a group { cert = ...; key = ...; }") < 0 ||
        config_check_keys(e, cert_keys, NULL, err, errlen) < 0 ||
        config_get_string(e, "cert", &cert, err, errlen) < 0 ||
        config_get_string(e, "key", &key, err, errlen) < 0 ||
        config_get_string(e, "ocsp_response", &ocsp, err, errlen) < 0 ||
        config_get_string(e, "client_ca", &ca, err, errlen) < 0)
        return -1;
    if (!cert || !key) {
        config_error(err, errlen, e, "a certificate needs both 'cert' and 'key'");
        return -1;
    }
    memset(c, 0, sizeof(*c));
    t->ncerts++; /* from here on, tls_server_free cleans it up */
    c->where = config_setting_get_member(e, "cert");
    c->cert_path = config_path(cfg, cert);
    c->key_path = config_path(cfg, key);
    c->verify = def->verify;
    c->client_ca = ca ? config_path(cfg, ca) : def->client_ca ? xstrdup(def->client_ca) : NULL;
    if (parse_verify(e, &c->verify, err, errlen) < 0 || tls_cert_load(c, 1, err, errlen) < 0)
        return -1;
    if (c->verify && !c->client_ca) {
        config_error(err, errlen, e, "'verify_client' needs 'client_ca', the CAs to trust");
        return -1;
    }
    if (auth_digest(c, err, errlen) < 0)
        return -1;
    if (ocsp) {
        char *path = config_path(cfg, ocsp);
        const config_setting_t *where = config_setting_get_member(e, "ocsp_response");
        int rc = tls_ocsp_load(path, where, &c->ocsp, &c->ocsp_len, err, errlen);
        if (rc == 0 && tls_ocsp_matches(c, c->ocsp, c->ocsp_len) == 0) {
            config_error(err, errlen, where, "'%s' is not an OCSP response for '%s'", path,
                         c->cert_path);
            rc = -1;
        }
        free(path);
        return rc;
    }
    return 0;
}

/* Whether the listener speaks the protocol ALPN calls `name`. */
static int speaks(const char *name, int h2)
{
    for (int i = h2 ? 0 : 1; spoken[i]; i++)
        if (strcmp(spoken[i], name) == 0)
            return 1;
    return 0;
}

/* `alpn`: the protocols offered, in preference order.  Only ones the
 * listener speaks: agreeing on one it does not (h2 where `http2` is off)
 * would leave the client talking a protocol nobody answers.  By default
 * h2 first where the listener speaks it, then http/1.1. */
static int parse_alpn(struct tls_server *t, const config_setting_t *g, int h2, char *err,
                      size_t errlen)
{
    char **names;
    unsigned count;
    size_t n = 0;

    if (config_get_strings(g, "alpn", CONFIG_NONEMPTY, &names, &count, err, errlen) < 0)
        return -1;
    if (!names) {
        static const char both[] = "\x02h2\x08http/1.1";
        t->alpn = (unsigned char *)xstrdup(h2 ? both : both + 3);
        t->alpn_len = h2 ? sizeof(both) - 1 : sizeof(both) - 4;
        return 0;
    }
    t->alpn = xmalloc(256 * (size_t)count);
    for (unsigned i = 0; i < count; i++) {
        const char *p = names[i];
        size_t len = strlen(p);
        if (!speaks(p, h2)) {
            config_error(err, errlen, config_setting_get_member(g, "alpn"),
                         "'alpn': this listener does not speak '%s' (it speaks %shttp/1.1 and "
                         "http/1.0)",
                         p, h2 ? "h2, " : "");
            config_strings_free(names);
            return -1;
        }
        t->alpn[n++] = (unsigned char)len;
        memcpy(t->alpn + n, p, len);
        n += len;
    }
    config_strings_free(names);
    t->alpn_len = (unsigned)n;
    return 0;
}

/* The `settings` and the per-listener fields of t. */
static int parse_settings(struct tls_server *t, const config_setting_t *g, int h2,
                          struct settings *st, char *err, size_t errlen)
{
    uint32_t rot_ms = 3600 * 1000;

    *st = (struct settings){.prefer_server = 1, .tickets = 1, .cache = 1};
    t->handshake_timeout = 10 * 1000;
    if (tls_parse_protocols(g, &st->protos, err, errlen) < 0 ||
        config_get_bool(g, "prefer_server_ciphers", &st->prefer_server, err, errlen) < 0 ||
        config_get_bool(g, "session_tickets", &st->tickets, err, errlen) < 0 ||
        config_get_bool(g, "session_cache", &st->cache, err, errlen) < 0 ||
        config_get_seconds(g, "ticket_rotation", 1, 7 * 86400, &rot_ms, err, errlen) < 0 ||
        config_get_seconds(g, "handshake_timeout", 0.1, 3600, &t->handshake_timeout, err, errlen) <
            0 ||
        parse_alpn(t, g, h2, err, errlen) < 0)
        return -1;
    st->rotation = (rot_ms + 999) / 1000;
    return 0;
}

/* A context with everything but certificates. */
static SSL_CTX *new_ctx(struct tls_server *t, const config_setting_t *g, const struct settings *st,
                        char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (!ctx)
        log_fatal("OpenSSL: cannot create a TLS context");
    if (tls_apply_common(ctx, g, &st->protos, INTERMEDIATE_CIPHERS, INTERMEDIATE_GROUPS, err,
                         errlen) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(
        ctx,
        SSL_OP_IGNORE_UNEXPECTED_EOF |
            (st->prefer_server ? SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA : 0) |
            (st->tickets ? 0 : SSL_OP_NO_TICKET));
    SSL_CTX_set_session_cache_mode(ctx, st->cache ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_OFF);
    /* Neither tickets nor a cache: no TLS 1.3 session can be resumed, so
     * sending the two NewSessionTicket messages OpenSSL sends by default
     * (stateful ones under SSL_OP_NO_TICKET) would only cost a write */
    if (!st->tickets && !st->cache)
        SSL_CTX_set_num_tickets(ctx, 0);
    /* a session lives as long as its ticket key is accepted */
    SSL_CTX_set_timeout(ctx, 2 * (long)st->rotation);
    if (st->tickets && !tls_tickets_attach(ctx, t->tickets))
        log_fatal("OpenSSL: cannot install the session ticket callback");
    SSL_CTX_set_client_hello_cb(ctx, hello_cb, t);
    SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
    if (t->alpn_len)
        SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, t);
    return ctx;
}

/* Adds certificates, session id context and client verification to a
 * site's context. */
static int fill_site(struct tls_site *site, char *err, size_t errlen)
{
    const struct tls_cert *first = NULL;

    SSL_CTX_set_session_id_context(site->ctx, site->sid_ctx, sizeof(site->sid_ctx));
    for (int k = 0; k < TLS_SLOTS; k++) {
        const struct tls_cert *c = site->certs[k] >= 0 ? &site->base[site->certs[k]] : NULL;
        if (!c)
            continue;
        first = first ? first : c;
        if (!SSL_CTX_use_cert_and_key(site->ctx, c->x509, c->pkey, c->chain, 1)) {
            config_error(err, errlen, c->where, "OpenSSL refuses '%s' with '%s': %s", c->cert_path,
                         c->key_path, ERR_reason_error_string(ERR_get_error()));
            ERR_clear_error();
            return -1;
        }
        if (c->ocsp) {
            SSL_CTX_set_tlsext_status_cb(site->ctx, status_cb);
            SSL_CTX_set_tlsext_status_arg(site->ctx, site);
        }
    }
    site->verify = first->verify;
    if (first->verify) {
        STACK_OF(X509_NAME) *cas = SSL_load_client_CA_file(first->client_ca);
        if (!cas || !SSL_CTX_load_verify_locations(site->ctx, first->client_ca, NULL)) {
            config_error(err, errlen, first->where, "no CA certificate in '%s'", first->client_ca);
            sk_X509_NAME_pop_free(cas, X509_NAME_free);
            ERR_clear_error();
            return -1;
        }
        SSL_CTX_set_client_CA_list(site->ctx, cas);
        SSL_CTX_set_verify(site->ctx, first->verify, NULL);
    }
    return 0;
}

/* The site serving the default certificate (its first name's). */
static int default_site(const struct tls_server *t, const struct gh_config *cfg,
                        const config_setting_t *g, const char *file, char *err, size_t errlen)
{
    char *path = config_path(cfg, file);
    unsigned i;

    for (i = 0; i < t->ncerts && strcmp(t->certs[i].cert_path, path) != 0; i++)
        ;
    free(path);
    if (i == t->ncerts) {
        config_error(err, errlen, config_setting_get_member(g, "default_certificate"),
                     "default_certificate '%s' is not one of the certificates listed", file);
        return -2;
    }
    for (unsigned n = 0; n < t->nnames; n++)
        if (strcmp(t->names[n].name, t->certs[i].names[0]) == 0)
            return (int)t->names[n].site;
    return -2; /* not reached: every name of every certificate is in the table */
}

static int load_certs(struct tls_server *t, const struct gh_config *cfg, const config_setting_t *g,
                      char *err, size_t errlen)
{
    config_setting_t *list = config_setting_get_member(g, "certificates");
    const char *ca = NULL, *field = NULL;
    struct tls_cert def = {0};
    int n = list && config_setting_is_list(list) ? config_setting_length(list) : 0;
    int rc = -1;

    if (n <= 0) {
        config_error(err, errlen, list ? list : g,
                     "'certificates' must be a list ( { cert = \"...\"; key = \"...\"; } )");
        return -1;
    }
    if (parse_verify(g, &def.verify, err, errlen) < 0 ||
        config_get_string(g, "client_ca", &ca, err, errlen) < 0 ||
        config_get_string(g, "client_subject_field", &field, err, errlen) < 0)
        return -1;
    if (field && (!*field || strspn(field, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789-_") != strlen(field))) {
        config_error(err, errlen, config_setting_get_member(g, "client_subject_field"),
                     "'client_subject_field' must be a header field name");
        return -1;
    }
    def.client_ca = ca ? config_path(cfg, ca) : NULL;
    t->certs = xcalloc((size_t)n, sizeof(*t->certs));
    for (int i = 0; i < n; i++)
        if (load_cert(t, cfg, config_setting_get_elem(list, (unsigned)i), &def, err, errlen) < 0)
            goto out;
    for (unsigned i = 0; i < t->ncerts; i++)
        if (t->certs[i].verify && !t->subject_field)
            t->subject_field = xstrdup(field ? field : DEFAULT_SUBJECT_FIELD);
    rc = 0;
out:
    free(def.client_ca);
    return rc;
}

struct tls_server *tls_server_load(const struct gh_config *cfg, const config_setting_t *g, int h2,
                                   char *err, size_t errlen)
{
    struct tls_server *t;
    struct settings st;
    const char *def = NULL, *ocsp = NULL;

    if (config_check_group(g, err, errlen, "'tls' must be a group { certificates = ( ... ); }") < 0)
        return NULL;
    if (config_check_keys(g, server_keys, NULL, err, errlen) < 0 ||
        config_get_string(g, "default_certificate", &def, err, errlen) < 0 ||
        config_get_string(g, "ocsp_response", &ocsp, err, errlen) < 0)
        return NULL;
    pthread_once(&ssl_index_once, ssl_index_init);
    t = xcalloc(1, sizeof(*t));
    atomic_init(&t->refs, 1);
    t->default_site = -1;
    if (parse_settings(t, g, h2, &st, err, errlen) < 0 || load_certs(t, cfg, g, err, errlen) < 0 ||
        (ocsp && tls_ocsp_assign(t->certs, t->ncerts, cfg, g, ocsp, err, errlen) < 0) ||
        tls_names_build(t->certs, t->ncerts, &t->sites, &t->nsites, &t->names, &t->nnames, err,
                        errlen) < 0 ||
        (def && (t->default_site = default_site(t, cfg, g, def, err, errlen)) < -1))
        goto fail;
    if (st.tickets)
        t->tickets = tls_tickets_new(st.rotation,
                                     cfg->fleet.ticket_key_file ? cfg->fleet.ticket_secret : NULL);
    if (!(t->front = new_ctx(t, g, &st, err, errlen)))
        goto fail;
    SSL_CTX_set_session_id_context(t->front, (const unsigned char *)"gatehouse-front", 15);
    for (unsigned i = 0; i < t->nsites; i++) {
        struct tls_site *site = &t->sites[i];
        site->base = t->certs;
        if (!(site->ctx = new_ctx(t, g, &st, err, errlen)) || fill_site(site, err, errlen) < 0)
            goto fail;
    }
    return t;
fail:
    ERR_clear_error();
    server_unref(t);
    return NULL;
}

static void server_unref(struct tls_server *t)
{
    if (atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    for (unsigned i = 0; i < t->nsites; i++)
        SSL_CTX_free(t->sites[i].ctx);
    SSL_CTX_free(t->front);
    for (unsigned i = 0; i < t->ncerts; i++)
        tls_cert_clear(&t->certs[i]);
    for (unsigned i = 0; i < t->nnames; i++)
        free(t->names[i].name);
    tls_tickets_free(t->tickets);
    free(t->certs);
    free(t->sites);
    free(t->names);
    free(t->alpn);
    free(t->subject_field);
    free(t);
}

void tls_server_free(struct tls_server *t)
{
    if (t)
        server_unref(t);
}

SSL *tls_server_ssl(struct tls_server *t)
{
    SSL *s = SSL_new(t->front);

    if (!s || !SSL_set_ex_data(s, ssl_index, t)) {
        SSL_free(s);
        ERR_clear_error();
        return NULL;
    }
    atomic_fetch_add(&t->refs, 1);
    SSL_set_accept_state(s);
    return s;
}

const char *tls_server_subject_field(const struct tls_server *t)
{
    return t->subject_field;
}

uint32_t tls_server_handshake_timeout(const struct tls_server *t)
{
    return t->handshake_timeout;
}
