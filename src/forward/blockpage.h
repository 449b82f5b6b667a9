/* blockpage.h — the page a filtered request gets: a template (the school's
 * own, or the built-in one) with the URL, category, rule and client filled
 * in, HTML-escaped. */
#ifndef GH_BLOCKPAGE_H
#define GH_BLOCKPAGE_H

#include <stddef.h>

/* Renders into out (NUL-terminated, truncated at cap); returns the length.
 * tmpl NULL means the built-in page. */
size_t blockpage_render(const char *tmpl, const char *url, const char *category, const char *rule,
                        const char *client, char *out, size_t cap);

#endif
