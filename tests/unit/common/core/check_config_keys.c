/* check_config_keys.c — the configuration's vocabulary (config.h): the
 * string-list, network-list and group helpers every parser uses, the key
 * tables of the core's sections held to README.md, and the apt profile's
 * settings as a policy and a route read them.
 *
 * README.md's tables are the user's reference, so each key of each core
 * table must be in its section's table of README.md with the same default,
 * and the same range where README.md gives one ("int 256–16384"), and
 * README.md must list no key the table lacks.  A generation loaded from a
 * file that sets nothing must then hold those defaults: the table, the
 * README and the loader cannot drift apart. */
#include "config.h"
#include "apt.h"
#include "forward.h"
#include "policy.h"
#include "reverse.h"
#include "route.h"
#include "suites.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct frontend *const fes[] = {&forward_frontend, &reverse_frontend};

/* ---- a file per test ---- */

/* Writes text to a new file under /tmp; its path into path. */
static void write_file(char *path, size_t cap, const char *text)
{
    int fd;

    snprintf(path, cap, "/tmp/gh-check-keys-XXXXXX.conf");
    fd = mkstemps(path, 5);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* The line of text holding "#<" (1-based). */
static int marked_line(const char *text)
{
    const char *m = strstr(text, "#<");
    int line = 1;

    ck_assert_ptr_nonnull(m);
    for (const char *p = text; p < m; p++)
        line += *p == '\n';
    return line;
}

/* Loads text; NULL with the message in err when refused. */
static struct gh_config *load(const char *text, char *err, size_t errlen)
{
    char path[64];
    struct gh_config *c;

    err[0] = '\0';
    write_file(path, sizeof(path), text);
    c = config_load(path, fes, 2, err, errlen);
    unlink(path);
    return c;
}

/* text must be refused with "<file>:<line of #<>: " and phrase. */
static void refused(const char *text, const char *phrase)
{
    char err[CONFIG_ERRLEN], at[32];
    struct gh_config *c = load(text, err, sizeof(err));

    if (c)
        config_unref(c);
    ck_assert_msg(c == NULL, "accepted, want \"%s\":\n%s", phrase, text);
    snprintf(at, sizeof(at), ".conf:%d: ", marked_line(text));
    ck_assert_msg(strstr(err, at) != NULL, "\"%s\" is not at %s", err, at);
    ck_assert_msg(strstr(err, phrase) != NULL, "\"%s\" lacks \"%s\"", err, phrase);
}

/* ---- the helpers, on settings read from a string ---- */

static config_t cf;

/* The root of text, parsed (cf holds it until the next call). */
static const config_setting_t *parse(const char *text)
{
    config_destroy(&cf);
    config_init(&cf);
    ck_assert_msg(config_read_string(&cf, text) == CONFIG_TRUE, "%s", config_error_text(&cf));
    return config_root_setting(&cf);
}

static void cf_setup(void)
{
    config_init(&cf);
}

static void cf_teardown(void)
{
    config_destroy(&cf);
}

START_TEST(strings_array_and_list)
{
    static const char *const texts[] = {"k = [ \"a\", \"b.c\", \"d\" ];",
                                        "k = ( \"a\", \"b.c\", \"d\" );"};
    char err[256], **out;
    unsigned n;

    for (unsigned i = 0; i < 2; i++) {
        ck_assert_int_eq(config_get_strings(parse(texts[i]), "k", 0, &out, &n, err, sizeof(err)),
                         0);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(out[0], "a");
        ck_assert_str_eq(out[1], "b.c");
        ck_assert_str_eq(out[2], "d");
        ck_assert_ptr_null(out[3]); /* NULL-terminated */
        config_strings_free(out);
    }
}
END_TEST

START_TEST(strings_absent_and_empty)
{
    char err[256], **out = (char **)1;
    unsigned n = 7;

    /* absent: nothing, and no error */
    ck_assert_int_eq(config_get_strings(parse("x = 1;"), "k", 0, &out, &n, err, sizeof(err)), 0);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(config_get_strings(NULL, "k", CONFIG_NONEMPTY, &out, &n, err, sizeof(err)), 0);
    ck_assert_ptr_null(out);
    /* present and empty: an empty list, not "absent" (an empty `domains`
     * means no domain, not every one) */
    ck_assert_int_eq(config_get_strings(parse("k = [ ];"), "k", 0, &out, &n, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_null(out[0]);
    ck_assert_uint_eq(n, 0);
    config_strings_free(out);
    ck_assert_int_eq(config_get_strings(parse("k = ( );"), "k", 0, &out, &n, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(out);
    config_strings_free(out);
    /* unless it must not be */
    ck_assert_int_eq(
        config_get_strings(parse("k = [ ];"), "k", CONFIG_NONEMPTY, &out, &n, err, sizeof(err)),
        -1);
    ck_assert_str_eq(err, "'k' must be a non-empty list of strings [ \"...\" ]");
    ck_assert_ptr_null(out);
    config_strings_free(NULL);
}
END_TEST

static const struct {
    const char *text, *message;
} bad_lists[] = {
    {"k = \"a\";", "'k' must be a list of strings [ \"...\" ]"},
    {"k = 3;", "'k' must be a list of strings [ \"...\" ]"},
    {"k = { a = \"b\"; };", "'k' must be a list of strings [ \"...\" ]"},
    {"k = [ 1, 2 ];", "'k' entries must be non-empty strings"},
    {"k = ( \"a\", 2 );", "'k' entries must be non-empty strings"},
    {"k = ( \"a\", [ \"b\" ] );", "'k' entries must be non-empty strings"},
    {"k = [ \"a\", \"\" ];", "'k' entries must be non-empty strings"},
};

START_TEST(strings_refused)
{
    char err[256], **out = (char **)1;
    unsigned n = 7;

    ck_assert_int_eq(
        config_get_strings(parse(bad_lists[_i].text), "k", 0, &out, &n, err, sizeof(err)), -1);
    ck_assert_str_eq(err, bad_lists[_i].message);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* With a file, the message starts with file:line: the entry's own line
 * for an entry, the setting's for the list. */
START_TEST(strings_errors_name_the_line)
{
    refused("listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:1\"; } );\n"
            "policies = { p = { parent = { address = \"127.0.0.1:3128\";\n"
            "  domains = [ \"a.example\",\n"
            "              \"\" ]; }; }; };  #<\n",
            "'domains' entries must be non-empty strings");
    refused("listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:1\"; } );\n"
            "policies = { p = { parent = { address = \"127.0.0.1:3128\";\n"
            "  domains = \"a.example\"; }; }; };  #<\n",
            "'domains' must be a list of strings");
}
END_TEST

START_TEST(networks)
{
    static const char *const dflt[] = {"10.0.0.0/8", NULL};
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct acl *a = acl_new();
    char err[256];

    sin->sin_family = AF_INET;
    /* absent: the defaults */
    ck_assert_int_eq(config_get_networks(parse("x = 1;"), "k", a, dflt, err, sizeof(err)), 0);
    ck_assert_uint_eq(acl_count(a), 1);
    inet_pton(AF_INET, "10.1.2.3", &sin->sin_addr);
    ck_assert_int_eq(acl_match(a, &ss), 1);
    acl_free(a);
    /* present: exactly what it says, even nothing */
    a = acl_new();
    ck_assert_int_eq(
        config_get_networks(parse("k = [ \"192.0.2.0/24\" ];"), "k", a, dflt, err, sizeof(err)), 0);
    ck_assert_int_eq(acl_match(a, &ss), 0);
    acl_free(a);
    a = acl_new();
    ck_assert_int_eq(config_get_networks(parse("k = [ ];"), "k", a, dflt, err, sizeof(err)), 0);
    ck_assert_uint_eq(acl_count(a), 0);
    acl_free(a);
    /* a bad one, or a string where a list goes */
    a = acl_new();
    ck_assert_int_eq(config_get_networks(parse("k = [ \"10.0.0.0/8\", \"10.0.0.0/33\" ];"), "k", a,
                                         NULL, err, sizeof(err)),
                     -1);
    ck_assert_msg(strncmp(err, "'k': bad network '10.0.0.0/33'", 30) == 0, "%s", err);
    ck_assert_int_eq(
        config_get_networks(parse("k = \"10.0.0.0/8\";"), "k", a, NULL, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "'k' must be a list of networks [ \"10.0.0.0/8\" ]");
    acl_free(a);
}
END_TEST

/* BUG (anonymity.c, string_list): a bad entry in anonymity_remove or
 * strip_cookies left the policy with a count of entries and no array, and
 * freeing it crashed `gatehouse -t` (SIGSEGV) instead of naming the line.
 * Fixed by config_get_strings, which leaves nothing behind on an error. */
START_TEST(bad_entry_is_named_not_a_crash)
{
    refused("listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:1\";\n"
            "  policy = \"p\"; } );\n"
            "policies = { p = { anonymity_remove = [ \"X-Client\",\n"
            "  \"\" ]; }; };  #<\n",
            "'anonymity_remove' entries must be non-empty strings");
    refused("listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:1\";\n"
            "  policy = \"p\"; } );\n"
            "policies = { p = { anonymity = \"standard\";\n"
            "  strip_cookies = ( \"tracker.example\", 3 ); }; };  #<\n",
            "'strip_cookies' entries must be non-empty strings");
}
END_TEST

/* A list of networks that used to be read without a type check is refused
 * when it is a string, as every other wrong type is. */
START_TEST(networks_in_files)
{
    refused("listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\";\n"
            "  routes = \"r\"; trusted_proxies = \"10.0.0.1\"; } );  #<\n"
            "pools = { w = { servers = ( { address = \"127.0.0.1:9\"; } ); }; };\n"
            "routes = { r = ( { pool = \"w\"; } ); };\n",
            "'trusted_proxies' must be a list of networks");
    refused("listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\";\n"
            "  routes = \"r\"; status_path = \"/s\";\n"
            "  status_allow = [ \"127.0.0.1\",\n"
            "                   \"::1/129\" ]; } );  #<\n"
            "pools = { w = { servers = ( { address = \"127.0.0.1:9\"; } ); }; };\n"
            "routes = { r = ( { pool = \"w\"; } ); };\n",
            "'status_allow': bad network");
    refused("listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:1\"; } );\n"
            "policies = { p = { filter = ( { clients = \"10.0.0.0/8\"; } ); }; };  #<\n",
            "'clients' must be a list of networks");
}
END_TEST

START_TEST(group_check)
{
    const config_setting_t *r = parse("g = { a = 1; }; l = ( 1 ); a = [ 1 ]; s = \"x\"; n = 1;");
    static const char *const not_groups[] = {"l", "a", "s", "n"};
    char err[256] = "";

    ck_assert_int_eq(config_check_group(config_setting_get_member(r, "g"), err, sizeof(err),
                                        "'%s' must be a group { ... }", "g"),
                     0);
    ck_assert_str_eq(err, "");
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_int_eq(config_check_group(config_setting_get_member(r, not_groups[i]), err,
                                            sizeof(err), "'%s' must be a group { ... }",
                                            not_groups[i]),
                         -1);
        char want[64];
        snprintf(want, sizeof(want), "'%s' must be a group { ... }", not_groups[i]);
        ck_assert_str_eq(err, want); /* no file: no file:line */
    }
    /* in a file: at the setting's line, in the caller's words */
    refused("listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:1\"; } );\n"
            "policies = {\n"
            "  p = ( 1 );  #<\n"
            "};\n",
            "policy 'p' must be a group { ... }");
    refused("timeouts = [ 1 ];  #<\n"
            "listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:1\"; } );\n",
            "'timeouts' must be a group { ... }");
    refused("listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:1\";\n"
            "  tls = 1; } );  #<\n",
            "'tls' must be a group");
}
END_TEST

/* ---- the core's tables against README.md ---- */

/* One row of a README.md table: its keys (one, or several joined by ", "),
 * its type cell ("" without a type column) and its default cell. */
struct row {
    char keys[128], type[128], dflt[256];
};

/* The cells of a table row, split at '|' (none holds one in the core's
 * tables), trimmed; returns how many. */
static int cells(char *line, char **out, int max)
{
    int n = 0;
    char *p = strchr(line, '|');

    while (p && n < max) {
        char *start = p + 1, *end = strchr(start, '|');
        if (!end)
            break;
        *end = '\0';
        while (*start == ' ')
            start++;
        for (char *e = end - 1; e >= start && *e == ' '; e--)
            *e = '\0';
        out[n++] = start;
        p = end;
    }
    return n;
}

/* Removes the backquotes of s, in place. */
static void unquote(char *s)
{
    char *w = s;

    for (char *r = s; *r; r++)
        if (*r != '`')
            *w++ = *r;
    *w = '\0';
}

/* The rows of the first table after README.md's heading for a section
 * ("### `log`", or "### Top level" for name NULL); returns how many. */
static int readme_rows(const char *name, struct row *rows, int max)
{
    FILE *f = fopen("README.md", "r");
    char line[4096], heading[64];
    int col_type = -1, col_default = -1, n = 0, state = 0;

    ck_assert_msg(f != NULL, "README.md not found (run from the source tree)");
    if (name)
        snprintf(heading, sizeof(heading), "### `%s`", name);
    else
        snprintf(heading, sizeof(heading), "### Top level");
    while (fgets(line, sizeof(line), f)) {
        char *c[8];
        int k;
        line[strcspn(line, "\n")] = '\0';
        if (state == 0) {
            state = strncmp(line, heading, strlen(heading)) == 0;
            continue;
        }
        if (line[0] != '|') {
            if (state == 2)
                break; /* the table's end */
            ck_assert_msg(strncmp(line, "### ", 4) != 0, "README.md: %s has no table", heading);
            continue;
        }
        k = cells(line, c, 8);
        if (state == 1) { /* the header row */
            for (int i = 0; i < k; i++) {
                col_type = strcmp(c[i], "type") == 0 ? i : col_type;
                col_default = strcmp(c[i], "default") == 0 ? i : col_default;
            }
            ck_assert_msg(col_default > 0, "README.md: %s's table has no default column", heading);
            state = 2;
            continue;
        }
        if (strncmp(c[0], "---", 3) == 0)
            continue;
        ck_assert_int_lt(n, max);
        snprintf(rows[n].keys, sizeof(rows[n].keys), "%s", c[0]);
        snprintf(rows[n].type, sizeof(rows[n].type), "%s", col_type > 0 ? c[col_type] : "");
        snprintf(rows[n].dflt, sizeof(rows[n].dflt), "%s", c[col_default]);
        unquote(rows[n].keys);
        unquote(rows[n].dflt);
        n++;
    }
    fclose(f);
    ck_assert_msg(state == 2, "README.md has no table under %s", heading);
    return n;
}

/* The default README.md gives key in rows (NULL if it lists no such key),
 * and its type cell in *type. */
static const char *readme_default(const struct row *rows, int n, const char *key, const char **type)
{
    static char out[256];

    for (int i = 0; i < n; i++) {
        const char *k = rows[i].keys, *d = rows[i].dflt;
        int several = strchr(k, ',') != NULL; /* "a, b" with "1, 2": each its own */
        while (*k) {
            size_t kl = strcspn(k, ","), dl = several ? strcspn(d, ",") : strlen(d);
            if (kl == strlen(key) && strncmp(k, key, kl) == 0) {
                snprintf(out, sizeof(out), "%.*s", (int)dl, d);
                *type = rows[i].type;
                return out;
            }
            k += kl + strspn(k + kl, ", ");
            d += dl + strspn(d + dl, ", ");
        }
    }
    return NULL;
}

/* Whether README.md's default cell says the table's default: the same
 * text, or that text and a gloss ("0 = unlimited").  A key with no default
 * (NULL) must not be given a bare value ("from /etc/resolv.conf"). */
static int same_default(const char *readme, const char *dflt)
{
    size_t n;

    if (!dflt)
        return strchr(readme, ' ') && !(readme[0] >= '0' && readme[0] <= '9');
    n = strlen(dflt);
    return strncmp(readme, dflt, n) == 0 && (readme[n] == '\0' || readme[n] == ' ');
}

/* "int 256–16384" (an en dash, or '-'): the range README.md gives. */
static int readme_range(const char *type, long *lo, long *hi)
{
    char dash[8];

    if (sscanf(type, "int %ld%7[^0-9]%ld", lo, dash, hi) != 3)
        return 0;
    return strcmp(dash, "-") == 0 || strcmp(dash, "\xe2\x80\x93") == 0;
}

START_TEST(readme_gives_each_default_and_range)
{
    const struct config_section *sec = config_core_sections[_i];
    struct row rows[32];
    int n = readme_rows(sec->name, rows, 32), nkeys = 0;
    const char *what = sec->name ? sec->name : "top level";

    for (const struct config_key *k = sec->keys; k->name; k++, nkeys++) {
        const char *type, *d = readme_default(rows, n, k->name, &type);
        long lo, hi;
        ck_assert_msg(d != NULL, "README.md's %s table lacks '%s'", what, k->name);
        ck_assert_msg(same_default(d, k->dflt), "%s '%s': README.md says \"%s\", the code \"%s\"",
                      what, k->name, d, k->dflt ? k->dflt : "(none)");
        if (readme_range(type, &lo, &hi))
            ck_assert_msg(lo == k->lo && hi == k->hi,
                          "%s '%s': README.md says %ld-%ld, the code %ld-%ld", what, k->name, lo,
                          hi, k->lo, k->hi);
    }
    /* and nothing else: every key README.md lists is in the table */
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (const struct config_key *k = sec->keys; k->name; k++)
            found |= strcmp(rows[i].keys, k->name) == 0;
        ck_assert_msg(found, "README.md's %s table lists '%s', which the code does not read", what,
                      rows[i].keys);
    }
    ck_assert_int_eq(n, nkeys);
}
END_TEST

/* What a default written as README.md writes it means, read here on its
 * own, against what a generation loaded from an empty file holds. */
static void check_field(const struct gh_config *c, const struct config_key *k)
{
    const void *f = (const char *)c + k->offset;

    switch (k->kind) {
    case CONFIG_K_U32:
        ck_assert_uint_eq(*(const uint32_t *)f, k->dflt ? strtoul(k->dflt, NULL, 10) : 0);
        break;
    case CONFIG_K_U64:
        ck_assert_uint_eq(*(const uint64_t *)f, k->dflt ? strtoull(k->dflt, NULL, 10) : 0);
        break;
    case CONFIG_K_BOOL:
        ck_assert_int_eq(*(const int *)f, k->dflt && strcmp(k->dflt, "true") == 0);
        break;
    case CONFIG_K_MSEC:
        ck_assert_uint_eq(*(const uint32_t *)f, (uint32_t)(strtod(k->dflt, NULL) * 1000 + 0.5));
        break;
    case CONFIG_K_STRING:
        if (k->dflt)
            ck_assert_str_eq(*(char *const *)f, k->dflt);
        else
            ck_assert_ptr_null(*(char *const *)f);
        break;
    case CONFIG_K_WORD: ck_assert_str_eq(k->words[*(const int *)f], k->dflt); break;
    }
}

START_TEST(empty_file_holds_the_defaults)
{
    char err[CONFIG_ERRLEN];
    struct gh_config *c =
        load("listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:1\"; } );\n",
             err, sizeof(err));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    ck_assert_msg(c != NULL, "%s", err);
    for (unsigned i = 0; config_core_sections[i]; i++)
        for (const struct config_key *k = config_core_sections[i]->keys; k->name; k++) {
            if (strcmp(k->name, "workers") == 0) /* 0: one per CPU */
                ck_assert_uint_eq(c->workers, cpus > 0 ? (unsigned)cpus : 1);
            else
                check_field(c, k);
        }
    config_unref(c);
}
END_TEST

/* A table whose default its reader refuses stops the process. */
START_TEST(bad_default_stops)
{
    static const struct config_key bad[] = {
        {"max_headers", CONFIG_U32(limits.max_fields), 8, 256, "1000", NULL, NULL, NULL},
        {0},
    };
    struct gh_config c = {0};

    config_keys_defaults(&c, bad);
}
END_TEST

/* ---- the apt profile: a policy's cache group, never a route's ---- */

#define FWD_P                                                                       \
    "listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:1\";\n" \
    "  policy = \"p\"; } );\n"
#define REV_R                                                                       \
    "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\";\n" \
    "  routes = \"r\"; } );\n"                                                      \
    "pools = { w = { servers = ( { address = \"127.0.0.1:9\"; } ); }; };\n"

START_TEST(apt_settings_in_a_policy)
{
    char err[CONFIG_ERRLEN];
    struct gh_config *c = load(
        "listeners = ( { name = \"a\"; mode = \"forward\"; listen = \"127.0.0.1:1\"; policy = \"p\"; },\n"
        "              { name = \"b\"; mode = \"forward\"; listen = \"127.0.0.1:2\"; policy = \"q\"; } );\n"
        "policies = { p = { cache = { apt = true;\n"
        "  mirrors = [ \"Deb.Example.\", \"security.example\" ]; }; };\n"
        "  q = { cache = true; }; };\n",
        err, sizeof(err));
    const struct policy *p, *q;

    ck_assert_msg(c != NULL, "%s", err);
    p = config_listener(c, "a")->fe_conf;
    ck_assert_int_eq(p->apt.on, 1);
    ck_assert_uint_eq(p->apt.nmirrors, 2);
    ck_assert_str_eq(p->apt.mirrors[0], "deb.example");
    ck_assert_str_eq(p->apt.mirrors[1], "security.example");
    ck_assert_ptr_eq(p->cache.classify, apt_classify);
    ck_assert_int_eq(p->cache.stale_if_unreachable, 7 * 86400);
    ck_assert_ptr_eq(apt_rules_for(&p->apt, &p->cache, "deb.example", 11), &p->cache);
    ck_assert_ptr_null(apt_rules_for(&p->apt, &p->cache, "other.example", 13));
    q = config_listener(c, "b")->fe_conf;
    ck_assert_str_eq(q->name, "q");
    ck_assert_int_eq(q->apt.on, 0);
    ck_assert_ptr_null(q->cache.classify);
    ck_assert_int_eq(q->cache.stale_if_unreachable, -1);
    config_unref(c);

    refused(FWD_P "policies = { p = { cache = { apt = 1; }; }; };  #<\n",
            "'apt' must be true or false");
    refused(FWD_P "policies = { p = { cache = { apt = true;\n"
                  "  mirrors = [ \"deb.example\",\n"
                  "              \"a..b\" ]; }; }; };  #<\n",
            "'mirrors': 'a..b' is not a host name");
    refused(FWD_P "policies = { p = { cache = { mirrors = \"deb.example\"; }; }; };  #<\n",
            "'mirrors' must be a list of strings");
    /* a forward policy honours no target list */
    refused(FWD_P "policies = { p = { cache = { targeted_field = \"X\"; }; }; };  #<\n",
            "unknown setting 'targeted_field'");
}
END_TEST

START_TEST(apt_settings_refused_in_a_route)
{
    refused(REV_R "routes = { r = ( { pool = \"w\";\n"
                  "  cache = { ttl = 5; apt = true; }; } ); };  #<\n",
            "unknown setting 'apt'");
    refused(REV_R "routes = { r = ( { pool = \"w\";\n"
                  "  cache = { mirrors = [ \"deb.example\" ]; }; } ); };  #<\n",
            "unknown setting 'mirrors'");
}
END_TEST

Suite *config_keys_suite(void)
{
    Suite *s = suite_create("config_keys");
    TCase *tc = tcase_create("helpers");
    int nsections = 0;

    tcase_add_checked_fixture(tc, cf_setup, cf_teardown);
    tcase_add_test(tc, strings_array_and_list);
    tcase_add_test(tc, strings_absent_and_empty);
    tcase_add_loop_test(tc, strings_refused, 0, (int)(sizeof(bad_lists) / sizeof(bad_lists[0])));
    tcase_add_test(tc, strings_errors_name_the_line);
    tcase_add_test(tc, bad_entry_is_named_not_a_crash);
    tcase_add_test(tc, networks);
    tcase_add_test(tc, networks_in_files);
    tcase_add_test(tc, group_check);
    suite_add_tcase(s, tc);

    tc = tcase_create("tables");
    while (config_core_sections[nsections])
        nsections++;
    tcase_add_loop_test(tc, readme_gives_each_default_and_range, 0, nsections);
    tcase_add_test(tc, empty_file_holds_the_defaults);
    /* it ends its process: only where each test has one of its own */
    if (!getenv("CK_FORK") || strcmp(getenv("CK_FORK"), "no") != 0)
        tcase_add_exit_test(tc, bad_default_stops, 1);
    suite_add_tcase(s, tc);

    tc = tcase_create("apt");
    tcase_add_test(tc, apt_settings_in_a_policy);
    tcase_add_test(tc, apt_settings_refused_in_a_route);
    suite_add_tcase(s, tc);
    return s;
}
