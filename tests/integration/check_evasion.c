/* check_evasion.c — the forward filter against an evasion corpus: the
 * spellings a determined pupil tries to get past a list (encoded letters,
 * dot segments, doubled slashes, backslashes, ;params, NUL bytes, trailing
 * dots on hosts, other forms of a listed address, other Google domains)
 * and what each must get: the block page, 400, a gateway error, or the
 * origin receiving exactly the target the filter judged.
 *
 * One gatehouse, one origin, and a fake DNS server (a forked child of this
 * runner) that knows a handful of names, all at 127.0.0.1, and answers
 * NXDOMAIN for every other: a request steered to a safe-search host reaches
 * the origin, one that was not fails at the resolver with 502. */
#include "common.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <unistd.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static struct origin origin;
static struct th_gatehouse gh;
static char dir[128], dns_log[192];
static pid_t dns_pid;
static int dns_port;
static char conf_text[8192];

/* The listeners of the rig, one per policy. */
enum listener { SCHOOL, WALLED, CHAIN, PLAIN, STRICT, APT, NLISTENERS };
static int port_of[NLISTENERS];

/* snprintf that reports what it wrote, not what it would have. */
static size_t fmt(char *dst, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static size_t fmt(char *dst, size_t cap, const char *f, ...)
{
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(dst, cap, f, ap);
    va_end(ap);
    return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

/* ---- the fake DNS server ---- */

/* The names the fake DNS server answers (all 127.0.0.1, where the origin
 * listens); every other name is NXDOMAIN. */
static const char *const dns_names[] = {
    "open.test",       "walled.test",         "partner.example",      "www.partner.example",
    "cookie-jar.test", "www.cookie-jar.test", "deb.example",          "forcesafesearch.google.com",
    "strict.bing.com", "safe.duckduckgo.com", "restrict.youtube.com",
};

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "evasion rig: %s failed\n", what);
        abort();
    }
}

/* Answers one query q[0..n) into out; returns the answer's length, or 0 to
 * drop the query.  The question is echoed byte for byte (c-ares compares
 * it, case included); EDNS and other additional records are not. */
static size_t dns_answer(const unsigned char *q, size_t n, unsigned char *out, FILE *log)
{
    static const unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
    char name[256];
    size_t i = 12, o = 0, qend;
    unsigned qtype;
    int known = 0;

    if (n < 17 || q[4] != 0 || q[5] != 1)
        return 0;
    while (i < n && q[i] != 0) {
        size_t len = q[i++];
        if (len > 63 || i + len >= n || o + len + 1 >= sizeof(name))
            return 0;
        if (o)
            name[o++] = '.';
        memcpy(name + o, q + i, len);
        o += len;
        i += len;
    }
    name[o] = '\0';
    qend = i + 5;
    if (qend > n)
        return 0;
    qtype = (unsigned)q[i + 1] << 8 | q[i + 2];
    for (size_t k = 0; k < N_OF(dns_names); k++)
        known |= strcasecmp(name, dns_names[k]) == 0;
    fprintf(log, "query %s type=%u %s\n", name, qtype, known ? "found" : "nxdomain");
    fflush(log);
    memcpy(out, q, qend);
    out[2] = (unsigned char)(0x84 | (q[2] & 0x01)); /* QR, AA, RD as asked */
    out[3] = known ? 0x80 : 0x83;                   /* RA; NXDOMAIN */
    memset(out + 6, 0, 6);                          /* no answer, authority, additional */
    if (known && qtype == 1) {
        out[7] = 1;
        memcpy(out + qend, rr, sizeof(rr));
        return qend + sizeof(rr);
    }
    return qend; /* AAAA and the rest: NODATA */
}

static void dns_serve(int fd)
{
    unsigned char q[1500], a[1600];
    FILE *log = fopen(dns_log, "w");

    if (!log)
        _exit(1);
    for (;;) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        size_t len = n > 0 ? dns_answer(q, (size_t)n, a, log) : 0;
        if (len)
            sendto(fd, a, len, 0, (struct sockaddr *)&from, fl);
    }
}

static void dns_start(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    must(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
             getsockname(fd, (struct sockaddr *)&sa, &sl) == 0,
         "dns socket");
    dns_port = ntohs(sa.sin_port);
    dns_pid = fork();
    must(dns_pid >= 0, "fork");
    if (dns_pid == 0) {
        /* the runner's handlers (Check kills its process group on SIGTERM) are not ours */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        dns_serve(fd);
    }
    close(fd);
}

/* ---- the rig ---- */

/* The origin behind every name the fake DNS knows; it also plays the
 * parent proxy of the chain listener.  What it was asked, its log says;
 * what it answers matters only here: */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strcmp(rq->path, "/headers") == 0) { /* the head as it arrived */
        origin_body(re, "text/plain", rq->head, rq->head_len);
    } else if (strcmp(rq->path, "/pool/a.deb") == 0) { /* the mirror's package */
        origin_body(re, "application/vnd.debian.binary-package", "package\n", 8);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

static void write_file(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    must(f != NULL, path);
    fputs(text, f);
    fclose(f);
    chmod(path, 0644);
}

static void rig_start(void)
{
    size_t n;

    strcpy(dir, "/tmp/gh-evasion-XXXXXX");
    must(mkdtemp(dir) != NULL, "mkdtemp");
    chmod(dir, 0755);
    snprintf(dns_log, sizeof(dns_log), "%s/dns.log", dir);
    write_file("names.txt", "blocked.example\n127.0.0.9\n10.9.0.0/16\n2001:db8::9\n");
    write_file("urls.txt", "open.test/x\nopen.test/secret/\nopen.test/~user/\nopen.test/a%2fb\n"
                           "open.test/q?id=5\n");
    write_file("re.txt", "/forbidden[0-9]+\n[?&]q=badword\n");
    write_file("pub.txt", "walled.test/public/\n");
    write_file("block.html", "<h1>BLOCKED</h1> url={{url}} category={{category}} rule={{rule}}\n");
    must(origin_start(&origin, "ev", answer) == 0, "origin");
    dns_start();
    for (int i = 0; i < NLISTENERS; i++)
        port_of[i] = th_free_port();
    n = fmt(conf_text, sizeof(conf_text),
            "log = { access = \"@ACCESS@\"; };\n"
            "resolver = { nameservers = [ \"127.0.0.1:%d\" ]; timeout = 2.0; attempts = 2; };\n"
            "listeners = (\n",
            dns_port);
    static const char *const names[NLISTENERS] = {"school", "walled", "chain",
                                                  "plain",  "strict", "apt"};
    for (int i = 0; i < NLISTENERS; i++)
        n += fmt(
            conf_text + n, sizeof(conf_text) - n,
            "  { name = \"%s\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"%s\"; }%s\n",
            names[i], port_of[i], names[i], i + 1 < NLISTENERS ? "," : "");
    fmt(conf_text + n, sizeof(conf_text) - n,
        ");\n"
        "lists = {\n"
        "  names = { path = \"%s/names.txt\"; format = \"domains\"; };\n"
        "  urls = { path = \"%s/urls.txt\"; format = \"urls\"; };\n"
        "  re = { path = \"%s/re.txt\"; format = \"regex\"; };\n"
        "  pub = { path = \"%s/pub.txt\"; format = \"urls\"; };\n"
        "};\n"
        /* The CONNECT cases judge the authority's spelling and then prove
         * the tunnel with plain HTTP through it; the ClientHello checks have
         * a suite of their own (check_hello.c). */
        "policies = {\n"
        "  school = { connect_ports = ( \"1-65535\" ); tunnel_non_tls = true; block_page = \"%s/block.html\";\n"
        "             filter = ( { block = [ \"names\", \"urls\", \"re\" ];\n"
        "                          block_extensions = [ \"exe\", \".MSI\" ]; safe_search = true; } ); };\n"
        "  walled = { block_page = \"%s/block.html\";\n"
        "             filter = ( { allow = [ \"pub\" ]; default = \"block\"; } ); };\n"
        "  chain = { connect_ports = ( \"1-65535\" ); tunnel_non_tls = true; block_page = \"%s/block.html\";\n"
        "            parent = { address = \"127.0.0.1:%d\"; domains = [ \"Partner.Example.\" ]; };\n"
        "            filter = ( { block = [ \"names\" ]; } ); };\n"
        "  plain = { };\n"
        "  strict = { anonymity = \"strict\"; strip_cookies = [ \"Cookie-Jar.Test.\" ]; };\n"
        "  apt = { cache = { apt = true; mirrors = [ \"Deb.Example.\" ]; }; };\n"
        "};\n",
        dir, dir, dir, dir, dir, dir, dir, origin.port);
    must(th_gatehouse_start(&gh, conf_text) == 0, "gatehouse");
}

static void rig_stop(void)
{
    rig_stop_clean(&gh);
    rig_origin_stop(&origin);
    th_reap(dns_pid);
    th_sh(NULL, 0, "rm -rf %s", dir);
}

/* ---- the corpus ---- */

enum expect {
    BLOCK,   /* 403 with the block page; detail: the category that decided */
    BAD,     /* 400, and nothing reaches the origin */
    GATEWAY, /* 502: the name was not steered, and the fake DNS does not know it */
    FWD,     /* the origin receives the request; detail: its request line */
    TUNNEL,  /* CONNECT opens a tunnel to the origin (a GET /hello crosses it) */
};

struct evasion {
    enum listener at;
    const char *req; /* the request line without " HTTP/1.1"; '$' is the origin's port */
    enum expect expect;
    const char *detail; /* see enum expect; '$' is the origin's port */
};

/* The school's lists: names blocks blocked.example, 127.0.0.9, 10.9.0.0/16
 * and 2001:db8::9; urls blocks open.test/x (a prefix), /secret/, /~user/,
 * /a%2fb and /q?id=5; re blocks /forbidden[0-9]+ and q=badword; exe and
 * msi downloads are refused. */
static const struct evasion paths[] = {
    {SCHOOL, "GET http://open.test:$/x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$//x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$///x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/./x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/.//x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/../x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/b/../../x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/./../x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a//..//x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/../x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/../../../x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/%78", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/%58", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/X", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/x?y=1", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/x;jsessionid=1", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/%2e/x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/%2e%2e/x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/%2E%2E/x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/.%2e/x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/%2e./x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/..%2fx", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/..%2Fx", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a%2f..%2fx", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a%2F%2E%2E%2Fx", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/%2fx", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a\\..\\x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/\\x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a%5c..%5cx", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/%5Cx", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/.%2e/x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/%2e%2e%2fx", BLOCK, "urls"},
    {SCHOOL, "GET HTTP://open.test:$/%78", BLOCK, "urls"},
    {SCHOOL, "GET hTtP://Open.Test:$/./X", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/..;/x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/..;y=1/x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/.;/x", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a/.;/../x", BLOCK, "urls"},
    /* the other rules of the list, spelled otherwise */
    {SCHOOL, "GET http://open.test:$/a/b", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a%2fb", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a%2Fb/c", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/a%5cb", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/~user/", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/%7euser/", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/%7Euser/page", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/secret/", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/Secret/file", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/%73ecret/file", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/secret;v=1/file", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/public/..%2f..%2fsecret/", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/q?id=5", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/q?id=%35", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/q?%69d=5", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/q?ID=5", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/./q?id=5", BLOCK, "urls"},
    {SCHOOL, "GET http://open.test:$/forbidden42", BLOCK, "re"},
    {SCHOOL, "GET http://open.test:$/%66orbidden42", BLOCK, "re"},
    {SCHOOL, "GET http://open.test:$/FORBIDDEN42", BLOCK, "re"},
    {SCHOOL, "GET http://open.test:$/a/../forbidden7", BLOCK, "re"},
    {SCHOOL, "GET http://open.test:$/forbidden%34%32", BLOCK, "re"},
    {SCHOOL, "GET http://open.test:$/search?q=badword", BLOCK, "re"},
    {SCHOOL, "GET http://open.test:$/search?q=bad%77ord", BLOCK, "re"},
    {SCHOOL, "GET http://open.test:$/search?x=1&q=badword", BLOCK, "re"},
    /* NUL and broken escapes: never read one way here and another there */
    {SCHOOL, "GET http://open.test:$/x%00", BAD, NULL},
    {SCHOOL, "GET http://open.test:$/y%00.html", BAD, NULL},
    {SCHOOL, "GET http://open.test:$/%00/../x", BAD, NULL},
    {SCHOOL, "GET http://open.test:$/y?a=%00", BAD, NULL},
    {SCHOOL, "GET http://open.test:$/%zz", BAD, NULL},
    {SCHOOL, "GET http://open.test:$/%", BAD, NULL},
    {SCHOOL, "GET http://open.test:$/%7", BAD, NULL},
    {SCHOOL, "GET http://open.test:$/a%2", BAD, NULL},
    {SCHOOL, "GET http://open.test:$/%u002e%u002e/x", BAD, NULL},
    {SCHOOL, "GET http://open.test:$/y#/../x", BAD, NULL},
    /* what passes reaches the origin exactly as it was judged */
    {SCHOOL, "GET http://open.test:$/y", FWD, "GET /y"},
    {SCHOOL, "GET http://open.test:$", FWD, "GET /"},
    {SCHOOL, "GET http://open.test:$?q=1", FWD, "GET /?q=1"},
    {SCHOOL, "GET http://open.test:$/a/../y", FWD, "GET /y"},
    {SCHOOL, "GET http://open.test:$//y", FWD, "GET /y"},
    {SCHOOL, "GET http://open.test:$/%79", FWD, "GET /y"},
    {SCHOOL, "GET http://open.test:$/a/./b/../y/", FWD, "GET /a/y/"},
    {SCHOOL, "GET http://open.test:$/a/b/..", FWD, "GET /a/"},
    {SCHOOL, "GET http://open.test:$/a/.", FWD, "GET /a/"},
    {SCHOOL, "GET http://open.test:$/a%2fb/../y", FWD, "GET /a/y"},
    {SCHOOL, "GET http://open.test:$/y%2fz", FWD, "GET /y%2Fz"},
    {SCHOOL, "GET http://open.test:$/y%5cz", FWD, "GET /y%5Cz"},
    {SCHOOL, "GET http://open.test:$/y\\z", FWD, "GET /y/z"},
    {SCHOOL, "GET http://open.test:$/%2578", FWD, "GET /%2578"},
    {SCHOOL, "GET http://open.test:$/a/..%252fx", FWD, "GET /a/..%252fx"},
    {SCHOOL, "GET http://open.test:$/a/%c0%ae%c0%ae/x", FWD, "GET /a/%C0%AE%C0%AE/x"},
    {SCHOOL, "GET http://open.test:$/%e9t%c3%A9", FWD, "GET /%E9t%C3%A9"},
    {SCHOOL, "GET http://open.test:$/secret%3bv/file", FWD, "GET /secret%3Bv/file"},
    {SCHOOL, "GET http://open.test:$/q?id=6", FWD, "GET /q?id=6"},
    {SCHOOL, "GET http://open.test:$/y?a=%2f%41&b=../x", FWD, "GET /y?a=%2FA&b=../x"},
    {SCHOOL, "GET http://open.test:$/search?q=good", FWD, "GET /search?q=good"},
    /* refused downloads, by the extension of the path's last segment */
    {SCHOOL, "GET http://open.test:$/setup.exe", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/setup.EXE", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/setup.ex%65", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/setup.%45xe", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/setup%2eexe", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/setup.exe;v=1", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/setup.exe.", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/setup.exe..", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/setup.exe%20", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/setup.exe?v=1", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/a/../setup.exe", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/setup.msi", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/dl/setup.Msi", BLOCK, "file-type"},
    {SCHOOL, "GET http://open.test:$/setup.exe/", FWD, "GET /setup.exe/"},
    {SCHOOL, "GET http://open.test:$/dir.exe/readme.txt", FWD, "GET /dir.exe/readme.txt"},
    {SCHOOL, "GET http://open.test:$/readme?file=setup.exe", FWD, "GET /readme?file=setup.exe"},
    {SCHOOL, "GET http://open.test:$/dl?x=.exe", FWD, "GET /dl?x=.exe"},
    {SCHOOL, "GET http://open.test:$/setup.exe%3F", FWD, "GET /setup.exe%3F"},
};

static const struct evasion hosts[] = {
    {SCHOOL, "GET http://blocked.example/", BLOCK, "names"},
    {SCHOOL, "GET http://BLOCKED.example/", BLOCK, "names"},
    {SCHOOL, "GET http://blocked.example./", BLOCK, "names"},
    {SCHOOL, "GET http://www.blocked.example/", BLOCK, "names"},
    {SCHOOL, "GET http://www.Blocked.Example./", BLOCK, "names"},
    {SCHOOL, "GET http://blocked.example.:80/", BLOCK, "names"},
    {SCHOOL, "GET http://blocked.example:8080/", BLOCK, "names"},
    {SCHOOL, "GET http://blocked.example:65535/", BLOCK, "names"},
    {SCHOOL, "GET http://blocked.example..//", BAD, NULL},
    {SCHOOL, "GET http://blocked.example../", BAD, NULL},
    {SCHOOL, "GET http://blocked.example...:80/", BAD, NULL},
    {SCHOOL, "GET http://.blocked.example/", BAD, NULL},
    {SCHOOL, "GET http://blocked..example/", BAD, NULL},
    {SCHOOL, "GET http://blocked.example~/", BAD, NULL},
    {SCHOOL, "GET http://blocked.example:0/", BAD, NULL},
    {SCHOOL, "GET http://user@blocked.example/", BAD, NULL},
    {SCHOOL, "GET http://open.test@blocked.example/", BAD, NULL},
    {SCHOOL, "GET http://blocked.example%2f@open.test/", BAD, NULL},
    {SCHOOL, "GET http://blocked%2eexample/", BAD, NULL},
    {SCHOOL, "GET http://127.0.0.9/", BLOCK, "names"},
    {SCHOOL, "GET http://0x7f.0.0.9/", BLOCK, "names"},
    {SCHOOL, "GET http://0X7F.0.0.9/", BLOCK, "names"},
    {SCHOOL, "GET http://0x7f000009/", BLOCK, "names"},
    {SCHOOL, "GET http://2130706441/", BLOCK, "names"},
    {SCHOOL, "GET http://0177.0.0.011/", BLOCK, "names"},
    {SCHOOL, "GET http://127.9/", BLOCK, "names"},
    {SCHOOL, "GET http://127.0.9/", BLOCK, "names"},
    {SCHOOL, "GET http://127.0.0.9./", BLOCK, "names"},
    {SCHOOL, "GET http://[::ffff:127.0.0.9]/", BLOCK, "names"},
    {SCHOOL, "GET http://[::FFFF:7f00:9]/", BLOCK, "names"},
    {SCHOOL, "GET http://10.9.1.2/", BLOCK, "names"},
    {SCHOOL, "GET http://0x0a.9.1.2/", BLOCK, "names"},
    {SCHOOL, "GET http://10.592130/", BLOCK, "names"},
    {SCHOOL, "GET http://[2001:db8::9]/", BLOCK, "names"},
    {SCHOOL, "GET http://[2001:DB8:0::9]/", BLOCK, "names"},
    {SCHOOL, "GET http://[2001:db8:0:0:0:0:0:9]/", BLOCK, "names"},
    {SCHOOL, "CONNECT blocked.example:443", BLOCK, "names"},
    {SCHOOL, "CONNECT blocked.example.:443", BLOCK, "names"},
    {SCHOOL, "CONNECT BLOCKED.EXAMPLE:443", BLOCK, "names"},
    {SCHOOL, "CONNECT www.blocked.example.:8443", BLOCK, "names"},
    {SCHOOL, "CONNECT blocked.example..:443", BAD, NULL},
    {SCHOOL, "CONNECT 0x7f.0.0.9:443", BLOCK, "names"},
    {SCHOOL, "CONNECT 2130706441:443", BLOCK, "names"},
    {SCHOOL, "CONNECT [::ffff:127.0.0.9]:443", BLOCK, "names"},
    /* other spellings of allowed hosts still work, normalised */
    {SCHOOL, "GET http://0x7f.1:$/y", FWD, "GET /y"},
    {SCHOOL, "GET http://2130706433:$/y", FWD, "GET /y"},
    {SCHOOL, "GET http://127.1:$/y", FWD, "GET /y"},
    {SCHOOL, "GET http://[::ffff:127.0.0.1]:$/y", FWD, "GET /y"},
    {SCHOOL, "GET HTTP://Blocked.Example/", BLOCK, "names"},
    {SCHOOL, "GET http://OPEN.Test.:$/y", FWD, "GET /y"},
    {SCHOOL, "GET http://open.test.:$/x", BLOCK, "urls"},
    {SCHOOL, "GET http://Open.Test/x", BLOCK, "urls"},
    {SCHOOL, "CONNECT OPEN.test.:$", TUNNEL, NULL},
};

/* Safe search: a steered request resolves the safe host (which the fake
 * DNS knows) and reaches the origin; one that was not steered asks for its
 * own name, which the fake DNS does not know: 502. */
static const struct evasion safe[] = {
    {SCHOOL, "GET http://www.google.com:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://google.com:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://www.google.com.:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://WWW.GOOGLE.COM:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://www.google.de:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://Www.Google.DE.:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://google.de:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://www.google.co.uk:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://www.google.com.br:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://google.co.jp:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://www.google.fr:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://www.google.cat:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://www.google.com.au:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://www.google.co.za:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://www.bing.com:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://Bing.com.:$/search?q=a", FWD, "GET /search?q=a"},
    {SCHOOL, "GET http://duckduckgo.com:$/?q=a", FWD, "GET /?q=a"},
    {SCHOOL, "GET http://www.duckduckgo.com:$/?q=a", FWD, "GET /?q=a"},
    {SCHOOL, "GET http://html.duckduckgo.com:$/html?q=a", FWD, "GET /html?q=a"},
    {SCHOOL, "GET http://lite.duckduckgo.com.:$/lite?q=a", FWD, "GET /lite?q=a"},
    {SCHOOL, "GET http://www.youtube.com:$/watch?v=a", FWD, "GET /watch?v=a"},
    {SCHOOL, "GET http://youtube.com:$/watch?v=a", FWD, "GET /watch?v=a"},
    {SCHOOL, "GET http://m.youtube.com.:$/watch?v=a", FWD, "GET /watch?v=a"},
    {SCHOOL, "GET http://www.youtube-nocookie.com:$/embed/a", FWD, "GET /embed/a"},
    {SCHOOL, "GET http://youtube-nocookie.com:$/embed/a", FWD, "GET /embed/a"},
    {SCHOOL, "GET http://youtubei.googleapis.com:$/youtubei/v1", FWD, "GET /youtubei/v1"},
    {SCHOOL, "GET http://YouTube.GoogleAPIs.com:$/v3", FWD, "GET /v3"},
    {SCHOOL, "CONNECT www.google.de.:$", TUNNEL, NULL},
    {SCHOOL, "CONNECT WWW.YOUTUBE.COM:$", TUNNEL, NULL},
    {SCHOOL, "CONNECT www.bing.com.:$", TUNNEL, NULL},
    {SCHOOL, "CONNECT duckduckgo.com:$", TUNNEL, NULL},
    /* not search hosts: left alone (and unknown to the fake DNS) */
    {SCHOOL, "GET http://maps.google.de:$/", GATEWAY, NULL},
    {SCHOOL, "GET http://www.google.example:$/", GATEWAY, NULL},
    {SCHOOL, "GET http://www.googlex.de:$/", GATEWAY, NULL},
    {SCHOOL, "GET http://notgoogle.com:$/", GATEWAY, NULL},
    {SCHOOL, "GET http://bing.com.evil.example:$/", GATEWAY, NULL},
};

/* The walled garden: only walled.test/public/ is allowed; nothing may
 * climb out of it. */
static const struct evasion walled[] = {
    {WALLED, "GET http://walled.test:$/public/page", FWD, "GET /public/page"},
    {WALLED, "GET http://walled.test:$/public/./page", FWD, "GET /public/page"},
    {WALLED, "GET http://walled.test:$//public//page", FWD, "GET /public/page"},
    {WALLED, "GET http://walled.test:$/%70ublic/page", FWD, "GET /public/page"},
    {WALLED, "GET http://walled.test:$/public/a/../page", FWD, "GET /public/page"},
    {WALLED, "GET http://Walled.Test.:$/public/page", FWD, "GET /public/page"},
    {WALLED, "GET http://walled.test:$/public/x?../../secret", FWD, "GET /public/x?../../secret"},
    {WALLED, "GET http://walled.test:$/public/../secret", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public/%2e%2e/secret", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public/.%2E/secret", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public/%2E./secret", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public/%2E%2E%2Fsecret", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public/..%2fsecret", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public/..%5csecret", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public\\..\\secret", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public/..;/secret", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public/a/../../secret", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public/../../../secret", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public/..", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public;v=1/page", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/publicity/", BLOCK, "default"},
    {WALLED, "GET http://walled.test:$/public%00/page", BAD, NULL},
    {WALLED, "GET http://walled.test..:$/public/page", BAD, NULL},
    {WALLED, "GET http://other.test:$/public/page", BLOCK, "default"},
};

/* A parent proxy for partner.example (the origin plays the parent and logs
 * the absolute form it is sent); everything else goes direct.  A name the
 * filter cannot read never reaches the parent. */
static const struct evasion chain[] = {
    {CHAIN, "GET http://blocked.example../", BAD, NULL},
    {CHAIN, "GET http://blocked.example./", BLOCK, "names"},
    {CHAIN, "CONNECT blocked.example..:443", BAD, NULL},
    {CHAIN, "GET http://www.partner.example.:$/a/../b", FWD, "GET http://www.partner.example:$/b"},
    {CHAIN, "GET http://Partner.Example:$/p?q=%41", FWD, "GET http://partner.example:$/p?q=A"},
    {CHAIN, "GET http://partner.example.:80/p", FWD, "GET http://partner.example/p"},
    {CHAIN, "CONNECT www.Partner.Example.:$", FWD, "CONNECT www.partner.example:$"},
    {CHAIN, "GET http://open.test.:$/y", FWD, "GET /y"},
};

/* No filter rule: the target goes as the client wrote it (RFC 9110 7.7);
 * the host is still read in its one normal form. */
static const struct evasion plain[] = {
    {PLAIN, "GET http://open.test:$/a/./b", FWD, "GET /a/./b"},
    {PLAIN, "GET http://open.test:$//y%2f%7e", FWD, "GET //y%2f%7e"},
    {PLAIN, "GET http://OPEN.TEST.:$/y", FWD, "GET /y"},
    {PLAIN, "GET http://open.test..:$/y", BAD, NULL},
};

/* ---- running the corpus ---- */

/* Copies s into out with each '$' replaced by the origin's port. */
static void expand(const char *s, char *out, size_t cap)
{
    size_t n = 0;

    for (; *s && n + 8 < cap; s++) {
        if (*s == '$')
            n += fmt(out + n, cap - n, "%d", origin.port);
        else
            out[n++] = *s;
    }
    out[n] = '\0';
}

/* The number of requests the origin has logged, and the last one's request
 * line ("GET /y"). */
static int origin_requests(char *last, size_t cap)
{
    char buf[1 << 16];
    FILE *f = fopen(origin.log, "r");
    int count = 0;

    last[0] = '\0';
    if (!f)
        return 0;
    while (fgets(buf, sizeof(buf), f)) {
        const char *req = strstr(buf, " req=");
        if (strncmp(buf, "origin ", 7) != 0 || !req || !(req = strchr(req + 1, ' ')))
            continue;
        count++;
        fmt(last, cap, "%.*s", (int)strcspn(req + 1, "\n"), req + 1);
    }
    fclose(f);
    return count;
}

/* Sends one case; returns NULL when the outcome is the expected one, or
 * what went wrong. */
static const char *run_case(const struct evasion *c, char *why, size_t cap)
{
    char req[1024], raw[1200], want[1024], last[1024];
    const char *ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    struct tc_response r = {0};
    int before = origin_requests(last, sizeof(last)), fd, got;

    expand(c->req, req, sizeof(req));
    fmt(raw, sizeof(raw), "%s HTTP/1.1\r\nHost: x\r\n\r\n", req);
    fd = tc_connect("127.0.0.1", port_of[c->at]);
    if (fd < 0 || tc_send_all(fd, raw, strlen(raw)) < 0) {
        tc_close(fd);
        return "no connection";
    }
    if (c->expect == TUNNEL) {
        char est[64];
        got = recv(fd, est, strlen(ok), MSG_WAITALL) == (ssize_t)strlen(ok) &&
              memcmp(est, ok, strlen(ok)) == 0 &&
              tc_send_all(fd, "GET /hello HTTP/1.1\r\nHost: o\r\n\r\n", 32) == 0 &&
              tc_read_response(fd, 0, &r) == 0 && r.status == 200;
        tc_close(fd);
        tc_response_free(&r);
        if (!got)
            return "no tunnel to the origin";
        origin_requests(last, sizeof(last));
        return strcmp(last, "GET /hello") == 0 ? NULL : "the tunnel led elsewhere";
    }
    got = tc_read_response(fd, 0, &r);
    tc_close(fd);
    if (got < 0) {
        tc_response_free(&r);
        return "no response";
    }
    switch (c->expect) {
    case BLOCK:
        fmt(want, sizeof(want), "category=%s ", c->detail);
        fmt(why, cap, "status %d, not the block page of %s", r.status, c->detail);
        got = r.status == 403 && r.body && strstr(r.body, "BLOCKED") && strstr(r.body, want);
        break;
    case BAD:
        fmt(why, cap, "status %d, not 400", r.status);
        got = r.status == 400;
        break;
    case GATEWAY:
        fmt(why, cap, "status %d, not 502", r.status);
        got = r.status == 502;
        break;
    default:
        expand(c->detail, want, sizeof(want));
        got = origin_requests(last, sizeof(last)) == before + 1 && strcmp(last, want) == 0;
        fmt(why, cap, "status %d; the origin got '%s', not '%s'", r.status, last, want);
        break;
    }
    tc_response_free(&r);
    if (got && c->expect != FWD && origin_requests(last, sizeof(last)) != before) {
        fmt(why, cap, "reached the origin as '%s'", last);
        got = 0;
    }
    return got ? NULL : why;
}

/* Runs a table and fails once, listing every case that went wrong. */
static void run_corpus(const struct evasion *cases, size_t n)
{
    char report[3000] = "", why[1200];
    size_t len = 0;
    int failed = 0;

    for (size_t i = 0; i < n; i++) {
        const char *bad = run_case(&cases[i], why, sizeof(why));
        if (!bad)
            continue;
        failed++;
        fprintf(stderr, "evasion: %s: %s\n", cases[i].req, bad);
        len += fmt(report + len, sizeof(report) - len, "\n  %s: %s", cases[i].req, bad);
    }
    ck_assert_msg(failed == 0, "%d of %zu cases failed:%s", failed, n, report);
}

START_TEST(evasion_paths)
{
    run_corpus(paths, N_OF(paths));
}
END_TEST

START_TEST(evasion_hosts)
{
    run_corpus(hosts, N_OF(hosts));
}
END_TEST

START_TEST(evasion_safe_search)
{
    run_corpus(safe, N_OF(safe));
}
END_TEST

START_TEST(evasion_walled_garden)
{
    run_corpus(walled, N_OF(walled));
}
END_TEST

START_TEST(evasion_parent)
{
    run_corpus(chain, N_OF(chain));
}
END_TEST

START_TEST(unfiltered_target_goes_as_written)
{
    run_corpus(plain, N_OF(plain));
}
END_TEST

/* Asks a listener for one URL with extra header lines; returns the status. */
static int ask(enum listener at, const char *url, const char *extra, struct tc_response *r)
{
    char u[512], req[1024];
    int fd = tc_connect("127.0.0.1", port_of[at]);

    expand(url, u, sizeof(u));
    fmt(req, sizeof(req), "GET %s HTTP/1.1\r\n%s%s\r\n", u,
        extra && strncmp(extra, "Host:", 5) == 0 ? "" : "Host: x\r\n", extra ? extra : "");
    rig_exchange(fd, req, r);
    tc_close(fd);
    return r->status;
}

/* The origin is sent the host it was judged by, whatever Host said. */
START_TEST(origin_gets_the_normal_host)
{
    struct tc_response r = {0};
    char want[64];

    ck_assert_int_eq(ask(SCHOOL, "http://OPEN.Test.:$/headers", "Host: blocked.example\r\n", &r),
                     200);
    fmt(want, sizeof(want), "\r\nHost: open.test:%d\r\n", origin.port);
    ck_assert_msg(strstr(r.body, want) && !strstr(r.body, "blocked"), "origin got: %s", r.body);
    tc_response_free(&r);
    /* steered by safe search, the origin still sees the name asked for,
     * and YouTube also gets its header */
    ck_assert_int_eq(ask(SCHOOL, "http://WWW.YouTube.com.:$/headers", NULL, &r), 200);
    fmt(want, sizeof(want), "\r\nHost: www.youtube.com:%d\r\n", origin.port);
    ck_assert_msg(strstr(r.body, want) && strstr(r.body, "\r\nYouTube-Restrict: Strict\r\n"),
                  "origin got: %s", r.body);
    tc_response_free(&r);
    ck_assert_int_ge(th_log_lines(dns_log, 1, "query restrict.youtube.com type=1", NULL), 1);
}
END_TEST

/* What the filter refuses to read is answered 400, and the log says why. */
START_TEST(refusals_are_logged)
{
    struct tc_response r = {0};

    ck_assert_int_eq(ask(SCHOOL, "http://refused.example../", NULL, &r), 400);
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "GET http://refused.example../ ", "\" 400 ",
                                  "why=host is not a DNS name or an IP address", NULL),
                     1);
    ck_assert_int_eq(ask(SCHOOL, "http://open.test:$/refused%00.html", NULL, &r), 400);
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/refused%00.html HTTP/1.1\" 400 ",
                                  "why=NUL (%00) in the request target", NULL),
                     1);
    ck_assert_int_eq(ask(SCHOOL, "http://open.test:$/refused%zz", NULL, &r), 400);
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/refused%zz HTTP/1.1\" 400 ",
                                  "why=bad percent-encoding in the request path", NULL),
                     1);
    /* no blocked or unreadable name was ever looked up */
    ck_assert_int_eq(th_log_lines(dns_log, 0, "blocked", NULL), 0);
    ck_assert_int_eq(th_log_lines(dns_log, 0, "refused", NULL), 0);
}
END_TEST

/* strip_cookies = [ "Cookie-Jar.Test." ]: the domain and names below it,
 * in any spelling, get no Cookie; other hosts keep theirs. */
START_TEST(strip_cookies_in_any_spelling)
{
    static const char *const jars[] = {"http://cookie-jar.test:$/headers",
                                       "http://www.cookie-jar.test.:$/headers",
                                       "http://WWW.Cookie-Jar.TEST:$/headers"};
    struct tc_response r = {0};

    for (unsigned i = 0; i < N_OF(jars); i++) {
        ck_assert_int_eq(ask(STRICT, jars[i], "Cookie: id=1\r\n", &r), 200);
        ck_assert_msg(!strstr(r.body, "Cookie:"), "%s: origin got: %s", jars[i], r.body);
        tc_response_free(&r);
    }
    ck_assert_int_eq(ask(STRICT, "http://open.test:$/headers", "Cookie: id=1\r\n", &r), 200);
    ck_assert_msg(strstr(r.body, "\r\nCookie: id=1\r\n"), "origin got: %s", r.body);
    tc_response_free(&r);
}
END_TEST

/* mirrors = [ "Deb.Example." ]: any spelling of the mirror is one mirror,
 * and the second download of a package comes from the cache. */
START_TEST(apt_mirror_in_any_spelling)
{
    struct tc_response r = {0};
    char last[1024];
    int before = origin_requests(last, sizeof(last));

    ck_assert_int_eq(ask(APT, "http://deb.example.:$/pool/a.deb", NULL, &r), 200);
    tc_response_free(&r);
    ck_assert_int_eq(ask(APT, "http://DEB.Example:$/pool/a.deb", NULL, &r), 200);
    tc_response_free(&r);
    ck_assert_int_eq(origin_requests(last, sizeof(last)), before + 1);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "GET http://DEB.Example:", "listener=apt",
                                  "upstream=cache", NULL),
                     1);
}
END_TEST

/* Names in the configuration are read in the same normal form, and one
 * that is no name stops the configuration with file:line. */
START_TEST(bad_names_in_the_configuration)
{
    static const char *const bad[] = {
        "parent = { address = \"127.0.0.1:3128\";\n"
        "  domains = [ \"ok.example\",\n \"partner..example\" ]; };",
        "anonymity = \"strict\";\n\n  strip_cookies = [ \"Ok.Example.\", \"a..b\" ];",
        "cache = { apt = true;\n\n  mirrors = [ \"deb.example..\" ]; };",
    };
    char conf[1024], out[2048];

    for (unsigned i = 0; i < N_OF(bad); i++) {
        fmt(conf, sizeof(conf),
            "listeners = ( { name = \"g\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"p\"; } );\n"
            "policies = { p = { %s }; };\n",
            th_free_port(), bad[i]);
        ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
        ck_assert_msg(strstr(out, "gatehouse.conf:4: ") && strstr(out, "not a host name"),
                      "config %u: %s", i, out);
    }
}
END_TEST

Suite *evasion_suite(void)
{
    Suite *s = suite_create("evasion");
    TCase *tc = tcase_create("evasion");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, evasion_paths);
    tcase_add_test(tc, evasion_hosts);
    tcase_add_test(tc, evasion_safe_search);
    tcase_add_test(tc, evasion_walled_garden);
    tcase_add_test(tc, evasion_parent);
    tcase_add_test(tc, unfiltered_target_goes_as_written);
    tcase_add_test(tc, origin_gets_the_normal_host);
    tcase_add_test(tc, refusals_are_logged);
    tcase_add_test(tc, strip_cookies_in_any_spelling);
    tcase_add_test(tc, apt_mirror_in_any_spelling);
    tcase_add_test(tc, bad_names_in_the_configuration);
    suite_add_tcase(s, tc);
    return s;
}
