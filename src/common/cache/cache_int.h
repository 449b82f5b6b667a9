/* cache_int.h — small helpers shared by the cache_*.c files; not a public
 * interface of the cache. */
#ifndef GH_CACHE_INT_H
#define GH_CACHE_INT_H

#include <stddef.h>

/* Next element of a comma-separated list v[0..len), from *pos.  Quoted
 * strings (with backslash escapes) may hold commas.  Sets *s and *n to the
 * element without surrounding whitespace; empty elements are skipped.
 * Returns 0 when the list is exhausted. (In cache_policy.c.) */
int cache_list_next(const char *v, size_t len, size_t *pos, size_t *s, size_t *n);

/* ASCII lower case of one byte. */
static inline char cache_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

#endif
