/* check_transparent.c — a school gateway that intercepts: the router's
 * rules (etc/examples/gateway.nft, as shipped, its four definitions set for
 * the test) send a LAN client's web traffic to a transparent listener,
 * which filters it and sends it on to where the client meant to go, and
 * nowhere else.
 *
 * NEEDS ROOT: each test makes its own network namespaces (unshare(2), and
 * nftables).  Not root, or no namespaces to be had, and each test says so
 * on stderr and passes without running; CI runs as root.  Each test runs in
 * Check's own child process, which moves into a new network and mount
 * namespace: the "router", where gatehouse, the origins and the rules
 * live, and where /etc/hosts (bind-mounted over) names the origins.  A
 * second namespace is the LAN client, joined to the router by a veth pair
 * (10.200.0.2 -> 10.200.0.1); curl runs there through nsenter.  The
 * "internet" is two addresses on the router's loopback:
 *   198.51.100.10  allowed.test   web (gh-origin o10) and TLS (s_server)
 *   198.51.100.20  blocked.test   web (gh-origin o20) and TLS (s_server)
 * and, for the captive login from a directory, a slapd on 127.0.0.1. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NPROC 6

static const char *skip;   /* why this test cannot run here, NULL: it runs */
static char dir[64];
static pid_t lan;          /* holds the LAN client's namespace */
static pid_t procs[NPROC]; /* origins and TLS servers */
static pid_t guard;        /* kills them all if the test dies first */
static struct th_gatehouse gh;

/* %s: the test's directory */
static const char conf_fmt[] =
    "workers = 1;\n"
    "user = \"nobody\";\n"
    "log = { access = \"@ACCESS@\"; };\n"
    "lists = { adult = { path = \"%s/adult.txt\"; format = \"domains\"; }; };\n"
    "listeners = ( { name = \"tp\"; mode = \"forward\"; transparent = true; policy = \"school\";\n"
    "                listen = [ \"0.0.0.0:3129\", \"0.0.0.0:3130\", \"[::]:3129\",\n"
    "                           \"0.0.0.0:3131\" ]; } );\n"
    "policies = { school = { clients = [ \"10.200.0.0/24\", \"198.51.100.0/24\", \"fd00:200::/64\" ];\n"
    "                        filter = ( { block = [ \"adult\" ]; } ); }; };\n";

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "transparent rig: %s failed\n", what);
        abort();
    }
}

/* Runs a shell command in the router's namespace; asserts success. */
#define SH(...) must(th_sh(NULL, 0, __VA_ARGS__) == 0, "shell command")

/* A process that dies with this one (its namespace would outlive it). */
static pid_t spawn(const char *log, char *const argv[])
{
    pid_t pid = fork();

    must(pid >= 0, "fork");
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGTERM, SIG_DFL);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Waits until something accepts on ip:port, IPv4 or IPv6 (5 s at most). */
static void wait_tcp(const char *ip, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    int v6 = strchr(ip, ':') != NULL;

    if (v6)
        inet_pton(AF_INET6, ip, &a6.sin6_addr);
    else
        inet_pton(AF_INET, ip, &a.sin_addr);
    for (int i = 0; i < 500; i++) {
        int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0), ok;
        ok = v6 ? connect(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0
                : connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            return;
        th_sleep_ms(10);
    }
    must(0, "a server coming up");
}

/* The LAN client's namespace: a child that unshares and waits. */
static void lan_start(void)
{
    int p[2];
    char c;

    must(pipe(p) == 0, "pipe");
    lan = fork();
    must(lan >= 0, "fork");
    if (lan == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGTERM, SIG_DFL);
        c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
        if (write(p[1], &c, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(p[1]);
    must(read(p[0], &c, 1) == 1 && c == 'y', "the client namespace");
    close(p[0]);
}

/* Kills everything started when the test process dies without teardown
 * (a failed assertion ends it at once). */
static void guard_start(void)
{
    int p[2];
    char c;

    must(pipe(p) == 0, "pipe");
    guard = fork();
    must(guard >= 0, "fork");
    if (guard == 0) {
        signal(SIGTERM, SIG_DFL);
        close(p[1]);
        while (read(p[0], &c, 1) < 0 && errno == EINTR)
            ;
        for (int i = 0; i < NPROC; i++)
            if (procs[i] > 0)
                kill(procs[i], SIGKILL);
        if (gh.pid > 0)
            kill(gh.pid, SIGKILL);
        if (lan > 0)
            kill(lan, SIGKILL);
        _exit(0);
    }
    close(p[0]); /* the write end stays open in this process until it ends */
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    must(f != NULL, path);
    fputs(text, f);
    fclose(f);
    chmod(path, 0644);
}

/* The router: addresses, the LAN link, servers, the shipped rules, and
 * gatehouse. */
static void rig_up(void)
{
    char path[128], log[128], h[64], conf[2048];
    const char *origin = getenv("GH_ORIGIN") ? getenv("GH_ORIGIN") : "./build/gh-origin";

    skip = NULL;
    if (geteuid() != 0) {
        skip = "needs root (network namespaces and nftables)";
        return;
    }
    if (getenv("CK_FORK") && strcmp(getenv("CK_FORK"), "no") == 0) {
        skip = "needs CK_FORK (it moves the test process into a namespace of its own)";
        return;
    }
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        skip = "cannot make network namespaces here (unshare needs CAP_SYS_ADMIN)";
        return;
    }
    strcpy(dir, "/tmp/gh-tp-XXXXXX");
    must(mkdtemp(dir) != NULL, "mkdtemp");
    chmod(dir, 0755);
    snprintf(path, sizeof(path), "%s/adult.txt", dir);
    write_file(path, "blocked.test\n");
    snprintf(path, sizeof(path), "%s/hosts", dir);
    write_file(path, "127.0.0.1 localhost\n198.51.100.10 allowed.test\n2001:db8:100::10 v6.test\n"
                     "198.51.100.20 blocked.test other.test\n");
    must(mount(path, "/etc/hosts", NULL, MS_BIND, NULL) == 0, "bind-mounting /etc/hosts");
    SH("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
       "-subj /CN=allowed.test -days 2 -keyout %s/key.pem -out %s/cert.pem 2>/dev/null",
       dir, dir);
    SH("ip link set lo up && ip addr add 198.51.100.10/32 dev lo && "
       "ip addr add 198.51.100.20/32 dev lo && ip -6 addr add 2001:db8:100::10/128 dev lo");
    lan_start();
    SH("ip link add ghgw type veth peer name ghcl netns %d && "
       "ip addr add 10.200.0.1/24 dev ghgw && ip -6 addr add fd00:200::1/64 dev ghgw nodad && "
       "ip link set ghgw up",
       (int)lan);
    SH("nsenter -t %d -n sh -c 'ip link set lo up && ip addr add 10.200.0.2/24 dev ghcl && "
       "ip -6 addr add fd00:200::2/64 dev ghcl nodad && ip link set ghcl up && "
       "ip route add default via 10.200.0.1 && ip -6 route add default via fd00:200::1'",
       (int)lan);
    for (int i = 0; i < 2; i++) {
        const char *ip = i ? "198.51.100.20" : "198.51.100.10";
        snprintf(h, sizeof(h), "%s:443", ip);
        snprintf(log, sizeof(log), "%s/o%d.log", dir, i ? 20 : 10);
        procs[2 * i] = spawn(log, (char *[]){(char *)origin, "-a", (char *)ip, "-p", "80", "-n",
                                             i ? "o20" : "o10", NULL});
        snprintf(log, sizeof(log), "%s/tls%d.log", dir, i ? 20 : 10);
        snprintf(path, sizeof(path), "%s/cert.pem", dir);
        char key[128];
        snprintf(key, sizeof(key), "%s/key.pem", dir);
        procs[2 * i + 1] = spawn(log, (char *[]){"openssl", "s_server", "-accept", h, "-cert", path,
                                                 "-key", key, "-www", NULL});
        wait_tcp(ip, 80);
        wait_tcp(ip, 443);
    }
    snprintf(log, sizeof(log), "%s/o6.log", dir);
    procs[4] = spawn(log, (char *[]){(char *)origin, "-a", "2001:db8:100::10", "-p", "80", "-n",
                                     "o6", NULL});
    wait_tcp("2001:db8:100::10", 80);
    guard_start();
    /* the rules as shipped, for this router: LAN interface, and the user
     * gatehouse runs as (the configuration's) */
    SH("sed -e 's/^define lan_if = .*/define lan_if = \"ghgw\"/' "
       "-e 's/^define proxy_user = .*/define proxy_user = \"nobody\"/' "
       "etc/examples/gateway.nft > %s/rules.nft && nft -f %s/rules.nft",
       dir, dir);
    snprintf(conf, sizeof(conf), conf_fmt, dir);
    must(th_gatehouse_start(&gh, conf) == 0, "gatehouse");
}

static void rig_down_tp(void)
{
    int status;

    if (skip)
        return;
    status = th_gatehouse_stop(&gh, SIGTERM, 10000);
    for (int i = 0; i < NPROC; i++)
        if (procs[i] > 0) {
            kill(procs[i], SIGKILL);
            waitpid(procs[i], NULL, 0);
            procs[i] = 0;
        }
    kill(lan, SIGKILL);
    waitpid(lan, NULL, 0);
    kill(guard, SIGKILL);
    waitpid(guard, NULL, 0);
    ck_assert_msg(status == 0, "gatehouse exited with %d (see %s)", status, gh.errlog);
    ck_assert_msg(th_sh(NULL, 0, "grep -q Sanitizer %s", gh.errlog) != 0,
                  "sanitizer report in %s", gh.errlog);
    th_sh(NULL, 0, "rm -rf %s %s", gh.dir, dir);
}

#define SKIP_UNLESS_READY()                                                                        \
    do {                                                                                           \
        if (skip) {                                                                                \
            fprintf(stderr, "transparent: %s: SKIPPED: %s\n", __func__, skip);                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Runs a command in the LAN client's namespace; its stdout into out. */
static int lan_sh(char *out, size_t cap, const char *cmd)
{
    return th_sh(out, cap, "nsenter -t %d -n %s", (int)lan, cmd);
}

static int origin_got(int which, const char *line)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "grep -c '%s' %s/o%d.log", line, dir, which);
    return th_sh(NULL, 0, "%s >/dev/null", cmd) == 0;
}

START_TEST(http_goes_to_the_original_destination)
{
    char out[4096];

    SKIP_UNLESS_READY();
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 --resolve allowed.test:80:198.51.100.10 "
                            "http://allowed.test/hello"),
                     0);
    ck_assert_str_eq(out, "hello from o10\n");
    ck_assert(origin_got(10, "GET /hello"));
    ck_assert_int_eq(th_log_lines(gh.access, 1, "10.200.0.2 ", "\"GET /hello HTTP/1.1\" 200",
                                  "listener=tp", "upstream=198.51.100.10:80",
                                  "filter=allow:default", NULL),
                     1);
}
END_TEST

/* The same over IPv6: IP6T_SO_ORIGINAL_DST. */
START_TEST(http_over_ipv6)
{
    char out[4096];

    SKIP_UNLESS_READY();
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -g -m 10 "
                            "--resolve 'v6.test:80:[2001:db8:100::10]' http://v6.test/hello"),
                     0);
    ck_assert_str_eq(out, "hello from o6\n");
    ck_assert_int_eq(th_log_lines(gh.access, 1, "fd00:200::2 ", "\"GET /hello HTTP/1.1\" 200",
                                  "upstream=[2001:db8:100::10]:80", NULL),
                     1);
}
END_TEST

START_TEST(http_host_spoofing_is_refused)
{
    char out[4096];

    SKIP_UNLESS_READY();
    /* the address of blocked.test, with an allowed name in Host */
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 -o /dev/null -w '%{http_code}' "
                            "-H 'Host: allowed.test' http://198.51.100.20/hello"),
                     0);
    ck_assert_str_eq(out, "409");
    ck_assert(!origin_got(20, "GET"));
    ck_assert(!origin_got(10, "GET"));
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"GET /hello HTTP/1.1\" 409",
                                  "why=the requested host does not resolve to the original "
                                  "destination",
                                  NULL),
                     1);
    ck_assert_int_eq(th_log_lines(gh.errlog, 1,
                                  "intercepted connection from 10.200.0.2 to 198.51.100.20 port 80 "
                                  "refused: it names allowed.test, which does not resolve to "
                                  "198.51.100.20",
                                  NULL),
                     1);
    /* another port in Host than the one the client connected to */
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 -o /dev/null -w '%{http_code}' "
                            "-H 'Host: allowed.test:8080' http://198.51.100.10/hello"),
                     0);
    ck_assert_str_eq(out, "409");
    ck_assert(!origin_got(10, "GET"));
}
END_TEST

START_TEST(http_blocked_host_gets_the_block_page)
{
    char out[8192];

    SKIP_UNLESS_READY();
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 -w '%{http_code}' "
                            "--resolve blocked.test:80:198.51.100.20 http://blocked.test/x"),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "adult"));
    ck_assert_ptr_nonnull(strstr(out, "403"));
    ck_assert(!origin_got(20, "GET"));
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"GET /x HTTP/1.1\" 403", "filter=block:adult",
                                  NULL),
                     1);
}
END_TEST

START_TEST(https_is_spliced_to_the_original_destination)
{
    char out[8192];

    SKIP_UNLESS_READY();
    /* s_server -www answers with a page describing the session */
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -sk -m 10 --resolve allowed.test:443:198.51.100.10 "
                            "https://allowed.test/"),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "s_server"));
    ck_assert_int_eq(th_log_lines(gh.access, 1, "10.200.0.2 ", "\"TLS allowed.test:443\" 200",
                                  "upstream=198.51.100.10:443", "filter=allow:default", NULL),
                     1);
}
END_TEST

START_TEST(https_blocked_name_gets_an_alert)
{
    char out[8192];
    int rc;

    SKIP_UNLESS_READY();
    rc = lan_sh(out, sizeof(out),
                "curl -sSk -m 10 --resolve blocked.test:443:198.51.100.20 https://blocked.test/ "
                "2>&1");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "access denied") != NULL, "curl said: %s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"TLS blocked.test:443\" 403",
                                  "upstream=-", "filter=block-sni:adult",
                                  "why=TLS server name blocked by the filter", NULL),
                     1);
}
END_TEST

START_TEST(https_name_spoofing_is_refused)
{
    char out[8192];
    int rc;

    SKIP_UNLESS_READY();
    /* an allowed name in the hello, sent to blocked.test's address */
    rc = lan_sh(out, sizeof(out),
                "curl -sSk -m 10 --resolve allowed.test:443:198.51.100.20 https://allowed.test/ "
                "2>&1");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "access denied") != NULL, "curl said: %s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"TLS allowed.test:443\" 409", "upstream=-",
                                  "why=the requested host does not resolve to the original "
                                  "destination",
                                  NULL),
                     1);
    ck_assert_int_eq(th_log_lines(gh.errlog, 1,
                                  "to 198.51.100.20 port 443 refused: it names allowed.test", NULL),
                     1);
}
END_TEST

START_TEST(quic_is_dropped)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    int quic = socket(AF_INET, SOCK_DGRAM, 0), other = socket(AF_INET, SOCK_DGRAM, 0);
    struct pollfd pfd = {.fd = other, .events = POLLIN};
    char buf[16], out[512];

    SKIP_UNLESS_READY();
    inet_pton(AF_INET, "198.51.100.10", &a.sin_addr);
    a.sin_port = htons(443);
    ck_assert_int_eq(bind(quic, (struct sockaddr *)&a, sizeof(a)), 0);
    a.sin_port = htons(4433);
    ck_assert_int_eq(bind(other, (struct sockaddr *)&a, sizeof(a)), 0);
    /* the QUIC datagram first, then one to another port down the same path */
    ck_assert_int_eq(lan_sh(NULL, 0,
                            "/usr/bin/python3 -c \"import socket; s = socket.socket(2, 2); "
                            "s.sendto(b'quic', ('198.51.100.10', 443)); "
                            "s.sendto(b'other', ('198.51.100.10', 4433))\""),
                     0);
    ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
    ck_assert_int_eq(recv(other, buf, sizeof(buf), 0), 5);
    ck_assert_int_eq(recv(quic, buf, sizeof(buf), MSG_DONTWAIT), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(th_sh(out, sizeof(out), "nft list chain inet gatehouse quic"), 0);
    ck_assert_msg(strstr(out, "packets 1 ") != NULL, "the drop rule counted: %s", out);
    close(quic);
    close(other);
}
END_TEST

/* The router's own traffic goes through gatehouse too (the output chain),
 * and gatehouse's own connection out is exempt (meta skuid): without that
 * it would come straight back to gatehouse. */
START_TEST(the_routers_own_traffic_does_not_loop)
{
    char out[4096];

    SKIP_UNLESS_READY();
    ck_assert_int_eq(th_sh(out, sizeof(out), "curl -s -m 10 http://allowed.test/hello"), 0);
    ck_assert_str_eq(out, "hello from o10\n");
    ck_assert(origin_got(10, "GET /hello"));
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"GET /hello HTTP/1.1\" 200",
                                  "upstream=198.51.100.10:80", NULL),
                     1);
    ck_assert_int_eq(th_sh(out, sizeof(out), "nft list chain inet gatehouse output_nat"), 0);
    ck_assert_msg(strstr(out, "meta skuid 65534 counter packets 1 ") != NULL,
                  "gatehouse's connection was exempt: %s", out);
}
END_TEST

/* Rules that exempt another user than gatehouse's send its connection out
 * back to it: gatehouse sees its own socket at the other end (sock_diag)
 * and closes it at once, rather than making one more hop each time. */
START_TEST(a_loop_through_the_rules_is_caught)
{
    char out[4096];

    SKIP_UNLESS_READY();
    SH("sed -e 's/^define lan_if = .*/define lan_if = \"ghgw\"/' "
       "-e 's/^define proxy_user = .*/define proxy_user = \"root\"/' "
       "etc/examples/gateway.nft > %s/loop.nft && nft -f %s/loop.nft",
       dir, dir);
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 -o /dev/null -w '%{http_code}' "
                            "--resolve allowed.test:80:198.51.100.10 http://allowed.test/hello"),
                     0);
    ck_assert_str_eq(out, "502");
    ck_assert(!origin_got(10, "GET"));
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "forwarding loop: listener tp was sent its own "
                                               "connection from",
                                  NULL),
                     1);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "10.200.0.2 ", "\"GET /hello HTTP/1.1\" 502",
                                  NULL),
                     1);
}
END_TEST

/* The captive login: a policy with auth on a transparent listener asks
 * once, on its own page, and the address is then the user's. */
START_TEST(captive_login)
{
    char out[8192], conf[2048];

    SKIP_UNLESS_READY();
    SH("htpasswd -bcB %s/users alice secret 2>/dev/null && chmod 644 %s/users", dir, dir);
    snprintf(conf, sizeof(conf),
             "workers = 1;\nuser = \"nobody\";\nlog = { access = \"@ACCESS@\"; };\n"
             "lists = { adult = { path = \"%s/adult.txt\"; format = \"domains\"; }; };\n"
             "listeners = ( { name = \"tp\"; mode = \"forward\"; transparent = true;\n"
             "  policy = \"school\"; listen = [ \"0.0.0.0:3129\", \"0.0.0.0:3130\" ]; } );\n"
             "policies = { school = { clients = [ \"10.200.0.0/24\" ];\n"
             "  auth = { file = \"%s/users\"; realm = \"School\"; login_ttl = 600; };\n"
             "  filter = ( { users = [ \"alice\" ]; block = [ \"adult\" ]; },\n"
             "             { default = \"block\"; } ); }; };\n",
             dir, dir);
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf), 0);
    /* not logged in: the page that links to the login, and no page at all over TLS */
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 -w ' %{http_code}' http://allowed.test/hello "
                            "--resolve allowed.test:80:198.51.100.10"),
                     0);
    ck_assert_msg(strstr(out, "href=\"http://allowed.test/.gatehouse/login?url=http%3A//"
                              "allowed.test/hello\"") != NULL,
                  "%s", out);
    ck_assert_ptr_nonnull(strstr(out, " 511"));
    ck_assert_int_ne(lan_sh(out, sizeof(out),
                            "curl -sSk -m 10 --resolve allowed.test:443:198.51.100.10 "
                            "https://allowed.test/ 2>&1"),
                     0);
    ck_assert_msg(strstr(out, "access denied") != NULL, "%s", out);
    ck_assert(!origin_got(10, "GET"));
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"TLS allowed.test:443\" 403",
                                  "filter=refuse-tunnel:login", NULL),
                     1);
    /* a wrong password, then the right one: back to the page asked for */
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 -o /dev/null -w '%{http_code}' -u alice:wrong "
                            "--resolve allowed.test:80:198.51.100.10 "
                            "http://allowed.test/.gatehouse/login"),
                     0);
    ck_assert_str_eq(out, "401");
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' "
                            "-u alice:secret --resolve allowed.test:80:198.51.100.10 "
                            "'http://allowed.test/.gatehouse/login?url=http%3A//allowed.test/hello'"),
                     0);
    ck_assert_str_eq(out, "302 http://allowed.test/hello");
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "captive login: 10.200.0.2 is user \"alice\" "
                                               "for 600 s",
                                  NULL),
                     1);
    /* logged in: alice's rule applies, and the log names her */
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 --resolve allowed.test:80:198.51.100.10 "
                            "http://allowed.test/hello"),
                     0);
    ck_assert_str_eq(out, "hello from o10\n");
    ck_assert_int_eq(th_log_lines(gh.access, 1, "10.200.0.2 - alice [", "\"GET /hello HTTP/1.1\" 200",
                                  "filter=allow:default", NULL),
                     1);
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -sk -m 10 --resolve allowed.test:443:198.51.100.10 "
                            "https://allowed.test/"),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "s_server"));
    ck_assert_int_eq(th_log_lines(gh.access, 1, "10.200.0.2 - alice [", "\"TLS allowed.test:443\" 200",
                                  NULL),
                     1);
}
END_TEST

/* The captive login against a directory: a slapd in the router's
 * namespace (tests/support/slapd-rig.sh, on 127.0.0.1 over StartTLS), the
 * user's posixGroup choosing the filter rule once logged in. */
START_TEST(captive_login_from_the_directory)
{
    char out[8192], conf[2048], pid[32];

    SKIP_UNLESS_READY();
    if (access("/usr/sbin/slapd", X_OK) != 0) {
        fprintf(stderr, "transparent: %s: SKIPPED: slapd is not installed\n", __func__);
        return;
    }
    must(th_sh(pid, sizeof(pid), "sh tests/support/slapd-rig.sh %s/ldap 3389 3636 2>&1", dir) == 0,
         "slapd");
    procs[NPROC - 1] = atoi(pid); /* the guard and rig_down_tp stop it */
    snprintf(conf, sizeof(conf),
             "workers = 1;\nuser = \"nobody\";\nlog = { access = \"@ACCESS@\"; };\n"
             "lists = { adult = { path = \"%s/adult.txt\"; format = \"domains\"; }; };\n"
             "listeners = ( { name = \"tp\"; mode = \"forward\"; transparent = true;\n"
             "  policy = \"school\"; listen = [ \"0.0.0.0:3129\", \"0.0.0.0:3130\" ]; } );\n"
             "policies = { school = { clients = [ \"10.200.0.0/24\" ];\n"
             "  auth = { realm = \"School\"; login_ttl = 600;\n"
             "    ldap = { uri = \"ldap://127.0.0.1:3389\"; starttls = true;\n"
             "             ca = \"%s/ldap/ca.pem\"; base = \"dc=example,dc=org\"; }; };\n"
             "  filter = ( { groups = [ \"teachers\" ]; block = [ \"adult\" ]; },\n"
             "             { default = \"block\"; } ); }; };\n",
             dir, dir);
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf), 0);
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 30 -o /dev/null -w '%{http_code}' -u alice:wrong "
                            "--resolve allowed.test:80:198.51.100.10 "
                            "http://allowed.test/.gatehouse/login"),
                     0);
    ck_assert_str_eq(out, "401");
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 30 -o /dev/null -w '%{http_code} %{redirect_url}' "
                            "-u alice:wonderland --resolve allowed.test:80:198.51.100.10 "
                            "'http://allowed.test/.gatehouse/login?url=http%3A//allowed.test/hello'"),
                     0);
    ck_assert_str_eq(out, "302 http://allowed.test/hello");
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "captive login: 10.200.0.2 is user \"alice\" "
                                               "for 600 s",
                                  NULL),
                     1);
    /* alice is a teacher (memberUid): her rule, not the default's block */
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 --resolve allowed.test:80:198.51.100.10 "
                            "http://allowed.test/hello"),
                     0);
    ck_assert_str_eq(out, "hello from o10\n");
    ck_assert_int_eq(th_log_lines(gh.access, 1, "10.200.0.2 - alice [", "\"GET /hello HTTP/1.1\" 200",
                                  "filter=allow:default", NULL),
                     1);
    /* the directory down: a new login is refused, and the log says why */
    SH("kill %d", procs[NPROC - 1]);
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 30 -o /dev/null -w '%{http_code}' -u bob:builder "
                            "--resolve allowed.test:80:198.51.100.10 "
                            "http://allowed.test/.gatehouse/login"),
                     0);
    ck_assert_str_eq(out, "401");
    ck_assert_int_eq(th_log_lines(gh.errlog, 1, "captive login of 10.200.0.2 refused: directory "
                                               "unavailable",
                                  NULL),
                     1);
}
END_TEST

/* Intercepted requests meet the same protections as proxied ones: the
 * listener's deny rules, judged on the Host and path (and on nothing but
 * the client for a ClientHello), and the policy's rate limit. */
START_TEST(protections_apply_to_intercepted_requests)
{
    char out[8192], conf[2048];

    SKIP_UNLESS_READY();
    snprintf(conf, sizeof(conf),
             "workers = 1;\nuser = \"nobody\";\nlog = { access = \"@ACCESS@\"; };\n"
             "deny_rules = { lan = ( { name = \"admin\"; path_prefix = \"/admin/\"; },\n"
             "                       { name = \"other\"; host = \"other.test\"; } ); };\n"
             "rate_limits = { few = { rate = 3; per = 3600; }; };\n"
             "listeners = ( { name = \"tp\"; mode = \"forward\"; transparent = true;\n"
             "  policy = \"school\"; deny_rules = [ \"lan\" ];\n"
             "  listen = [ \"0.0.0.0:3129\", \"0.0.0.0:3130\" ]; } );\n"
             "policies = { school = { clients = [ \"10.200.0.0/24\" ]; rate_limits = [ \"few\" ];\n"
             "  filter = ( { default = \"allow\"; } ); }; };\n");
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf), 0);
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 -o /dev/null -w '%{http_code}' "
                            "--resolve allowed.test:80:198.51.100.10 http://allowed.test/admin/x"),
                     0);
    ck_assert_str_eq(out, "403");
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 -o /dev/null -w '%{http_code}' "
                            "--resolve other.test:80:198.51.100.20 http://other.test/"),
                     0);
    ck_assert_str_eq(out, "403");
    ck_assert(!origin_got(10, "GET"));
    ck_assert(!origin_got(20, "GET"));
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"GET /admin/x HTTP/1.1\" 403", "filter=deny:admin",
                                  "why=denied by rule admin", NULL),
                     1);
    /* three allowed by the policy's limit (the two denied above never
     * reached it), the fourth refused */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(lan_sh(out, sizeof(out),
                                "curl -s -m 10 --resolve allowed.test:80:198.51.100.10 "
                                "http://allowed.test/hello"),
                         0);
        ck_assert_str_eq(out, "hello from o10\n");
    }
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 -o /dev/null -w '%{http_code}' "
                            "--resolve allowed.test:80:198.51.100.10 http://allowed.test/hello"),
                     0);
    ck_assert_str_eq(out, "429");
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"GET /hello HTTP/1.1\" 429",
                                  "filter=ratelimit:few", NULL),
                     1);
}
END_TEST

/* TPROXY instead of the shipped rules' redirect: the router hands the
 * LAN's web connections, unchanged, to a listener socket with
 * IP_TRANSPARENT, whose own address is then the original destination
 * (no NAT, so no SO_ORIGINAL_DST). */
START_TEST(tproxy_rules_work_as_redirect_does)
{
    char out[4096], path[128];

    SKIP_UNLESS_READY();
    snprintf(path, sizeof(path), "%s/tproxy.nft", dir);
    write_file(path, "table ip tproxy_test {\n"
                     "  chain pre {\n"
                     "    type filter hook prerouting priority mangle; policy accept;\n"
                     "    iifname \"ghgw\" tcp dport { 80, 443 } tproxy to :3131 meta mark set 1 accept\n"
                     "  }\n"
                     "}\n");
    SH("nft flush ruleset && nft -f %s && ip rule add fwmark 1 lookup 100 && "
       "ip route add local 0.0.0.0/0 dev lo table 100", path);
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 --resolve allowed.test:80:198.51.100.10 "
                            "http://allowed.test/hello"),
                     0);
    ck_assert_str_eq(out, "hello from o10\n");
    ck_assert(origin_got(10, "GET /hello"));
    ck_assert_int_eq(th_log_lines(gh.access, 1, "10.200.0.2 ", "\"GET /hello HTTP/1.1\" 200",
                                  "listener=tp", "upstream=198.51.100.10:80", NULL),
                     1);
    /* Host still has to lead to the address the client connected to */
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -s -m 10 -o /dev/null -w '%{http_code}' "
                            "-H 'Host: allowed.test' http://198.51.100.20/hello"),
                     0);
    ck_assert_str_eq(out, "409");
    ck_assert(!origin_got(20, "GET"));
    /* and TLS is spliced to where it was going, its name checked */
    ck_assert_int_eq(lan_sh(out, sizeof(out),
                            "curl -sk -m 10 -o /dev/null -w '%{http_code}' "
                            "--resolve allowed.test:443:198.51.100.10 https://allowed.test/"),
                     0);
    ck_assert_str_eq(out, "200");
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"TLS allowed.test:443\" 200", NULL), 1);
}
END_TEST

/* ---- configuration (no root needed) ---- */

START_TEST(transparent_settings_are_checked)
{
    char out[2048];

    ck_assert_int_eq(th_gatehouse_check("listeners = ( { name = \"r\"; mode = \"reverse\"; "
                                        "listen = \"127.0.0.1:1\"; routes = \"x\"; "
                                        "transparent = true; } );\n"
                                        "pools = { p = { servers = ( { static = \"/tmp\"; } ); }; };\n"
                                        "routes = { x = ( { pool = \"p\"; } ); };\n",
                                        out, sizeof(out)),
                     1);
    ck_assert_msg(strstr(out, "gatehouse.conf:1: listener 'r': 'transparent' is for forward "
                              "listeners") != NULL,
                  "%s", out);
    ck_assert_int_eq(th_gatehouse_check("listeners = ( { name = \"f\"; mode = \"forward\";\n"
                                        "  listen = \"127.0.0.1:1\"; transparent = true;\n"
                                        "  proxy_protocol = true; } );\n",
                                        out, sizeof(out)),
                     1);
    ck_assert_msg(strstr(out, ":2: listener 'f': a transparent listener takes neither 'tls' "
                              "nor 'proxy_protocol'") != NULL,
                  "%s", out);
    ck_assert_int_eq(th_gatehouse_check("listeners = ( { name = \"f\"; mode = \"forward\";\n"
                                        "  listen = \"127.0.0.1:1\"; transparent = true; } );\n"
                                        "policies = { default = { auth = { file = \"/dev/null\";\n"
                                        "  login_ttl = 0; }; }; };\n",
                                        out, sizeof(out)),
                     1);
    ck_assert_msg(strstr(out, ":4: ") != NULL && strstr(out, "login_ttl") != NULL, "%s", out);
    ck_assert_int_eq(th_gatehouse_check("listeners = ( { name = \"f\"; mode = \"forward\";\n"
                                        "  listen = \"127.0.0.1:1\"; transparent = true; } );\n",
                                        out, sizeof(out)),
                     0);
}
END_TEST

Suite *transparent_suite(void)
{
    Suite *s = suite_create("transparent");
    TCase *tc = tcase_create("intercepted");
    TCase *cf = tcase_create("config");

    tcase_add_checked_fixture(tc, rig_up, rig_down_tp);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, http_goes_to_the_original_destination);
    tcase_add_test(tc, http_over_ipv6);
    tcase_add_test(tc, http_host_spoofing_is_refused);
    tcase_add_test(tc, http_blocked_host_gets_the_block_page);
    tcase_add_test(tc, https_is_spliced_to_the_original_destination);
    tcase_add_test(tc, https_blocked_name_gets_an_alert);
    tcase_add_test(tc, https_name_spoofing_is_refused);
    tcase_add_test(tc, quic_is_dropped);
    tcase_add_test(tc, the_routers_own_traffic_does_not_loop);
    tcase_add_test(tc, a_loop_through_the_rules_is_caught);
    tcase_add_test(tc, captive_login);
    tcase_add_test(tc, captive_login_from_the_directory);
    tcase_add_test(tc, protections_apply_to_intercepted_requests);
    tcase_add_test(tc, tproxy_rules_work_as_redirect_does);
    suite_add_tcase(s, tc);
    tcase_add_test(cf, transparent_settings_are_checked);
    suite_add_tcase(s, cf);
    return s;
}
