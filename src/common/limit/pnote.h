/* pnote.h — what the protections remember of one exchange between its
 * request and its end: the bans that watch it, under which keys, and the
 * events it gave rise to.  Embedded in the exchange (exchange_int.h),
 * zeroed for each; written and read by protect.c alone. */
#ifndef GH_PNOTE_H
#define GH_PNOTE_H

#include <stdint.h>

#define PNOTE_BANS 2   /* bans watched per exchange (a listener's and a route's or policy's) */
#define PNOTE_TEXT 48  /* a key as people read it: "2001:db8:1:2::/64" fits */

/* Events a ban counts (the `events` of a ban rule). */
#define PEV_4XX 0x01     /* answered 4xx */
#define PEV_DENIED 0x02  /* refused by a deny rule or the forward filter */
#define PEV_AUTH 0x04    /* bad credentials: a failed proxy login, a 401 */
#define PEV_LIMITED 0x08 /* refused by a rate limit */

struct pban;

struct protect_note {
    const struct pban *ban[PNOTE_BANS]; /* owned by the exchange's generation */
    uint64_t key[PNOTE_BANS];
    char text[PNOTE_BANS][PNOTE_TEXT];
    const void *passed[PNOTE_BANS]; /* places checked already: an exchange decided
                                       again (after a cache wait) is not counted twice */
    uint8_t nbans, npassed;
    uint8_t events; /* PEV_* noted during the exchange */
    uint8_t exempt; /* an allow rule matched: nothing else of the protections applies */
};

#endif
