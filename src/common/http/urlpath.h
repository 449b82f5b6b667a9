/* urlpath.h — the one normal form of a request target's path and query,
 * the form every filter rule (URL lists, patterns, allow lists, refused
 * extensions) judges and the form a filtered request is forwarded in.  Two
 * spellings a server reads as the same resource ("/a/../x", "//x", "/%78",
 * "/a%2f..%2fx", "/a\..\x") normalise to the same bytes; a target no two
 * servers would read alike (a NUL, a broken %-escape) is refused.  Host
 * names are hostname.h's business. */
#ifndef GH_URLPATH_H
#define GH_URLPATH_H

#include <stddef.h>

/* Room for the normal form of any request target gatehouse reads: the
 * request line is at most 16384 bytes (http.max_request_line), and a
 * normal form is at most one byte longer than what it was made from. */
#define URLPATH_MAX 16386

/* Flags of urlpath_normalize.  URLPATH_VIEW: the filter's view, where
 * encoded slashes are '/' and the path's printable bytes are decoded (see
 * below).  URLPATH_NO_PARAMS: each segment's ";parameters" dropped, as
 * Tomcat and Jetty do before they map a path. */
#define URLPATH_VIEW 0x01
#define URLPATH_NO_PARAMS 0x02

/* Normalises target[0..len), an origin-form path and query ("/a/b?q",
 * "?q", or "" for none), into out (cap bytes, terminated).
 *   The path:
 *   - separators are '/', '\' and the encoded %2F and %5C, in any case;
 *     empty segments are dropped ("//x" is "/x"), and "." and ".."
 *     segments are resolved (RFC 3986 5.2.4) without ever climbing above
 *     "/", a segment whose part before a ';' is "." or ".." ("..;x") being
 *     one too;
 *   - %XX escapes of unreserved bytes (ALPHA DIGIT - . _ ~) are decoded,
 *     the others written with upper-case hex;
 *   - without URLPATH_VIEW (the form forwarded), '/' and '\' are written
 *     '/', an encoded separator as %2F or %5C;
 *   - with URLPATH_VIEW (the form rules see), every separator is '/', and
 *     every escape of a printable ASCII byte is decoded except those that
 *     carry structure: %25 '%', %3B ';', %3F '?', %23 '#';
 *   - with URLPATH_NO_PARAMS, each segment's ";..." is dropped as well.
 *   The query (after the first '?'): unreserved escapes decoded, other
 *   escapes upper-cased, everything else kept; a '%' that starts no escape
 *   is kept as it is.
 * The result always starts with '/' and keeps a trailing '/' ("/a/",
 * "/a/." and "/a/b/.." all give "/a/").  It is never longer than len + 1,
 * and normalising it again with the same flags gives it back unchanged.
 * Returns the length, or -1 with *why set to a static reason: a %00
 * anywhere, a '%' in the path not followed by two hex digits, or a result
 * that does not fit in cap. */
long urlpath_normalize(const char *target, size_t len, unsigned flags, char *out, size_t cap,
                       const char **why);

/* The extension of the last segment of a normalised path (its query, if
 * any, is ignored): the bytes after the segment's last '.', once any
 * trailing dots and encoded spaces (%20) are cut off, as Windows cuts them
 * from a file name ("setup.exe." and "setup.exe%20" are setup.exe).  With
 * URLPATH_NO_PARAMS in flags, the segment's ";parameters" are cut first
 * ("setup.exe;v=1"); without, they are part of the name ("a;b.exe").  Sets
 * *ext and returns its length; 0 when the segment has no extension. */
size_t urlpath_extension(const char *path, size_t len, unsigned flags, const char **ext);

#endif
