/* tls_io.c — per-connection TLS I/O (see tls.h).
 *
 * A table indexed by descriptor holds the SSL of each socket that carries
 * TLS.  A descriptor belongs to one worker at a time and only that worker
 * touches its slot, so the table needs no lock; it is sized once, at
 * start-up, for the process's descriptor limit (untouched pages cost no
 * memory).
 *
 * OpenSSL's non-blocking contract maps onto the core's edge-triggered one:
 * WANT_READ and WANT_WRITE become EAGAIN, and a read that returns data
 * leaves the caller's readiness flag set, so bytes OpenSSL has decrypted
 * but not yet handed over are always asked for again. */
#include "tls.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static SSL **by_fd;
static unsigned nfds;

void tls_io_init(unsigned max_fds)
{
    if (by_fd)
        return;
    nfds = max_fds ? max_fds : 1024;
    by_fd = xcalloc(nfds, sizeof(*by_fd));
}

SSL *tls_io_ssl(int fd)
{
    return fd >= 0 && (unsigned)fd < nfds ? by_fd[fd] : NULL;
}

void tls_io_attach(int fd, SSL *ssl)
{
    if (fd < 0 || (unsigned)fd >= nfds) {
        log_error("descriptor %d beyond the TLS table (%u)", fd, nfds);
        SSL_free(ssl);
        return;
    }
    SSL_set_fd(ssl, fd);
    by_fd[fd] = ssl;
}

int tls_io_close_notify(int fd)
{
    SSL *ssl = tls_io_ssl(fd);
    int rc;

    if (!ssl || !SSL_is_init_finished(ssl))
        return GH_OK;
    /* Sent already, and not waiting in OpenSSL for the socket: a second
     * SSL_shutdown would only try to read the peer's close_notify. */
    if ((SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) && !SSL_want_write(ssl))
        return GH_OK;
    errno = 0;
    rc = SSL_shutdown(ssl); /* 0: ours went, the peer's not yet read (we do not wait) */
    if (rc >= 0)
        return GH_OK;
    switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_WRITE:
        return GH_AGAIN;
    case SSL_ERROR_WANT_READ:
        return GH_OK; /* ours went; OpenSSL moved on to read the peer's */
    default:
        ERR_clear_error();
        return GH_ERROR;
    }
}

void tls_io_detach(int fd)
{
    SSL *ssl = tls_io_ssl(fd);

    if (!ssl)
        return;
    tls_io_close_notify(fd); /* best effort: the socket is closed next */
    SSL_free(ssl);
    by_fd[fd] = NULL;
    ERR_clear_error();
}

/* Turns an SSL_* result into the read/send convention. */
static ssize_t result(SSL *ssl, int rc)
{
    int e;

    if (rc > 0)
        return rc;
    e = SSL_get_error(ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0; /* close_notify: the end of the stream */
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (rc == 0 || errno == 0)
            return 0; /* EOF without close_notify: treated like a plain EOF */
        return -1;
    default:
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
}

ssize_t io_read(int fd, void *p, size_t n)
{
    SSL *ssl = tls_io_ssl(fd);

    if (!ssl) {
        /* recv(2) skips the file layer's checks that read(2) makes on
         * every call (bench/results/findings.md); read(2) for what is not a
         * socket. */
        ssize_t r = recv(fd, p, n, 0);
        return r < 0 && errno == ENOTSOCK ? read(fd, p, n) : r;
    }
    if (n > INT32_MAX)
        n = INT32_MAX;
    errno = 0;
    return result(ssl, SSL_read(ssl, p, (int)n));
}

ssize_t io_write(int fd, const void *p, size_t n)
{
    SSL *ssl = tls_io_ssl(fd);

    if (!ssl)
        return send(fd, p, n, MSG_NOSIGNAL);
    if (n == 0)
        return 0;
    if (n > INT32_MAX)
        n = INT32_MAX;
    errno = 0;
    return result(ssl, SSL_write(ssl, p, (int)n));
}

ssize_t io_writev(int fd, const struct iovec *iov, int n)
{
    SSL *ssl = tls_io_ssl(fd);

    if (!ssl) {
        struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
        return sendmsg(fd, &m, MSG_NOSIGNAL);
    }
    /* Several pieces (a response head and its body, a chunk and its
     * framing) go as one record of up to 16 KB: one SSL_write and one
     * send, where a record per piece made two of each.  A retry after
     * WANT_WRITE always brings the same leading bytes and never fewer
     * (callers consume only what was written), so what is staged then
     * starts with the record OpenSSL holds, as it requires (the buffer may
     * move: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER). */
    static __thread char stage[16384]; /* one record's plaintext */
    size_t all = 0;

    if (n == 1)
        return io_write(fd, iov[0].iov_base, iov[0].iov_len);
    for (int i = 0; i < n && all < sizeof(stage); i++) {
        size_t k = GH_MIN(iov[i].iov_len, sizeof(stage) - all);
        memcpy(stage + all, iov[i].iov_base, k);
        all += k;
    }
    return io_write(fd, stage, all);
}

/* A handshake failure's reason in words, or NULL for one we do not name. */
static const char *handshake_reason(int reason)
{
    switch (reason) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return "TLS certificate verification failed";
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        return "TLS protocol version refused";
    case SSL_R_NO_SHARED_CIPHER:
        return "no shared TLS cipher";
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return "TLS client certificate required";
    case SSL_R_TLSV1_UNRECOGNIZED_NAME:
        return "no certificate for this name";
    case SSL_R_HTTP_REQUEST:
        return "plain HTTP sent to a TLS port";
    default:
        return NULL;
    }
}

int tls_io_handshake(int fd, int *want_write, const char **why)
{
    SSL *ssl = tls_io_ssl(fd);
    int rc, e;
    unsigned long err;

    *want_write = 0;
    if (!ssl) {
        *why = "no TLS on this connection";
        return GH_ERROR;
    }
    errno = 0;
    rc = SSL_do_handshake(ssl);
    if (rc == 1)
        return GH_OK;
    e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_WANT_READ)
        return GH_AGAIN;
    if (e == SSL_ERROR_WANT_WRITE) {
        *want_write = 1;
        return GH_AGAIN;
    }
    if (e == SSL_ERROR_SYSCALL && !ERR_peek_error()) {
        *why = "connection closed during the TLS handshake";
        return GH_ERROR;
    }
    *why = "TLS handshake failed";
    /* the queue holds the cause and what it caused: name the first we know */
    while ((err = ERR_get_error()) != 0) {
        const char *known = handshake_reason(ERR_GET_REASON(err));
        if (known) {
            *why = known;
            break;
        }
    }
    ERR_clear_error();
    return GH_ERROR;
}

int tls_io_alpn_is(int fd, const char *proto)
{
    SSL *ssl = tls_io_ssl(fd);
    const unsigned char *p;
    unsigned len;

    if (!ssl)
        return 0;
    SSL_get0_alpn_selected(ssl, &p, &len);
    return p && len == strlen(proto) && memcmp(p, proto, len) == 0;
}

int tls_io_peer_verified(int fd)
{
    SSL *ssl = tls_io_ssl(fd);

    return ssl && SSL_get0_peer_certificate(ssl) && SSL_get_verify_result(ssl) == X509_V_OK;
}

size_t tls_io_peer_subject(int fd, char *dst, size_t cap)
{
    SSL *ssl = tls_io_ssl(fd);
    X509 *peer;
    BIO *b;
    long len;
    char *data;
    size_t n = 0;

    if (cap)
        dst[0] = '\0';
    if (!ssl || !(peer = SSL_get0_peer_certificate(ssl)) || SSL_get_verify_result(ssl) != X509_V_OK)
        return 0;
    b = BIO_new(BIO_s_mem());
    if (!b)
        return 0;
    X509_NAME_print_ex(b, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    len = BIO_get_mem_data(b, &data);
    if (len > 0 && cap) {
        n = GH_MIN((size_t)len, cap - 1);
        for (size_t i = 0; i < n; i++) /* a field value: no control bytes */
            dst[i] = (unsigned char)data[i] < 0x20 || data[i] == 0x7f ? '_' : data[i];
        dst[n] = '\0';
    }
    BIO_free(b);
    return n;
}
