/* tls_certs.c — the files behind a TLS context: a certificate with its
 * chain, its private key, an OCSP response.  Each is read once, checked
 * (a key that does not belong to its certificate, a file that is not what
 * it should be, a certificate outside its validity period) and reported
 * naming the file; the names a certificate is valid for come from here too.
 * Building SSL_CTXs from them is tls_ctx.c's business. */
#include "tls_int.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FILE_MAX (16u << 20)

int tls_read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0, got;
    int rc = -1;

    config_note_reread(path);
    if (!f)
        return -1;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > FILE_MAX + 1) {
                errno = EFBIG;
                goto out;
            }
            buf = xrealloc(buf, cap + 1);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        errno = EIO;
        goto out;
    }
    buf = buf ? buf : xmalloc(1);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

/* A passphrase callback that refuses: an encrypted key fails to load
 * instead of prompting on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    GH_UNUSED(buf);
    GH_UNUSED(size);
    GH_UNUSED(rwflag);
    GH_UNUSED(u);
    return -1;
}

/* A BIO over a whole file, or NULL with err set. */
static BIO *open_pem(const char *path, const config_setting_t *where, char *err, size_t errlen)
{
    unsigned char *data;
    size_t len;
    BIO *b;

    if (tls_read_file(path, &data, &len) < 0) {
        config_error(err, errlen, where, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    b = BIO_new(BIO_s_mem());
    if (!b || BIO_write(b, data, (int)len) != (int)len) {
        config_error(err, errlen, where, "out of memory reading '%s'", path);
        BIO_free(b);
        b = NULL;
    }
    free(data);
    return b;
}

static int load_certs(struct tls_cert *c, char *err, size_t errlen)
{
    BIO *b = open_pem(c->cert_path, c->where, err, errlen);
    X509 *x;
    unsigned long e;

    if (!b)
        return -1;
    c->x509 = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
    if (!c->x509) {
        config_error(err, errlen, c->where, "'%s' holds no PEM certificate", c->cert_path);
        BIO_free(b);
        return -1;
    }
    c->chain = sk_X509_new_null();
    if (!c->chain)
        log_fatal("out of memory");
    while ((x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)))
        if (!sk_X509_push(c->chain, x))
            log_fatal("out of memory");
    e = ERR_peek_last_error();
    BIO_free(b);
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error(); /* the end of the file */
        return 0;
    }
    config_error(err, errlen, c->where, "'%s': certificate %d of the chain is unreadable",
                 c->cert_path, sk_X509_num(c->chain) + 2);
    return -1;
}

static int key_slot(const EVP_PKEY *k)
{
    switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_RSA: return TLS_SLOT_RSA;
    case EVP_PKEY_RSA_PSS: return TLS_SLOT_RSA_PSS;
    case EVP_PKEY_EC: return TLS_SLOT_EC;
    case EVP_PKEY_ED25519: return TLS_SLOT_ED25519;
    case EVP_PKEY_ED448: return TLS_SLOT_ED448;
    default: return -1;
    }
}

static int load_key(struct tls_cert *c, char *err, size_t errlen)
{
    BIO *b = open_pem(c->key_path, c->where, err, errlen);

    if (!b)
        return -1;
    c->pkey = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    BIO_free(b);
    if (!c->pkey) {
        config_error(err, errlen, c->where, "'%s' holds no usable private key (PEM, not encrypted)",
                     c->key_path);
        return -1;
    }
    c->slot = key_slot(c->pkey);
    if (c->slot < 0) {
        config_error(err, errlen, c->where, "'%s': unsupported key type (RSA, ECDSA, Ed25519)",
                     c->key_path);
        return -1;
    }
    if (!X509_check_private_key(c->x509, c->pkey)) {
        config_error(err, errlen, c->where, "'%s' does not match the certificate in '%s'",
                     c->key_path, c->cert_path);
        return -1;
    }
    return 0;
}

/* "2026-11-22 01:59:12 UTC" */
static void fmt_time(const ASN1_TIME *t, char *dst, size_t cap)
{
    struct tm tm;

    if (!ASN1_TIME_to_tm(t, &tm) || !strftime(dst, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
        gh_fmt(dst, cap, "?");
}

/* Warns (and loads anyway) when the certificate is outside its validity. */
static void check_dates(const struct tls_cert *c)
{
    char when[48], msg[CONFIG_ERRLEN];

    if (X509_cmp_current_time(X509_get0_notAfter(c->x509)) < 0) {
        fmt_time(X509_get0_notAfter(c->x509), when, sizeof(when));
        config_error(msg, sizeof(msg), c->where, "certificate '%s' expired on %s (loaded anyway)",
                     c->cert_path, when);
        log_warn("%s", msg);
    } else if (X509_cmp_current_time(X509_get0_notBefore(c->x509)) > 0) {
        fmt_time(X509_get0_notBefore(c->x509), when, sizeof(when));
        config_error(msg, sizeof(msg), c->where,
                     "certificate '%s' is not valid before %s (loaded anyway)", c->cert_path, when);
        log_warn("%s", msg);
    }
}

/* A lower-cased copy of a DNS name from a certificate, or NULL when it is
 * not one a client could ask for by SNI (empty, odd bytes, a wildcard that
 * is not a whole first label). */
static char *dns_name(const unsigned char *p, size_t n)
{
    char *s;

    if (n && p[n - 1] == '.')
        n--;
    if (n == 0 || n > TLS_NAME_MAX)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = p[i];
        if (ch == '*' ? i != 0 || n < 3 || p[1] != '.'
                      : !(isalnum(ch) || ch == '-' || ch == '.' || ch == '_'))
            return NULL;
    }
    s = xstrndup((const char *)p, n);
    for (char *q = s; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    return s;
}

static void add_name(struct tls_cert *c, const unsigned char *p, size_t n)
{
    char *s = dns_name(p, n);

    if (!s) {
        log_warn("certificate '%s': name '%.*s' ignored (not a host name or a *.wildcard)",
                 c->cert_path, (int)GH_MIN(n, 255), (const char *)p);
        return;
    }
    c->names = xrealloc(c->names, (c->nnames + 1) * sizeof(*c->names));
    c->names[c->nnames++] = s;
}

/* subjectAltName DNS entries, else the subject's common name. */
static int collect_names(struct tls_cert *c, char *err, size_t errlen)
{
    GENERAL_NAMES *san = X509_get_ext_d2i(c->x509, NID_subject_alt_name, NULL, NULL);
    const X509_NAME *subj = X509_get_subject_name(c->x509);
    int i;

    for (i = 0; san && i < sk_GENERAL_NAME_num(san); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
        if (g->type == GEN_DNS)
            add_name(c, ASN1_STRING_get0_data(g->d.dNSName),
                     (size_t)ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(san);
    if (c->nnames == 0 && (i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1)) >= 0) {
        unsigned char *cn = NULL;
        int n = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
        if (n > 0)
            add_name(c, cn, (size_t)n);
        OPENSSL_free(cn);
    }
    if (c->nnames == 0) {
        config_error(err, errlen, c->where,
                     "'%s' names no host (no subjectAltName DNS entry, no usable CN)",
                     c->cert_path);
        return -1;
    }
    return 0;
}

int tls_cert_load(struct tls_cert *c, int names, char *err, size_t errlen)
{
    if (load_certs(c, err, errlen) < 0 || load_key(c, err, errlen) < 0 ||
        (names && collect_names(c, err, errlen) < 0)) {
        ERR_clear_error();
        return -1;
    }
    check_dates(c);
    return 0;
}

void tls_cert_clear(struct tls_cert *c)
{
    free(c->cert_path);
    free(c->key_path);
    X509_free(c->x509);
    sk_X509_pop_free(c->chain, X509_free);
    EVP_PKEY_free(c->pkey);
    for (unsigned i = 0; i < c->nnames; i++)
        free(c->names[i]);
    free(c->names);
    free(c->ocsp);
    free(c->client_ca);
    memset(c, 0, sizeof(*c));
}

/* ---- OCSP ---- */

int tls_ocsp_load(const char *path, const config_setting_t *where, unsigned char **p, size_t *len,
                  char *err, size_t errlen)
{
    const unsigned char *q;
    OCSP_RESPONSE *r;
    OCSP_BASICRESP *bs = NULL;
    int rc = -1;

    if (tls_read_file(path, p, len) < 0) {
        config_error(err, errlen, where, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    q = *p;
    r = d2i_OCSP_RESPONSE(NULL, &q, (long)*len);
    if (!r || q != *p + *len) {
        config_error(err, errlen, where, "'%s' is not a DER OCSP response", path);
        goto out;
    }
    if (OCSP_response_status(r) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
        !(bs = OCSP_response_get1_basic(r))) {
        config_error(err, errlen, where, "'%s': the OCSP response is not a successful one", path);
        goto out;
    }
    for (int i = 0; i < OCSP_resp_count(bs); i++) {
        ASN1_GENERALIZEDTIME *next = NULL;
        int status = OCSP_single_get0_status(OCSP_resp_get0(bs, i), NULL, NULL, NULL, &next);
        if (status == V_OCSP_CERTSTATUS_REVOKED)
            log_warn("OCSP response '%s' says the certificate is revoked", path);
        if (next && X509_cmp_current_time(next) < 0)
            log_warn("OCSP response '%s' is stale (next update was due before now)", path);
    }
    rc = 0;
out:
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(r);
    if (rc < 0) {
        free(*p);
        *p = NULL;
        ERR_clear_error();
    }
    return rc;
}

/* The certificate in c's chain that issued c, or NULL. */
static X509 *issuer_of(const struct tls_cert *c)
{
    for (int i = 0; i < sk_X509_num(c->chain); i++)
        if (X509_check_issued(sk_X509_value(c->chain, i), c->x509) == X509_V_OK)
            return sk_X509_value(c->chain, i);
    return NULL;
}

int tls_ocsp_matches(const struct tls_cert *c, const unsigned char *p, size_t len)
{
    X509 *issuer = issuer_of(c);
    OCSP_RESPONSE *r;
    OCSP_BASICRESP *bs;
    int found = 0;

    if (!issuer)
        return -1;
    r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    bs = r ? OCSP_response_get1_basic(r) : NULL;
    for (int i = 0; bs && !found && i < OCSP_resp_count(bs); i++) {
        const OCSP_CERTID *id = OCSP_SINGLERESP_get0_id(OCSP_resp_get0(bs, i));
        ASN1_OBJECT *md = NULL;
        OCSP_CERTID *mine;
        if (!OCSP_id_get0_info(NULL, &md, NULL, NULL, (OCSP_CERTID *)id))
            continue;
        mine = OCSP_cert_to_id(EVP_get_digestbyobj(md), c->x509, issuer);
        found = mine && OCSP_id_cmp(mine, id) == 0;
        OCSP_CERTID_free(mine);
    }
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(r);
    ERR_clear_error();
    return found;
}

int tls_ocsp_assign(struct tls_cert *certs, unsigned n, const struct gh_config *cfg,
                    const config_setting_t *g, const char *file, char *err, size_t errlen)
{
    const config_setting_t *where = config_setting_get_member(g, "ocsp_response");
    char *path = config_path(cfg, file);
    unsigned char *p;
    size_t len;
    int used = 0;

    if (tls_ocsp_load(path, where, &p, &len, err, errlen) < 0) {
        free(path);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        struct tls_cert *c = &certs[i];
        if (!c->ocsp && tls_ocsp_matches(c, p, len) == 1) {
            c->ocsp = xmalloc(len);
            memcpy(c->ocsp, p, len);
            c->ocsp_len = len;
            used = 1;
        }
    }
    if (!used)
        config_error(err, errlen, where,
                     "'%s' is about none of the certificates (each needs its issuer in its "
                     "chain to be matched)",
                     path);
    free(p);
    free(path);
    return used ? 0 : -1;
}
