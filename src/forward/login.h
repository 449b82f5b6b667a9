/* login.h — the captive login of transparent listeners.  An intercepted
 * client cannot be asked for proxy credentials (it does not know it has a
 * proxy), so a policy with `auth` on a transparent listener asks once, on
 * a page of its own: until the client's address has logged in, plain HTTP
 * gets 511 with a link to http://ANY-HOST/.gatehouse/login, which asks for
 * the policy's user and password (HTTP Basic, the same password file as
 * proxy authentication); from then on, for auth.login_ttl seconds, that
 * address is that user, to filter rules, groups and the log.
 *
 * The table of logins is the process's: shared by the workers (a lock),
 * kept across reloads, LOGIN_MAX addresses (the soonest to expire makes
 * room). */
#ifndef GH_LOGIN_H
#define GH_LOGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct exchange;
struct policy;

#define LOGIN_PATH "/.gatehouse/login"
#define LOGIN_MAX 4096

/* Records that addr is `user` until now + ttl seconds. */
void login_record(const struct sockaddr_storage *addr, const char *user, time_t now,
                  uint32_t ttl);

/* The user addr logged in as, when its login still holds at `now`: copied
 * into user (cap bytes) and 1; else 0. */
int login_find(const struct sockaddr_storage *addr, time_t now, char *user, size_t cap);

/* Forgets every login. */
void login_forget_all(void);

/* An intercepted exchange under policy p (which has auth): the client's
 * user is set from its login and 1 returned, or the exchange is answered
 * and 0 returned: the login itself (LOGIN_PATH: 401 asking, then 302 back
 * to the page the client wanted), the login page (511) for plain HTTP,
 * or, for TLS (`tls`), a refusal (its alert), since no page can be shown
 * there.  `host` (normal form) is the intercepted request's host, NULL
 * for TLS. */
int login_gate(struct exchange *ex, const struct policy *p, int tls, const char *host);

#endif
