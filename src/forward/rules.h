/* rules.h — the filtering list engine: one named list (a domains, hosts,
 * adblock, URL-prefix or regex file, or a UT1 / squidGuard category
 * directory) loaded once and matched per request.  Name lookups cost
 * O(labels of the host) whatever the size of the list.  Policy (which lists
 * block, which allow, for whom) belongs to the forward front-end's filter;
 * this module only answers "what does this list say about host/path". */
#ifndef GH_RULES_H
#define GH_RULES_H

#include <stddef.h>

enum rules_format {
    RULES_AUTO,    /* a directory: a category; a file: guessed from its first rule */
    RULES_DOMAINS, /* one name, address or CIDR prefix per line */
    RULES_HOSTS,   /* "0.0.0.0 name name ..." */
    RULES_ADBLOCK, /* the network subset: "||name^" and "@@||name^" */
    RULES_URLS,    /* squidGuard "urls": "host/path-prefix" */
    RULES_REGEX,   /* squidGuard "expressions": one PCRE2 pattern per line */
};

enum rules_verdict {
    RULES_NONE = 0,  /* the list says nothing about this request */
    RULES_BLOCK = 1, /* a rule of the list covers it */
    RULES_ALLOW = 2, /* an adblock "@@" exception covers it */
};

/* One named list.  Owned by whoever loaded it; immutable after loading, so
 * any number of worker threads may match against it without a lock. */
struct rulelist;

/* Loads `path` as the list called `name`.
 *   - fmt RULES_AUTO on a directory reads it as a category directory holding
 *     any of `domains`, `urls` and `expressions` (or their `.gz` forms); a
 *     directory with none of them is an error.  Another fmt on a directory
 *     is an error.
 *   - On a file, fmt says its format; RULES_AUTO guesses from the first rule
 *     ("||" / "@@" / "!" / "[Adblock ...]": adblock; an address followed by
 *     a name: hosts; anything else: domains).
 * Files may be gzip-compressed (recognised by their magic bytes), have CRLF
 * line endings, a UTF-8 byte-order mark, blank lines and '#' comments ('!'
 * too in adblock lists).  A bad line is skipped and reported through
 * warn(ctx, "file:line: message"); warn may be NULL.  After 50 warnings a
 * file's further bad lines are only counted, in one last warning.  Names,
 * addresses (in any form a resolver reads: "0x7f.1" is 127.0.0.1) and URL
 * rules' paths are kept in the normal forms requests are matched in.
 * Returns the list, or NULL with "path: reason" in err (errlen bytes, always
 * terminated) when a path cannot be read or a gzip stream is corrupt. */
struct rulelist *rulelist_load(const char *name, const char *path, enum rules_format fmt,
                               void (*warn)(void *ctx, const char *msg), void *ctx, char *err,
                               size_t errlen);

/* Frees the list and every rule text it handed out.  NULL is a no-op. */
void rulelist_free(struct rulelist *l);

/* The name given to rulelist_load; lives as long as the list. */
const char *rulelist_name(const struct rulelist *l);

/* Rules held: distinct names and addresses (once per verdict), plus URL
 * prefixes, address prefixes and patterns as read. */
size_t rulelist_size(const struct rulelist *l);

/* Matches one request against the list.
 *   host, hostlen: the host, WITHOUT a port, in any spelling: it is read in
 *     its one normal form (hostname.h: ASCII case ignored, one trailing dot
 *     removed, IPv6 with or without brackets, IPv4 in any form inet_aton(3)
 *     reads, such as "0x7f.1").  A spelling that is no DNS name
 *     ("a.example..") meets the list without its trailing dots.  IDNs are
 *     compared in punycode as sent.  An IP literal matches the list's
 *     addresses and prefixes, and never a name's suffixes.
 *   path, pathlen: the request target from its '/', query included, in the
 *     filter's view (urlpath_normalize with URLPATH_VIEW, urlpath.h), the
 *     form URL rules' paths are read in at load; "" (or NULL, 0) for
 *     CONNECT, where only names, addresses, host-only URL rules and
 *     patterns can match.
 * Names cover themselves and every name below them; URL rules need the host
 * (or a name below it) and a path starting with their prefix (ASCII case
 * ignored); patterns are tried against "host/path" (the host in normal
 * form) only when no name, address or URL rule decided.  RULES_ALLOW comes
 * only from adblock "@@" exceptions and wins over every block of the same
 * list.
 * *rule (if rule is not NULL) receives, on a match, the deciding rule's text
 * ("example.com", "@@ads.example", "news.example/gambling/", "10.0.0.0/8",
 * the pattern), names, addresses and URL paths in their normal forms; it
 * lives as long as the list.  Thread-safe; allocates only for lists with
 * patterns (one match block per call). */
enum rules_verdict rulelist_match(const struct rulelist *l, const char *host, size_t hostlen,
                                  const char *path, size_t pathlen, const char **rule);

#endif
