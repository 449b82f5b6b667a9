/* tls_rig.h — what the TLS unit suites share: certificates made at run
 * time with the openssl command (a CA and an intermediate, RSA and ECDSA
 * certificates for a.test and *.wild.test, others for b.test, a CN-only
 * name, a site asking for client certificates, an expired one, a client
 * and a rogue CA), listeners' TLS loaded from configuration text, and
 * handshakes between a server SSL and a client SSL on a non-blocking
 * socketpair, stepped in turn in one process. */
#ifndef GH_TESTS_TLS_RIG_H
#define GH_TESTS_TLS_RIG_H

#include "tls.h"

#include <openssl/ssl.h>
#include <stddef.h>

/* Five certificates for one listener: a.test (RSA and ECDSA), b.test,
 * cn.test and m.test (asks for client certificates). */
#define SITES                                                                               \
    "certificates = ( { cert = \"site.pem\"; key = \"site.key\"; },\n"                      \
    "                 { cert = \"site-ecdsa.pem\"; key = \"site-ecdsa.key\"; },\n"          \
    "                 { cert = \"other.pem\"; key = \"other.key\"; },\n"                    \
    "                 { cert = \"cn.pem\"; key = \"cn.key\"; },\n"                          \
    "                 { cert = \"mtls.pem\"; key = \"mtls.key\"; client_ca = \"ca.pem\";\n" \
    "                   verify_client = \"required\"; } );\n"

struct tr_conn {
    SSL *srv, *cli;
    int fds[2];
    int srv_done, cli_done, srv_fail, cli_fail;
    int srv_reason, cli_reason; /* of the first error each side saw */
    int offered;                /* the ClientHello offered a session */
    int hellos;                 /* ClientHellos sent (2 after a HelloRetryRequest) */
};

/* The unchecked fixture: makes the certificates in a new directory, and
 * removes it. Both abort or complain on stderr when they cannot. */
void tr_make_certs(void);
void tr_remove_certs(void);
/* name inside the certificates' directory (four results stay valid). */
const char *tr_path(const char *name);

/* A listener's TLS from "tls = { body };"; `h2`: it speaks HTTP/2. The
 * _err forms return NULL with the error in err; the others assert. */
struct tls_server *tr_server_err_h2(const char *body, int h2, char *err, size_t errlen);
struct tls_server *tr_server_err(const char *body, char *err, size_t errlen);
struct tls_server *tr_server_h2(const char *body, int h2);
struct tls_server *tr_server(const char *body);
/* A pool's client TLS from body, or NULL with err. */
struct tls_client *tr_client_err(const char *body, char *err, size_t errlen);

/* A client context trusting the test CA, at most max_version (0: any). */
SSL_CTX *tr_client_ctx(int max_version);
/* A client SSL from ctx with SNI `sni` (NULL: none), offering sess. */
SSL *tr_new_cli(SSL_CTX *ctx, const char *sni, SSL_SESSION *sess);
/* Pairs a server SSL from t with cli over a new socketpair. */
void tr_conn_open(struct tr_conn *c, struct tls_server *t, SSL *cli);
/* Runs both handshakes; 1 when both completed. */
int tr_handshake(struct tr_conn *c);
/* The server says "ok"; 1 if the client read it (and any tickets). */
int tr_exchange(struct tr_conn *c);
/* Shuts both sides down cleanly and frees them. */
void tr_conn_close(struct tr_conn *c);
/* The serial of the certificate the client was shown, or -1. */
long tr_served_serial(const struct tr_conn *c);
/* Connects with sni; the serial served, or -1 when refused (the client's
 * reason in *reason, the server's in tr_last_srv_reason). */
long tr_serial_for(struct tls_server *t, const char *sni, int *reason);
extern int tr_last_srv_reason;

#endif
