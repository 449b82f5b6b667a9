/* h2_int.h — what the two halves of HTTP/2's client side share: the
 * connection (h2.c) and each exchange's client side (h2_exchange.c). */
#ifndef GH_H2_INT_H
#define GH_H2_INT_H

#include "conn.h"
#include "h2_session.h"

struct exchange;

/* HTTP/2 on one client connection: its conn's proto_state.  Owned by the
 * connection, freed when it closes (proto.abort). */
struct h2conn {
    struct conn *c;
    struct h2_session *s;
    uint64_t idle_since; /* no stream alive since (loop ms); 0 while there are */
    uint64_t last_write; /* output waits for the socket: its last progress (loop ms) */
    uint8_t driving;     /* h2_drive is running: what the hooks queue goes out with it */
    uint8_t kicked;      /* a pass is deferred until after this batch of events */
    uint8_t stop_read;   /* the client's end came, or the session failed */
    uint8_t fatal;       /* the session failed: what is queued goes, then the end */
};

/* Frames wait to go (a hook submitted or resumed something): a pass over
 * the connection runs once this batch of events is handled, unless one is
 * running now. */
void h2_kick(struct h2conn *h);

/* ---- h2_exchange.c ---- */

/* A request's head is complete (st->head_done): its exchange starts. */
void h2_begin(struct h2conn *h, struct h2_stream *st);
/* The proto hooks of an exchange's client side (conn.h's contracts). */
int h2_flush(struct exchange *ex);
int h2_recv_body(struct exchange *ex, int fd, uint8_t *writable);
int h2_send_body(struct exchange *ex, struct upconn *u);
int h2_send_local(struct exchange *ex);
int h2_client_ended(const struct exchange *ex);
int h2_raw(struct exchange *ex, struct client_raw *r);
void h2_ended(struct exchange *ex);

#endif
