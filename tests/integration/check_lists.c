/* check_lists.c — `gatehouse-lists update` (packaging/gatehouse-lists)
 * against archives served by python3's http.server: a good one is checked,
 * swapped in with one rename and loaded by a running gatehouse (a name it
 * adds is blocked at once); each broken one is refused with a message
 * saying why, and leaves the lists in use, the link to them and the
 * running gatehouse as they were. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static pid_t web;
static int web_port;
static struct th_gatehouse gh;

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "lists rig: %s failed\n", what);
        abort();
    }
}

/* The archives, in dir/www: UT1's layout (blacklists/CATEGORY/domains),
 * made with tar; the hostile ones with python3's tarfile. */
static const char make_archives[] =
    "set -e; cd %s; mkdir -p www v1/blacklists/adult v1/blacklists/gambling;"
    "printf 'bad.example\\n' > v1/blacklists/adult/domains;"
    "printf 'casino.example\\npoker.example\\n' > v1/blacklists/gambling/domains;"
    "tar -czf www/v1.tar.gz -C v1 blacklists;"
    "cp -r v1 v2; printf '# the second version\\nbad.example\\n\\nnew-bad.example\\n' "
    "  > v2/blacklists/adult/domains;"
    "tar -czf www/v2.tar.gz -C v2 blacklists;"
    "sha256sum www/v2.tar.gz | sed 's|www/||' > www/v2.tar.gz.sha256;"
    "printf 'not an archive' > www/text.tar.gz;"
    "printf 'not a tar' | gzip > www/gzip.tar.gz;"
    "mkdir -p one/blacklists/adult; cp v2/blacklists/adult/domains one/blacklists/adult/;"
    "tar -czf www/one.tar.gz -C one blacklists;"
    "mkdir -p flat; printf 'bad.example\\n' > flat/list.txt; tar -czf www/flat.tar.gz -C flat .;"
    "/usr/bin/python3 -c \"import tarfile, io\n"
    "def add(t, name, data=b'x.example\\\\n', link=None):\n"
    "    i = tarfile.TarInfo(name)\n"
    "    if link:\n"
    "        i.type = tarfile.SYMTYPE; i.linkname = link; t.addfile(i)\n"
    "    else:\n"
    "        i.size = len(data); t.addfile(i, io.BytesIO(data))\n"
    "with tarfile.open('www/climb.tar.gz', 'w:gz') as t:\n"
    "    add(t, 'blacklists/adult/domains'); add(t, '../../evil', b'owned')\n"
    "with tarfile.open('www/link.tar.gz', 'w:gz') as t:\n"
    "    add(t, 'blacklists/adult/domains'); add(t, 'blacklists/gambling/domains');\n"
    "    add(t, 'blacklists/gambling/urls', link='/etc/passwd')\n"
    "\"\n";

/* The updater's settings for one run: the served file and extra lines. */
static int update(const char *file, const char *extra, char *out, size_t cap)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/lists.conf", dir);
    f = fopen(path, "w");
    must(f != NULL, path);
    fprintf(f,
            "URL=\"http://127.0.0.1:%d/%s\"\nLISTS=\"%s/var/blacklists\"\nCONFIG=\"%s\"\n"
            "GATEHOUSE=\"%s\"\nPIDFILE=\"%s/gatehouse.pid\"\nCATEGORIES=\"adult gambling\"\n%s\n",
            web_port, file, dir, gh.conf[0] ? gh.conf : "/nonexistent",
            getenv("GH_BIN") ? getenv("GH_BIN") : "./build/gatehouse", dir, extra);
    fclose(f);
    return th_sh(out, cap, "GATEHOUSE_LISTS_CONF=%s sh packaging/gatehouse-lists update 2>&1",
                 path);
}

/* Where the lists link points ("" when it does not). */
static void link_target(char *out, size_t cap)
{
    char path[128];
    ssize_t n;

    snprintf(path, sizeof(path), "%s/var/blacklists", dir);
    n = readlink(path, out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
}

static int reloads(void)
{
    char out[64];

    th_sh(out, sizeof(out), "grep -c 'configuration reloaded' %s", gh.errlog);
    return atoi(out);
}

static int fwd_port; /* gatehouse's forward listener */

/* The status gatehouse answers for http://HOST/ through its forward port. */
static int status_for(const char *host)
{
    char out[64];

    th_sh(out, sizeof(out),
          "curl -s -o /dev/null -w '%%{http_code}' -m 10 -x http://127.0.0.1:%d http://%s/",
          fwd_port, host);
    return atoi(out);
}

static void rig_start(void)
{
    char out[4096], conf[2048], port[16], www[96], pid[128];
    FILE *f;

    strcpy(dir, "/tmp/gh-lists-XXXXXX");
    must(mkdtemp(dir) != NULL, "mkdtemp");
    chmod(dir, 0755);
    must(th_sh(out, sizeof(out), make_archives, dir) == 0, "making the archives");
    web_port = th_free_port();
    snprintf(port, sizeof(port), "%d", web_port);
    snprintf(www, sizeof(www), "%s/www", dir);
    snprintf(out, sizeof(out), "%s/web.log", dir);
    web = th_spawn(out, (char *[]){"/usr/bin/python3", "-m", "http.server", port, "--bind",
                                   "127.0.0.1", "--directory", www, NULL});
    must(web > 0 && th_wait_port(web_port) == 0, "python3 -m http.server");
    /* the first lists, before gatehouse starts with them */
    memset(&gh, 0, sizeof(gh));
    must(update("v1.tar.gz", "RELOAD=none", out, sizeof(out)) == 0, out);
    fwd_port = th_free_port();
    snprintf(conf, sizeof(conf),
             "workers = 1;\nlog = { access = \"@ACCESS@\"; };\n"
             "lists = { adult = { path = \"%s/var/blacklists/adult\"; };\n"
             "          gambling = { path = \"%s/var/blacklists/gambling\"; }; };\n"
             "listeners = ( { name = \"gw\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; } );\n"
             "policies = { default = { filter = ( { block = [ \"adult\", \"gambling\" ]; } ); }; };\n",
             dir, dir, fwd_port);
    must(th_gatehouse_start(&gh, conf) == 0, "gatehouse");
    snprintf(pid, sizeof(pid), "%s/gatehouse.pid", dir);
    f = fopen(pid, "w");
    must(f != NULL, pid);
    fprintf(f, "%d\n", (int)gh.pid);
    fclose(f);
}

static void rig_stop(void)
{
    rig_stop_clean(&gh);
    th_reap(web);
    th_sh(NULL, 0, "rm -rf %s", dir);
}

START_TEST(a_good_archive_is_swapped_in_and_loaded)
{
    char out[4096], before[256], after[256], sum[128];
    int r = reloads();

    ck_assert_int_eq(status_for("bad.example"), 403);
    link_target(before, sizeof(before));
    snprintf(sum, sizeof(sum), "SHA256_URL=\"http://127.0.0.1:%d/v2.tar.gz.sha256\"", web_port);
    ck_assert_msg(update("v2.tar.gz", sum, out, sizeof(out)) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "lists updated: "));
    link_target(after, sizeof(after));
    ck_assert_str_ne(before, after);
    ck_assert_int_eq(access(before, F_OK), 0); /* the previous version is kept (KEEP=2) */
    for (int i = 0; i < 200 && reloads() == r; i++)
        th_sleep_ms(10);
    ck_assert_int_eq(reloads(), r + 1);
    ck_assert_int_eq(status_for("new-bad.example"), 403);
    ck_assert_int_eq(status_for("casino.example"), 403);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "GET http://new-bad.example/", "filter=block:adult",
                                  NULL),
                     1);
}
END_TEST

/* One broken archive: refused with `why`, and nothing changed. */
static void refused(const char *file, const char *extra, const char *why)
{
    char out[4096], before[256], after[256], left[512];
    int r = reloads();

    link_target(before, sizeof(before));
    ck_assert_msg(update(file, extra, out, sizeof(out)) == 1, "%s: %s", file, out);
    ck_assert_msg(strstr(out, why) != NULL, "%s: wanted \"%s\" in: %s", file, why, out);
    ck_assert_msg(strstr(out, "the lists in use are unchanged") != NULL, "%s: %s", file, out);
    link_target(after, sizeof(after));
    ck_assert_str_eq(before, after);
    /* nothing left beside the versions: no work directory, no new version */
    th_sh(left, sizeof(left), "ls -A %s/var/blacklists.d | grep -c .", dir);
    ck_assert_msg(atoi(left) >= 1 && atoi(left) <= 2, "%s: left %s", file, left);
    th_sh(left, sizeof(left), "ls -A %s/var/blacklists.d | grep -c '^\\.new' || true", dir);
    ck_assert_int_eq(atoi(left), 0);
    ck_assert_int_eq(reloads(), r);
    ck_assert_int_eq(status_for("bad.example"), 403);
}

START_TEST(broken_archives_change_nothing)
{
    refused("missing.tar.gz", "", "cannot download");
    refused("text.tar.gz", "", "not a gzip file");
    refused("gzip.tar.gz", "", "not a tar archive");
    refused("flat.tar.gz", "", "not UT1's layout");
    refused("climb.tar.gz", "", "a member's path leaves the archive: ../../evil");
    ck_assert_int_ne(access("/tmp/evil", F_OK), 0);
    refused("link.tar.gz", "", "a link leads out of the archive");
    refused("one.tar.gz", "", "category 'gambling' is not in the archive");
    refused("v1.tar.gz", "MIN_ENTRIES=3", "category 'adult' has 1 entries, fewer than MIN_ENTRIES (3)");
    refused("v2.tar.gz", "SHA256=0123456789abcdef", "sha256 mismatch: expected 0123456789abcdef");
    /* the archive passes the updater's checks, but the configuration also
     * uses a category it lacks: gatehouse -t refuses, the link goes back */
    refused("one.tar.gz", "CATEGORIES=adult", "gatehouse -t refuses the new lists");
}
END_TEST

Suite *lists_suite(void)
{
    Suite *s = suite_create("lists");
    TCase *tc = tcase_create("update");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_good_archive_is_swapped_in_and_loaded);
    tcase_add_test(tc, broken_archives_change_nothing);
    suite_add_tcase(s, tc);
    return s;
}
