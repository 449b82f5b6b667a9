/* config_rig.c — the configuration suites' files and loading (see
 * config_rig.h). */
#include "config_rig.h"

#include "forward.h"
#include "reverse.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const struct frontend *const cfg_fes[CFG_NFES] = {&forward_frontend, &reverse_frontend};

/* ---- files ---- */

char cfg_dir[64];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Unchecked fixture: runs in the parent, once per test case, so teardown
 * runs even when a test fails or crashes in its child. */
void cfg_dir_setup(void)
{
    snprintf(cfg_dir, sizeof(cfg_dir), "/tmp/gh-check-config-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(cfg_dir));
}

void cfg_dir_teardown(void)
{
    nftw(cfg_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void conf_vwrite(struct conf *cf, const char *subdir, const char *fmt, va_list ap)
{
    char *text = NULL;
    const char *mark;
    int fd, n;

    n = vasprintf(&text, fmt, ap);
    ck_assert_int_ge(n, 0);
    if (subdir) {
        snprintf(cf->path, sizeof(cf->path), "%s/%s", cfg_dir, subdir);
        mkdir(cf->path, 0700);
        snprintf(cf->path, sizeof(cf->path), "%s/%s/gh-XXXXXX.conf", cfg_dir, subdir);
    } else {
        snprintf(cf->path, sizeof(cf->path), "%s/gh-XXXXXX.conf", cfg_dir);
    }
    fd = mkstemps(cf->path, 5);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, (size_t)n), n);
    close(fd);
    cf->line = 0;
    mark = strstr(text, "#<");
    if (mark) {
        cf->line = 1;
        for (const char *p = text; p < mark; p++)
            cf->line += *p == '\n';
    }
    free(text);
}

void conf_write(struct conf *cf, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    conf_vwrite(cf, NULL, fmt, ap);
    va_end(ap);
}

void conf_write_in(struct conf *cf, const char *subdir, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    conf_vwrite(cf, subdir, fmt, ap);
    va_end(ap);
}

/* cfg_dir/name as a directory (the static server's document root). */
void conf_make_dir(const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", cfg_dir, name);
    ck_assert_msg(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
}

struct gh_config *conf_load_ok(const struct conf *cf)
{
    char err[CONFIG_ERRLEN] = "";
    struct gh_config *c = config_load(cf->path, cfg_fes, CFG_NFES, err, sizeof(err));

    ck_assert_msg(c != NULL, "refused: %s", err);
    return c;
}

/* The message of the last conf_load_fails_at. */
char conf_last_err[CONFIG_ERRLEN];

/* Loading must fail with "<file>:<line>: ..." holding phrase. */
void conf_load_fails_at(const char *path, const char *file, int line, const char *phrase)
{
    char *err = conf_last_err, want[PATH_MAX + 32];
    const size_t errlen = sizeof(conf_last_err);
    struct gh_config *c;

    err[0] = '\0';
    c = config_load(path, cfg_fes, CFG_NFES, err, errlen);
    if (c)
        config_unref(c);
    ck_assert_msg(c == NULL, "%s: accepted, want an error with \"%s\"", path, phrase);
    snprintf(want, sizeof(want), "%s:%d: ", file, line);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "error \"%s\" does not start with \"%s\"",
                  err, want);
    ck_assert_msg(strstr(err + strlen(want), phrase) != NULL, "error \"%s\" lacks \"%s\"", err,
                  phrase);
}