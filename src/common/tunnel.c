/* tunnel.c — relaying a CONNECT or upgraded connection (see tunnel.h).
 * Owns nothing: the session's buffers and the upstream connection carry the
 * bytes, the exchange's two bodies (close-delimited) count them. */
#include "tunnel.h"
#include "relay.h"
#include "session.h"
#include "util.h"
#include "worker.h"

#include <sys/socket.h>

void tunnel_begin(struct session *s)
{
    struct exchange *ex = &s->ex;

    /* A tunnel's streams end when their sender closes. */
    body_init(&ex->reqb, HTTP_BODY_CLOSE, 0, 0);
    body_init(&ex->respb, HTTP_BODY_CLOSE, 0, 0);
    ex->up_shut = ex->down_shut = 0;
    s->state = S_TUNNEL;
    s->last_io = loop_now(s->w->loop);
    loop_timer_at(s->w->loop, &s->timer, s->last_io + s->w->cfg->to.tunnel);
    session_drive(s);
}

void tunnel_drive(struct session *s)
{
    struct exchange *ex = &s->ex;
    struct upconn *u = ex->up;
    int active = 0, rc, peer_eof, up_eof;

    /* whatever answer head is pending goes first */
    rc = session_flush(s);
    if (rc < 0)
        return;
    if (rc == 0 && !ex->down_shut)
        goto upward;
    if (!ex->down_shut) {
        uint64_t before = ex->respb.moved;
        up_eof = u->eof;
        rc = relay_pump(&ex->respb, &u->in, u->io.fd, &u->readable, &up_eof, s->io.fd,
                        &s->writable, NULL, &active);
        u->eof = (uint8_t)up_eof;
        ex->bytes_out += ex->respb.moved - before;
        ex->resp_body_bytes += ex->respb.moved - before;
        if (rc < 0) {
            session_close(s, "tunnel: cannot write to the client");
            return;
        }
        if (rc == RELAY_DONE) {
            shutdown(s->io.fd, SHUT_WR);
            ex->down_shut = 1;
        }
    }
upward:
    if (!ex->up_shut) {
        peer_eof = s->peer_eof;
        rc = relay_pump(&ex->reqb, &s->in, s->io.fd, &s->readable, &peer_eof, u->io.fd,
                        &u->writable, &ex->bytes_in, &active);
        s->peer_eof = (uint8_t)peer_eof;
        if (rc < 0) {
            session_close(s, "tunnel: cannot write to the upstream");
            return;
        }
        if (rc == RELAY_DONE) {
            shutdown(u->io.fd, SHUT_WR);
            ex->up_shut = 1;
        }
    }
    if (active)
        s->last_io = loop_now(s->w->loop);
    if (ex->up_shut && ex->down_shut)
        session_close(s, NULL);
}
