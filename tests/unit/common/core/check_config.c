/* check_config.c — tests of configuration loading (config.h) through the
 * real front-end table, as gatehouse itself loads it.
 *
 * Every file is written with mkstemp into a directory under /tmp that the
 * parent process makes before a test case and removes after it, so a failing
 * or crashing test leaves nothing behind.  A bad file must be refused with
 * the message a user reads, "file:line: message", naming the file and the
 * line of the mistake.  In the error table the expected line carries the
 * comment marker "#<", so no line number is counted by hand.  Good files are
 * checked setting by setting against the values written, or the defaults
 * of each section's key table (check_config_keys.c holds those tables to
 * README.md).
 *
 * Tests marked BUG pinned bugs this suite found; they are fixed and run. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"
#include "config.h"
#include "forward.h"
#include "log.h"
#include "policy.h"
#include "pool.h"
#include "reverse.h"
#include "route.h"

Suite *config_suite(void);

static const struct frontend *const fes[] = {&forward_frontend, &reverse_frontend};
#define NFES ((unsigned)(sizeof(fes) / sizeof(fes[0])))

/* ---- files ---- */

static char tmpdir[64]; /* /tmp/gh-check-config-XXXXXX */

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
static void dir_setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-check-config-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void dir_teardown(void)
{
    nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A configuration file written for a test. */
struct conf {
    char path[PATH_MAX];
    int line; /* the line holding "#<", 0 if none */
};

static void conf_vwrite(struct conf *cf, const char *subdir, const char *fmt, va_list ap)
{
    char *text = NULL;
    const char *mark;
    int fd, n;

    n = vasprintf(&text, fmt, ap);
    ck_assert_int_ge(n, 0);
    if (subdir) {
        snprintf(cf->path, sizeof(cf->path), "%s/%s", tmpdir, subdir);
        mkdir(cf->path, 0700);
        snprintf(cf->path, sizeof(cf->path), "%s/%s/gh-XXXXXX.conf", tmpdir, subdir);
    } else {
        snprintf(cf->path, sizeof(cf->path), "%s/gh-XXXXXX.conf", tmpdir);
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

static void conf_write(struct conf *cf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conf_write(struct conf *cf, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    conf_vwrite(cf, NULL, fmt, ap);
    va_end(ap);
}

static void conf_write_in(struct conf *cf, const char *subdir, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conf_write_in(struct conf *cf, const char *subdir, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    conf_vwrite(cf, subdir, fmt, ap);
    va_end(ap);
}

/* tmpdir/name as a directory (the static server's document root). */
static void make_dir(const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", tmpdir, name);
    ck_assert_msg(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
}

static struct gh_config *load_ok(const struct conf *cf)
{
    char err[CONFIG_ERRLEN] = "";
    struct gh_config *c = config_load(cf->path, fes, NFES, err, sizeof(err));

    ck_assert_msg(c != NULL, "refused: %s", err);
    return c;
}

/* The message of the last load_fails_at. */
static char last_err[CONFIG_ERRLEN];

/* Loading must fail with "<file>:<line>: ..." holding phrase. */
static void load_fails_at(const char *path, const char *file, int line, const char *phrase)
{
    char *err = last_err, want[PATH_MAX + 32];
    const size_t errlen = sizeof(last_err);
    struct gh_config *c;

    err[0] = '\0';
    c = config_load(path, fes, NFES, err, errlen);
    if (c)
        config_unref(c);
    ck_assert_msg(c == NULL, "%s: accepted, want an error with \"%s\"", path, phrase);
    snprintf(want, sizeof(want), "%s:%d: ", file, line);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "error \"%s\" does not start with \"%s\"",
                  err, want);
    ck_assert_msg(strstr(err + strlen(want), phrase) != NULL, "error \"%s\" lacks \"%s\"", err,
                  phrase);
}

/* ---- bad files: one class of mistake each ---- */

#define FWD(name, addr) "{ name = \"" name "\"; mode = \"forward\"; listen = \"" addr "\"; }"
#define LISTENERS "listeners = ( " FWD("a", "127.0.0.1:3128") " );\n"
#define POOL_WWW "pools = { web = { servers = ( { address = \"127.0.0.1:9000\"; } ); }; };\n"

struct error_case {
    const char *name;
    const char *text;   /* the line of the mistake carries "#<" */
    const char *phrase; /* what the message must say after "file:line: " */
};

static const struct error_case error_cases[] = {
    /* libconfig's own parse errors keep their line */
    {"syntax error",
     "workers = 2;\n"
     "timeouts = { keepalive = 5 s; };  #<\n" LISTENERS,
     "syntax error"},
    {"syntax error in a listener",
     "listeners = (\n"
     "  { name = \"a\"; mode = \"forward\";\n"
     "    listen = \"127.0.0.1:3128\" \"x\" = 1; }  #<\n"
     ");\n",
     "syntax error"},

    /* unknown keys, wherever they are */
    {"unknown top-level key", "listners = ( " FWD("a", "127.0.0.1:3128") " );  #<\n",
     "unknown setting 'listners'"},
    {"unknown top-level key after good ones",
     LISTENERS "workers = 2;\n"
               "wokers = 2;  #<\n",
     "unknown setting 'wokers'"},
    {"unknown key in a listener",
     "listeners = (\n"
     "  { name = \"a\"; mode = \"forward\";\n"
     "    listen = \"127.0.0.1:3128\";\n"
     "    polcy = \"default\"; }  #<\n"
     ");\n",
     "unknown setting 'polcy'"},
    {"reverse key in a forward listener",
     "listeners = (\n"
     "  { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:3128\";\n"
     "    routes = \"site\"; }  #<\n"
     ");\n",
     "unknown setting 'routes'"},
    {"unknown key in log",
     "log = {\n"
     "  level = \"info\";\n"
     "  acess = \"off\";  #<\n"
     "};\n" LISTENERS,
     "unknown setting 'acess'"},
    {"unknown key in http",
     LISTENERS "http = { max_headers = 50;\n"
               "  max_header = 100; };  #<\n",
     "unknown setting 'max_header'"},
    {"unknown key in timeouts",
     LISTENERS "timeouts = {\n"
               "  keep_alive = 5;  #<\n"
               "};\n",
     "unknown setting 'keep_alive'"},

    /* wrong types */
    {"workers is a string", "workers = \"two\";  #<\n" LISTENERS, "'workers' must be an integer"},
    {"workers is a float", "workers = 2.0;  #<\n" LISTENERS, "'workers' must be an integer"},
    {"listen is a number",
     "listeners = (\n"
     "  { name = \"a\"; mode = \"forward\";\n"
     "    listen = 5; }  #<\n"
     ");\n",
     "'listen' must be an address string or a list of them"},
    {"listen holds a number",
     "listeners = (\n"
     "  { name = \"a\"; mode = \"forward\";\n"
     "    listen = [ \"127.0.0.1:1\", \"127.0.0.1:2\" ]; },\n"
     "  { name = \"b\"; mode = \"forward\";\n"
     "    listen = ( \"127.0.0.1:3\", 3128 ); }  #<\n"
     ");\n",
     "listener 'b': bad listen address '(not a string)'"},
    {"name is a number",
     "listeners = (\n"
     "  { name = 1;  #<\n"
     "    mode = \"forward\"; listen = \"127.0.0.1:3128\"; }\n"
     ");\n",
     "'name' must be a string"},
    {"timeout is a string", LISTENERS "timeouts = { send = \"5s\"; };  #<\n",
     "'send' must be a number of seconds"},
    {"bool is a number", LISTENERS "http = { underscores_in_headers = 1; };  #<\n",
     "'underscores_in_headers' must be true or false"},
    {"log is not a group", "log = \"stderr\";  #<\n" LISTENERS, "'log' must be a group"},
    {"listeners is not a list", "listeners = { a = 1; };  #<\n", "'listeners' must be a list"},
    {"listener is not a group", "listeners = ( \"a\" );  #<\n", "each listener must be a group"},

    /* out of range */
    {"too many workers", "workers = 1000;  #<\n" LISTENERS,
     "'workers' must be between 0 and 256, not 1000"},
    {"negative workers", "workers = -1;  #<\n" LISTENERS,
     "'workers' must be between 0 and 256, not -1"},
    {"negative keepalive",
     LISTENERS "timeouts = {\n"
               "  client_header = 5;\n"
               "  keepalive = -1;  #<\n"
               "};\n",
     "'keepalive' must be between 0 and 86400 seconds"},
    {"zero client_header", LISTENERS "timeouts = { client_header = 0; };  #<\n",
     "'client_header' must be between 0.01 and 86400 seconds"},
    {"timeout over a day", LISTENERS "timeouts = { upstream_read = 86400.5; };  #<\n",
     "'upstream_read' must be between 0.01 and 86400 seconds"},
    {"too few max_headers", LISTENERS "http = { max_headers = 5; };  #<\n",
     "'max_headers' must be between 8 and"},
    {"max_header_bytes too large", LISTENERS "http = { max_header_bytes = 65536; };  #<\n",
     "'max_header_bytes' must be between 1024 and 16384, not 65536"},
    {"negative max_body_bytes", LISTENERS "http = { max_body_bytes = -1; };  #<\n",
     "'max_body_bytes' must be between 0 and"},
    {"server weight zero",
     "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = "
     "\"127.0.0.1:8080\"; routes = \"r\"; } );\n"
     "pools = { web = { servers = (\n"
     "  { address = \"127.0.0.1:9000\"; weight = 0; }  #<\n"
     "); }; };\n"
     "routes = { r = ( { pool = \"web\"; } ); };\n",
     "'weight' must be between 1 and 1000, not 0"},

    /* listeners */
    {"unknown mode",
     "listeners = (\n"
     "  { name = \"a\";\n"
     "    mode = \"fwd\";  #<\n"
     "    listen = \"127.0.0.1:3128\"; }\n"
     ");\n",
     "listener 'a': unknown mode 'fwd' (forward or reverse)"},
    {"listener without name",
     "listeners = (\n"
     "  " FWD("a", "127.0.0.1:1") ",\n"
                                  "  { mode = \"forward\";  #<\n"
                                  "    listen = \"127.0.0.1:3128\"; }\n"
                                  ");\n",
     "listener without a 'name'"},
    {"listener with empty name",
     "listeners = (\n"
     "  { name = \"\"; mode = \"forward\"; listen = \"127.0.0.1:1\"; }  #<\n"
     ");\n",
     "listener without a 'name'"},
    {"listener without mode",
     "listeners = (\n"
     "  { name = \"a\";  #<\n"
     "    listen = \"127.0.0.1:3128\"; }\n"
     ");\n",
     "listener 'a' has no 'mode' (forward or reverse)"},
    {"listener without listen",
     "listeners = (\n"
     "  { name = \"a\";  #<\n"
     "    mode = \"forward\"; }\n"
     ");\n",
     "listener 'a' has no 'listen' address"},
    {"listen list empty",
     "listeners = (\n"
     "  { name = \"a\"; mode = \"forward\";\n"
     "    listen = [ ]; }  #<\n"
     ");\n",
     "'listen' is empty"},
    {"duplicate listener name",
     "listeners = (\n"
     "  " FWD("a", "127.0.0.1:1") ",\n"
                                  "  " FWD("b", "127.0.0.1:2") ",\n"
                                                               "  " FWD("a", "127.0.0.1:3") "  #<\n"
                                                                                            ");\n",
     "listener name 'a' is used twice"},
    {"same address on two listeners",
     "listeners = (\n"
     "  { name = \"a\"; mode = \"forward\"; listen = [ \"127.0.0.1:1\", \"[::1]:3128\" ]; },\n"
     "  { name = \"b\"; mode = \"reverse\"; listen = \"[::1]:3128\"; routes = \"r\"; }  #<\n"
     ");\n" POOL_WWW "routes = { r = ( { pool = \"web\"; } ); };\n",
     "address [::1]:3128 is used by listeners 'a' and 'b'"},
    {"same address twice in one listener",
     "listeners = (\n"
     "  { name = \"a\"; mode = \"forward\";  #<\n"
     "    listen = [ \"127.0.0.1:3128\", \"127.0.0.2:3128\", \"127.0.0.1:3128\" ]; }\n"
     ");\n",
     "address 127.0.0.1:3128 is used by listeners 'a' and 'a'"},
    {"listen address is a name",
     "listeners = (\n"
     "  { name = \"a\"; mode = \"forward\";\n"
     "    listen = \"localhost:3128\"; }  #<\n"
     ");\n",
     "listener 'a': bad listen address 'localhost:3128' (want \"ip:port\" or \"[ipv6]:port\", port 1-65535)"},
    {"listen address without port",
     "listeners = ( { name = \"a\"; mode = \"forward\";\n"
     "  listen = \"127.0.0.1\"; } );  #<\n",
     "listener 'a': bad listen address '127.0.0.1'"},
    {"listen port too large",
     "listeners = ( { name = \"a\"; mode = \"forward\";\n"
     "  listen = \"127.0.0.1:65536\"; } );  #<\n",
     "listener 'a': bad listen address '127.0.0.1:65536'"},
    {"listen IPv6 without brackets",
     "listeners = ( { name = \"a\"; mode = \"forward\";\n"
     "  listen = \"::1:3128\"; } );  #<\n",
     "listener 'a': bad listen address '::1:3128'"},
    {"listen IPv6 without colon",
     "listeners = ( { name = \"a\"; mode = \"forward\";\n"
     "  listen = \"[::1]3128\"; } );  #<\n",
     "listener 'a': bad listen address '[::1]3128'"},
    {"listen address in a list",
     "listeners = ( { name = \"a\"; mode = \"forward\";\n"
     "  listen = [ \"127.0.0.1:1\", \"127.0.0.300:2\" ]; } );  #<\n",
     "listener 'a': bad listen address '127.0.0.300:2'"},

    /* forward: policies */
    {"unknown policy",
     "listeners = (\n"
     "  { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:3128\";\n"
     "    policy = \"lan\"; }  #<\n"
     ");\n",
     "listener uses policy 'lan', which is not defined in 'policies'"},
    {"bad client network",
     LISTENERS "policies = {\n"
               "  lan = { clients = [ \"10.0.0.0/8\", \"10.0.0.0/33\" ]; };  #<\n"
               "};\n",
     "bad network '10.0.0.0/33'"},
    {"unknown key in a policy",
     LISTENERS "policies = {\n"
               "  lan = { client = [ \"10.0.0.0/8\" ]; };  #<\n"
               "};\n",
     "unknown setting 'client'"},
    {"tunnel_ech not one of its words",
     LISTENERS "policies = {\n"
               "  lan = { tunnel_ech = \"yes\"; };  #<\n"
               "};\n",
     "'tunnel_ech' is \"same-name\", \"refuse\" or \"allow\""},
    {"tunnel_non_tls neither a bool nor ports",
     LISTENERS "policies = {\n"
               "  lan = { tunnel_non_tls = \"ssh\"; };  #<\n"
               "};\n",
     "'tunnel_non_tls' is true, false or a list of ports"},
    {"tunnel_non_tls with a bad port",
     LISTENERS "policies = {\n"
               "  lan = { tunnel_non_tls = ( 22, 70000 ); };  #<\n"
               "};\n",
     "'tunnel_non_tls': 70000-70000 is not a port range"},

    /* reverse: routes and pools */
    {"unknown routes name",
     "listeners = (\n"
     "  { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:8080\";\n"
     "    routes = \"web\"; }  #<\n"
     ");\n" POOL_WWW "routes = { site = ( { pool = \"web\"; } ); };\n",
     "listener uses routes 'web', which is not defined in 'routes'"},
    {"reverse listener without routes",
     "listeners = (\n"
     "  { name = \"s\"; mode = \"reverse\";  #<\n"
     "    listen = \"127.0.0.1:8080\"; }\n"
     ");\n",
     "a reverse listener needs 'routes'"},
    {"route to an unknown pool",
     "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = "
     "\"127.0.0.1:8080\"; routes = \"site\"; } );\n" POOL_WWW "routes = {\n"
     "  site = (\n"
     "    { host = \"a.example\"; pool = \"web\"; },\n"
     "    { host = \"b.example\";\n"
     "      pool = \"wbe\"; }  #<\n"
     "  );\n"
     "};\n",
     "routes 'site': pool 'wbe' is not defined in 'pools'"},
    {"route without a pool",
     "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = "
     "\"127.0.0.1:8080\"; routes = \"site\"; } );\n" POOL_WWW "routes = { site = (\n"
     "  { host = \"a.example\"; }  #<\n"
     "); };\n",
     "routes 'site': a route needs a 'pool'"},
    {"route path without slash",
     "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = "
     "\"127.0.0.1:8080\"; routes = \"site\"; } );\n" POOL_WWW "routes = { site = (\n"
     "  { path = \"api\"; pool = \"web\"; }  #<\n"
     "); };\n",
     "routes 'site': path 'api' must start with '/'"},
    {"pool with empty servers",
     LISTENERS "pools = {\n"
               "  web = {\n"
               "    servers = ( );  #<\n"
               "  };\n"
               "};\n",
     "pool 'web' needs 'servers', a non-empty list"},
    {"pool without servers",
     LISTENERS "pools = {\n"
               "  web = { };  #<\n"
               "};\n",
     "pool 'web' needs 'servers', a non-empty list"},
    {"server with address and static",
     LISTENERS "pools = { web = { servers = (\n"
               "  { address = \"127.0.0.1:9000\"; },\n"
               "  { address = \"127.0.0.1:9001\";  #<\n"
               "    static = \"/tmp\"; }\n"
               "); }; };\n",
     "pool 'web': a server needs exactly one of 'address' or 'static'"},
    {"server with neither address nor static",
     LISTENERS "pools = { web = { servers = (\n"
               "  { weight = 2; }  #<\n"
               "); }; };\n",
     "pool 'web': a server needs exactly one of 'address' or 'static'"},
    {"server address without port",
     LISTENERS "pools = { web = { servers = (\n"
               "  { address = \"10.0.0.1\"; }  #<\n"
               "); }; };\n",
     "pool 'web': bad server address '10.0.0.1' (want host:port)"},

    /* log */
    {"bad log level",
     "log = {\n"
     "  error = \"stderr\";\n"
     "  level = \"loud\";  #<\n"
     "};\n" LISTENERS,
     "unknown log level 'loud' (error, warn, info, debug)"},
    {"bad access log format", "log = { format = \"json\"; };  #<\n" LISTENERS,
     "unknown access log format 'json' (gatehouse, combined, common, squid)"},
    {"bad via", LISTENERS "http = { via = \"my proxy\"; };  #<\n", "'via' must be a single token"},
};

START_TEST(test_error_table)
{
    const struct error_case *ec = &error_cases[_i];
    struct conf cf;

    conf_write(&cf, "%s", ec->text);
    ck_assert_msg(cf.line > 0, "%s: no #< marker", ec->name);
    load_fails_at(cf.path, cf.path, cf.line, ec->phrase);
}
END_TEST

START_TEST(test_static_dir_missing)
{
    struct conf cf;
    char want[PATH_MAX + 100];

    conf_write(&cf, LISTENERS "pools = {\n"
                              "  files = { servers = ( { static = \"no-such-dir\"; } ); };  #<\n"
                              "};\n");
    /* the relative path is resolved against the file's directory */
    snprintf(want, sizeof(want), "pool 'files': static directory %s/no-such-dir: %s", tmpdir,
             strerror(ENOENT));
    load_fails_at(cf.path, cf.path, cf.line, want);
}
END_TEST

/* A static "directory" that is a regular file. */
START_TEST(test_static_dir_is_a_file)
{
    struct conf file, cf;
    const char *base;
    char want[PATH_MAX + 100];

    conf_write(&file, "not a directory\n");
    base = strrchr(file.path, '/') + 1;
    conf_write(&cf,
               LISTENERS "pools = {\n"
                         "  files = { servers = ( { static = \"%s\"; } ); };  #<\n"
                         "};\n",
               base);
    snprintf(want, sizeof(want), "pool 'files': static directory %s: ", file.path);
    load_fails_at(cf.path, cf.path, cf.line, want);
    ck_assert_msg(strcasestr(last_err, "not a directory") != NULL, "error \"%s\"", last_err);
}
END_TEST

/* Set errno to something unrelated first, as earlier library calls may:
 * the message must still say what is wrong with the path. */
START_TEST(test_static_dir_is_a_file_stale_errno)
{
    struct conf file, cf;
    char err[CONFIG_ERRLEN];

    conf_write(&file, "not a directory\n");
    conf_write(&cf, LISTENERS "pools = { files = { servers = ( { static = \"%s\"; } ); }; };\n",
               file.path);
    errno = EAGAIN;
    ck_assert_ptr_null(config_load(cf.path, fes, NFES, err, sizeof(err)));
    ck_assert_msg(strcasestr(err, "not a directory") != NULL, "error \"%s\"", err);
}
END_TEST

START_TEST(test_no_listeners)
{
    struct conf cf;
    char err[CONFIG_ERRLEN], want[PATH_MAX + 64];

    conf_write(&cf, "workers = 2;\n");
    ck_assert_ptr_null(config_load(cf.path, fes, NFES, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: no 'listeners' defined", cf.path);
    ck_assert_str_eq(err, want);

    conf_write(&cf, "listeners = ( );  #<\n");
    load_fails_at(cf.path, cf.path, cf.line, "'listeners' is empty");
}
END_TEST

START_TEST(test_missing_file)
{
    char err[CONFIG_ERRLEN], path[PATH_MAX], want[PATH_MAX + 64];

    snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
    ck_assert_ptr_null(config_load(path, fes, NFES, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: cannot read: %s", path, strerror(ENOENT));
    ck_assert_str_eq(err, want);
}
END_TEST

/* BUG (config.c, load_listeners): "one address, one listener" compares the
 * address text, so the same socket address written two ways is accepted and
 * only fails later at bind time ("cannot listen on ...: Address already in
 * use"), after `gatehouse -t` has called the file good.  Expected: the
 * "address ... is used by listeners" error.  Fixed; the test guards it. */
START_TEST(test_same_address_spelled_twice)
{
    static const char *const pairs[][2] = {
        {"127.0.0.1:3128", "127.0.0.1:03128"},
        {"*:8080", "0.0.0.0:8080"},
        {"[::1]:8080", "[0:0::1]:8080"},
    };
    struct conf cf;

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        conf_write(&cf,
                   "listeners = (\n"
                   "  { name = \"a\"; mode = \"forward\"; listen = \"%s\"; },\n"
                   "  { name = \"b\"; mode = \"forward\"; listen = \"%s\"; }  #<\n"
                   ");\n",
                   pairs[i][0], pairs[i][1]);
        load_fails_at(cf.path, cf.path, cf.line, "is used by listeners 'a' and 'b'");
    }
}
END_TEST

/* BUG (config.c, load_listen): a bad address in a list written over several
 * lines is reported at the line of "listen =", not at its own line, though
 * libconfig knows each element's line (config_error is given the list `s`,
 * not the element `e`).  Expected ":3:", actual ":2:".  Run with
 * Fixed; the test guards it. */
START_TEST(test_listen_error_at_element_line)
{
    struct conf cf;

    conf_write(&cf, "listeners = ( { name = \"a\"; mode = \"forward\";\n"
                    "  listen = [ \"127.0.0.1:1\",\n"
                    "             \"127.0.0.300:2\" ]; } );  #<\n");
    load_fails_at(cf.path, cf.path, cf.line, "listener 'a': bad listen address '127.0.0.300:2'");
}
END_TEST

/* BUG (config.c, config_parse_addr): port 0 is accepted for a listener (each
 * worker's socket would get a different random port), and the port is read
 * with strtol, which takes " 80" and "+80".  Expected: a bad listen address.
 * Fixed; the test guards it. */
START_TEST(test_listen_port_strict)
{
    static const char *const bad[] = {"127.0.0.1:0", "127.0.0.1: 80", "127.0.0.1:+80"};
    struct conf cf;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        conf_write(&cf,
                   "listeners = ( { name = \"a\"; mode = \"forward\";\n"
                   "  listen = \"%s\"; } );  #<\n",
                   bad[i]);
        load_fails_at(cf.path, cf.path, cf.line, "bad listen address");
    }
}
END_TEST

/* ---- good files ---- */

/* A socket address from "ip:port" text. */
static struct sockaddr_storage addr_of(const char *text)
{
    struct sockaddr_storage ss;
    socklen_t len;

    ck_assert_int_eq(config_parse_addr(text, &ss, &len), 0);
    return ss;
}

/* The smallest working file: one forward listener; the rest are defaults. */
START_TEST(test_minimal_defaults)
{
    struct conf cf;
    struct gh_config *c;
    const struct listener_conf *l;
    const struct sockaddr_in *sin;
    const struct policy *p;
    struct sockaddr_storage ss;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    conf_write(&cf, LISTENERS);
    c = load_ok(&cf);
    ck_assert_str_eq(c->path, cf.path);
    ck_assert_str_eq(c->dir, tmpdir);
    ck_assert_uint_ge(c->workers, 1);
    if (cpus > 0)
        ck_assert_uint_eq(c->workers, (unsigned)cpus);
    ck_assert_ptr_null(c->user);

    ck_assert_int_eq(c->log_level, LOG_INFO);
    ck_assert_str_eq(c->log_error, "stderr");
    ck_assert_str_eq(c->log_access, "stdout");
    ck_assert_int_eq(c->log_format, LOG_FORMAT_GATEHOUSE);
    ck_assert_str_eq(c->via_name, "gatehouse");

    ck_assert_uint_eq(c->limits.max_line, 8192);
    ck_assert_uint_eq(c->limits.max_head, 16384);
    ck_assert_uint_eq(c->limits.max_fields, 100);
    ck_assert_int_eq(c->limits.allow_underscore, 0);
    ck_assert_uint_eq(c->max_body, 0);

    ck_assert_uint_eq(c->to.client_header, 10000);
    ck_assert_uint_eq(c->to.client_body, 60000);
    ck_assert_uint_eq(c->to.keepalive, 75000);
    ck_assert_uint_eq(c->to.send, 60000);
    ck_assert_uint_eq(c->to.upstream_connect, 5000);
    ck_assert_uint_eq(c->to.upstream_read, 60000);
    ck_assert_uint_eq(c->to.upstream_keepalive, 30000);
    ck_assert_uint_eq(c->to.drain, 10000);

    ck_assert_uint_eq(c->nlisteners, 1);
    l = config_listener(c, "a");
    ck_assert_ptr_eq(l, &c->listeners[0]);
    ck_assert_ptr_null(config_listener(c, "b"));
    ck_assert_str_eq(l->name, "a");
    ck_assert_ptr_eq(l->fe, &forward_frontend);
    ck_assert_int_eq(l->line, 1);
    ck_assert_uint_eq(l->naddrs, 1);
    ck_assert_str_eq(l->addrs[0].text, "127.0.0.1:3128");
    ck_assert_uint_eq(l->addrs[0].len, sizeof(struct sockaddr_in));
    sin = (const struct sockaddr_in *)&l->addrs[0].ss;
    ck_assert_int_eq(sin->sin_family, AF_INET);
    ck_assert_uint_eq(ntohs(sin->sin_port), 3128);
    ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001);

    /* no policy named: the built-in default, never an open proxy */
    ck_assert_ptr_nonnull(config_fe_state(c, &forward_frontend));
    ck_assert_ptr_nonnull(config_fe_state(c, &reverse_frontend));
    p = l->fe_conf;
    ck_assert_str_eq(p->name, "default");
    ss = addr_of("127.0.0.1:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 1);
    ss = addr_of("192.168.1.20:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 1);
    ss = addr_of("8.8.8.8:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 0);
    config_unref(c);
}
END_TEST

/* workers = 0 means "one per CPU", like leaving it out. */
START_TEST(test_workers_zero_is_auto)
{
    struct conf cf;
    struct gh_config *c;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    conf_write(&cf, "workers = 0;\n" LISTENERS);
    c = load_ok(&cf);
    ck_assert_uint_eq(c->workers, cpus > 0 ? (unsigned)cpus : 1);
    config_unref(c);
}
END_TEST

/* Every setting, with values away from the defaults. */
START_TEST(test_all_settings)
{
    struct conf cf;
    struct gh_config *c;
    const struct listener_conf *l;
    const struct policy *p;
    const struct route_table *t;
    const struct sockaddr_in6 *sin6;
    const struct sockaddr_in *sin;
    struct sockaddr_storage ss;
    char www[PATH_MAX];

    make_dir("www", www, sizeof(www));
    conf_write(
        &cf,
        "workers = 3;\n"
        "user = \"gatehouse\";\n"
        "log = { level = \"debug\"; error = \"/var/log/gh/error.log\"; access = \"off\";\n"
        "        format = \"combined\"; };\n"
        "http = {\n"
        "  max_request_line = 1024;\n"
        "  max_header_bytes = 4096;\n"
        "  max_headers = 50;\n"
        "  max_body_bytes = 10737418240L;\n"
        "  underscores_in_headers = true;\n"
        "  via = \"edge-1\";\n"
        "};\n"
        "timeouts = {\n"
        "  client_header = 2.5;\n"
        "  client_body = 30;\n"
        "  keepalive = 0;\n"
        "  send = 1.25;\n"
        "  upstream_connect = 0.5;\n"
        "  upstream_read = 120;\n"
        "  upstream_keepalive = 0.0015;\n"
        "  drain = 86400;\n"
        "};\n"
        "listeners = (\n"
        "  { name = \"gw\"; mode = \"forward\"; listen = [ \"127.0.0.1:3128\", "
        "\"[::1]:3128\" ];\n"
        "    policy = \"office\"; },\n"
        "  { name = \"site\"; mode = \"reverse\"; listen = \"*:8080\"; routes = \"web\"; }\n"
        ");\n"
        "policies = { office = { clients = [ \"10.0.0.0/8\", \"2001:db8::/32\" ]; }; };\n"
        "pools = {\n"
        "  app = { servers = ( { address = \"10.0.1.11:8080\"; weight = 3; },\n"
        "                      { address = \"[2001:db8::5]:80\"; } ); };\n"
        "  files = { servers = ( { static = \"www\"; } ); };\n"
        "};\n"
        "routes = {\n"
        "  web = ( { host = \"Static.Example.COM\"; path = \"/assets/\"; pool = \"files\"; },\n"
        "          { pool = \"app\"; } );\n"
        "};\n");
    c = load_ok(&cf);

    ck_assert_uint_eq(c->workers, 3);
    ck_assert_str_eq(c->user, "gatehouse");
    ck_assert_int_eq(c->log_level, LOG_DEBUG);
    ck_assert_str_eq(c->log_error, "/var/log/gh/error.log");
    ck_assert_str_eq(c->log_access, "off");
    ck_assert_int_eq(c->log_format, LOG_FORMAT_COMBINED);

    ck_assert_uint_eq(c->limits.max_line, 1024);
    ck_assert_uint_eq(c->limits.max_head, 4096);
    ck_assert_uint_eq(c->limits.max_fields, 50);
    ck_assert_int_eq(c->limits.allow_underscore, 1);
    ck_assert(c->max_body == 10737418240ull);
    ck_assert_str_eq(c->via_name, "edge-1");

    /* seconds, int or float, become milliseconds */
    ck_assert_uint_eq(c->to.client_header, 2500);
    ck_assert_uint_eq(c->to.client_body, 30000);
    ck_assert_uint_eq(c->to.keepalive, 0);
    ck_assert_uint_eq(c->to.send, 1250);
    ck_assert_uint_eq(c->to.upstream_connect, 500);
    ck_assert_uint_eq(c->to.upstream_read, 120000);
    ck_assert_uint_eq(c->to.upstream_keepalive, 2); /* 1.5 ms, rounded */
    ck_assert_uint_eq(c->to.drain, 86400000);

    ck_assert_uint_eq(c->nlisteners, 2);
    l = config_listener(c, "gw");
    ck_assert_ptr_nonnull(l);
    ck_assert_ptr_eq(l->fe, &forward_frontend);
    ck_assert_int_eq(l->line, 24);
    ck_assert_uint_eq(l->naddrs, 2);
    ck_assert_str_eq(l->addrs[1].text, "[::1]:3128");
    ck_assert_uint_eq(l->addrs[1].len, sizeof(struct sockaddr_in6));
    sin6 = (const struct sockaddr_in6 *)&l->addrs[1].ss;
    ck_assert_int_eq(sin6->sin6_family, AF_INET6);
    ck_assert_uint_eq(ntohs(sin6->sin6_port), 3128);
    ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
    p = l->fe_conf;
    ck_assert_str_eq(p->name, "office");
    ck_assert_uint_eq(acl_count(p->clients), 2);
    ss = addr_of("10.9.8.7:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 1);
    ss = addr_of("127.0.0.1:1"); /* the office policy replaces the default */
    ck_assert_int_eq(acl_match(p->clients, &ss), 0);

    l = config_listener(c, "site");
    ck_assert_ptr_nonnull(l);
    ck_assert_ptr_eq(l->fe, &reverse_frontend);
    ck_assert_int_eq(l->line, 26);
    sin = (const struct sockaddr_in *)&l->addrs[0].ss;
    ck_assert_int_eq(sin->sin_family, AF_INET);
    ck_assert_uint_eq(sin->sin_addr.s_addr, htonl(INADDR_ANY));
    ck_assert_uint_eq(ntohs(sin->sin_port), 8080);
    t = reverse_listener_routes(l->fe_conf);
    ck_assert_str_eq(t->name, "web");
    ck_assert_uint_eq(t->n, 2);
    ck_assert_str_eq(t->r[0].host, "static.example.com");
    ck_assert_str_eq(t->r[0].path, "/assets/");
    ck_assert_str_eq(t->r[0].pool->name, "files");
    ck_assert_uint_eq(t->r[0].pool->nservers, 1);
    ck_assert_str_eq(t->r[0].pool->servers[0].root, www);
    ck_assert_ptr_null(t->r[0].pool->servers[0].host);
    ck_assert_str_eq(t->r[1].host, "*");
    ck_assert_str_eq(t->r[1].path, "/");
    ck_assert_str_eq(t->r[1].pool->name, "app");
    ck_assert_uint_eq(t->r[1].pool->nservers, 2);
    ck_assert_str_eq(t->r[1].pool->servers[0].host, "10.0.1.11");
    ck_assert_uint_eq(t->r[1].pool->servers[0].port, 8080);
    ck_assert_uint_eq(t->r[1].pool->servers[0].weight, 3);
    ck_assert_str_eq(t->r[1].pool->servers[0].label, "10.0.1.11:8080");
    ck_assert_ptr_null(t->r[1].pool->servers[0].root);
    ck_assert_str_eq(t->r[1].pool->servers[1].host, "2001:db8::5");
    ck_assert_uint_eq(t->r[1].pool->servers[1].port, 80);
    ck_assert_uint_eq(t->r[1].pool->servers[1].weight, 1);
    config_unref(c);
}
END_TEST

/* Relative paths mean "next to the configuration file", wherever the
 * process was started; absolute paths and the stream names stay. */
START_TEST(test_relative_paths)
{
    struct conf cf;
    struct gh_config *c;
    const struct route_table *t;
    char www[PATH_MAX], want[PATH_MAX + 64];

    make_dir("www", www, sizeof(www));
    conf_write_in(&cf, "etc",
                  "log = { error = \"logs/error.log\"; access = \"access.log\"; };\n"
                  "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:8080\";"
                  " routes = \"r\"; } );\n"
                  "pools = { site = { servers = ( { static = \"../www\"; } ); }; };\n"
                  "routes = { r = ( { pool = \"site\"; } ); };\n");
    c = load_ok(&cf);
    snprintf(want, sizeof(want), "%s/etc", tmpdir);
    ck_assert_str_eq(c->dir, want);
    snprintf(want, sizeof(want), "%s/etc/logs/error.log", tmpdir);
    ck_assert_str_eq(c->log_error, want);
    snprintf(want, sizeof(want), "%s/etc/access.log", tmpdir);
    ck_assert_str_eq(c->log_access, want);
    t = reverse_listener_routes(c->listeners[0].fe_conf);
    snprintf(want, sizeof(want), "%s/etc/../www", tmpdir);
    ck_assert_str_eq(t->r[0].pool->servers[0].root, want);
    ck_assert_str_eq(t->r[0].pool->servers[0].label, "static:../www");
    config_unref(c);

    conf_write(&cf, "log = { error = \"%s/abs.log\"; access = \"stderr\"; };\n" LISTENERS, www);
    c = load_ok(&cf);
    snprintf(want, sizeof(want), "%s/abs.log", www);
    ck_assert_str_eq(c->log_error, want);
    ck_assert_str_eq(c->log_access, "stderr");
    config_unref(c);
}
END_TEST

/* The file shipped in the repository (tests run from the top directory). */
START_TEST(test_repo_config)
{
    char err[CONFIG_ERRLEN] = "";
    struct gh_config *c = config_load("etc/gatehouse.conf", fes, NFES, err, sizeof(err));
    const struct listener_conf *gw, *site;
    const struct policy *p;
    const struct route_table *t;
    struct sockaddr_storage ss;
    struct stat st;

    ck_assert_msg(c != NULL, "etc/gatehouse.conf refused: %s", err);
    ck_assert_str_eq(c->dir, "etc");
    ck_assert_int_eq(c->log_level, LOG_INFO);
    ck_assert_str_eq(c->log_access, "stdout");
    ck_assert_uint_eq(c->nlisteners, 2);

    gw = config_listener(c, "gateway");
    ck_assert_ptr_nonnull(gw);
    ck_assert_ptr_eq(gw->fe, &forward_frontend);
    ck_assert_str_eq(gw->addrs[0].text, "127.0.0.1:3128");
    p = gw->fe_conf;
    ck_assert_str_eq(p->name, "lan");
    ss = addr_of("192.168.0.10:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 1);
    ss = addr_of("8.8.8.8:1");
    ck_assert_int_eq(acl_match(p->clients, &ss), 0);

    site = config_listener(c, "site");
    ck_assert_ptr_nonnull(site);
    ck_assert_ptr_eq(site->fe, &reverse_frontend);
    ck_assert_str_eq(site->addrs[0].text, "127.0.0.1:8080");
    t = reverse_listener_routes(site->fe_conf);
    ck_assert_str_eq(t->name, "site");
    ck_assert_str_eq(t->r[0].pool->name, "demo");
    ck_assert_str_eq(t->r[0].pool->servers[0].root, "etc/../www");
    ck_assert_int_eq(stat(t->r[0].pool->servers[0].root, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    config_unref(c);
}
END_TEST

/* @include reads a file named relative to the configuration's directory;
 * its settings count as if written in place. */
START_TEST(test_include)
{
    struct conf inc, cf;
    struct gh_config *c;

    conf_write(&inc, "policies = { lan = { clients = [ \"10.0.0.0/8\" ]; }; };\n");
    conf_write(&cf,
               "workers = 2;\n"
               "@include \"%s\"\n"
               "listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:3128\";"
               " policy = \"lan\"; } );\n",
               strrchr(inc.path, '/') + 1);
    c = load_ok(&cf);
    ck_assert_uint_eq(c->workers, 2);
    ck_assert_str_eq(((const struct policy *)c->listeners[0].fe_conf)->name, "lan");
    config_unref(c);
}
END_TEST

/* A mistake in an included file is reported in that file, at its line. */
START_TEST(test_include_error_location)
{
    struct conf inc, cf;
    char err[CONFIG_ERRLEN] = "", full[PATH_MAX + 64], rel[PATH_MAX + 64];
    const char *base;

    conf_write(&inc, "# included\n"
                     "workers = 2;\n"
                     "wrokers = 3;  #<\n");
    base = strrchr(inc.path, '/') + 1;
    conf_write(&cf, LISTENERS "@include \"%s\"\n", base);
    ck_assert_ptr_null(config_load(cf.path, fes, NFES, err, sizeof(err)));
    /* the included file as libconfig names it: libconfig 1.5 gives the name
     * as written in @include, later versions the path it opened */
    snprintf(full, sizeof(full), "%s:%d: unknown setting 'wrokers'", inc.path, inc.line);
    snprintf(rel, sizeof(rel), "%s:%d: unknown setting 'wrokers'", base, inc.line);
    ck_assert_msg(strcmp(err, full) == 0 || strcmp(err, rel) == 0,
                  "error \"%s\", want \"%s\" or \"%s\"", err, full, rel);

    /* an include that is not there: the including line */
    conf_write(&cf, LISTENERS "@include \"absent.conf\"  #<\n");
    load_fails_at(cf.path, cf.path, cf.line, "cannot open include file");
}
END_TEST

START_TEST(test_ref_unref)
{
    struct conf cf;
    struct gh_config *c;

    conf_write(&cf, LISTENERS);
    c = load_ok(&cf);
    ck_assert_int_eq(atomic_load(&c->refs), 1);
    ck_assert_ptr_eq(config_ref(c), c);
    ck_assert_ptr_eq(config_ref(c), c);
    ck_assert_int_eq(atomic_load(&c->refs), 3);
    config_unref(c);
    config_unref(c);
    /* still alive with one reference (ASan reports a use after free) */
    ck_assert_int_eq(atomic_load(&c->refs), 1);
    ck_assert_str_eq(c->listeners[0].name, "a");
    config_unref(c);
    config_unref(NULL);
}
END_TEST

/* Two generations from the same file are independent. */
START_TEST(test_generations_independent)
{
    struct conf cf;
    struct gh_config *a, *b;

    conf_write(&cf, LISTENERS);
    a = load_ok(&cf);
    b = load_ok(&cf);
    ck_assert_ptr_ne(a, b);
    ck_assert_ptr_ne(a->listeners, b->listeners);
    ck_assert_ptr_ne(config_fe_state(a, &forward_frontend), config_fe_state(b, &forward_frontend));
    config_unref(a);
    ck_assert_str_eq(b->listeners[0].name, "a");
    config_unref(b);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("errors");

    tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_loop_test(tc, test_error_table, 0,
                        (int)(sizeof(error_cases) / sizeof(error_cases[0])));
    tcase_add_test(tc, test_static_dir_missing);
    tcase_add_test(tc, test_static_dir_is_a_file);
    tcase_add_test(tc, test_static_dir_is_a_file_stale_errno);
    tcase_add_test(tc, test_no_listeners);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_same_address_spelled_twice);
    tcase_add_test(tc, test_listen_port_strict);
    tcase_add_test(tc, test_listen_error_at_element_line);
    suite_add_tcase(s, tc);

    tc = tcase_create("good");
    tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_minimal_defaults);
    tcase_add_test(tc, test_workers_zero_is_auto);
    tcase_add_test(tc, test_all_settings);
    tcase_add_test(tc, test_relative_paths);
    tcase_add_test(tc, test_repo_config);
    tcase_add_test(tc, test_include);
    tcase_add_test(tc, test_include_error_location);
    tcase_add_test(tc, test_ref_unref);
    tcase_add_test(tc, test_generations_independent);
    suite_add_tcase(s, tc);
    return s;
}
