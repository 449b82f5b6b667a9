/* auth.h — proxy authentication: Basic credentials checked against an
 * htpasswd file (bcrypt, SHA-crypt, yescrypt: whatever libcrypt verifies, so
 * `htpasswd -B` files work), with a per-worker cache of good credentials.
 * Failures are slowed down by auth_delay.h. */
#ifndef GH_AUTH_H
#define GH_AUTH_H

#include <stddef.h>

struct auth_users;

/* Reads an htpasswd file.  Lines whose hash libcrypt cannot verify are
 * skipped with a warning naming file:line.  NULL with err when unreadable. */
struct auth_users *auth_load(const char *path, char *err, size_t errlen);
void auth_free(struct auth_users *u);
unsigned auth_count(const struct auth_users *u);

/* Checks a Proxy-Authorization value ("Basic base64(user:password)").
 * Returns 1 when valid, 0 when not.  Either way, copies into user (cap
 * bytes, truncated) the name the credentials give, known or not, or ""
 * when they name none. */
int auth_check(const struct auth_users *u, const char *value, size_t len, char *user,
               size_t cap);

/* Groups of users, Apache's AuthGroupFile format: "group: user1 user2". */
struct auth_groups;
struct auth_groups *auth_load_groups(const char *path, char *err, size_t errlen);
void auth_groups_free(struct auth_groups *g);
/* 1 when user belongs to group (g may be NULL: no groups). */
int auth_in_group(const struct auth_groups *g, const char *user, const char *group);

#endif
