/* static.h — answering an exchange from a directory of files: the built-in
 * backend kind behind demo sites, error pages and status pages.
 * Only GET and HEAD; paths are confined to the directory. */
#ifndef GH_STATIC_H
#define GH_STATIC_H

#include <stddef.h>

struct exchange;

/* Answers ex from the directory `root` (an absolute path): the file named by
 * the request path, "index.html" for a directory, 404 when missing, 403 for
 * a path that tries to leave root, 405 for other methods. */
void static_serve(struct exchange *ex, const char *root);

/* Decodes a request path (percent-decoding, stopping at '?') into dst and
 * normalises it: "." and empty segments go, ".." removes the previous one.
 * Returns -1 for a path that would leave the root, holds NUL, a backslash
 * or an encoded slash. */
int static_normalize_path(const char *p, size_t len, char *dst, size_t cap);

/* The Content-Type for a file name, by its extension. */
const char *static_mime_type(const char *name);

#endif
