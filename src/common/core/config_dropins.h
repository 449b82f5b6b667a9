/* config_dropins.h — the drop-in directory: every `*.conf` file of
 * `include_dir` (conf.d beside the main file by default), read in name
 * order and merged into the main file's settings before any section is
 * parsed.  libconfig 1.5 neither expands @include globs nor lets an
 * included file add entries to a list, so the merge is done here:
 *   - `listeners` entries are appended;
 *   - `pools`, `routes`, `lists` and `policies` entries are added by name;
 *   - any other setting may come from one file only.
 * A name defined twice (a listener, pool, route table, list or policy),
 * or a setting made twice, is an error naming both files and lines.  The
 * merged settings keep their own file and line, so every later error
 * names the drop-in it comes from. */
#ifndef GH_CONFIG_DROPINS_H
#define GH_CONFIG_DROPINS_H

#include <libconfig.h>
#include <stddef.h>

/* The drop-ins read: their parsed files, kept alive while the merged
 * settings are in use (their file names live there). */
struct config_dropins {
    config_t *files;
    char **paths;
    unsigned n;
};

/* Reads every *.conf of dir (absent: none) into d and merges it into
 * main's root.  Returns 0, or -1 with "file:line: message" in err. */
int config_dropins_merge(config_t *main, const char *dir, struct config_dropins *d, char *err,
                         size_t errlen);

/* Destroys what config_dropins_merge read. */
void config_dropins_free(struct config_dropins *d);

#endif
