/* config.c — reads a configuration file and dispatches its sections (see
 * config.h).  Owns the generation (load, references, activation), the two
 * top-level keys (workers, user), the key tables' reader and the helpers
 * every parser uses.  It parses no section itself: log_conf.c, http_conf.c,
 * timeouts.c, resolver_conf.c, cache_conf.c, geo_conf.c, protect_conf.c,
 * listeners.c and the front-ends do. */
#include "config.h"
#include "cache_store.h"
#include "geo.h"
#include "protect.h"
#include "config_dropins.h"
#include "h2_conf.h"
#include "http_conf.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- messages and the shape of settings ---- */

static void config_verror(char *err, size_t errlen, const config_setting_t *s, const char *fmt,
                          va_list ap)
{
    size_t n = 0;
    const char *file = s ? config_setting_source_file(s) : NULL;

    if (file)
        n = gh_fmt(err, errlen, "%s:%u: ", file, config_setting_source_line(s));
    vsnprintf(err + n, errlen - n, fmt, ap);
}

void config_error(char *err, size_t errlen, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    config_verror(err, errlen, s, fmt, ap);
    va_end(ap);
}

int config_check_group(const config_setting_t *s, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (config_setting_is_group(s))
        return 0;
    va_start(ap, fmt);
    config_verror(err, errlen, s, fmt, ap);
    va_end(ap);
    return -1;
}

static int in_list(const char *name, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(name, *list) == 0)
            return 1;
    return 0;
}

int config_check_keys(const config_setting_t *group, const char *const *known,
                      const char *const *known2, char *err, size_t errlen)
{
    int n = config_setting_length(group);

    for (int i = 0; i < n; i++) {
        config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(m);
        if (name && !in_list(name, known) && !in_list(name, known2)) {
            config_error(err, errlen, m, "unknown setting '%s'", name);
            return -1;
        }
    }
    return 0;
}

/* ---- typed values: each reads the setting s, named key ---- */

static int read_int(const config_setting_t *s, const char *key, long lo, long hi, long *out,
                    char *err, size_t errlen)
{
    long v;

    if (config_setting_type(s) == CONFIG_TYPE_INT)
        v = config_setting_get_int(s);
    else if (config_setting_type(s) == CONFIG_TYPE_INT64)
        v = (long)config_setting_get_int64(s);
    else {
        config_error(err, errlen, s, "'%s' must be an integer", key);
        return -1;
    }
    if (v < lo || v > hi) {
        config_error(err, errlen, s, "'%s' must be between %ld and %ld, not %ld", key, lo, hi, v);
        return -1;
    }
    *out = v;
    return 0;
}

static int read_bool(const config_setting_t *s, const char *key, int *out, char *err, size_t errlen)
{
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        config_error(err, errlen, s, "'%s' must be true or false", key);
        return -1;
    }
    *out = config_setting_get_bool(s);
    return 0;
}

static int read_string(const config_setting_t *s, const char *key, const char **out, char *err,
                       size_t errlen)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        config_error(err, errlen, s, "'%s' must be a string", key);
        return -1;
    }
    *out = config_setting_get_string(s);
    return 0;
}

static int read_seconds(const config_setting_t *s, const char *key, double lo, double hi,
                        uint32_t *ms, char *err, size_t errlen)
{
    double v;

    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT: v = config_setting_get_int(s); break;
    case CONFIG_TYPE_INT64: v = (double)config_setting_get_int64(s); break;
    case CONFIG_TYPE_FLOAT: v = config_setting_get_float(s); break;
    default: config_error(err, errlen, s, "'%s' must be a number of seconds", key); return -1;
    }
    if (v < lo || v > hi) {
        config_error(err, errlen, s, "'%s' must be between %g and %g seconds", key, lo, hi);
        return -1;
    }
    *ms = (uint32_t)(v * 1000.0 + 0.5);
    return 0;
}

int config_get_int(const config_setting_t *g, const char *key, long lo, long hi, long *out,
                   char *err, size_t errlen)
{
    const config_setting_t *s = config_setting_get_member(g, key);

    return s ? read_int(s, key, lo, hi, out, err, errlen) : 0;
}

int config_get_bool(const config_setting_t *g, const char *key, int *out, char *err, size_t errlen)
{
    const config_setting_t *s = config_setting_get_member(g, key);

    return s ? read_bool(s, key, out, err, errlen) : 0;
}

int config_get_string(const config_setting_t *g, const char *key, const char **out, char *err,
                      size_t errlen)
{
    const config_setting_t *s = config_setting_get_member(g, key);

    return s ? read_string(s, key, out, err, errlen) : 0;
}

int config_get_seconds(const config_setting_t *g, const char *key, double lo, double hi,
                       uint32_t *ms, char *err, size_t errlen)
{
    const config_setting_t *s = config_setting_get_member(g, key);

    return s ? read_seconds(s, key, lo, hi, ms, err, errlen) : 0;
}

/* ---- lists ---- */

/* Frees n strings and their array. */
static void config_strings_free_n(char **list, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void config_strings_free(char **list)
{
    for (char **p = list; p && *p; p++)
        free(*p);
    free(list);
}

/* config_get_strings, with the entries named in the message as `what`
 * ("strings [ \"...\" ]"). */
static int get_strings(const config_setting_t *g, const char *key, unsigned flags, const char *what,
                       char ***out, unsigned *n, char *err, size_t errlen)
{
    const config_setting_t *s = g ? config_setting_get_member(g, key) : NULL;
    const char *nonempty = flags & CONFIG_NONEMPTY ? "non-empty " : "";
    unsigned len;

    *out = NULL;
    *n = 0;
    if (!s)
        return 0;
    if ((!config_setting_is_array(s) && !config_setting_is_list(s)) ||
        (*nonempty && config_setting_length(s) == 0)) {
        config_error(err, errlen, s, "'%s' must be a %slist of %s", key, nonempty, what);
        return -1;
    }
    len = (unsigned)config_setting_length(s);
    *out = xcalloc((size_t)len + 1, sizeof(char *));
    for (unsigned i = 0; i < len; i++) {
        const config_setting_t *e = config_setting_get_elem(s, i);
        const char *v = config_setting_get_string(e);
        if (!v || !*v) {
            config_error(err, errlen, e, "'%s' entries must be non-empty strings", key);
            config_strings_free(*out);
            *out = NULL;
            *n = 0;
            return -1;
        }
        (*out)[(*n)++] = xstrdup(v);
    }
    return 0;
}

int config_get_strings(const config_setting_t *g, const char *key, unsigned flags, char ***out,
                       unsigned *n, char *err, size_t errlen)
{
    return get_strings(g, key, flags, "strings [ \"...\" ]", out, n, err, errlen);
}

int config_get_networks(const config_setting_t *g, const char *key, struct acl *a,
                        const char *const *dflt, char *err, size_t errlen)
{
    char **nets, msg[256];
    unsigned n;

    if (get_strings(g, key, 0, "networks [ \"10.0.0.0/8\" ]", &nets, &n, err, errlen) < 0)
        return -1;
    if (!nets) {
        for (; dflt && *dflt; dflt++)
            if (acl_add(a, *dflt, msg, sizeof(msg)) < 0)
                log_fatal("default network '%s': %s", *dflt, msg);
        return 0;
    }
    for (unsigned i = 0; i < n; i++)
        if (acl_add(a, nets[i], msg, sizeof(msg)) < 0) {
            config_error(err, errlen, config_setting_get_elem(config_setting_get_member(g, key), i),
                         "'%s': %s", key, msg);
            config_strings_free(nets);
            return -1;
        }
    config_strings_free(nets);
    return 0;
}

/* ---- paths and addresses ---- */

char *config_path(const struct gh_config *c, const char *p)
{
    char *out;
    size_t n;

    if (p[0] == '/' || !c->dir)
        return xstrdup(p);
    n = strlen(c->dir) + strlen(p) + 2;
    out = xmalloc(n);
    gh_fmt(out, n, "%s/%s", c->dir, p);
    return out;
}

int config_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon, *hs = text;
    size_t hl;
    char *end;
    long port;

    memset(ss, 0, sizeof(*ss));
    if (text[0] == '[') {
        const char *rb = strchr(text, ']');
        if (!rb || rb[1] != ':')
            return -1;
        hs = text + 1;
        hl = (size_t)(rb - hs);
        colon = rb + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - text);
    }
    if (hl >= sizeof(host))
        return -1;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    for (const char *d = colon + 1; *d; d++)
        if (*d < '0' || *d > '9')
            return -1; /* digits only: no sign, no space */
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
        return -1;
    if (text[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return -1;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        if (strcmp(host, "*") == 0 || host[0] == '\0')
            s4->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return -1;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof(*s4);
    }
    return 0;
}

/* ---- key tables ---- */

static void *field(struct gh_config *c, const struct config_key *k)
{
    return (char *)c + k->offset;
}

static int read_word(const struct config_key *k, const config_setting_t *s, int *out, char *err,
                     size_t errlen)
{
    const char *v;
    char words[256];
    size_t n = 0;

    if (read_string(s, k->name, &v, err, errlen) < 0)
        return -1;
    for (int i = 0; k->words[i]; i++)
        if (strcmp(v, k->words[i]) == 0) {
            *out = i;
            return 0;
        }
    words[0] = '\0';
    for (int i = 0; k->words[i]; i++)
        n += gh_fmt(words + n, sizeof(words) - n, "%s%s", i ? ", " : "", k->words[i]);
    config_error(err, errlen, s, "unknown %s '%s' (%s)", k->what, v, words);
    return -1;
}

int config_key_read(struct gh_config *c, const struct config_key *k, const config_setting_t *s,
                    char *err, size_t errlen)
{
    void *f = field(c, k);
    const char *str;
    long v;

    switch (k->kind) {
    case CONFIG_K_U32:
    case CONFIG_K_U64:
        if (read_int(s, k->name, k->lo, k->hi, &v, err, errlen) < 0)
            return -1;
        if (k->kind == CONFIG_K_U32)
            *(uint32_t *)f = (uint32_t)v;
        else
            *(uint64_t *)f = (uint64_t)v;
        return 0;
    case CONFIG_K_BOOL: return read_bool(s, k->name, f, err, errlen);
    case CONFIG_K_MSEC:
        return read_seconds(s, k->name, (double)k->lo / 1000.0, (double)k->hi / 1000.0, f, err,
                            errlen);
    case CONFIG_K_STRING:
        if (read_string(s, k->name, &str, err, errlen) < 0)
            return -1;
        free(*(char **)f);
        *(char **)f = xstrdup(str);
        return 0;
    case CONFIG_K_WORD: return read_word(k, s, f, err, errlen);
    }
    return -1;
}

static int key_read(struct gh_config *c, const struct config_key *k, const config_setting_t *s,
                    char *err, size_t errlen)
{
    return k->parse ? k->parse(c, k, s, err, errlen) : config_key_read(c, k, s, err, errlen);
}

void config_keys_defaults(struct gh_config *c, const struct config_key *keys)
{
    for (const struct config_key *k = keys; k->name; k++) {
        int text = k->kind == CONFIG_K_STRING || k->kind == CONFIG_K_WORD;
        char line[256], err[CONFIG_ERRLEN];
        config_t one;

        if (!k->dflt)
            continue;
        /* the default goes through the reader the file's value would */
        gh_fmt(line, sizeof(line), text ? "%s = \"%s\";" : "%s = %s;", k->name, k->dflt);
        config_init(&one);
        if (!config_read_string(&one, line) ||
            key_read(c, k, config_lookup(&one, k->name), err, sizeof(err)) < 0)
            log_fatal("the default of '%s', %s, is not valid", k->name, k->dflt);
        config_destroy(&one);
    }
}

static const struct config_key *key_find(const struct config_key *keys, const char *name)
{
    for (const struct config_key *k = keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

int config_keys_read(struct gh_config *c, const config_setting_t *g, const struct config_key *keys,
                     char *err, size_t errlen)
{
    for (const struct config_key *k = keys; k->name; k++) {
        const config_setting_t *s = config_setting_get_member(g, k->name);
        if (s && key_read(c, k, s, err, errlen) < 0)
            return -1;
    }
    return 0;
}

void config_keys_free(struct gh_config *c, const struct config_key *keys)
{
    for (const struct config_key *k = keys; k->name; k++)
        if (k->kind == CONFIG_K_STRING) {
            free(*(char **)field(c, k));
            *(char **)field(c, k) = NULL;
        }
}

int config_section_load(struct gh_config *c, const config_setting_t *root,
                        const struct config_section *sec, char *err, size_t errlen)
{
    const config_setting_t *g = config_setting_get_member(root, sec->name);

    if (!g)
        return 0;
    if (config_check_group(g, err, errlen, "'%s' must be a group { ... }", sec->name) < 0)
        return -1;
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        if (!key_find(sec->keys, config_setting_name(m))) {
            config_error(err, errlen, m, "unknown setting '%s'", config_setting_name(m));
            return -1;
        }
    }
    return config_keys_read(c, g, sec->keys, err, errlen);
}

/* ---- the top level ---- */

/* workers = 0 is one per CPU. */
static int parse_workers(struct gh_config *c, const struct config_key *k, const config_setting_t *s,
                         char *err, size_t errlen)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (config_key_read(c, k, s, err, errlen) < 0)
        return -1;
    if (c->workers == 0)
        c->workers = cpus > 0 ? (unsigned)cpus : 1;
    return 0;
}

static const struct config_key top_keys[] = {
    /* name, kind and field, range, default as README.md writes it, words, what, parse */
    {"workers", CONFIG_U32(workers), 0, 256, "0", NULL, NULL, parse_workers},
    {"user", CONFIG_STRING(user), 0, 0, NULL, NULL, NULL, NULL}, /* NULL: see check.c */
    /* as written; relative to the file's directory (read_dropins resolves it) */
    {"include_dir", CONFIG_STRING(include_dir), 0, 0, "conf.d", NULL, NULL, NULL},
    {0},
};

static const struct config_section top_section = {NULL, top_keys};

const struct config_section *const config_core_sections[] = {
    &top_section,      &log_section,        &http_section, &h2_section, &timeouts_section,
    &resolver_section, &protection_section, &fleet_section, NULL,
};

/* The sections the root may hold besides the core's: the store, the
 * listeners and the front-ends'. */
static int root_key_known(const struct gh_config *c, const char *name)
{
    static const char *const others[] = {"cache",      "geo",  "rate_limits",
                                         "deny_rules", "bans", "listeners", NULL};

    if (key_find(top_keys, name) || in_list(name, others))
        return 1;
    for (unsigned i = 0; config_core_sections[i]; i++)
        if (config_core_sections[i]->name && strcmp(name, config_core_sections[i]->name) == 0)
            return 1;
    for (unsigned i = 0; i < c->nfes; i++)
        if (in_list(name, c->fes[i]->sections))
            return 1;
    return 0;
}

static int load_root(struct gh_config *c, config_t *file, char *err, size_t errlen)
{
    config_setting_t *root = config_root_setting(file);

    for (int k = 0; k < config_setting_length(root); k++) {
        config_setting_t *m = config_setting_get_elem(root, (unsigned)k);
        if (!root_key_known(c, config_setting_name(m))) {
            config_error(err, errlen, m, "unknown setting '%s'", config_setting_name(m));
            return -1;
        }
    }
    if (config_keys_read(c, root, top_keys, err, errlen) < 0)
        return -1;
    for (unsigned i = 0; config_core_sections[i]; i++)
        if (config_core_sections[i]->name &&
            config_section_load(c, root, config_core_sections[i], err, errlen) < 0)
            return -1;
    if (cache_conf_load(&c->cache, config_setting_get_member(root, "cache"), err, errlen) < 0 ||
        geo_conf_load(c, root, err, errlen) < 0 || protect_conf_load(c, root, err, errlen) < 0)
        return -1;
    c->fe_state = xcalloc(c->nfes, sizeof(void *));
    for (unsigned i = 0; i < c->nfes; i++) {
        c->fe_state[i] = c->fes[i]->load(c, file, err, errlen);
        if (!c->fe_state[i])
            return -1;
    }
    return listeners_load(c, config_setting_get_member(root, "listeners"), err, errlen);
}

/* ---- the generation ---- */

/* Merges the drop-ins of include_dir (as the main file sets it, before the
 * key table reads it) and records the files read. */
static int read_dropins(struct gh_config *c, config_t *file, struct config_dropins *d, char *err,
                        size_t errlen)
{
    const char *dir = "conf.d";
    char *path;
    int rc;

    config_lookup_string(file, "include_dir", &dir);
    path = config_path(c, dir);
    rc = config_dropins_merge(file, path, d, err, errlen);
    free(path);
    c->sources = xcalloc((size_t)d->n + 1, sizeof(char *));
    c->sources[c->nsources++] = xstrdup(c->path);
    for (unsigned i = 0; i < d->n; i++)
        c->sources[c->nsources++] = xstrdup(d->paths[i]);
    return rc;
}

static struct gh_config *loading; /* the generation config_load is building */

void config_note_reread(const char *path)
{
    if (!loading)
        return;
    for (unsigned i = 0; i < loading->nreread; i++)
        if (strcmp(loading->reread[i], path) == 0)
            return;
    loading->reread = xrealloc(loading->reread, (loading->nreread + 1) * sizeof(char *));
    loading->reread[loading->nreread++] = xstrdup(path);
}

struct gh_config *config_load(const char *path, const struct frontend *const *fes, unsigned nfes,
                              char *err, size_t errlen)
{
    struct gh_config *c = xcalloc(1, sizeof(*c));
    struct config_dropins dropins = {0};
    config_t file;
    char *copy;
    int ok;

    atomic_init(&c->refs, 1);
    c->path = xstrdup(path);
    copy = xstrdup(path);
    c->dir = xstrdup(dirname(copy));
    free(copy);
    c->fes = fes;
    c->nfes = nfes;
    for (unsigned i = 0; config_core_sections[i]; i++)
        config_keys_defaults(c, config_core_sections[i]->keys);

    config_init(&file);
    config_set_include_dir(&file, c->dir);
    if (!config_read_file(&file, path)) {
        if (config_error_type(&file) == CONFIG_ERR_FILE_IO)
            gh_fmt(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        else
            gh_fmt(err, errlen, "%s:%d: %s",
                   config_error_file(&file) ? config_error_file(&file) : path,
                   config_error_line(&file), config_error_text(&file));
        ok = 0;
    } else {
        loading = c;
        ok = read_dropins(c, &file, &dropins, err, errlen) == 0 &&
             load_root(c, &file, err, errlen) == 0;
        loading = NULL;
    }
    config_destroy(&file);
    config_dropins_free(&dropins);
    if (!ok) {
        config_unref(c);
        return NULL;
    }
    return c;
}

struct gh_config *config_ref(struct gh_config *c)
{
    atomic_fetch_add(&c->refs, 1);
    return c;
}

void config_unref(struct gh_config *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (unsigned i = 0; i < c->nfes; i++)
        if (c->fe_state && c->fe_state[i])
            c->fes[i]->free(c->fe_state[i]);
    listeners_free(c);
    free(c->fe_state);
    config_strings_free_n(c->reread, c->nreread);
    config_strings_free_n(c->sources, c->nsources);
    free(c->path);
    free(c->dir);
    for (unsigned i = 0; config_core_sections[i]; i++)
        config_keys_free(c, config_core_sections[i]->keys);
    cache_conf_free(&c->cache);
    protect_conf_free(c);
    geo_close(c->geo);
    free(c);
}

void *config_fe_state(const struct gh_config *c, const struct frontend *fe)
{
    for (unsigned i = 0; i < c->nfes; i++)
        if (c->fes[i] == fe)
            return c->fe_state ? c->fe_state[i] : NULL;
    return NULL;
}

void config_activate(struct gh_config *c)
{
    cache_store_configure(&c->cache);
    for (unsigned i = 0; i < c->nfes; i++)
        if (c->fes[i]->activate && c->fe_state)
            c->fes[i]->activate(c->fe_state[i]);
}
