/* check_fleet.c — three gatehouses (front doors on 127.0.0.2, .3 and .4)
 * sharing one Redis that each test starts itself (redis-server on a port
 * the test picks, in a temporary directory, no persistence) and stops by
 * its PID: a rate limit held across the nodes within 5% of its rate, a ban
 * made on one node refused by the others within a second, Redis killed
 * and restarted under load without a client error and sharing resumed
 * after, and the store's outage in each node's log and /metrics.  The
 * clients are curl (keep-alive, its URL globbing for runs of requests). */
#include "common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NODES 3

static struct origin origin;
static struct th_gatehouse gh[NODES];
static pid_t redis = -1;
static int redis_port, port, fport; /* Redis, the front doors, the gateways */
static char dir[128];

static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    static unsigned fetches; /* the origin's own count (it is a process of its own) */

    char n[32];

    if (strcmp(rq->path, "/big") == 0 && origin_query(rq, "n", 0, n, sizeof(n)) == 0) {
        origin_pattern(re, strtoull(n, NULL, 10));
    } else if (strncmp(rq->path, "/obj", 4) == 0) {
        origin_add(re, "Cache-Control: max-age=600");
        origin_text(re, "fetch %u of %s\n", ++fetches, rq->path);
    } else if (strcmp(rq->path, "/missing") == 0) {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    } else {
        origin_text(re, "hello from %s\n", rq->name);
    }
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t real_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- what a failed test leaves behind ----
 *
 * A failed assertion ends the test's process at once (CK_FORK), before
 * rig_down_all: every process and directory a test makes is noted in a
 * file of the runner's, and the tcase's unchecked teardown (in the
 * runner) stops what is still running, by its PID, and removes them. */

static pid_t runner;

static void notes_path(char *p, size_t cap)
{
    snprintf(p, cap, "/tmp/gh-fleet-%d.left", (int)runner);
}

static void note(const char *what, long pid, const char *path)
{
    char p[64];
    FILE *f;

    notes_path(p, sizeof(p));
    if ((f = fopen(p, "a"))) {
        fprintf(f, "%s %ld %s\n", what, pid, path ? path : "-");
        fclose(f);
    }
}

static void notes_begin(void)
{
    runner = getpid();
}

/* The process pid runs `name` (its command line starts with it). */
static int runs(long pid, const char *name)
{
    char p[64], cmd[256] = "";
    FILE *f;

    snprintf(p, sizeof(p), "/proc/%ld/cmdline", pid);
    if (!(f = fopen(p, "r")))
        return 0;
    if (!fgets(cmd, sizeof(cmd), f))
        cmd[0] = '\0';
    fclose(f);
    return strstr(cmd, name) != NULL;
}

static void notes_end(void)
{
    char p[64], what[32], path[200];
    long pid;
    FILE *f;

    notes_path(p, sizeof(p));
    if (!(f = fopen(p, "r")))
        return;
    while (fscanf(f, "%31s %ld %199s", what, &pid, path) == 3) {
        if (pid > 0 && runs(pid, what))
            kill((pid_t)pid, SIGKILL);
        if (strncmp(path, "/tmp/gh-", 8) == 0)
            th_sh(NULL, 0, "rm -rf %s", path);
    }
    fclose(f);
    unlink(p);
}

/* Starts a redis-server on rport (its log in dir/redis-PORT.log). */
static pid_t redis_at(int rport)
{
    char log[192], p[16];
    char *argv[] = {"redis-server", "--port", p,       "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no",     "--dir", dir,      NULL};
    pid_t pid;

    snprintf(p, sizeof(p), "%d", rport);
    snprintf(log, sizeof(log), "%s/redis-%d.log", dir, rport);
    pid = th_spawn(log, argv);
    ck_assert_int_gt(pid, 0);
    note("redis-server", pid, NULL);
    ck_assert_msg(th_wait_port(rport) == 0, "redis-server did not listen: see %s", log);
    return pid;
}

static void redis_start(void)
{
    redis = redis_at(redis_port);
}

static void redis_kill(void)
{
    if (redis > 0) {
        kill(redis, SIGKILL);
        waitpid(redis, NULL, 0);
    }
    redis = -1;
}

/* The node's /metrics value of a series (its line's start), or -1. */
static long metric(int node, const char *series)
{
    char out[256];

    if (th_sh(out, sizeof(out),
              "curl -s --max-time 5 http://127.0.0.%d:%d/metrics | grep '^%s ' | cut -d' ' -f2",
              node + 2, port, series) != 0 ||
        !out[0])
        return -1;
    return atol(out);
}

/* Waits (up to 5 s) until every node's links are up: a command link per
 * worker (2) and the subscriber, subscribed. */
static void all_up(void)
{
    for (int n = 0; n < NODES; n++) {
        int i;
        for (i = 0; i < 100 && (metric(n, "gatehouse_fleet_up") != 1 ||
                                metric(n, "gatehouse_fleet_links") != 3);
             i++)
            th_sleep_ms(50);
        ck_assert_msg(i < 100, "node %d: the fleet's store is not up", n);
    }
}

static int tport; /* the TLS listeners' port, 0: none */

/* The TLS listener of a node, with the fleet's ticket key, when tport is set. */
static void tls_listener(char *out, size_t cap, int n)
{
    if (!tport) {
        out[0] = '\0';
        return;
    }
    snprintf(
        out, cap,
        ",\n  { name = \"tls\"; mode = \"reverse\"; listen = \"127.0.0.%d:%d\"; routes = \"r\";\n"
        "    tls = { certificates = ( { cert = \"%s/certs/a-rsa.pem\";\n"
        "                               key = \"%s/certs/a-rsa.key\"; } ); }; }",
        n + 2, tport, dir, dir);
}

/* Node n's configuration, its fleet's store at 127.0.0.1:rport. */
static void node_conf(char *conf, size_t cap, int n, int rport)
{
    char tl[512], ticket[256] = "";

    tls_listener(tl, sizeof(tl), n);
    if (tport)
        snprintf(ticket, sizeof(ticket), "          ticket_key_file = \"%s/ticket.key\";\n", dir);
    snprintf(conf, cap,
             "workers = 2;\n"
             "log = { access = \"@ACCESS@\"; };\n"
             "fleet = { address = \"127.0.0.1:%d\"; prefix = \"t%d:\"; timeout = 1;\n"
             "          retry_min = 0.05; retry_max = 0.2;\n%s };\n"
             "rate_limits = {\n"
             "  fleet = { rate = 200; per = 6; key = \"route\"; shared = true; };\n"
             "  roomy = { rate = 1000000; per = 1; key = \"route\"; shared = true; };\n"
             "};\n"
             "cache = { memory_mb = 8; purge_allow = [ \"127.0.0.0/8\" ]; };\n"
             "bans = { scanner = { events = [ \"4xx\" ]; count = 3; within = 60;\n"
             "                     duration = 600; }; };\n"
             "listeners = ( { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.%d:%d\";\n"
             "    routes = \"r\"; trusted_proxies = [ \"127.0.0.0/8\" ];\n"
             "    metrics_path = \"/metrics\"; status_path = \"/.gh/status\";\n"
             "    status_allow = [ \"127.0.0.0/8\" ]; },\n"
             "  { name = \"gw\"; mode = \"forward\"; listen = \"127.0.0.%d:%d\";\n"
             "    policy = \"staff\"; }%s );\n"
             "policies = { staff = { auth = { file = \"%s/users\"; };\n"
             "  quota = { daily = 100000; file = \"%s/quota.%d\"; }; }; };\n"
             "pools = { app = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
             "routes = { r = (\n"
             "  { host = \"limit.test\"; pool = \"app\"; rate_limits = [ \"fleet\" ]; },\n"
             "  { host = \"roomy.test\"; pool = \"app\"; rate_limits = [ \"roomy\" ]; },\n"
             "  { host = \"ban.test\"; pool = \"app\"; bans = [ \"scanner\" ]; },\n"
             "  { host = \"cache.test\"; pool = \"app\"; cache = true; },\n"
             "  { host = \"*\"; pool = \"app\"; }\n"
             "); };\n",
             rport, (int)getpid(), ticket, n + 2, port, n + 2, fport, tl, dir, dir, n, origin.port);
}

static void rig_up_tls(int tls)
{
    char conf[4096], out[512];

    strcpy(dir, "/tmp/gh-fleet-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    chmod(dir, 0755);
    note("-", 0, dir);
    redis_port = th_free_port();
    port = th_free_port();
    fport = th_free_port();
    ck_assert_msg(th_sh(out, sizeof(out),
                        "htpasswd -cbB %s/users alice wonderland 2>&1 && chmod 644 %s/users", dir,
                        dir) == 0,
                  "htpasswd: %s", out);
    tport = 0;
    if (tls) {
        tport = th_free_port();
        ck_assert_msg(
            th_sh(out, sizeof(out),
                  "sh tests/support/make-certs.sh %s/certs 2>&1 && chmod -R a+rX %s/certs "
                  "&& head -c 48 /dev/urandom > %s/ticket.key && chmod 644 %s/ticket.key",
                  dir, dir, dir, dir) == 0,
            "certificates: %s", out);
    }
    redis_start();
    ck_assert_int_eq(origin_start(&origin, "o", answer), 0);
    note("gh-test-origin", origin.pid, NULL);
    for (int n = 0; n < NODES; n++) {
        node_conf(conf, sizeof(conf), n, redis_port);
        ck_assert_msg(th_gatehouse_start(&gh[n], conf) == 0, "node %d did not start", n);
        note("gatehouse", gh[n].pid, gh[n].dir);
    }
    all_up();
}

static void rig_up(void)
{
    rig_up_tls(0);
}

static void rig_down_all(void)
{
    for (int n = 0; n < NODES; n++)
        rig_stop_clean(&gh[n]);
    rig_origin_stop(&origin);
    redis_kill();
    th_sh(NULL, 0, "rm -rf %s", dir);
}

/* Counts the statuses of a run: `count` requests to each node at once
 * (one keep-alive curl per node), Host `host`, client `xff`. */
static void run(const char *host, int count, int *ok, int *limited, int *other)
{
    char out[256];

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "cd %s && for n in 2 3 4; do curl -s --max-time 60 -o /dev/null "
                           "-w '%%{http_code}\\n' -H 'Host: %s' "
                           "'http://127.0.0.'$n':%d/r?[1-%d]' > run.$n & done; wait; "
                           "cat run.2 run.3 run.4 | grep -c '^200$'; "
                           "cat run.2 run.3 run.4 | grep -c '^429$'; "
                           "cat run.2 run.3 run.4 | grep -vc '^200$\\|^429$'; true",
                           dir, host, port, count),
                     0);
    ck_assert_int_eq(sscanf(out, "%d %d %d", ok, limited, other), 3);
}

START_TEST(limit_held_across_nodes)
{
    int ok, limited, other;
    uint64_t in;

    rig_up();
    /* the windows are cut from the clock: start early in one, so that the
     * run (about a second; 6 s allowed) falls in it */
    while ((in = real_ms() % 6000) > 300)
        th_sleep_ms((int)(6000 - in + 20 < 1000 ? 6000 - in + 20 : 1000));
    run("limit.test", 200, &ok, &limited, &other);
    ck_assert_msg(real_ms() % 6000 > in, "the run crossed into the next window: too slow");
    ck_assert_int_eq(other, 0);
    ck_assert_int_eq(ok + limited, 600);
    /* 200 per window across the fleet: each node alone would allow 600 */
    ck_assert_msg(ok >= 190 && ok <= 210, "the fleet allowed %d of 600, want 200 +- 5%%", ok);
    ck_assert_int_ge(metric(0, "gatehouse_fleet_commands_total{result=\"ok\"}"), 1);
    rig_down_all();
}
END_TEST

/* Sends `count` requests for `path` as client xff to node n; the last status. */
static int as_client(int n, const char *xff, const char *path, int count)
{
    char out[64];

    th_sh(out, sizeof(out),
          "curl -s --max-time 5 -o /dev/null -w '%%{http_code}\\n' -H 'Host: ban.test' "
          "-H 'X-Forwarded-For: %s' 'http://127.0.0.%d:%d%s?[1-%d]' | tail -n1",
          xff, n + 2, port, path, count);
    return atoi(out);
}

/* Milliseconds until node n refuses xff as banned (polling), or -1 after 5 s. */
static long banned_after(int n, const char *xff, uint64_t from)
{
    for (int i = 0; i < 250; i++) {
        if (as_client(n, xff, "/", 1) == 403)
            return (long)(mono_ms() - from);
        th_sleep_ms(20);
    }
    return -1;
}

START_TEST(ban_seen_elsewhere)
{
    uint64_t t0;
    long ms;

    rig_up();
    ck_assert_int_eq(as_client(1, "198.51.100.7", "/", 1), 200);
    ck_assert_int_eq(as_client(2, "198.51.100.7", "/", 1), 200);
    /* three 404s on node A ban the client there ... */
    ck_assert_int_eq(as_client(0, "198.51.100.7", "/missing", 3), 404);
    t0 = mono_ms();
    ck_assert_int_eq(as_client(0, "198.51.100.7", "/", 1), 403);
    /* ... and on B and C within a second (a generous bound: pub/sub takes
     * a round trip) */
    for (int n = 1; n < NODES; n++) {
        ms = banned_after(n, "198.51.100.7", t0);
        ck_assert_msg(ms >= 0 && ms <= 1000, "node %d: the ban came after %ld ms", n, ms);
    }
    /* another client is not banned anywhere */
    ck_assert_int_eq(as_client(2, "198.51.100.8", "/", 1), 200);
    ck_assert_int_eq(
        th_log_lines(gh[1].errlog, 1, "ban scanner: 198.51.100.7 banned", "another node", NULL), 1);
    rig_down_all();
}
END_TEST

START_TEST(redis_restarted_under_load)
{
    char out[256];
    int ok, limited, other;
    uint64_t t0;
    long ms;

    rig_up();
    /* a load on every node while Redis dies and comes back */
    th_sh(NULL, 0,
          "cd %s && for n in 2 3 4; do (for i in $(seq 1 30); do curl -s --max-time 10 "
          "-o /dev/null -w '%%{http_code}\\n' -H 'Host: roomy.test' "
          "'http://127.0.0.'$n':%d/r?[1-20]'; sleep 0.05; done > load.$n) & done",
          dir, port);
    th_sleep_ms(300);
    redis_kill();
    /* down: every node answers from local state, and says so */
    run("roomy.test", 20, &ok, &limited, &other);
    ck_assert_int_eq(ok, 60);
    for (int n = 0; n < NODES; n++) {
        ck_assert_int_eq(metric(n, "gatehouse_fleet_up"), 0);
        ck_assert_int_ge(metric(n, "gatehouse_fleet_outages_total"), 1);
        ck_assert_int_ge(metric(n, "gatehouse_fleet_fallbacks_total"), 1);
        ck_assert_int_eq(th_log_lines(gh[n].errlog, 1, "fleet: the store at", "unreachable", NULL),
                         1);
    }
    th_sleep_ms(500);
    redis_start();
    all_up();
    for (int n = 0; n < NODES; n++)
        ck_assert_int_eq(th_log_lines(gh[n].errlog, 1, "reachable again", "sharing resumes", NULL),
                         1);
    /* the load ends with every answer a 200 */
    th_sh(NULL, 0,
          "cd %s && for i in $(seq 1 300); do [ $(cat load.2 load.3 load.4 | wc -l) "
          "-ge 1800 ] && break; sleep 0.1; done",
          dir);
    ck_assert_int_eq(
        th_sh(out, sizeof(out), "cd %s && cat load.2 load.3 load.4 | sort | uniq -c", dir), 0);
    ck_assert_msg(strcmp(out, "   1800 200\n") == 0, "the load saw: %s", out);
    /* sharing resumed: a ban made now reaches the others */
    ck_assert_int_eq(as_client(2, "203.0.113.9", "/missing", 3), 404);
    t0 = mono_ms();
    ms = banned_after(0, "203.0.113.9", t0);
    ck_assert_msg(ms >= 0 && ms <= 1000, "after the restart the ban came after %ld ms", ms);
    ck_assert_int_eq(metric(1, "gatehouse_fleet_up"), 1);
    rig_down_all();
}
END_TEST

/* A request for `path` of cache.test to node n: its body and whether the
 * cache answered it ("hit" in Cache-Status). */
static void cached(int n, const char *method, const char *path, char *body, size_t cap, int *hit)
{
    char out[1024], *b;

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s --max-time 5 -X %s -D - -H 'Host: cache.test' "
                           "'http://127.0.0.%d:%d%s'",
                           method, n + 2, port, path),
                     0);
    *hit = strstr(out, "; hit") != NULL;
    b = strstr(out, "\r\n\r\n");
    snprintf(body, cap, "%s", b ? b + 4 : "");
}

START_TEST(purge_clears_every_node)
{
    char body[256], first[NODES][256];
    int hit;

    rig_up();
    /* each node fetches the object once and then answers it from its cache */
    for (int n = 0; n < NODES; n++) {
        cached(n, "GET", "/obj/a", first[n], sizeof(first[n]), &hit);
        ck_assert_int_eq(hit, 0);
        cached(n, "GET", "/obj/a", body, sizeof(body), &hit);
        ck_assert_msg(hit && strcmp(body, first[n]) == 0, "node %d: no hit: %s", n, body);
    }
    /* a PURGE on node A ... */
    cached(0, "PURGE", "/obj/a", body, sizeof(body), &hit);
    ck_assert_str_eq(body, "{\"purged\": 1}\n");
    /* ... clears B and C too (within a second: pub/sub, polled) */
    for (int n = 1; n < NODES; n++) {
        int i;
        for (i = 0; i < 50; i++) {
            cached(n, "GET", "/obj/a", body, sizeof(body), &hit);
            if (!hit)
                break;
            th_sleep_ms(20);
        }
        ck_assert_msg(i < 50, "node %d still answers the purged object from its cache", n);
        ck_assert_msg(strcmp(body, first[n]) != 0, "node %d: %s", n, body); /* a new fetch */
    }
    cached(0, "GET", "/obj/a", body, sizeof(body), &hit);
    ck_assert_int_eq(hit, 0);
    rig_down_all();
}
END_TEST

/* A request through node n's gateway as alice with `password`: the status. */
static int login(int n, const char *password)
{
    char out[64];

    th_sh(out, sizeof(out),
          "curl -s --max-time 20 -o /dev/null -w '%%{http_code}' -x http://127.0.0.%d:%d "
          "-U alice:%s http://127.0.0.1:%d/",
          n + 2, fport, password, origin.port);
    return atoi(out);
}

/* A download of `bytes` through node n's gateway as alice: the status. */
static int download(int n, int bytes)
{
    char out[64];

    th_sh(out, sizeof(out),
          "curl -s --max-time 20 -o /dev/null -w '%%{http_code}' -x http://127.0.0.%d:%d "
          "-U alice:wonderland 'http://127.0.0.1:%d/big?n=%d'",
          n + 2, fport, origin.port, bytes);
    return atoi(out);
}

START_TEST(quota_counted_across_nodes)
{
    int i, st = 0;

    rig_up();
    /* 60 kB on node A and 60 kB on node B: 120 kB of a day's 100 kB on the fleet */
    ck_assert_int_eq(download(0, 60000), 200);
    ck_assert_int_eq(download(1, 60000), 200);
    /* B learns the fleet's total with its charge's answer, then refuses */
    for (i = 0; i < 50 && (st = download(1, 10)) == 200; i++)
        th_sleep_ms(20);
    ck_assert_msg(st == 403, "node B still lets alice through: %d", st);
    ck_assert_int_eq(
        th_log_lines(gh[1].access, 1, "alice", "\" 403 ", "why=daily quota used up", NULL), 1);
    rig_down_all();
}
END_TEST

/* Waits (up to 5 s) until node n has received `want` messages. */
static void received(int n, long want)
{
    for (int i = 0; i < 100; i++) {
        if (metric(n, "gatehouse_fleet_messages_total{way=\"received\"}") >= want)
            return;
        th_sleep_ms(50);
    }
    ck_abort_msg("node %d received fewer than %ld messages", n, want);
}

START_TEST(login_failures_counted_across_nodes)
{
    rig_up();
    /* three wrong passwords on node A: free tries there */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(login(0, "guess"), 407);
    received(1, 3);
    /* node B counts them: its first failure is the fourth, held back */
    ck_assert_int_eq(login(1, "guess"), 407);
    ck_assert_int_eq(
        th_log_lines(gh[1].errlog, 1, "proxy authentication failed from 127.0.0.1",
                     "(failures: 4 from the address, 4 for the name); 407 held back 250 ms", NULL),
        1);
    /* a good login on node C forgets them everywhere */
    received(2, 4);
    ck_assert_int_eq(login(2, "wonderland"), 200);
    received(0, 2);
    ck_assert_int_eq(login(0, "guess"), 407);
    ck_assert_int_eq(th_log_lines(gh[0].errlog, 0, "(failures: 5", NULL), 0);
    rig_down_all();
}
END_TEST

/* A TLS session made with node n, its ticket saved in (or read from) sess
 * as `way` ("-sess_out" or "-sess_in"): s_client's report in out. */
static void s_client(int n, const char *way, char *out, size_t cap)
{
    ck_assert_int_eq(
        th_sh(out, cap,
              "printf 'GET / HTTP/1.1\\r\\nHost: a.test\\r\\nConnection: close\\r\\n\\r\\n' | "
              "timeout 10 openssl s_client -ign_eof -connect 127.0.0.%d:%d -servername a.test "
              "-CAfile %s/certs/ca.pem %s %s/sess.pem 2>&1",
              n + 2, tport, dir, way, dir),
        0);
}

START_TEST(ticket_resumed_on_another_node)
{
    static char out[16384];

    rig_up_tls(1);
    /* a session with node A, resumed with B and then with C */
    s_client(0, "-sess_out", out, sizeof(out));
    ck_assert_msg(strstr(out, "New, TLSv1.3") && strstr(out, "hello from o"), "%.600s", out);
    s_client(1, "-sess_in", out, sizeof(out));
    ck_assert_msg(strstr(out, "Reused, TLSv1.3") && strstr(out, "hello from o"),
                  "not resumed on node B: %.600s", out);
    s_client(2, "-sess_in", out, sizeof(out));
    ck_assert_msg(strstr(out, "Reused, TLSv1.3"), "not resumed on node C: %.600s", out);
    rig_down_all();
}
END_TEST

/* Clients connected to the Redis on rport, redis-cli's own not counted. */
static int store_clients(int rport)
{
    char out[32];

    if (th_sh(out, sizeof(out), "redis-cli -p %d CLIENT LIST | grep -vc 'cmd=client'", rport) != 0)
        return -1;
    return atoi(out);
}

/* Waits (up to 5 s) until the Redis on rport has `want` clients. */
static int store_clients_become(int rport, int want)
{
    int i, n = -1;

    for (i = 0; i < 100 && (n = store_clients(rport)) != want; i++)
        th_sleep_ms(50);
    return n;
}

/* A reload that names another store: node A's links leave the first Redis
 * (closed, not leaked) and its shared state goes to the second, while the
 * other two stay where they were.  A ban made on A is then not seen by B. */
START_TEST(reload_moves_to_another_store)
{
    char conf[4096], out[256];
    int second = th_free_port(), n;
    pid_t other;

    rig_up();
    ck_assert_int_eq(store_clients(redis_port), 9); /* 3 nodes x (2 workers + subscriber) */
    other = redis_at(second);
    node_conf(conf, sizeof(conf), 0, second);
    ck_assert_int_eq(th_gatehouse_reload(&gh[0], conf), 0);
    n = store_clients_become(second, 3);
    ck_assert_msg(n == 3, "the second store has %d clients, want node A's 3", n);
    n = store_clients_become(redis_port, 6);
    ck_assert_msg(n == 6, "the first store has %d clients, want the other nodes' 6", n);
    for (int i = 0; i < 100 && (metric(0, "gatehouse_fleet_up") != 1 ||
                                metric(0, "gatehouse_fleet_links") != 3);
         i++)
        th_sleep_ms(50);
    ck_assert_int_eq(metric(0, "gatehouse_fleet_links"), 3);
    /* a shared limit's counter is now kept in the second store */
    ck_assert_int_eq(
        th_sh(out, sizeof(out),
              "curl -s --max-time 5 -o /dev/null -w '%%{http_code}' -H 'Host: limit.test' "
              "http://127.0.0.2:%d/",
              port),
        0);
    ck_assert_str_eq(out, "200");
    for (int i = 0; i < 100; i++) {
        th_sh(out, sizeof(out), "redis-cli -p %d --scan --pattern 't%d:*' | wc -l", second,
              (int)getpid());
        if (atoi(out) > 0)
            break;
        th_sleep_ms(50);
    }
    ck_assert_msg(atoi(out) > 0, "no key of the fleet's prefix in the second store");
    /* separate stores now: A's ban stays on A */
    ck_assert_int_eq(as_client(0, "198.51.100.9", "/missing", 3), 404);
    ck_assert_int_eq(as_client(0, "198.51.100.9", "/", 1), 403);
    th_sleep_ms(1000);
    ck_assert_int_eq(as_client(1, "198.51.100.9", "/", 1), 200);
    kill(other, SIGKILL);
    waitpid(other, NULL, 0);
    rig_down_all();
}
END_TEST

/* Three 404s ban xff on node A (the scanner rule), which then refuses it. */
static void ban_on_a(const char *xff)
{
    ck_assert_int_eq(as_client(0, xff, "/missing", 3), 404);
    ck_assert_int_eq(as_client(0, xff, "/", 1), 403);
}

/* Starts node C (stopped by the test) again, and waits for all three. */
static void restart_c(void)
{
    char conf[4096];

    node_conf(conf, sizeof(conf), 2, redis_port);
    ck_assert_msg(th_gatehouse_start(&gh[2], conf) == 0, "node 2 did not start again");
    note("gatehouse", gh[2].pid, gh[2].dir);
    all_up();
}

/* A node that was not listening when a ban was made (here: one started
 * after it) reads it from the fleet's journal, with what is left of its
 * time, and a ban lifted since stays lifted. */
START_TEST(ban_kept_for_a_node_that_starts_later)
{
    char out[64];

    rig_up();
    ck_assert_int_eq(th_gatehouse_stop(&gh[2], SIGTERM, 10000), 0);
    ban_on_a("198.51.100.21");
    ban_on_a("198.51.100.22");
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s --max-time 5 -o /dev/null -w '%%{http_code}' -X DELETE "
                           "'http://127.0.0.2:%d/.gh/status?ban=198.51.100.22'",
                           port),
                     0);
    ck_assert_str_eq(out, "200");
    ck_assert_int_eq(as_client(0, "198.51.100.22", "/", 1), 200);
    restart_c();
    ck_assert_int_eq(as_client(2, "198.51.100.21", "/", 1), 403);
    ck_assert_int_eq(as_client(2, "198.51.100.22", "/", 1), 200);
    ck_assert_int_eq(th_log_lines(gh[2].errlog, 1, "ban scanner: 198.51.100.21 banned",
                                  "(from the fleet's journal)", NULL),
                     1);
    ck_assert_int_ge(metric(2, "gatehouse_fleet_messages_total{way=\"replayed\"}"), 3);
    rig_down_all();
}
END_TEST

/* The journal is read a page (500 entries) at a time to its end: a ban made
 * after 600 other kept messages (lifts of addresses never banned) still
 * reaches a node that starts later.  Read one page only, it would not. */
START_TEST(journal_read_past_its_first_page)
{
    char out[64];

    rig_up();
    ck_assert_int_eq(th_gatehouse_stop(&gh[2], SIGTERM, 10000), 0);
    ban_on_a("198.51.100.31");
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s --max-time 60 -o /dev/null -w '%%{http_code}\\n' -X DELETE "
                           "'http://127.0.0.2:%d/.gh/status?ban=10.9.[1-3].[1-200]' | "
                           "grep -c '^200$'",
                           port),
                     0);
    ck_assert_int_eq(atoi(out), 600);
    ban_on_a("198.51.100.32");
    restart_c();
    ck_assert_int_ge(banned_after(2, "198.51.100.31", mono_ms()), 0);
    ck_assert_int_ge(banned_after(2, "198.51.100.32", mono_ms()), 0);
    ck_assert_int_ge(metric(2, "gatehouse_fleet_messages_total{way=\"replayed\"}"), 602);
    rig_down_all();
}
END_TEST

/* A ban and a lift made on node A while it cannot reach the store wait
 * there, and reach node B once the store is back. */
START_TEST(bans_made_in_an_outage_announced_after)
{
    char out[64];
    int i;

    rig_up();
    ban_on_a("198.51.100.41");
    ck_assert_int_ge(banned_after(1, "198.51.100.41", mono_ms()), 0);
    redis_kill();
    for (i = 0; i < 100 && metric(0, "gatehouse_fleet_links") != 0; i++)
        th_sleep_ms(50);
    ck_assert_msg(i < 100, "node A still counts links to a dead store");
    ban_on_a("198.51.100.42");
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s --max-time 5 -o /dev/null -w '%%{http_code}' -X DELETE "
                           "'http://127.0.0.2:%d/.gh/status?ban=198.51.100.41'",
                           port),
                     0);
    ck_assert_str_eq(out, "200");
    ck_assert_int_eq(as_client(1, "198.51.100.42", "/", 1), 200);
    ck_assert_int_eq(as_client(1, "198.51.100.41", "/", 1), 403);
    redis_start();
    all_up();
    ck_assert_int_ge(banned_after(1, "198.51.100.42", mono_ms()), 0);
    /* for what was left of its 600 s, not 600 s from now */
    ck_assert_int_ge(
        th_log_lines(gh[1].errlog, 1, "ban scanner: 198.51.100.42 banned for 59", NULL), 1);
    for (i = 0; i < 250 && as_client(1, "198.51.100.41", "/", 1) != 200; i++)
        th_sleep_ms(20);
    ck_assert_msg(i < 250, "the lift made in the outage did not reach node B");
    /* a line from each worker thread that held one */
    ck_assert_int_ge(
        th_log_lines(gh[0].errlog, 1, "made while the store was unreachable announced", NULL), 1);
    rig_down_all();
}
END_TEST

/* What waits for the store is bounded: 600 lifts made in an outage (at
 * least 300 on one of the two workers) keep the newest 256 per worker,
 * and the log says older ones were dropped. */
START_TEST(held_bans_bounded)
{
    char out[64];
    int i;

    rig_up();
    redis_kill();
    for (i = 0; i < 100 && metric(0, "gatehouse_fleet_links") != 0; i++)
        th_sleep_ms(50);
    ck_assert_msg(i < 100, "node A still counts links to a dead store");
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s --max-time 60 -o /dev/null -w '%%{http_code}\\n' -X DELETE "
                           "'http://127.0.0.2:%d/.gh/status?ban=10.8.[1-3].[1-200]' | "
                           "grep -c '^200$'",
                           port),
                     0);
    ck_assert_int_eq(atoi(out), 600);
    redis_start();
    all_up();
    ck_assert_int_ge(th_log_lines(gh[0].errlog, 1, "made while the store was unreachable announced",
                                  "older ones were dropped (at most 256 wait)", NULL),
                     1);
    ck_assert_int_eq(as_client(0, "198.51.100.51", "/", 1), 200);
    rig_down_all();
}
END_TEST

Suite *fleet_suite(void)
{
    Suite *s = suite_create("fleet");
    TCase *tc = tcase_create("fleet");

    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, notes_begin, notes_end);
    tcase_add_test(tc, limit_held_across_nodes);
    tcase_add_test(tc, ban_seen_elsewhere);
    tcase_add_test(tc, redis_restarted_under_load);
    tcase_add_test(tc, ticket_resumed_on_another_node);
    tcase_add_test(tc, purge_clears_every_node);
    tcase_add_test(tc, login_failures_counted_across_nodes);
    tcase_add_test(tc, quota_counted_across_nodes);
    tcase_add_test(tc, reload_moves_to_another_store);
    tcase_add_test(tc, ban_kept_for_a_node_that_starts_later);
    tcase_add_test(tc, journal_read_past_its_first_page);
    tcase_add_test(tc, bans_made_in_an_outage_announced_after);
    tcase_add_test(tc, held_bans_bounded);
    suite_add_tcase(s, tc);
    return s;
}
