/* tls_int.h — what the TLS context files share: tls_ctx.c (the settings
 * and the SSL_CTXs), tls_certs.c (certificate, key and OCSP files),
 * tls_names.c (SNI names to contexts) and tls_tickets.c (session ticket
 * keys).  Not for other modules: tls.h is the public face. */
#ifndef GH_TLS_INT_H
#define GH_TLS_INT_H

#include "tls.h"

#include <openssl/x509.h>

/* Key types a context can hold side by side (OpenSSL keeps one certificate
 * per type and picks by the client's signature algorithms). */
enum { TLS_SLOT_RSA, TLS_SLOT_RSA_PSS, TLS_SLOT_EC, TLS_SLOT_ED25519, TLS_SLOT_ED448, TLS_SLOTS };

#define TLS_NAME_MAX 253 /* longest DNS name, without a trailing dot */

/* One certificates[] entry, loaded; owned by its tls_server (or, for a
 * client certificate, its tls_client). */
struct tls_cert {
    char *cert_path;
    char *key_path;
    X509 *x509;
    STACK_OF(X509) * chain; /* the rest of the cert file, in order */
    EVP_PKEY *pkey;
    int slot;     /* TLS_SLOT_* */
    char **names; /* lower-case; wildcards as "*.example.org" */
    unsigned nnames;
    unsigned char *ocsp; /* DER OCSP response to staple, or NULL */
    size_t ocsp_len;
    int verify;                    /* SSL_VERIFY_* asked of clients on its names */
    char *client_ca;               /* path, or NULL */
    unsigned char auth[32];        /* digest of verify, client_ca and its contents */
    const config_setting_t *where; /* for messages; valid while loading only */
};

/* One SSL_CTX of a listener: the certificates serving one set of names. */
struct tls_site {
    SSL_CTX *ctx;
    int certs[TLS_SLOTS];        /* index into base per key type, or -1 */
    const struct tls_cert *base; /* the listener's certificates */
    int verify;                  /* SSL_VERIFY_* asked of clients */
    unsigned char sid_ctx[32];
};

/* A name and the site serving it. */
struct tls_name {
    char *name; /* exact, or "*.example.org" */
    unsigned site;
};

struct tls_tickets;

/* Protocol versions, from a group's `protocols` list (default TLSv1.2 and
 * TLSv1.3). */
struct tls_protos {
    int min, max;  /* *_VERSION */
    uint64_t gaps; /* SSL_OP_NO_* for versions between min and max left out */
};

/* ---- tls_ctx.c, for tls_client.c ---- */

int tls_parse_protocols(const config_setting_t *g, struct tls_protos *p, char *err, size_t errlen);
/* Applies protocols, the `ciphers` / `ciphersuites` and the key exchange
 * `groups` of group g to ctx (def_ciphers, def_groups when g names none;
 * NULL keeps OpenSSL's), with the modes the core's non-blocking writes
 * need.  Returns 0, or -1 with err (an unknown group is named). */
int tls_apply_common(SSL_CTX *ctx, const config_setting_t *g, const struct tls_protos *p,
                     const char *def_ciphers, const char *def_groups, char *err, size_t errlen);

/* ---- tls_certs.c ---- */

/* Reads a whole file (at most 16 MiB) into a malloc'd buffer with a NUL
 * after it.  Returns 0, or -1 with errno. */
int tls_read_file(const char *path, unsigned char **data, size_t *len);

/* Loads c->cert_path (the certificate then its chain, PEM) and c->key_path
 * (PEM, unencrypted), checks that they belong together, warns through the
 * log about a certificate outside its validity period, and (with names)
 * collects the DNS names it is valid for.  Returns 0, or -1 with
 * "file:line: message" in err naming the file at fault (at c->where). */
int tls_cert_load(struct tls_cert *c, int names, char *err, size_t errlen);

/* Loads a DER OCSP response file into *p (malloc'd): checks that it is a
 * successful response and warns when it is stale.  Returns 0, or -1 with
 * "file:line: message" in err (at where). */
int tls_ocsp_load(const char *path, const config_setting_t *where, unsigned char **p, size_t *len,
                  char *err, size_t errlen);

/* Whether the DER OCSP response p is about certificate c: 1 yes, 0 no, -1
 * cannot tell (c's issuer is not in its chain). */
int tls_ocsp_matches(const struct tls_cert *c, const unsigned char *p, size_t len);

/* A listener-wide `ocsp_response` (file, in group g): stapled for each of
 * certs[0..n) without its own that it is about; -1 with err if none. */
int tls_ocsp_assign(struct tls_cert *certs, unsigned n, const struct gh_config *cfg,
                    const config_setting_t *g, const char *file, char *err, size_t errlen);

/* Frees what c holds (not c itself). */
void tls_cert_clear(struct tls_cert *c);

/* ---- tls_names.c ---- */

/* Groups the names of certs[0..ncerts) into sites: each name goes to the
 * certificates that list it (the first listed per key type), and names
 * served by the same certificates share a site.  Fills *sites (ctx NULL,
 * sid_ctx set) and *names (sorted).  Returns 0, or -1 with err when
 * certificates that share a name disagree on client certificates. */
int tls_names_build(const struct tls_cert *certs, unsigned ncerts, struct tls_site **sites,
                    unsigned *nsites, struct tls_name **names, unsigned *nnames, char *err,
                    size_t errlen);

/* The site for a lower-case server name: an exact name first, then a
 * wildcard covering its first label only.  -1 when none. */
int tls_names_find(const struct tls_name *names, unsigned nnames, const char *name);

/* Reads the host_name out of a ClientHello server_name extension body into
 * dst (lower-cased, without a trailing dot).  Returns 1, 0 when there is no
 * host_name, -1 when the extension is malformed. */
int tls_sni_parse(const unsigned char *p, size_t len, char *dst, size_t cap);

/* ---- tls_tickets.c ---- */

/* Ticket keys derived from a per-process random secret and the epoch
 * (wall-clock seconds / rotation): the current epoch's key issues tickets,
 * it and the previous one are accepted.  Every worker derives the same
 * keys, with no shared mutable state. */
/* fleet_secret (32 bytes, NULL: the process's own random secret) keys the
 * tickets: the fleet's (fleet.h) lets every node resume every other's. */
struct tls_tickets *tls_tickets_new(unsigned rotation_s, const unsigned char *fleet_secret);
void tls_tickets_free(struct tls_tickets *tk);
/* Installs tk's key callback on ctx (tk must outlive ctx's handshakes). */
int tls_tickets_attach(SSL_CTX *ctx, struct tls_tickets *tk);

#endif
