/* notes.h — the forward mode's notes on an exchange, kept in its scratch
 * space (exchange_scratch: zeroed for each exchange), shared by forward.c
 * (the bandwidth meter) and proxy_auth.c (the name a Kerberos ticket
 * gave). */
#ifndef GH_FWD_NOTES_H
#define GH_FWD_NOTES_H

#include "bwlimit.h"
#include "exchange.h"

struct fwd_notes {
    struct bw_note bw;  /* the meter of its bandwidth limits */
    char sso_user[128]; /* the Kerberos user, "" none yet */
};
_Static_assert(sizeof(struct fwd_notes) <= EXCHANGE_SCRATCH, "fwd_notes outgrew the scratch");

static inline struct fwd_notes *fwd_notes_of(struct exchange *ex)
{
    return exchange_scratch(ex);
}

#endif
