/* log_conf.c — the `log` section of the configuration: its keys, their
 * defaults and their checks, into the generation's log_* fields.  Opening
 * the files is log.c's (log_configure), once the generation is in use. */
#include "config.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* In the order of enum log_level and of LOG_FORMAT_*. */
static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const formats[] = {"gatehouse", "combined", "common", "squid", NULL};

/* A log destination: a stream name, kept ("stderr" for the error log;
 * "stdout", "stderr" or "off" for the access log), or a path, resolved
 * against the configuration's directory. */
static int parse_destination(struct gh_config *c, const struct config_key *k,
                             const config_setting_t *s, char *err, size_t errlen)
{
    static const char *const error_streams[] = {"stderr", NULL};
    static const char *const access_streams[] = {"stdout", "stderr", "off", NULL};
    const char *const *keep = strcmp(k->name, "access") == 0 ? access_streams : error_streams;
    char **f = (char **)((char *)c + k->offset), *path;

    if (config_key_read(c, k, s, err, errlen) < 0)
        return -1;
    for (; *keep; keep++)
        if (strcmp(*f, *keep) == 0)
            return 0;
    path = config_path(c, *f);
    free(*f);
    *f = path;
    return 0;
}

static const struct config_key log_keys[] = {
    /* name, kind and field, range, default as README.md writes it, words, what, parse */
    {"level", CONFIG_WORD(log_level), 0, 0, "info", levels, "log level", NULL},
    {"error", CONFIG_STRING(log_error), 0, 0, "stderr", NULL, NULL, parse_destination},
    {"access", CONFIG_STRING(log_access), 0, 0, "stdout", NULL, NULL, parse_destination},
    {"format", CONFIG_WORD(log_format), 0, 0, "gatehouse", formats, "access log format", NULL},
    {0},
};

const struct config_section log_section = {"log", log_keys};
