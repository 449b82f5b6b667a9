/* check_admin.c — what an administrator meets: conf.d drop-ins and their
 * errors, each check of `gatehouse -t` and `-q`, the systemd notify
 * protocol and `-r` (the unit's ExecReload) failing on a refused reload,
 * journal priorities, and the service user's files (the log handed over,
 * a reopen reported only when it happened, the disk cache created for
 * the user).  The checks of privileges need root, as the service has;
 * as another user they are skipped with a message. */
#include "common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *bin(void)
{
    return getenv("GH_BIN") ? getenv("GH_BIN") : "./build/gatehouse";
}

/* A fresh directory (0755) with gatehouse.conf holding text; path into dir. */
static void make_dir(char *dir, size_t cap, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(dir, cap, "/tmp/gh-admin-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    chmod(dir, 0755);
    snprintf(path, sizeof(path), "%s/gatehouse.conf", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void write_at(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Runs `gatehouse ARGS -c dir/gatehouse.conf`; output (both streams) in out. */
static int run(const char *dir, const char *args, char *out, size_t cap)
{
    return th_sh(out, cap, "%s %s -c %s/gatehouse.conf 2>&1", bin(), args, dir);
}

static const char base_conf[] =
    "listeners = ( { name = \"main\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\"; } );\n"
    "pools = { www = { servers = ( { static = \"/etc\"; } ); }; };\n"
    "routes = { r = ( { path = \"/\"; pool = \"www\"; } ); };\n";

/* ---- drop-ins ---- */

START_TEST(dropins_add_listeners_pools_routes_lists_policies)
{
    char dir[64], conf[1024], out[4096];
    int p1 = th_free_port(), p2 = th_free_port(), p3 = th_free_port();
    struct th_gatehouse g;
    struct tc_response r = {0};

    make_dir(dir, sizeof(dir), "");
    th_sh(NULL, 0, "mkdir -p %s/conf.d && echo blocked.test > %s/games", dir, dir);
    write_at(dir, "conf.d/10-site.conf",
             "pools = { two = { servers = ( { static = \"/etc\"; } ); }; };\n"
             "routes = { two = ( { path = \"/\"; pool = \"two\"; } ); };\n");
    snprintf(conf, sizeof(conf),
             "listeners = ( { name = \"second\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"two\"; },\n"
             "              { name = \"gw\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"kids\"; } );\n"
             "lists = { games = { path = \"%s/games\"; format = \"domains\"; }; };\n"
             "policies = { kids = { filter = ( { block = [ \"games\" ]; } ); }; };\n",
             p2, p3, dir);
    write_at(dir, "conf.d/20-more.conf", conf);
    write_at(dir, "conf.d/notes.txt", "this is not read\n");
    snprintf(conf, sizeof(conf), base_conf, p1);
    ck_assert_int_eq(th_gatehouse_start(&g, conf), 0); /* conf.d beside ITS file: none */
    rig_stop_clean(&g);
    /* include_dir names the directory, relative to the main file */
    snprintf(conf, sizeof(conf), "include_dir = \"%s/conf.d\";\n", dir);
    {
        char full[2048];
        snprintf(full, sizeof(full), "%s", conf);
        snprintf(full + strlen(full), sizeof(full) - strlen(full), base_conf, p1);
        ck_assert_int_eq(th_gatehouse_start(&g, full), 0);
    }
    ck_assert_int_ge(tc_request("127.0.0.1", p2, "GET /hostname HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r), 0);
    ck_assert_int_eq(r.status, 200); /* /etc/hostname through the drop-in's pool */
    tc_response_free(&r);
    ck_assert_int_ge(tc_request("127.0.0.1", p3, "GET http://blocked.test/ HTTP/1.1\r\nHost: blocked.test\r\nConnection: close\r\n\r\n", &r), 0);
    ck_assert_int_eq(r.status, 403); /* the drop-in's list and policy */
    tc_response_free(&r);
    rig_stop_clean(&g);
    (void)out;
    th_sh(NULL, 0, "rm -rf %s", dir);
}
END_TEST

/* Each duplicate names both places. */
START_TEST(dropin_duplicates_name_both_files)
{
    static const struct {
        const char *a, *b, *want;
    } cases[] = {
        {"pools = { p = { servers = ( { static = \"/tmp\"; } ); }; };\n",
         "\npools = { p = { servers = ( { static = \"/etc\"; } ); }; };\n",
         "conf.d/20-b.conf:2: pool 'p' is already defined at @DIR@/conf.d/10-a.conf:1"},
        {"listeners = ( { name = \"x\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\"; } );\n",
         "\n\nlisteners = ( { name = \"x\"; mode = \"reverse\"; listen = \"127.0.0.1:2\"; routes = \"r\"; } );\n",
         "conf.d/20-b.conf:3: listener 'x' is already defined at @DIR@/conf.d/10-a.conf:1"},
        {"policies = { kids = { }; };\n", "policies = { kids = { }; };\n",
         "conf.d/20-b.conf:1: policy 'kids' is already defined at @DIR@/conf.d/10-a.conf:1"},
        {"lists = { l = { path = \"/etc/hostname\"; }; };\n", "lists = { l = { path = \"/etc/hostname\"; }; };\n",
         "conf.d/20-b.conf:1: list 'l' is already defined at @DIR@/conf.d/10-a.conf:1"},
        {"routes = { r = ( { pool = \"www\"; } ); };\n", "",
         "conf.d/10-a.conf:1: route table 'r' is already defined at @DIR@/gatehouse.conf:3"},
        {"log = { level = \"warn\"; };\n", "log = { level = \"debug\"; };\n",
         "conf.d/20-b.conf:1: 'log' is already set at @DIR@/conf.d/10-a.conf:1"},
        {"pools = { q = { servers = ( { static = \"/tmp\"; } ); }; ;\n", "",
         "conf.d/10-a.conf:1: syntax error"},
        {"pools = { q = { servers = ( { static = \"/tmp\"; bogus = 1; } ); }; };\n", "",
         "conf.d/10-a.conf:1: unknown setting 'bogus'"},
    };
    char dir[64], conf[1024], out[4096], want[512];

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(conf, sizeof(conf), base_conf, 1);
        make_dir(dir, sizeof(dir), conf);
        th_sh(NULL, 0, "mkdir %s/conf.d", dir);
        write_at(dir, "conf.d/10-a.conf", cases[i].a);
        write_at(dir, "conf.d/20-b.conf", cases[i].b);
        ck_assert_int_eq(run(dir, "-t", out, sizeof(out)), 1);
        const char *at = strstr(cases[i].want, "@DIR@");
        if (at)
            snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - cases[i].want), cases[i].want, dir,
                     at + 5);
        else
            snprintf(want, sizeof(want), "%s", cases[i].want);
        ck_assert_msg(strstr(out, want) != NULL, "case %u: \"%s\" lacks \"%s\"", i, out, want);
        th_sh(NULL, 0, "rm -rf %s", dir);
    }
}
END_TEST

/* ---- -t and -q ---- */

START_TEST(check_t_covers_the_machine)
{
    char dir[64], conf[2048], out[4096];

    snprintf(conf, sizeof(conf), base_conf, 1);
    make_dir(dir, sizeof(dir), conf);
    ck_assert_int_eq(run(dir, "-t", out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "is valid"));
    ck_assert_int_eq(run(dir, "-t -q", out, sizeof(out)), 0);
    ck_assert_str_eq(out, ""); /* -q: nothing when valid */

    /* a user that does not exist */
    snprintf(conf, sizeof(conf), "user = \"no-such-user-gh\";\n");
    write_at(dir, "gatehouse.conf", conf);
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), base_conf, 1);
    write_at(dir, "gatehouse.conf", conf);
    ck_assert_int_eq(run(dir, "-t -q", out, sizeof(out)), 1);
    ck_assert_ptr_nonnull(strstr(out, "user 'no-such-user-gh' does not exist"));

    /* a log path that cannot be opened */
    snprintf(conf, sizeof(conf), "log = { access = \"/nonexistent-gh/access.log\"; };\n");
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), base_conf, 1);
    write_at(dir, "gatehouse.conf", conf);
    ck_assert_int_eq(run(dir, "-t -q", out, sizeof(out)), 1);
    ck_assert_ptr_nonnull(strstr(out, "log.access /nonexistent-gh/access.log cannot be created: no directory /nonexistent-gh"));

    /* an address that is not this machine's (TEST-NET-3, RFC 5737) */
    snprintf(conf, sizeof(conf),
             "listeners = ( { name = \"far\"; mode = \"reverse\";\n  listen = \"203.0.113.9:80\"; routes = \"r\"; } );\n"
             "pools = { www = { servers = ( { static = \"/tmp\"; } ); }; };\n"
             "routes = { r = ( { path = \"/\"; pool = \"www\"; } ); };\n");
    write_at(dir, "gatehouse.conf", conf);
    ck_assert_int_eq(run(dir, "-t -q", out, sizeof(out)), 1);
    ck_assert_msg(strstr(out, "gatehouse.conf:1: listener 'far': 203.0.113.9:80 is not an address of this machine") != NULL, "%s", out);

    /* a disk cache whose parent does not exist */
    snprintf(conf, sizeof(conf), "cache = { disk_dir = \"/nonexistent-gh/cache\"; };\n");
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), base_conf, 1);
    write_at(dir, "gatehouse.conf", conf);
    ck_assert_int_eq(run(dir, "-t -q", out, sizeof(out)), 1);
    ck_assert_ptr_nonnull(strstr(out, "cache.disk_dir /nonexistent-gh/cache is not a directory"));
    th_sh(NULL, 0, "rm -rf %s", dir);
}
END_TEST

/* The checks made as the service user: a key it cannot read (a reload
 * reads it again after the drop), a disk cache it cannot write. */
START_TEST(check_t_reads_keys_as_the_service_user)
{
    char dir[64], conf[2048], out[4096];

    if (geteuid() != 0) {
        fprintf(stderr, "admin: skipped check_t_reads_keys_as_the_service_user: needs root\n");
        return;
    }
    make_dir(dir, sizeof(dir), "");
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
                           "-keyout site.key -out site.pem 2>&1 && chmod 644 site.pem && "
                           "chown root:nogroup site.key && chmod 640 site.key && "
                           "mkdir cache && chown daemon:daemon cache && chmod 700 cache", dir),
                     0);
    snprintf(conf, sizeof(conf),
             "user = \"nobody\";\n"
             "listeners = ( { name = \"tls\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; routes = \"r\";\n"
             "  tls = { certificates = ( { cert = \"%s/site.pem\"; key = \"%s/site.key\"; } ); }; } );\n"
             "pools = { www = { servers = ( { static = \"/tmp\"; } ); }; };\n"
             "routes = { r = ( { path = \"/\"; pool = \"www\"; } ); };\n",
             dir, dir);
    write_at(dir, "gatehouse.conf", conf);
    /* root:nogroup 0640: nobody reads it through its group */
    ck_assert_msg(run(dir, "-t -q", out, sizeof(out)) == 0, "%s", out);
    th_sh(NULL, 0, "chmod 600 %s/site.key", dir);
    ck_assert_int_eq(run(dir, "-t -q", out, sizeof(out)), 1);
    ck_assert_msg(strstr(out, "site.key is not readable by the service user (a reload reads it again)") != NULL, "%s", out);
    th_sh(NULL, 0, "chmod 640 %s/site.key", dir);
    /* a cache directory owned by another user */
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), "cache = { disk_dir = \"%s/cache\"; };\n", dir);
    write_at(dir, "gatehouse.conf", conf);
    ck_assert_int_eq(run(dir, "-t -q", out, sizeof(out)), 1);
    ck_assert_msg(strstr(out, "/cache is not writable by the service user") != NULL, "%s", out);
    th_sh(NULL, 0, "rm -rf %s", dir);
}
END_TEST

/* ---- systemd's notify protocol, -r, the journal ---- */

/* Reads the datagrams waiting on fd into buf (appended). */
static void drain(int fd, char *buf, size_t cap)
{
    char one[512];
    ssize_t n;

    while ((n = recv(fd, one, sizeof(one) - 1, MSG_DONTWAIT)) > 0) {
        one[n] = '\0';
        strncat(buf, one, cap - strlen(buf) - 2);
        strncat(buf, "|", cap - strlen(buf) - 1);
    }
}

START_TEST(notify_ready_reload_and_r_fails_on_a_refused_reload)
{
    char dir[64], conf[1024], out[4096], heard[4096] = "", rt[128];
    int port = th_free_port(), fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct th_gatehouse g;
    struct tc_response r = {0};

    make_dir(dir, sizeof(dir), "");
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    chmod(sa.sun_path, 0777);
    snprintf(rt, sizeof(rt), "%s/run", dir);
    mkdir(rt, 0755);
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
    setenv("RUNTIME_DIRECTORY", rt, 1);
    snprintf(conf, sizeof(conf), base_conf, port);
    ck_assert_int_eq(th_gatehouse_start(&g, conf), 0);
    unsetenv("NOTIFY_SOCKET");
    for (int i = 0; i < 200 && !strstr(heard, "READY=1"); i++, th_sleep_ms(10))
        drain(fd, heard, sizeof(heard));
    ck_assert_msg(strstr(heard, "READY=1") != NULL, "heard: %s", heard);
    /* READY=1 came after the bind: the port answers */
    ck_assert_int_ge(tc_request("127.0.0.1", port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r), 0);
    tc_response_free(&r);
    ck_assert_int_eq(th_sh(out, sizeof(out), "cat %s/gatehouse.pid", rt), 0);
    ck_assert_int_eq(atoi(out), g.pid);

    /* -r: a good reload succeeds */
    ck_assert_msg(th_sh(out, sizeof(out), "%s -q -c %s -r %d 2>&1", bin(), g.conf, g.pid) == 0, "%s", out);
    /* a file the running daemon refuses (the port taken by another
     * process, which -t's bind test cannot see) fails -r with the reason */
    int busy = socket(AF_INET, SOCK_STREAM, 0), busy_port = th_free_port();
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)busy_port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(busy, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(listen(busy, 1), 0);
    snprintf(conf, sizeof(conf), base_conf, port);
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf),
             "listeners = ( { name = \"taken\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\"; } );\n",
             busy_port);
    {
        FILE *f = fopen(g.conf, "w");
        /* one listeners list: replace, not append */
        snprintf(conf, sizeof(conf),
                 "listeners = ( { name = \"main\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\"; },\n"
                 "              { name = \"taken\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\"; } );\n"
                 "pools = { www = { servers = ( { static = \"/tmp\"; } ); }; };\n"
                 "routes = { r = ( { path = \"/\"; pool = \"www\"; } ); };\n",
                 port, busy_port);
        fputs(conf, f);
        fclose(f);
    }
    ck_assert_int_eq(th_sh(out, sizeof(out), "%s -q -c %s -r %d 2>&1", bin(), g.conf, g.pid), 1);
    ck_assert_msg(strstr(out, "gatehouse: reload refused: ") != NULL, "%s", out);
    close(busy);
    /* a file -t refuses: -r fails before signalling */
    {
        FILE *f = fopen(g.conf, "w");
        fputs("listeners = ( { name = \"main\"; mode = \"bogus\"; } );\n", f);
        fclose(f);
    }
    ck_assert_int_eq(th_sh(out, sizeof(out), "%s -q -c %s -r %d 2>&1", bin(), g.conf, g.pid), 1);
    ck_assert_ptr_nonnull(strstr(out, "unknown mode 'bogus'"));
    ck_assert_int_ge(tc_request("127.0.0.1", port, "GET /hostname HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r), 0);
    ck_assert_int_eq(r.status, 200); /* still serving */
    tc_response_free(&r);
    snprintf(conf, sizeof(conf), base_conf, port);
    {
        FILE *f = fopen(g.conf, "w");
        fputs(conf, f);
        fclose(f);
    }
    rig_stop_clean(&g);
    unsetenv("RUNTIME_DIRECTORY");
    drain(fd, heard, sizeof(heard));
    ck_assert_msg(strstr(heard, "RELOADING=1\nMONOTONIC_USEC=") != NULL, "heard: %s", heard);
    ck_assert_msg(strstr(heard, "STATUS=reload refused") != NULL, "heard: %s", heard);
    ck_assert_msg(strstr(heard, "STOPPING=1") != NULL, "heard: %s", heard);
    close(fd);
    th_sh(NULL, 0, "rm -rf %s", dir);
}
END_TEST

START_TEST(journal_lines_carry_priorities)
{
    char dir[64], conf[1024], err[128], stream[64];
    int port = th_free_port();
    struct stat st;
    pid_t pid;

    snprintf(conf, sizeof(conf), base_conf, port);
    make_dir(dir, sizeof(dir), conf);
    snprintf(err, sizeof(err), "%s/err", dir);
    close(open(err, O_WRONLY | O_CREAT, 0644));
    ck_assert_int_eq(stat(err, &st), 0);
    /* JOURNAL_STREAM names the stream systemd connected to stderr: here a file */
    snprintf(stream, sizeof(stream), "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
    setenv("JOURNAL_STREAM", stream, 1);
    snprintf(conf, sizeof(conf), "%s/gatehouse.conf", dir);
    pid = th_spawn(err, (char *const[]){(char *)bin(), "-f", "-c", conf, NULL});
    unsetenv("JOURNAL_STREAM");
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(th_log_lines(err, 1, "<6>", "info: gatehouse", " started: ", NULL), 1);
    write_at(dir, "gatehouse.conf", "bad");
    kill(pid, SIGHUP);
    ck_assert_int_eq(th_log_lines(err, 1, "<3>", "error: reload failed", NULL), 1);
    th_reap(pid);
    th_sh(NULL, 0, "rm -rf %s", dir);
}
END_TEST

/* ---- the service user's files ---- */

START_TEST(logs_and_cache_handed_to_the_user_and_reopen_told_truly)
{
    char dir[64], conf[1024], out[4096], logdir[128];
    int port = th_free_port();
    struct th_gatehouse g;
    struct stat st;
    struct passwd *nobody = getpwnam("nobody");

    if (geteuid() != 0 || !nobody) {
        fprintf(stderr, "admin: skipped logs_and_cache_handed_to_the_user: needs root and nobody\n");
        return;
    }
    make_dir(dir, sizeof(dir), "");
    snprintf(logdir, sizeof(logdir), "%s/log", dir);
    mkdir(logdir, 0750);
    ck_assert_int_eq(chown(logdir, 0, 4 /* adm */), 0);
    chmod(logdir, 02755); /* setgid adm, as the package's; but root's: nobody cannot create */
    snprintf(conf, sizeof(conf),
             "user = \"nobody\";\nlog = { access = \"%s/access.log\"; };\n"
             "cache = { disk_dir = \"%s/cache\"; };\n",
             logdir, dir);
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), base_conf, port);
    ck_assert_int_eq(th_gatehouse_start(&g, conf), 0);
    snprintf(out, sizeof(out), "%s/access.log", logdir);
    ck_assert_int_eq(stat(out, &st), 0);
    ck_assert_uint_eq(st.st_uid, nobody->pw_uid);
    ck_assert_uint_eq(st.st_gid, 4); /* the setgid directory's group kept */
    snprintf(out, sizeof(out), "%s/cache", dir);
    ck_assert_int_eq(stat(out, &st), 0);
    ck_assert_uint_eq(st.st_uid, nobody->pw_uid);
    ck_assert_uint_eq(st.st_mode & 0777, 0750);
    ck_assert_int_eq(th_log_lines(g.errlog, 1, "disk tier off", NULL), 0);
    /* rotated away, in a directory nobody cannot write: the reopen fails
     * and says so; "reopened" is not logged */
    th_sh(NULL, 0, "mv %s/access.log %s/access.log.1", logdir, logdir);
    kill(g.pid, SIGUSR1);
    ck_assert_int_eq(th_log_lines(g.errlog, 1, "error: cannot reopen log file", "access.log", NULL), 1);
    ck_assert_int_eq(th_log_lines(g.errlog, 1, "log files reopened", NULL), 0);
    /* logrotate's create: the new file belongs to the user; now it works */
    th_sh(NULL, 0, "install -o nobody -g adm -m 640 /dev/null %s/access.log", logdir);
    kill(g.pid, SIGUSR1);
    ck_assert_int_eq(th_log_lines(g.errlog, 1, "log files reopened", NULL), 1);
    rig_stop_clean(&g);
    th_sh(NULL, 0, "rm -rf %s", dir);
}
END_TEST

Suite *admin_suite(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("admin");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dropins_add_listeners_pools_routes_lists_policies);
    tcase_add_test(tc, dropin_duplicates_name_both_files);
    tcase_add_test(tc, check_t_covers_the_machine);
    tcase_add_test(tc, check_t_reads_keys_as_the_service_user);
    tcase_add_test(tc, notify_ready_reload_and_r_fails_on_a_refused_reload);
    tcase_add_test(tc, journal_lines_carry_priorities);
    tcase_add_test(tc, logs_and_cache_handed_to_the_user_and_reopen_told_truly);
    suite_add_tcase(s, tc);
    return s;
}
