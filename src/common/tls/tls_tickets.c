/* tls_tickets.c — session ticket keys that rotate on a schedule and that
 * every worker agrees on without sharing anything mutable.
 *
 * A random secret is drawn once per process; the keys of epoch e (wall-clock
 * seconds / rotation) are HMAC-SHA256(secret, label | rotation | e) for the
 * key name, the AES-256-CBC key and the HMAC key.  Tickets are issued under
 * the current epoch and accepted under it and the previous one (those get a
 * fresh ticket), so a ticket lives between one and two rotations.  Reloads
 * keep the secret, so tickets survive them.  A fleet's nodes share one
 * secret instead (fleet.ticket_key_file, derived by fleet.c), so a ticket
 * one node issued resumes on any other.  Algorithms are fetched when a
 * listener is loaded, never per handshake. */
#include "tls_int.h"
#include "log.h"
#include "util.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tls_tickets {
    uint64_t rotation; /* seconds */
    EVP_CIPHER *aes;   /* AES-256-CBC */
    EVP_MAC_CTX *hmac; /* HMAC-SHA256 keyed with the secret: duplicated per use */
};

static unsigned char secret[32];
static int ex_index = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
    if (RAND_priv_bytes(secret, sizeof(secret)) != 1)
        log_fatal("OpenSSL: no randomness for the session ticket secret");
    ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (ex_index < 0)
        log_fatal("OpenSSL: no ex_data index for session tickets");
}

struct tls_tickets *tls_tickets_new(unsigned rotation_s, const unsigned char *fleet_secret)
{
    struct tls_tickets *tk = xcalloc(1, sizeof(*tk));
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};

    pthread_once(&once, init_once);
    tk->rotation = rotation_s ? rotation_s : 1;
    tk->aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    tk->hmac = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (!tk->aes || !tk->hmac ||
        !EVP_MAC_init(tk->hmac, fleet_secret ? fleet_secret : secret, sizeof(secret), params))
        log_fatal("OpenSSL: AES-256-CBC or HMAC-SHA256 unavailable for session tickets");
    return tk;
}

void tls_tickets_free(struct tls_tickets *tk)
{
    if (!tk)
        return;
    EVP_CIPHER_free(tk->aes);
    EVP_MAC_CTX_free(tk->hmac);
    free(tk);
}

/* out = HMAC(secret, label | rotation | epoch), 32 bytes. */
static int derive(const struct tls_tickets *tk, const char *label, uint64_t epoch,
                  unsigned char out[32])
{
    unsigned char msg[16];
    EVP_MAC_CTX *m = EVP_MAC_CTX_dup(tk->hmac);
    size_t outl = 0;
    int ok;

    for (int i = 0; i < 8; i++) {
        msg[i] = (unsigned char)(tk->rotation >> (56 - 8 * i));
        msg[8 + i] = (unsigned char)(epoch >> (56 - 8 * i));
    }
    ok = m && EVP_MAC_update(m, (const unsigned char *)label, strlen(label) + 1) &&
         EVP_MAC_update(m, msg, sizeof(msg)) && EVP_MAC_final(m, out, &outl, 32) && outl == 32;
    EVP_MAC_CTX_free(m);
    return ok;
}

/* Keys up the ticket cipher and MAC for epoch. */
static int use_epoch(const struct tls_tickets *tk, uint64_t epoch, unsigned char *iv,
                     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    unsigned char aes[32], hmac[32];
    OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, hmac, 32),
                           OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    int ok = derive(tk, "aes", epoch, aes) && derive(tk, "hmac", epoch, hmac) &&
             (enc ? EVP_EncryptInit_ex2(cctx, tk->aes, aes, iv, NULL)
                  : EVP_DecryptInit_ex2(cctx, tk->aes, aes, iv, NULL)) &&
             EVP_MAC_CTX_set_params(hctx, params);

    OPENSSL_cleanse(aes, sizeof(aes));
    OPENSSL_cleanse(hmac, sizeof(hmac));
    return ok;
}

/* OpenSSL's ticket key callback.  Issuing: 1, or -1 on failure.  Accepting:
 * 1 (current epoch), 2 (previous epoch: accept and issue a fresh ticket), 0
 * (unknown key: a full handshake), -1 on failure. */
static int key_cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                  EVP_MAC_CTX *hctx, int enc)
{
    const struct tls_tickets *tk = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), ex_index);
    uint64_t epoch;
    unsigned char name[32];

    if (!tk)
        return -1;
    epoch = (uint64_t)time(NULL) / tk->rotation;
    if (enc) {
        if (!derive(tk, "name", epoch, name) ||
            RAND_bytes(iv, EVP_CIPHER_get_iv_length(tk->aes)) != 1)
            return -1;
        memcpy(key_name, name, 16);
        return use_epoch(tk, epoch, iv, cctx, hctx, 1) ? 1 : -1;
    }
    for (uint64_t age = 0; age < 2 && age <= epoch; age++) {
        if (!derive(tk, "name", epoch - age, name))
            return -1;
        if (CRYPTO_memcmp(name, key_name, 16) == 0)
            return use_epoch(tk, epoch - age, iv, cctx, hctx, 0) ? (int)age + 1 : -1;
    }
    return 0;
}

int tls_tickets_attach(SSL_CTX *ctx, struct tls_tickets *tk)
{
    return SSL_CTX_set_ex_data(ctx, ex_index, tk) &&
           SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, key_cb);
}
