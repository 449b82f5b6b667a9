/* rules.h — filter lists: domain, hosts, adblock, URL-prefix and regex
 * lists, loaded from files or a category directory (UT1 / squidGuard layout),
 * and matched per request in O(labels of the host) for names. */
#ifndef GH_RULES_H
#define GH_RULES_H

#include <stddef.h>

enum rules_format { RULES_AUTO, RULES_DOMAINS, RULES_HOSTS, RULES_ADBLOCK, RULES_URLS, RULES_REGEX };
enum rules_verdict { RULES_NONE = 0, RULES_BLOCK = 1, RULES_ALLOW = 2 };

struct rulelist; /* immutable once loaded; shared read-only by the workers */

/* Loads `path`: a file of the given format (gzip'd or not), or, with
 * RULES_AUTO on a directory, a category directory holding any of `domains`,
 * `urls` and `expressions`.  RULES_AUTO on a file guesses from its lines.
 * Bad lines go to warn(ctx, "file:line: message") (may be NULL) and are
 * skipped.  An unreadable path gives NULL and "path: reason" in err. */
struct rulelist *rulelist_load(const char *name, const char *path, enum rules_format fmt,
                               void (*warn)(void *ctx, const char *msg), void *ctx, char *err,
                               size_t errlen);
void rulelist_free(struct rulelist *l);
const char *rulelist_name(const struct rulelist *l);
size_t rulelist_size(const struct rulelist *l);

/* Matches host (without port; case and one trailing dot ignored; IDNs as the
 * client sent them, in punycode) and path (from '/', "" for CONNECT).
 * *rule (may be NULL) gets the text of the deciding rule.  RULES_ALLOW only
 * comes from adblock "@@" exceptions, which win inside their list. */
enum rules_verdict rulelist_match(const struct rulelist *l, const char *host, size_t hostlen,
                                  const char *path, size_t pathlen, const char **rule);

#endif
