/* auth_delay.h — slowing password guessing down.  Failed proxy logins are
 * counted by client address, by the user name they tried (whether or not
 * it exists) and by the pair; the 407 that answers a failure is held back
 * by a time that grows with the larger of the first two counts.  So
 * alternating one good login with guesses at another account, and guessing
 * one account from many addresses, are both slowed.  The counts are shared
 * by every worker; the tables have a fixed size, forget a count after ten
 * quiet minutes, and when full drop the entry with the fewest failures. */
#ifndef GH_AUTH_DELAY_H
#define GH_AUTH_DELAY_H

#include <stdint.h>
#include <sys/socket.h>

/* The counts a failure was judged on. */
struct auth_delay_counts {
    uint32_t address; /* failures from the client's address, any user */
    uint32_t user;    /* failures for the user name, from any address */
};

/* Records a failed login from client for user (the name the credentials
 * gave, "" when they named none).  Returns how long (ms) to hold back the
 * 407, and fills *counts when not NULL. */
uint32_t auth_delay_failed(const struct sockaddr_storage *client, const char *user,
                           struct auth_delay_counts *counts);

/* A good login from client as user: forgets the failures this address made
 * for this user (from the address's and the user's counts too), and only
 * those.  Cheap when the address has no failures. */
void auth_delay_succeeded(const struct sockaddr_storage *client, const char *user);

/* Hears the fleet's channel (fleet.h) for the failures and good logins
 * of other nodes (fleet.share_auth), which count here as if made here;
 * this node's are announced by the two calls above.  At each load. */
void auth_delay_subscribe(void);

/* The hold for a number of failures: three free tries, then 250 ms,
 * doubling up to 8 s. */
uint32_t auth_delay_for(uint32_t failures);

#endif
