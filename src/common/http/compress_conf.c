/* compress_conf.c — a route's `compress` setting (see compress.h): its
 * keys, their defaults and ranges, in one place.  README.md's table
 * "Compression (route compress)" writes the same defaults. */
#include "compress.h"
#include "util.h"

#include <string.h>

static const char *const keys[] = {"enabled", "prefer", "types", "min_length", "gzip_level",
                                   "br_level", "zstd_level", "max_ratio", NULL};

/* Text and structured text; wasm; fonts that are not compressed already
 * (woff and woff2 are). */
static const char *const default_types[] = {
    "text/*", "application/json", "application/*+json", "application/javascript",
    "application/x-javascript", "application/xml", "application/*+xml", "image/svg+xml",
    "application/wasm", "font/ttf", "font/otf", "application/vnd.ms-fontobject",
    "image/x-icon", "image/bmp", NULL};

#define DEFAULT_MIN_LENGTH 256
/* Text rarely compresses past 20:1; a gzip bomb is about 1000:1. */
#define DEFAULT_MAX_RATIO 100

/* Each algorithm's level: range and default (nginx's gzip default 1 is
 * faster; 6 is zlib's own default and what most sites choose). */
static const struct {
    const char *key;
    long lo, hi, dflt;
} levels[COMPRESS_NALG] = {
    [COMPRESS_GZIP] = {"gzip_level", 1, 9, 6},
    [COMPRESS_BR] = {"br_level", 0, 11, 4},
    [COMPRESS_ZSTD] = {"zstd_level", 1, 19, 3},
};

static char **copy_defaults(unsigned *n)
{
    unsigned k = 0;
    char **l;

    while (default_types[k])
        k++;
    l = xcalloc(k + 1, sizeof(*l));
    for (unsigned i = 0; i < k; i++)
        l[i] = xstrdup(default_types[i]);
    *n = k;
    return l;
}

static void defaults(struct compress_conf *cc)
{
    memset(cc, 0, sizeof(*cc));
    cc->prefer[0] = COMPRESS_ZSTD;
    cc->prefer[1] = COMPRESS_BR;
    cc->prefer[2] = COMPRESS_GZIP;
    cc->nprefer = 3;
    cc->min_length = DEFAULT_MIN_LENGTH;
    cc->max_ratio = DEFAULT_MAX_RATIO;
    for (int a = COMPRESS_GZIP; a < COMPRESS_NALG; a++)
        cc->level[a] = (int)levels[a].dflt;
}

/* prefer = [ "br", "gzip" ]: the algorithms offered, in order. */
static int load_prefer(struct compress_conf *cc, const config_setting_t *g, char *err,
                       size_t errlen)
{
    char **l;
    unsigned n;

    if (config_get_strings(g, "prefer", CONFIG_NONEMPTY, &l, &n, err, errlen) < 0)
        return -1;
    if (!l)
        return 0;
    cc->nprefer = 0;
    for (unsigned i = 0; i < n; i++) {
        int a = COMPRESS_IDENTITY;
        for (int k = COMPRESS_GZIP; k < COMPRESS_NALG; k++)
            if (strcmp(l[i], compress_name((enum compress_alg)k)) == 0)
                a = k;
        for (unsigned j = 0; a && j < cc->nprefer; j++)
            if (cc->prefer[j] == a)
                a = -1;
        if (a <= 0) {
            config_error(err, errlen, config_setting_get_member(g, "prefer"),
                         "'prefer': '%s' is %s (zstd, br, gzip, each once)", l[i],
                         a < 0 ? "named twice" : "not an encoding");
            config_strings_free(l);
            return -1;
        }
        cc->prefer[cc->nprefer++] = (uint8_t)a;
    }
    config_strings_free(l);
    return 0;
}

static int load_group(struct compress_conf *cc, const config_setting_t *g, char *err,
                      size_t errlen)
{
    long v;

    cc->enabled = 1;
    if (config_check_keys(g, keys, NULL, err, errlen) < 0 ||
        config_get_bool(g, "enabled", &cc->enabled, err, errlen) < 0 ||
        load_prefer(cc, g, err, errlen) < 0)
        return -1;
    v = (long)cc->min_length;
    if (config_get_int(g, "min_length", 0, 1L << 30, &v, err, errlen) < 0)
        return -1;
    cc->min_length = (uint64_t)v;
    v = (long)cc->max_ratio;
    if (config_get_int(g, "max_ratio", 2, 100000, &v, err, errlen) < 0)
        return -1;
    cc->max_ratio = (uint32_t)v;
    for (int a = COMPRESS_GZIP; a < COMPRESS_NALG; a++) {
        v = cc->level[a];
        if (config_get_int(g, levels[a].key, levels[a].lo, levels[a].hi, &v, err, errlen) < 0)
            return -1;
        cc->level[a] = (int)v;
    }
    if (config_get_strings(g, "types", CONFIG_NONEMPTY, &cc->types, &cc->ntypes, err, errlen) < 0)
        return -1;
    for (unsigned i = 0; i < cc->ntypes; i++) {
        const char *star = strchr(cc->types[i], '*');
        if (!strchr(cc->types[i], '/') || (star && strchr(star + 1, '*'))) {
            config_error(err, errlen, config_setting_get_member(g, "types"),
                         "'types': '%s' is not a media type (\"text/html\", \"text/*\", "
                         "\"application/*+json\")",
                         cc->types[i]);
            return -1;
        }
    }
    return 0;
}

int compress_conf_load(struct compress_conf *cc, const config_setting_t *s, char *err,
                       size_t errlen)
{
    defaults(cc);
    if (s && config_setting_type(s) == CONFIG_TYPE_BOOL)
        cc->enabled = config_setting_get_bool(s);
    else if (s && (config_check_group(s, err, errlen,
                                      "'compress' is true, false or a group { ... }") < 0 ||
                   load_group(cc, s, err, errlen) < 0)) {
        compress_conf_free(cc);
        return -1;
    }
    if (!cc->types)
        cc->types = copy_defaults(&cc->ntypes);
    return 0;
}

void compress_conf_free(struct compress_conf *cc)
{
    config_strings_free(cc->types);
    cc->types = NULL;
    cc->ntypes = 0;
}
