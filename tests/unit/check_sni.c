/* check_sni.c — the server name read from real ClientHellos made by OpenSSL,
 * fed whole and cut short, and from bytes that are not TLS. */
#include "sni.h"
#include "suites.h"

#include <openssl/ssl.h>
#include <string.h>

/* Makes a ClientHello as OpenSSL's client sends it (name NULL: no SNI). */
static size_t client_hello(const char *name, unsigned char *out, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    int n;

    SSL_set_bio(ssl, rb, wb);
    if (name)
        SSL_set_tlsext_host_name(ssl, name);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl); /* wants to read: the hello is in wb */
    n = BIO_read(wb, out, (int)cap);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return n > 0 ? (size_t)n : 0;
}

START_TEST(finds_the_name)
{
    unsigned char hello[4096];
    size_t len = client_hello("www.example.test", hello, sizeof(hello));
    const char *name;
    size_t nl;

    ck_assert_uint_gt(len, 100);
    ck_assert_int_eq(sni_parse(hello, len, &name, &nl), SNI_FOUND);
    ck_assert_uint_eq(nl, 16);
    ck_assert_int_eq(memcmp(name, "www.example.test", nl), 0);
    /* every prefix asks for more */
    for (size_t k = 0; k < len; k++)
        ck_assert_int_eq(sni_parse(hello, k, &name, &nl), SNI_PARTIAL);
}
END_TEST

START_TEST(no_name_no_tls)
{
    unsigned char hello[4096];
    size_t len = client_hello(NULL, hello, sizeof(hello));
    const char *name;
    size_t nl;

    ck_assert_int_eq(sni_parse(hello, len, &name, &nl), SNI_NONE);
    ck_assert_int_eq(sni_parse((const unsigned char *)"GET / HTTP/1.1\r\n", 16, &name, &nl), SNI_NONE);
    ck_assert_int_eq(sni_parse((const unsigned char *)"SSH-2.0-x\r\n", 11, &name, &nl), SNI_NONE);
}
END_TEST

START_TEST(malformed)
{
    unsigned char hello[4096];
    size_t len = client_hello("a.example", hello, sizeof(hello));
    const char *name;
    size_t nl;

    /* an extensions length running past the record */
    unsigned char bad[4096];
    memcpy(bad, hello, len);
    bad[3] = 0x40, bad[4] = 0x01; /* record longer than 16384 */
    ck_assert_int_eq(sni_parse(bad, len, &name, &nl), SNI_BAD);
    memcpy(bad, hello, len);
    bad[5 + 4 + 2 + 32] = 0xff; /* session id longer than the hello */
    ck_assert_int_eq(sni_parse(bad, len, &name, &nl), SNI_BAD);
}
END_TEST

Suite *sni_suite(void)
{
    Suite *s = suite_create("sni");
    TCase *tc = tcase_create("clienthello");

    tcase_add_test(tc, finds_the_name);
    tcase_add_test(tc, no_name_no_tls);
    tcase_add_test(tc, malformed);
    suite_add_tcase(s, tc);
    return s;
}
