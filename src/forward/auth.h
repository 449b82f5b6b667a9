/* auth.h — proxy authentication: Basic credentials checked against an
 * htpasswd file (bcrypt, SHA-crypt, yescrypt: whatever libcrypt verifies, so
 * `htpasswd -B` files work), with a per-worker cache of good credentials,
 * and/or an LDAP directory (directory.h) for the users the file does not
 * name.  Failures are slowed down by auth_delay.h. */
#ifndef GH_AUTH_H
#define GH_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct auth_users;
struct directory;

/* What a check found.  AUTH_PENDING: the directory is being asked; park
 * the exchange (exchange_queue, for auth_wait_ms) and check again. */
enum auth_result { AUTH_BAD, AUTH_OK, AUTH_PENDING, AUTH_DOWN };

/* Reads an htpasswd file.  Lines whose hash libcrypt cannot verify are
 * skipped with a warning naming file:line.  NULL with err when unreadable. */
struct auth_users *auth_load(const char *path, char *err, size_t errlen);
/* Users from nowhere yet: a directory alone (auth_use_directory). */
struct auth_users *auth_new(void);
/* Users the file does not name are asked of d, which u now owns. */
void auth_use_directory(struct auth_users *u, struct directory *d);
void auth_free(struct auth_users *u);
unsigned auth_count(const struct auth_users *u);
/* How long AUTH_PENDING may last (the check answers AUTH_DOWN then; a
 * parked exchange is given a little more). */
uint32_t auth_wait_ms(const struct auth_users *u);

/* Checks a Proxy-Authorization (or Authorization) value ("Basic
 * base64(user:password)"): AUTH_OK, AUTH_BAD, or with a directory also
 * AUTH_PENDING or AUTH_DOWN (why, whycap: the directory's reason, for the
 * log).  Either way, copies into user (cap bytes, truncated) the name the
 * credentials give, known or not, or "" when they name none. */
enum auth_result auth_check(const struct auth_users *u, const char *value, size_t len,
                            char *user, size_t cap, char *why, size_t whycap);

/* A user who proved who they are another way (a Kerberos ticket): when
 * the users come from a directory too, their groups are looked up in it
 * by name (directory_groups_by_name).  AUTH_OK: found, or no directory;
 * AUTH_BAD: not in the directory; AUTH_PENDING and AUTH_DOWN (why) as for
 * auth_check. */
enum auth_result auth_check_name(const struct auth_users *u, const char *user, char *why,
                                 size_t whycap);

/* Groups of users, Apache's AuthGroupFile format: "group: user1 user2". */
struct auth_groups;
struct auth_groups *auth_load_groups(const char *path, char *err, size_t errlen);
/* No memberships yet: a directory's alone. */
struct auth_groups *auth_groups_new(void);
/* The groups a directory found for a user count too (d is borrowed: the
 * users' table owns it). */
void auth_groups_use_directory(struct auth_groups *g, const struct directory *d);
void auth_groups_free(struct auth_groups *g);
/* 1 when user belongs to group, by the file or the directory (g may be
 * NULL: no groups). */
int auth_in_group(const struct auth_groups *g, const char *user, const char *group);

#endif
