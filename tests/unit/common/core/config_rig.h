/* config_rig.h — what the configuration unit suites share: a directory
 * under /tmp per test case (made and removed by the parent, so a crashing
 * test leaves nothing behind), files written into it with the line of the
 * mistake marked "#<", and loading through the real front-end table as
 * gatehouse itself loads. */
#ifndef GH_TESTS_CONFIG_RIG_H
#define GH_TESTS_CONFIG_RIG_H

#include "config.h"

#include <limits.h>
#include <stddef.h>

/* The front-ends gatehouse loads with: forward and reverse. */
#define CFG_NFES 2u
extern const struct frontend *const cfg_fes[CFG_NFES];

/* The test case's directory, /tmp/gh-check-config-XXXXXX. */
extern char cfg_dir[64];
/* Unchecked fixture: makes cfg_dir, and removes it with its contents. */
void cfg_dir_setup(void);
void cfg_dir_teardown(void);

/* A configuration file written for a test. */
struct conf {
    char path[PATH_MAX];
    int line; /* the line holding "#<", 0 if none */
};

/* Writes a new file in cfg_dir (or in its subdirectory subdir) from fmt;
 * cf->line is the line holding "#<". Asserts on failure. */
void conf_write(struct conf *cf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void conf_write_in(struct conf *cf, const char *subdir, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* cfg_dir/name as a directory (a static server's document root). */
void conf_make_dir(const char *name, char *path, size_t cap);

/* Text for files: a forward listener, the one-listener list, a pool. */
#define FWD(name, addr) "{ name = \"" name "\"; mode = \"forward\"; listen = \"" addr "\"; }"
#define LISTENERS "listeners = ( " FWD("a", "127.0.0.1:3128") " );\n"
#define POOL_WWW "pools = { web = { servers = ( { address = \"127.0.0.1:9000\"; } ); }; };\n"

/* Loads cf; asserts it is accepted. */
struct gh_config *conf_load_ok(const struct conf *cf);
/* Loading path must fail with "<file>:<line>: ..." holding phrase; the
 * message is kept in conf_last_err. */
void conf_load_fails_at(const char *path, const char *file, int line, const char *phrase);
extern char conf_last_err[CONFIG_ERRLEN];

#endif
