/* static.c — the static-directory backend (see static.h).  Owns nothing: the
 * file descriptor it opens is handed to the exchange, which closes it. */
#include "static.h"
#include "cache_policy.h"
#include "compress.h"
#include "exchange.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const struct {
    const char *ext;
    const char *type;
} mime[] = {
    {"html", "text/html; charset=utf-8"},  {"htm", "text/html; charset=utf-8"},
    {"css", "text/css"},                   {"js", "text/javascript"},
    {"json", "application/json"},          {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"},              {"png", "image/png"},
    {"jpg", "image/jpeg"},                 {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},                  {"ico", "image/x-icon"},
    {"webp", "image/webp"},                {"woff2", "font/woff2"},
    {"pdf", "application/pdf"},            {"xml", "application/xml"},
    {"pac", "application/x-ns-proxy-autoconfig"},
    {"deb", "application/vnd.debian.binary-package"},
};

const char *static_mime_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot && !strchr(dot, '/'))
        for (unsigned i = 0; i < GH_ARRAY_LEN(mime); i++)
            if (strcasecmp(dot + 1, mime[i].ext) == 0)
                return mime[i].type;
    return "application/octet-stream";
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes the path of a target into dst, stopping at '?', and normalises
 * it: "." segments and empty ones go, ".." removes the previous segment
 * (never above the root).  Refuses NUL and backslashes.  Returns 0 or -1. */
int static_normalize_path(const char *p, size_t len, char *dst, size_t cap)
{
    size_t o = 0, seg;

    if (len == 0 || p[0] != '/')
        return -1;
    dst[o++] = '/';
    for (size_t i = 1; i <= len; i++) {
        char c = i < len ? p[i] : '/';
        if (c == '?')
            c = '/', len = i; /* the query ends the path */
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = hexval(p[i + 1])) < 0 || (lo = hexval(p[i + 2])) < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
            if (c == '/')
                return -1; /* an encoded slash is not a separator: refuse it */
        }
        if (c == '\0' || c == '\\' || o + 1 >= cap)
            return -1;
        if (c != '/') {
            dst[o++] = c;
            continue;
        }
        /* end of a segment: look at it */
        seg = o;
        while (seg > 0 && dst[seg - 1] != '/')
            seg--;
        if (o == seg) {
            /* empty segment: nothing to add */
        } else if (o - seg == 1 && dst[seg] == '.') {
            o = seg;
        } else if (o - seg == 2 && dst[seg] == '.' && dst[seg + 1] == '.') {
            if (seg <= 1)
                return -1; /* above the root */
            o = seg - 1;
            while (o > 0 && dst[o - 1] != '/')
                o--;
        } else if (i < len) {
            dst[o++] = '/';
        }
    }
    dst[o] = '\0';
    return 0;
}

/* Whether an If-Modified-Since (and no If-None-Match, which would take
 * precedence and which we cannot match: no ETags here) says the client's
 * copy of a file changed at mtime is current. */
static int not_modified_since(const struct exchange *ex, time_t mtime)
{
    char v[64], tag[8];
    int n = exchange_field(ex, "if-modified-since", v, sizeof(v));
    int64_t since;

    if (n <= 0 || exchange_field(ex, "if-none-match", tag, sizeof(tag)) >= 0)
        return 0;
    since = cache_http_date(v, (size_t)n, (int64_t)time(NULL));
    return since != CACHE_UNSET && (int64_t)mtime <= since;
}

/* Precompressed variants beside a file, in the order offered on a tie. */
static const struct {
    enum compress_alg alg;
    const char *suffix;
} variants[] = {{COMPRESS_ZSTD, ".zst"}, {COMPRESS_BR, ".br"}, {COMPRESS_GZIP, ".gz"}};

/* Accept-Encoding fields at most looked at. */
#define AE_MAX 8

/* The coding the client's Accept-Encoding chooses among those in cc. */
static enum compress_alg client_choice(const struct exchange *ex, const struct compress_conf *cc)
{
    const struct http_head *r = exchange_request(ex);
    const char *base = exchange_base(ex), *vals[AE_MAX];
    size_t lens[AE_MAX];
    unsigned n = 0;

    for (int i = http1_find(r, base, "accept-encoding", 0); i >= 0 && n < AE_MAX;
         i = http1_find(r, base, "accept-encoding", i + 1), n++) {
        vals[n] = base + r->fields[i].value.off;
        lens[n] = r->fields[i].value.len;
    }
    return compress_negotiate(vals, lens, n, cc);
}

/* file.zst, file.br or file.gz beside `full` (fd, st), when one is there
 * and the client takes its coding: *fd and *st become the variant's and
 * its coding's name is returned; NULL to serve the file itself.  *any
 * says whether some variant exists (the answer then varies). */
static const char *precompressed(const struct exchange *ex, const char *full, int *fd,
                                 struct stat *st, int *any)
{
    struct compress_conf cc = {0};
    int vfd[GH_ARRAY_LEN(variants)];
    struct stat vst[GH_ARRAY_LEN(variants)];
    const char *name = NULL;
    enum compress_alg a;
    char path[4200];

    for (unsigned i = 0; i < GH_ARRAY_LEN(variants); i++) {
        gh_fmt(path, sizeof(path), "%s%s", full, variants[i].suffix);
        vfd[i] = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (vfd[i] >= 0 && (fstat(vfd[i], &vst[i]) < 0 || !S_ISREG(vst[i].st_mode))) {
            close(vfd[i]);
            vfd[i] = -1;
        }
        if (vfd[i] >= 0)
            cc.prefer[cc.nprefer++] = (uint8_t)variants[i].alg;
    }
    *any = cc.nprefer > 0;
    a = *any ? client_choice(ex, &cc) : COMPRESS_IDENTITY;
    for (unsigned i = 0; i < GH_ARRAY_LEN(variants); i++) {
        if (vfd[i] < 0)
            continue;
        if (variants[i].alg != a) {
            close(vfd[i]);
            continue;
        }
        close(*fd);
        *fd = vfd[i];
        *st = vst[i];
        name = compress_name(a);
    }
    return name;
}

void static_serve(struct exchange *ex, const char *root)
{
    const struct http_head *r = exchange_request(ex);
    const char *method = exchange_str(ex, r->method);
    struct http_slice path = r->form == HTTP_TARGET_ABSOLUTE ? r->path : r->target;
    char rel[2048], full[4096], extra[192];
    const char *coding;
    struct stat st;
    struct tm tm;
    int fd, varies;
    size_t n;

    if (!(r->method.len == 3 && memcmp(method, "GET", 3) == 0) &&
        !(r->method.len == 4 && memcmp(method, "HEAD", 4) == 0)) {
        exchange_respond(ex, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n",
                         "method not allowed\n", 19);
        return;
    }
    if (path.len == 0) {
        strcpy(rel, "/");
    } else if (static_normalize_path(exchange_str(ex, path), path.len, rel, sizeof(rel)) < 0) {
        exchange_error(ex, 403, "path not allowed");
        return;
    }
    gh_fmt(full, sizeof(full), "%s%s", root, rel);
    fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        gh_fmt(full, sizeof(full), "%s%s%sindex.html", root, rel,
               rel[strlen(rel) - 1] == '/' ? "" : "/");
        fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    }
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        exchange_error(ex, e == EACCES ? 403 : 404,
                       e == EACCES ? "file not readable" : "no such file");
        return;
    }
    gmtime_r(&st.st_mtime, &tm);
    n = strftime(extra, sizeof(extra), "Last-Modified: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    coding = precompressed(ex, full, &fd, &st, &varies);
    if (varies)
        n += gh_fmt(extra + n, sizeof(extra) - n, "Vary: Accept-Encoding\r\n");
    if (coding)
        gh_fmt(extra + n, sizeof(extra) - n, "Content-Encoding: %s\r\n", coding);
    if (not_modified_since(ex, st.st_mtime)) { /* RFC 9110 13.1.3 */
        close(fd);
        exchange_respond(ex, 304, NULL, extra, NULL, 0);
        return;
    }
    exchange_respond_fd(ex, 200, static_mime_type(full), extra, fd, (uint64_t)st.st_size);
}
