/* rules_int.h — what rules.c (the index and matching) and rules_load.c (the
 * file formats) share.  Not for other modules: rules.h is the public face. */
#ifndef GH_RULES_INT_H
#define GH_RULES_INT_H

#include "rules.h"

#include <stdint.h>

#define RULES_NAME_MAX 253 /* longest DNS name, without the trailing dot */
#define RULES_LABEL_MAX 63

/* Flags of a name record. */
#define NAME_BLOCK 0x01 /* the name and every name below it are blocked */
#define NAME_ALLOW 0x02 /* ... excepted (adblock "@@") */
#define NAME_ADDR 0x04  /* the key is an address's canonical text, not a name */
#define NAME_AT 0x08    /* the key is preceded by "@@" in the arena (allow text) */

/* Adds a name or an address key: bytes already lower-cased and checked by
 * the loader.  flags is NAME_BLOCK and/or NAME_ALLOW (or 0, to create the
 * record for URL rules), with NAME_ADDR for addresses.  Adding a known key
 * merges the flags.  Returns the record's index. */
uint32_t rules_add_name(struct rulelist *l, const char *key, size_t len, unsigned flags);

/* Adds a URL rule: requests to host (a key as for rules_add_name, NAME_ADDR
 * in addr_flag when it is an address) or below it whose path starts with
 * path.  An empty path (or "/") covers every path, CONNECT included. */
void rules_add_url(struct rulelist *l, const char *host, size_t hostlen, unsigned addr_flag,
                   const char *path, size_t pathlen);

/* Adds an address prefix "a.b.c.d/len" or "v6/len".  Returns 0, or -1 with a
 * message in err. */
int rules_add_net(struct rulelist *l, const char *cidr, char *err, size_t errlen);

/* Compiles and adds a pattern (len bytes).  Returns 0, or -1 with PCRE2's
 * message and offset in err. */
int rules_add_regex(struct rulelist *l, const char *pattern, size_t len, char *err, size_t errlen);

/* A new empty list called name; rules_finish trims its arrays once loaded. */
struct rulelist *rules_new(const char *name);
void rules_finish(struct rulelist *l);

#endif
