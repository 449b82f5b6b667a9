/* config_dropins.c — reading and merging conf.d (see config_dropins.h). */
#include "config_dropins.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Sections whose entries are named groups that drop-ins may add to. */
static const char *const named_sections[] = {"pools", "routes", "lists", "policies", NULL};
/* What one entry of each is called in a message. */
static const char *const entry_names[] = {"pool", "route table", "list", "policy", NULL};

static const char *entry_name(const char *section)
{
    for (unsigned i = 0; named_sections[i]; i++)
        if (strcmp(named_sections[i], section) == 0)
            return entry_names[i];
    return section;
}

static int is_named_section(const char *name)
{
    for (const char *const *s = named_sections; *s; s++)
        if (strcmp(*s, name) == 0)
            return 1;
    return 0;
}

static int where(char *dst, size_t cap, const config_setting_t *s)
{
    const char *f = config_setting_source_file(s);

    return (int)gh_fmt(dst, cap, "%s:%u", f ? f : "?", config_setting_source_line(s));
}

/* Copies src (and what it holds) as a new member of parent, keeping its
 * file and line.  Returns the copy, or NULL. */
static config_setting_t *copy_into(config_setting_t *parent, const config_setting_t *src)
{
    int type = config_setting_type(src);
    const char *name = config_setting_is_group(parent) ? config_setting_name(src) : NULL;
    config_setting_t *d = config_setting_add(parent, name, type);

    if (!d)
        return NULL;
    d->line = src->line;
    d->file = src->file;
    d->format = src->format;
    switch (type) {
    case CONFIG_TYPE_INT: config_setting_set_int(d, config_setting_get_int(src)); break;
    case CONFIG_TYPE_INT64: config_setting_set_int64(d, config_setting_get_int64(src)); break;
    case CONFIG_TYPE_FLOAT: config_setting_set_float(d, config_setting_get_float(src)); break;
    case CONFIG_TYPE_BOOL: config_setting_set_bool(d, config_setting_get_bool(src)); break;
    case CONFIG_TYPE_STRING: config_setting_set_string(d, config_setting_get_string(src)); break;
    default:
        for (int i = 0; i < config_setting_length(src); i++)
            if (!copy_into(d, config_setting_get_elem(src, (unsigned)i)))
                return NULL;
    }
    return d;
}

/* The `name` of a listener group, or NULL. */
static const char *listener_name(const config_setting_t *l)
{
    const char *n = NULL;

    return config_setting_is_group(l) && config_setting_lookup_string(l, "name", &n) ? n : NULL;
}

static int merge_listeners(config_setting_t *root, const config_setting_t *src, char *err,
                           size_t errlen)
{
    config_setting_t *dst = config_setting_get_member(root, "listeners");
    char a[600], b[600];

    if (!dst)
        dst = config_setting_add(root, "listeners", CONFIG_TYPE_LIST);
    if (!config_setting_is_list(src) || !config_setting_is_list(dst)) {
        where(a, sizeof(a), src);
        gh_fmt(err, errlen, "%s: 'listeners' must be a list ( { ... }, { ... } )", a);
        return -1;
    }
    for (int i = 0; i < config_setting_length(src); i++) {
        const config_setting_t *l = config_setting_get_elem(src, (unsigned)i);
        const char *name = listener_name(l);
        for (int k = 0; name && k < config_setting_length(dst); k++) {
            const config_setting_t *o = config_setting_get_elem(dst, (unsigned)k);
            const char *other = listener_name(o);
            if (other && strcmp(other, name) == 0) {
                where(a, sizeof(a), l);
                where(b, sizeof(b), o);
                gh_fmt(err, errlen, "%s: listener '%s' is already defined at %s", a, name, b);
                return -1;
            }
        }
        if (!copy_into(dst, l)) {
            where(a, sizeof(a), l);
            gh_fmt(err, errlen, "%s: cannot merge this listener", a);
            return -1;
        }
    }
    return 0;
}

static int merge_named(config_setting_t *root, const config_setting_t *src, char *err,
                       size_t errlen)
{
    const char *sec = config_setting_name(src);
    config_setting_t *dst = config_setting_get_member(root, sec);
    char a[600], b[600];

    if (!dst)
        dst = config_setting_add(root, sec, CONFIG_TYPE_GROUP);
    if (!config_setting_is_group(src) || !config_setting_is_group(dst)) {
        where(a, sizeof(a), config_setting_is_group(src) ? dst : src);
        gh_fmt(err, errlen, "%s: '%s' must be a group { name = ...; }", a, sec);
        return -1;
    }
    for (int i = 0; i < config_setting_length(src); i++) {
        const config_setting_t *e = config_setting_get_elem(src, (unsigned)i);
        const config_setting_t *o = config_setting_get_member(dst, config_setting_name(e));
        if (o) {
            where(a, sizeof(a), e);
            where(b, sizeof(b), o);
            gh_fmt(err, errlen, "%s: %s '%s' is already defined at %s", a, entry_name(sec),
                   config_setting_name(e), b);
            return -1;
        }
        if (!copy_into(dst, e)) {
            where(a, sizeof(a), e);
            gh_fmt(err, errlen, "%s: cannot merge '%s'", a, config_setting_name(e));
            return -1;
        }
    }
    return 0;
}

static int merge_file(config_t *main, config_t *f, char *err, size_t errlen)
{
    config_setting_t *root = config_root_setting(main), *froot = config_root_setting(f);
    char a[600], b[600];

    for (int i = 0; i < config_setting_length(froot); i++) {
        const config_setting_t *s = config_setting_get_elem(froot, (unsigned)i);
        const char *name = config_setting_name(s);
        const config_setting_t *o = config_setting_get_member(root, name);
        int rc;

        if (strcmp(name, "listeners") == 0)
            rc = merge_listeners(root, s, err, errlen);
        else if (is_named_section(name))
            rc = merge_named(root, s, err, errlen);
        else if (o) {
            where(a, sizeof(a), s);
            where(b, sizeof(b), o);
            gh_fmt(err, errlen, "%s: '%s' is already set at %s (a drop-in may add listeners, "
                                "pools, routes, lists and policies, or set what no other file sets)",
                   a, name, b);
            rc = -1;
        } else
            rc = copy_into(root, s) ? 0 : -1;
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int conf_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);

    return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".conf") == 0;
}

int config_dropins_merge(config_t *main, const char *dir, struct config_dropins *d, char *err,
                         size_t errlen)
{
    struct dirent **names;
    int n = scandir(dir, &names, conf_file, alphasort), rc = 0;

    memset(d, 0, sizeof(*d));
    if (n < 0) {
        if (errno == ENOENT)
            return 0;
        gh_fmt(err, errlen, "%s: cannot read the drop-in directory: %s", dir, strerror(errno));
        return -1;
    }
    d->files = xcalloc((size_t)n + 1, sizeof(config_t));
    d->paths = xcalloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
        config_t *f = &d->files[d->n];
        char *path = xmalloc(len);

        gh_fmt(path, len, "%s/%s", dir, names[i]->d_name);
        d->paths[d->n++] = path;
        config_init(f);
        config_set_include_dir(f, dir);
        if (rc == 0 && !config_read_file(f, path)) {
            if (config_error_type(f) == CONFIG_ERR_FILE_IO)
                gh_fmt(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            else
                gh_fmt(err, errlen, "%s:%d: %s", config_error_file(f) ? config_error_file(f) : path,
                       config_error_line(f), config_error_text(f));
            rc = -1;
        } else if (rc == 0 && merge_file(main, f, err, errlen) < 0) {
            rc = -1;
        }
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

void config_dropins_free(struct config_dropins *d)
{
    for (unsigned i = 0; i < d->n; i++) {
        config_destroy(&d->files[i]);
        free(d->paths[i]);
    }
    free(d->files);
    free(d->paths);
    memset(d, 0, sizeof(*d));
}
