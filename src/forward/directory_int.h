/* directory_int.h — what directory.c (settings, cache) and
 * directory_ldap.c (the lookups on their threads) share. */
#ifndef GH_DIRECTORY_INT_H
#define GH_DIRECTORY_INT_H

#include "directory.h"

#define DIR_GROUPS_MAX 1024 /* bytes of group names kept per user, NUL-separated */

struct directory {
    int refs;           /* atomic: the policy's and each lookup's */
    uint32_t id;        /* a hash of the settings that change an answer */
    char *uri, *base, *bind_dn, *user_filter, *search_dn, *search_password;
    char *group_attr, *group_filter, *group_base, *ca;
    int starttls;
    uint32_t timeout_ms, cache_ttl_ms, bad_ttl_ms;
};

/* What one lookup found. */
struct dir_answer {
    enum dir_result result;
    char groups[DIR_GROUPS_MAX]; /* NUL-separated, ended by an empty name */
    char why[200];
};

/* Asks the directory, blocking: on a pool thread only.  password NULL: a
 * lookup by name (directory_groups_by_name), never bound as the user; an
 * empty password is refused unasked (it would be an unauthenticated
 * bind, RFC 4513 5.1.2). */
void directory_lookup(const struct directory *d, const char *user, const char *password,
                      struct dir_answer *a);

/* The cache's key of a lookup (password NULL: by name): a digest of the
 * process's salt, the directory's id, which kind of lookup, the user and
 * the password.  A lookup by name and one by password never share one. */
void directory_key(const struct directory *d, const char *user, const char *password,
                   unsigned char key[32]);

/* Queues a lookup for the pool (started on first use; password NULL: by
 * name); `done` is called on a pool thread with the answer. */
void directory_submit(struct directory *d, const char *user, const char *password,
                      const unsigned char key[32],
                      void (*done)(const struct directory *d, const char *user,
                                   const unsigned char key[32], const struct dir_answer *a));

void directory_ref(struct directory *d);

#endif
