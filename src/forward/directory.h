/* directory.h — users from an LDAP directory (a policy's auth.ldap): a
 * simple bind as the user over StartTLS or ldaps (libldap), the user's
 * groups read from the directory (an attribute of the user's entry such
 * as AD's memberOf, and a search for posixGroup and groupOfNames entries
 * naming the user), and the results cached with a TTL, good and bad.
 *
 * Lookups never run on a worker: a check that misses the cache hands the
 * lookup to a small pool of threads and answers DIR_PENDING; the caller
 * parks its exchange (exchange_queue) and asks again until the answer is
 * in the cache.  The cache is the process's (a lock), bounded
 * (DIR_SLOTS), kept across reloads: entries are keyed by the directory's
 * settings, the user and a digest of the password, never the password;
 * a lookup by name alone (directory_groups_by_name) has keys of its own,
 * which no password's can match. */
#ifndef GH_DIRECTORY_H
#define GH_DIRECTORY_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

#define DIR_SLOTS 4096

enum dir_result {
    DIR_BAD,     /* wrong password, or no such user */
    DIR_OK,      /* the directory took the password */
    DIR_PENDING, /* being looked up: ask again later */
    DIR_DOWN,    /* the directory could not answer: refuse (fail closed) */
};

struct directory;

/* Reads an `ldap` group (see README, "auth"): file:line errors into err.
 * NULL on error. */
struct directory *directory_load(const config_setting_t *g, const struct gh_config *cfg,
                                 char *err, size_t errlen);
/* Drops the caller's reference (lookups under way hold their own). */
void directory_free(struct directory *d);

/* Whether `password` is user's.  DIR_DOWN and DIR_BAD may copy a reason
 * into why (cap bytes) for the log. */
enum dir_result directory_check(struct directory *d, const char *user, const char *password,
                                char *why, size_t cap);

/* The groups of a user who proved who they are another way (a Kerberos
 * ticket): the directory is asked by name, with no password, bound as
 * search_dn (anonymously when none is set), never as the user; the entry
 * is found by user_filter (or the bind_dn template, which must exist),
 * the groups read as for directory_check.  DIR_OK: found (then
 * directory_in_group answers for user), DIR_BAD: not in the directory,
 * DIR_PENDING and DIR_DOWN as for directory_check.  Kept for cache_ttl
 * (bad_ttl when not found). */
enum dir_result directory_groups_by_name(struct directory *d, const char *user, char *why,
                                         size_t cap);

/* 1 when a good, unexpired lookup of user found it in `group` (names
 * compared without case, as the directory does). */
int directory_in_group(const struct directory *d, const char *user, const char *group);

/* How long a lookup may take: past it, its waiters get DIR_DOWN. */
uint32_t directory_wait_ms(const struct directory *d);

/* Empties the cache (tests, and the unit suite). */
void directory_forget_all(void);

/* The escapes of RFC 4515 (a value in a search filter) and RFC 4514 (a
 * value in a DN), into out (cap bytes, NUL-terminated).  -1 when it does
 * not fit. */
int directory_filter_escape(const char *s, char *out, size_t cap);
int directory_dn_escape(const char *s, char *out, size_t cap);

#endif
