/* pools_origin.c — what the pools suites share (see pools_origin.h). */
#include "pools_origin.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads exactly len bytes; 0 or -1. */
static int recv_all(int fd, void *p, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = recv(fd, (char *)p + got, len - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Echoes WebSocket data frames, unmasked (a client's frames are masked,
 * RFC 6455 5.1), until a close frame (echoed too) or the end. */
static void websocket_echo_frames(int fd)
{
    for (;;) {
        unsigned char h[4], mask[4], *payload;
        uint64_t len;
        int stop;
        if (recv_all(fd, h, 2) < 0)
            return;
        len = h[1] & 0x7f;
        if (len == 127 || (len == 126 && recv_all(fd, h + 2, 2) < 0))
            return; /* no test sends frames over 64 KiB */
        if (len == 126)
            len = (uint64_t)h[2] << 8 | h[3];
        if (!(h[1] & 0x80) || recv_all(fd, mask, 4) < 0)
            return;
        payload = malloc(len + 1);
        if (!payload || recv_all(fd, payload, len) < 0) {
            free(payload);
            return;
        }
        for (uint64_t i = 0; i < len; i++)
            payload[i] ^= mask[i % 4];
        h[1] = len < 126 ? (unsigned char)len : 126; /* h[2], h[3] hold the long length */
        stop = send(fd, h, len < 126 ? 2 : 4, MSG_NOSIGNAL) < 0 ||
               send(fd, payload, len, MSG_NOSIGNAL) != (ssize_t)len || (h[0] & 0x0f) == 8;
        free(payload);
        if (stop)
            return;
    }
}

/* /ws: a WebSocket echo.  101 with the Sec-WebSocket-Accept the key asks
 * for (SHA-1 of key + RFC 6455's GUID, base64), then the frames come back;
 * a request that is no WebSocket handshake gets 400. */
static void websocket(const struct origin_request *rq, struct origin_reply *re)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char key[128], up[64], version[16], accept[64], head[256];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int n;

    if (origin_field(rq, "Sec-WebSocket-Key", 0, key, 61) < 0 ||
        origin_field(rq, "Upgrade", 0, up, sizeof(up)) < 0 || strcasecmp(up, "websocket") != 0 ||
        origin_field(rq, "Sec-WebSocket-Version", 0, version, sizeof(version)) < 0 ||
        strcmp(version, "13") != 0) {
        origin_status(re, 400);
        origin_text(re, "not a websocket handshake\n");
        origin_close(re);
        return;
    }
    strcat(key, guid);
    EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)accept, md, (int)mdlen);
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                 accept);
    origin_send(re, head, (size_t)n);
    websocket_echo_frames(origin_take(re));
}

/* Every origin of this file ("one", "two", "three"; "good", "hung",
 * "holder").  /hold answers "held\n" once /release is asked of the same
 * origin (or after a minute); /inflight says how many it holds, and the
 * most it ever held at once. */
void pools_answer(const struct origin_request *rq, struct origin_reply *re)
{
    unsigned now, peak;

    if (origin_hold_paths(rq, re))
        return;
    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strcmp(rq->path, "/headers") == 0) { /* the head as it arrived */
        origin_body(re, "text/plain", rq->head, rq->head_len);
    } else if (strcmp(rq->path, "/redirect") == 0) { /* to its own address */
        origin_status(re, 302);
        origin_bare(re);
        origin_add(re, "Location: http://127.0.0.1:%d/landed", rq->port);
        origin_add(re, "X-Origin: %s", rq->name);
    } else if (strcmp(rq->path, "/ws") == 0) {
        websocket(rq, re);
    } else if (strcmp(rq->path, "/inflight") == 0) {
        origin_holding(&now, &peak);
        origin_text(re, "inflight=%u peak=%u\n", now, peak);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

/* One request on a new connection; returns the status. */
int pools_get(int p, const char *host, const char *path, const char *extra, struct tc_response *r)
{
    char req[1024];
    int fd = tc_connect("127.0.0.1", p);

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path, host,
             extra ? extra : "");
    rig_exchange(fd, req, r);
    tc_close(fd);
    return r->status;
}

/* How many answers origin o holds now, and the most it held at once. */
void pools_held(const struct origin *o, unsigned *now, unsigned *peak)
{
    struct tc_response r = {0};

    ck_assert_int_eq(pools_get(o->port, "h", "/inflight", NULL, &r), 200);
    ck_assert_int_eq(sscanf(r.body, "inflight=%u peak=%u", now, peak), 2);
    tc_response_free(&r);
}

/* Polls until origin o holds `want` answers (5 s at most). */
int pools_holds(const struct origin *o, unsigned want)
{
    unsigned now = 0, peak;

    for (int i = 0; i < 100 && now != want; i++) {
        pools_held(o, &now, &peak);
        if (now != want)
            th_sleep_ms(50);
    }
    return now == want;
}

/* Lets every answer origin o holds go. */
void pools_release(const struct origin *o)
{
    struct tc_response r = {0};

    ck_assert_int_eq(pools_get(o->port, "h", "/release", NULL, &r), 200);
    tc_response_free(&r);
}

void pools_server_state(char *dst, size_t cap, int port, const char *state)
{
    snprintf(
        dst, cap,
        "\"address\":\"127.0.0.1:%d\",\"weight\":1,\"backup\":false,\"max_conns\":0,\"state\":\"%s\"",
        port, state);
}
