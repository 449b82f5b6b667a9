/* check_shard.c — the reverse cache sharded across three gatehouses on
 * 127.0.0.2, .3 and .4 (one origin on 127.0.0.1 counting what reaches
 * it): one origin fetch for 100 concurrent requests spread over the
 * nodes, keys spread over the owners and stored once for the fleet, the
 * hop mark ignored from a client that is no peer and never reaching the
 * origin, a killed owner costing no client an error, the cluster
 * section's errors as file:line, and the nodes found through DNS SRV (a
 * name server written here answers) and followed as the answer changes. */
#include "common.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the origin ---- */

static atomic_uint_fast64_t versions;

/* /obj/NAME?delay=MS: "path=/obj/NAME v=N edits=E mark=yes|no\n",
 * cacheable for a minute; E counts the route's X-Site fields (added once,
 * not once per node), mark says whether the shard hop's mark reached the
 * origin. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    char v[64];

    if (strncmp(rq->path, "/obj/", 5) != 0) {
        origin_status(re, 404);
        origin_text(re, "not found\n");
        return;
    }
    if (origin_query(rq, "delay", 0, v, sizeof(v)) == 0)
        th_sleep_ms(atoi(v));
    int edits = 0;
    while (origin_field(rq, "X-Site", edits, v, sizeof(v)) == 0)
        edits++;
    origin_add(re, "Cache-Control: max-age=60");
    origin_text(re, "path=%s v=%" PRIu64 " edits=%d mark=%s\n", rq->path,
                atomic_fetch_add(&versions, 1) + 1, edits,
                origin_field(rq, "Gatehouse-Shard-Hop", 0, v, sizeof(v)) == 0 ? "yes" : "no");
}

/* ---- the fleet ---- */

#define NODES 3
static const char *const ips[NODES] = {"127.0.0.2", "127.0.0.3", "127.0.0.4"};
static const char *const names[NODES] = {"a", "b", "c"};
static struct origin o;
static struct th_gatehouse g[NODES];
static int port;
static int alive[NODES];

/* ---- a name server for the SRV tests ---- */

static int dns_port;
static pid_t dns_pid;
static char drop_c[128]; /* while this file exists, the SRV answer leaves c out */

/* Appends the DNS name n ("a.shard.test") as labels; the new length. */
static size_t put_name(unsigned char *p, size_t at, const char *n)
{
    while (*n) {
        const char *dot = strchr(n, '.');
        size_t l = dot ? (size_t)(dot - n) : strlen(n);
        p[at++] = (unsigned char)l;
        memcpy(p + at, n, l);
        at += l;
        n += l + (dot ? 1 : 0);
    }
    p[at++] = 0;
    return at;
}

/* Appends an answer record for the question's name (a pointer to it). */
static size_t put_rr(unsigned char *p, size_t at, int type, const unsigned char *rd, size_t rdlen)
{
    static const unsigned char head[] = {0xc0, 0x0c};
    memcpy(p + at, head, 2);
    p[at + 2] = 0, p[at + 3] = (unsigned char)type;   /* type */
    p[at + 4] = 0, p[at + 5] = 1;                      /* IN */
    p[at + 6] = 0, p[at + 7] = 0, p[at + 8] = 0, p[at + 9] = 1; /* TTL 1 s */
    p[at + 10] = (unsigned char)(rdlen >> 8), p[at + 11] = (unsigned char)rdlen;
    memcpy(p + at + 12, rd, rdlen);
    return at + 12 + rdlen;
}

/* The answer to one query q[0..n) into r; its length, 0 to stay silent.
 * _gh._tcp.shard.test SRV: a, b and c.shard.test on `port` at priority
 * 10 (c left out while drop_c exists) and z.shard.test at 20 (a standby
 * the nodes must not use); a, b, c, z.shard.test A: 127.0.0.2, .3, .4, .9. */
static size_t dns_answer(const unsigned char *q, size_t n, unsigned char *r)
{
    char name[256];
    size_t at = 12, nl = 0, end;
    int type, an = 0;
    struct stat st;

    if (n < 17)
        return 0;
    while (at < n && q[at] && nl + q[at] + 1 < sizeof(name)) {
        memcpy(name + nl, q + at + 1, q[at]);
        nl += q[at];
        name[nl++] = '.';
        at += (size_t)q[at] + 1;
    }
    if (at + 5 > n)
        return 0;
    name[nl ? nl - 1 : 0] = '\0';
    end = at + 5;
    type = q[at + 2];
    memcpy(r, q, end);
    r[2] = 0x81, r[3] = 0x80; /* a response, recursion available, no error */
    memset(r + 6, 0, 6);
    at = end;
    if (type == 33 && strcasecmp(name, "_gh._tcp.shard.test") == 0) {
        static const char *const t[] = {"a.shard.test", "b.shard.test", "c.shard.test", "z.shard.test"};
        for (int i = 0; i < 4; i++) {
            unsigned char rd[64] = {0, i == 3 ? 20 : 10, 0, 1, (unsigned char)(port >> 8),
                                    (unsigned char)port};
            if (i == 2 && stat(drop_c, &st) == 0)
                continue;
            at = put_rr(r, at, 33, rd, put_name(rd, 6, t[i]));
            an++;
        }
    } else if (type == 1 && strlen(name) == 12 && strcasecmp(name + 1, ".shard.test") == 0 &&
               strchr("abcz", name[0])) {
        unsigned char a[4] = {127, 0, 0, name[0] == 'z' ? 9 : (unsigned char)(2 + name[0] - 'a')};
        at = put_rr(r, at, 1, a, 4);
        an++;
    } else if (type != 28 || strcasestr(name, "shard.test") == NULL) {
        r[3] = 0x83; /* NXDOMAIN; an AAAA of ours is an empty answer */
    }
    r[7] = (unsigned char)an;
    return at;
}

static void dns_start(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    int bound = -1;
    for (int tries = 0; tries < 20 && bound < 0 && fd >= 0; tries++) {
        dns_port = th_free_port(); /* free for TCP; UDP is tried */
        sa.sin_port = htons((uint16_t)dns_port);
        bound = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    }
    if (bound < 0)
        abort();
    snprintf(drop_c, sizeof(drop_c), "/tmp/gh-shard-drop-c-%d", (int)getpid());
    unlink(drop_c);
    if ((dns_pid = fork()) == 0) {
        for (;;) {
            unsigned char q[512], r[1024];
            struct sockaddr_storage from;
            socklen_t fl = sizeof(from);
            ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
            size_t rl = n > 0 ? dns_answer(q, (size_t)n, r) : 0;
            if (rl)
                sendto(fd, r, rl, 0, (struct sockaddr *)&from, fl);
        }
    }
    close(fd);
}

static void dns_stop(void)
{
    kill(dns_pid, SIGKILL);
    waitpid(dns_pid, NULL, 0);
    unlink(drop_c);
}

/* The three nodes, finding each other through the SRV records of
 * _gh._tcp.shard.test, asked of our name server every second; each is
 * `self` by its address, as the answers name it. */
static void srv_nodes_start(void)
{
    char conf[4096], cl[1024], extra[256];

    snprintf(extra, sizeof(extra),
             "resolver = { nameservers = [ \"127.0.0.1:%d\" ]; timeout = 0.5; attempts = 2; };\n",
             dns_port);
    for (int i = 0; i < NODES; i++) {
        snprintf(cl, sizeof(cl),
                 "cluster = { srv = \"_gh._tcp.shard.test\"; self = \"%s:%d\"; refresh = 1;\n"
                 "            down_time = 30; };\n",
                 ips[i], port);
        snprintf(conf, sizeof(conf),
                 "log = { access = \"@ACCESS@\"; level = \"info\"; };\n"
                 "workers = 2;\n%s"
                 "cache = { memory_mb = 16; lock_timeout = 10.0; };\n"
                 "listeners = ( { name = \"site\"; mode = \"reverse\"; listen = \"%s:%d\"; routes = \"r\"; } );\n"
                 "pools = { o = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
                 "routes = { r = ( { host = \"site.test\"; pool = \"o\"; cache = true;\n"
                 "                   add_request_headers = ( ( \"X-Site\", \"s1\" ) ); } ); };\n"
                 "%s",
                 extra, ips[i], port, o.port, cl);
        if (th_gatehouse_start(&g[i], conf) < 0)
            abort();
        alive[i] = 1;
    }
}

/* A port free on 127.0.0.2, .3 and .4 (th_free_port knows 127.0.0.1). */
static int fleet_port(void)
{
    for (int tries = 0; tries < 50; tries++) {
        int p = th_free_port(), ok = 1;
        for (int i = 0; i < NODES && ok; i++) {
            struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            inet_pton(AF_INET, ips[i], &sa.sin_addr);
            ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
            if (fd >= 0)
                close(fd);
        }
        if (ok)
            return p;
    }
    abort();
}

static void fleet_start(void)
{
    char conf[4096];

    if (origin_start(&o, "o1", answer) < 0)
        abort();
    port = fleet_port();
    for (int i = 0; i < NODES; i++) {
        snprintf(conf, sizeof(conf),
                 "log = { access = \"@ACCESS@\"; level = \"info\"; };\n"
                 "workers = 2;\n"
                 "cache = { memory_mb = 16; lock_timeout = 10.0; };\n"
                 "listeners = ( { name = \"site\"; mode = \"reverse\"; listen = \"%s:%d\"; routes = \"r\"; } );\n"
                 "pools = { o = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
                 "routes = { r = ( { host = \"site.test\"; pool = \"o\"; cache = true;\n"
                 "                   add_request_headers = ( ( \"X-Site\", \"s1\" ) ); } ); };\n"
                 "cluster = {\n"
                 "  self = \"%s\";\n"
                 "  down_time = 30;\n"
                 "  nodes = ( { name = \"a\"; address = \"127.0.0.2:%d\"; },\n"
                 "            { name = \"b\"; address = \"127.0.0.3:%d\"; },\n"
                 "            { name = \"c\"; address = \"127.0.0.4:%d\"; } );\n"
                 "};\n",
                 ips[i], port, o.port, names[i], port, port, port);
        if (th_gatehouse_start(&g[i], conf) < 0)
            abort();
        alive[i] = 1;
    }
}

static void fleet_stop(void)
{
    for (int i = 0; i < NODES; i++)
        if (alive[i])
            rig_stop_clean(&g[i]);
    rig_origin_stop(&o);
}

/* GET path on node n (a new connection); the status, r filled. */
static int get_on(int n, const char *path, const char *extra, struct tc_response *r)
{
    char raw[1024];

    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: site.test\r\n%s\r\n", path,
             extra ? extra : "");
    memset(r, 0, sizeof(*r));
    if (tc_request(ips[n], port, raw, r) < 0)
        return -1;
    return r->status;
}

/* Whether r's body is the object at path (any version), the route's field
 * added once and the mark not seen. */
static int body_is(const struct tc_response *r, const char *path)
{
    char want[256];

    snprintf(want, sizeof(want), "path=%s v=", path);
    return r->body && strncmp(r->body, want, strlen(want)) == 0 && strstr(r->body, " edits=1 mark=no\n");
}

/* Lines of node n's access log for requests to path (a prefix) that it
 * sent on to node `to` (its address is the log's upstream). */
static int hops_to(int n, const char *path, int to)
{
    char up[64];

    snprintf(up, sizeof(up), "upstream=%s:%d ", ips[to], port);
    return th_log_lines(g[n].access, 0, path, up, NULL);
}

/* Waits (up to 2 s) until node n's access log has `want` lines for path:
 * a line is written as its exchange ends, just after the client has its
 * answer. */
static void settle(int n, const char *path, int want)
{
    ck_assert_int_ge(th_log_lines(g[n].access, want, path, NULL), want);
}

/* The origin's requests whose log line holds needle. */
static int origin_saw(const char *needle)
{
    return th_log_lines(o.log, 0, needle, NULL);
}

/* ---- tests ---- */

struct herd {
    atomic_int ok;
    atomic_int next;
};

static void *herd_one(void *arg)
{
    struct herd *h = arg;
    struct tc_response r;
    int n = atomic_fetch_add(&h->next, 1) % NODES;

    if (get_on(n, "/obj/one?delay=500", NULL, &r) == 200 && body_is(&r, "/obj/one"))
        atomic_fetch_add(&h->ok, 1);
    tc_response_free(&r);
    return NULL;
}

START_TEST(hundred_requests_one_origin_fetch)
{
    struct herd h = {0};
    pthread_t t[100];

    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, herd_one, &h), 0);
    for (int i = 0; i < 100; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(atomic_load(&h.ok), 100);
    ck_assert_int_eq(origin_saw("GET /obj/one?"), 1);
    /* and the hops were made: the two nodes that are not the owner
     * logged theirs to the owner */
    int hops = 0;
    for (int i = 0; i < NODES; i++)
        settle(i, "/obj/one?", 33);
    for (int i = 0; i < NODES; i++)
        for (int j = 0; j < NODES; j++)
            hops += i != j ? hops_to(i, "/obj/one?", j) : 0;
    ck_assert_int_ge(hops, 30);
}
END_TEST

START_TEST(keys_spread_over_owners_and_stored_once)
{
    char path[64];
    struct tc_response r;
    int owned[NODES] = {0};

    for (int k = 0; k < 300; k++) {
        snprintf(path, sizeof(path), "/obj/spread-%d", k);
        ck_assert_int_eq(get_on(0, path, NULL, &r), 200);
        ck_assert_msg(body_is(&r, path), "%s: %s", path, r.body);
        tc_response_free(&r);
    }
    ck_assert_int_eq(origin_saw("GET /obj/spread-"), 300);
    settle(0, "/obj/spread-", 300);
    /* node a's log names the owner of each: a hop's upstream, or its own pool */
    owned[1] = hops_to(0, "/obj/spread-", 1);
    owned[2] = hops_to(0, "/obj/spread-", 2);
    owned[0] = 300 - owned[1] - owned[2];
    for (int i = 0; i < NODES; i++)
        ck_assert_msg(owned[i] >= 50, "node %s owns %d of 300 keys", names[i], owned[i]);
    /* the same keys on the other nodes: all served by their owners, the
     * origin asked nothing more */
    for (int k = 0; k < 300; k += 3) {
        snprintf(path, sizeof(path), "/obj/spread-%d", k);
        ck_assert_int_eq(get_on(1 + k % 2, path, NULL, &r), 200);
        ck_assert_msg(body_is(&r, path), "%s: %s", path, r.body);
        tc_response_free(&r);
    }
    ck_assert_int_eq(origin_saw("GET /obj/spread-"), 300);
}
END_TEST

START_TEST(mark_from_a_client_is_ignored_and_stripped)
{
    char path[64], needle[80];
    struct tc_response r;
    int found = -1;

    /* a client on 127.0.0.1 (no node) claims to be node b: node a ignores
     * the claim and sends the request on to the owner all the same */
    for (int k = 0; k < 30 && found < 0; k++) {
        snprintf(path, sizeof(path), "/obj/mark-%d.txt", k);
        ck_assert_int_eq(get_on(0, path, "Gatehouse-Shard-Hop: b\r\n", &r), 200);
        ck_assert_msg(body_is(&r, path), "the mark reached the origin: %s", r.body);
        tc_response_free(&r);
        snprintf(needle, sizeof(needle), "GET %s ", path);
        settle(0, needle, 1);
        if (hops_to(0, needle, 1) + hops_to(0, needle, 2) == 1)
            found = k;
    }
    ck_assert_int_ge(found, 0);
    /* stored once, at the owner: asked on every node, the origin sees it once */
    snprintf(path, sizeof(path), "/obj/mark-%d.txt", found);
    for (int i = 0; i < NODES; i++) {
        ck_assert_int_eq(get_on(i, path, NULL, &r), 200);
        ck_assert(body_is(&r, path));
        tc_response_free(&r);
    }
    ck_assert_int_eq(origin_saw(path), 1);
}
END_TEST

START_TEST(absolute_form_and_head_share_the_key)
{
    char raw[512], path[64];
    struct tc_response r;

    /* an absolute-form request on one node and an origin-form one on
     * another name one object; a HEAD on the third is answered from it */
    for (int k = 0; k < 6; k++) {
        snprintf(path, sizeof(path), "/obj/abs-%d.txt", k);
        snprintf(raw, sizeof(raw), "GET http://site.test%s HTTP/1.1\r\nHost: site.test\r\n\r\n", path);
        memset(&r, 0, sizeof(r));
        ck_assert_int_eq(tc_request(ips[k % NODES], port, raw, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert(body_is(&r, path));
        tc_response_free(&r);
        ck_assert_int_eq(get_on((k + 1) % NODES, path, NULL, &r), 200);
        ck_assert(body_is(&r, path));
        tc_response_free(&r);
        snprintf(raw, sizeof(raw), "HEAD %s HTTP/1.1\r\nHost: site.test\r\n\r\n", path);
        memset(&r, 0, sizeof(r));
        ck_assert_int_eq(tc_request(ips[(k + 2) % NODES], port, raw, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_msg(strstr(r.head, "Cache-Status: gatehouse; hit"), "%s", r.head);
        tc_response_free(&r);
    }
    ck_assert_int_eq(origin_saw("/obj/abs-"), 6);
}
END_TEST

START_TEST(killed_owner_costs_no_client_an_error)
{
    char path[64];
    struct tc_response r;
    int status;

    /* two rounds over 30 keys from nodes a and b; node c is killed after
     * the first 20 requests */
    for (int i = 0; i < 60; i++) {
        if (i == 20) {
            kill(g[2].pid, SIGKILL);
            waitpid(g[2].pid, &status, 0);
            alive[2] = 0;
        }
        snprintf(path, sizeof(path), "/obj/kill-%d", i % 30);
        ck_assert_int_eq(get_on(i % 2, path, NULL, &r), 200);
        ck_assert_msg(body_is(&r, path), "%s: %s", path, r.body);
        tc_response_free(&r);
    }
    /* c owned some of them: a node saw it fail and went to the origin */
    ck_assert_int_ge(th_log_lines(g[0].errlog, 0, "cache shard owner c", NULL) +
                         th_log_lines(g[1].errlog, 0, "cache shard owner c", NULL),
                     1);
}
END_TEST

/* `gatehouse -t` refuses a file whose cluster section is `cluster`, with
 * `want` in what it says (case i of a table). */
static void cluster_refused(size_t i, const char *cluster, const char *want)
{
    char conf[2048], out[4096];

    snprintf(conf, sizeof(conf),
             "pools = { o = { servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
             "cluster = {\n  %s\n};\n"
             "listeners = ( { name = \"s\"; mode = \"reverse\"; listen = \"127.0.0.1:1\";\n"
             "                routes = \"r\"; } );\n"
             "routes = { r = ( { host = \"*\"; pool = \"o\"; cache = true; } ); };\n",
             cluster);
    ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, want), "case %zu: want '%s' in: %s", i, want, out);
}

START_TEST(cluster_errors_at_file_line)
{
    static const char *const bad[][2] = {
        {"self = \"d\";\n  nodes = ( \"127.0.0.2:80\", \"127.0.0.3:80\" );",
         ":3: cluster 'self' = \"d\" is none of 'nodes'"},
        {"self = \"127.0.0.2:80\";\n  nodes = ( \"127.0.0.2:80\",\n \"127.0.0.2:80\" );",
         ":5: cluster node '127.0.0.2:80' (127.0.0.2:80) is listed twice"},
        {"self = \"a\";\n  nodes = ( { name = \"a\"; address = \"127.0.0.2:80\"; },\n"
         " { name = \"a\"; address = \"127.0.0.3:80\"; } );",
         ":5: cluster node 'a' (127.0.0.3:80) is listed twice"},
        {"self = \"a\";\n  nodes = ( { name = \"a\"; address = \"example.org:80\"; } );",
         ":4: cluster node address 'example.org:80' is not ip:port"},
        {"self = \"a\";\n  nodes = ( );", ":4: 'cluster' needs 'nodes'"},
        {"nodes = ( \"127.0.0.2:80\" );", ":2: 'cluster' needs 'self'"},
        {"self = \"a\"; colour = 1;\n  nodes = ( \"127.0.0.2:80\" );", "colour"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cluster_refused(i, bad[i][0], bad[i][1]);
}
END_TEST

static void srv_fleet_start(void)
{
    if (origin_start(&o, "o1", answer) < 0)
        abort();
    port = fleet_port();
    dns_start();
    srv_nodes_start();
}

static void srv_fleet_stop(void)
{
    fleet_stop();
    dns_stop();
}

START_TEST(srv_nodes_one_origin_fetch)
{
    struct herd h = {0};
    pthread_t t[30];

    /* each node found the three (not the standby z) */
    for (int i = 0; i < NODES; i++)
        ck_assert_int_eq(th_log_lines(g[i].errlog, 1, "cluster: 3 nodes from SRV _gh._tcp.shard.test",
                                      "a.shard.test:", "c.shard.test:", NULL),
                         1);
    ck_assert_int_eq(th_log_lines(g[0].errlog, 0, "z.shard.test", NULL), 0);
    for (int i = 0; i < 30; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, herd_one, &h), 0);
    for (int i = 0; i < 30; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(atomic_load(&h.ok), 30);
    ck_assert_int_eq(origin_saw("GET /obj/one?"), 1);
    int hops = 0;
    for (int i = 0; i < NODES; i++)
        for (int j = 0; j < NODES; j++)
            hops += i != j ? hops_to(i, "/obj/one?", j) : 0;
    ck_assert_int_ge(hops, 10);
}
END_TEST

START_TEST(srv_answer_changes_the_owners)
{
    char path[64];
    struct tc_response r;
    FILE *f;
    int to_c;

    ck_assert_int_eq(th_log_lines(g[0].errlog, 1, "cluster: 3 nodes from SRV", NULL), 1);
    for (int k = 0; k < 60; k++) {
        snprintf(path, sizeof(path), "/obj/srv-%d.txt", k);
        ck_assert_int_eq(get_on(0, path, NULL, &r), 200);
        ck_assert(body_is(&r, path));
        tc_response_free(&r);
    }
    settle(0, "/obj/srv-", 60);
    to_c = hops_to(0, "/obj/srv-", 2);
    ck_assert_int_gt(to_c, 0);
    /* c leaves the answer: within a refresh or two, a owns or sends
     * elsewhere what c owned, without c being down */
    ck_assert_ptr_nonnull(f = fopen(drop_c, "w"));
    fclose(f);
    for (int i = 0; i < 4 && th_log_lines(g[0].errlog, 1, "cluster: 2 nodes from SRV", NULL) < 1; i++)
        ;
    ck_assert_int_eq(th_log_lines(g[0].errlog, 1, "cluster: 2 nodes from SRV", NULL), 1);
    for (int k = 0; k < 60; k++) {
        snprintf(path, sizeof(path), "/obj/srv-%d.txt", k);
        ck_assert_int_eq(get_on(0, path, NULL, &r), 200);
        ck_assert(body_is(&r, path));
        tc_response_free(&r);
    }
    settle(0, "/obj/srv-", 120);
    ck_assert_int_eq(hops_to(0, "/obj/srv-", 2), to_c);
    /* keys that b owned stayed there: no new origin fetch for them, only
     * for c's, now owned by a or b */
    ck_assert_int_eq(origin_saw("/obj/srv-"), 60 + to_c);
}
END_TEST

START_TEST(srv_errors_at_file_line)
{
    static const char *const bad[][2] = {
        {"self = \"127.0.0.2:80\"; srv = \"_g._tcp.x\";\n  nodes = ( \"127.0.0.2:80\" );",
         ":4: 'cluster' needs 'nodes', a list of 1 to 64 nodes ( \"ip:port\", ... ), or 'srv'"},
        {"self = \"a\";\n  srv = \"_g._tcp.x\";", ":3: with 'srv', 'self' is this node's ip:port"},
        {"self = \"127.0.0.2:80\";\n  srv = \"\";", ":4: 'srv' is a DNS name"},
        {"self = \"127.0.0.2:80\"; srv = \"_g._tcp.x\";\n  refresh = 0;", ":4:"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cluster_refused(i, bad[i][0], bad[i][1]);
}
END_TEST

Suite *shard_suite(void)
{
    Suite *s = suite_create("shard");
    TCase *tc = tcase_create("shard");

    tcase_add_checked_fixture(tc, fleet_start, fleet_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hundred_requests_one_origin_fetch);
    tcase_add_test(tc, keys_spread_over_owners_and_stored_once);
    tcase_add_test(tc, mark_from_a_client_is_ignored_and_stripped);
    tcase_add_test(tc, absolute_form_and_head_share_the_key);
    tcase_add_test(tc, killed_owner_costs_no_client_an_error);
    suite_add_tcase(s, tc);
    tc = tcase_create("shard_srv");
    tcase_add_checked_fixture(tc, srv_fleet_start, srv_fleet_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, srv_nodes_one_origin_fetch);
    tcase_add_test(tc, srv_answer_changes_the_owners);
    suite_add_tcase(s, tc);
    tc = tcase_create("shard_config");
    tcase_add_test(tc, cluster_errors_at_file_line);
    tcase_add_test(tc, srv_errors_at_file_line);
    suite_add_tcase(s, tc);
    return s;
}
