/* check_pools_reload.c — a reload keeps what the pools learned: a server
 * the checks marked down stays down, a passive ejection and the counters
 * stay, and max_conns holds across generations (requests of the old and
 * the new one together). */
#include "common.h"
#include "pools_origin.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A gatehouse of its own, one worker: a pool with active checks whose
 * second server hangs (a stopped origin: it accepts and never answers), a
 * pool that ejects after one failed request, a pool of one server that
 * takes two requests at a time, and a route that names the configuration
 * generation (so a test knows when the worker runs the new one). */

static struct origin r_good, r_hung, r_holder;
static struct th_gatehouse rgh;
static int r_site, r_dead;

static void reload_conf(char *dst, size_t cap, int dead, int gen)
{
    snprintf(
        dst, cap,
        "workers = 1;\n"
        "log = { access = \"@ACCESS@\"; level = \"info\"; };\n"
        "timeouts = { upstream_read = 3; };\n"
        "listeners = ( { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
        "                status_path = \"/_status\"; } );\n"
        "pools = {\n"
        "  checked = { servers = ( { address = \"127.0.0.1:%d\"; }, { address = \"127.0.0.1:%d\"; } );\n"
        "              health_check = { path = \"/hello\"; interval = 0.5; timeout = 0.5; rise = 2; fall = 2; }; };\n"
        "  passive = { servers = ( { address = \"127.0.0.1:%d\"; }, { address = \"127.0.0.1:%d\"; } );\n"
        "              max_fails = 1; fail_timeout = 60; };\n"
        "  narrow = { servers = ( { address = \"127.0.0.1:%d\"; max_conns = 2; } );\n"
        "             queue = { size = 20; timeout = 30; }; };\n"
        "};\n"
        "routes = { r = ( { host = \"checked.test\"; pool = \"checked\"; },\n"
        "                 { host = \"passive.test\"; pool = \"passive\"; },\n"
        "                 { host = \"narrow.test\"; pool = \"narrow\"; },\n"
        "                 { host = \"gen.test\"; redirect = \"http://gen-%d.test\"; } ); };\n",
        r_site, r_good.port, r_hung.port, r_good.port, dead, r_holder.port, gen);
}

static void reload_rig_start(void)
{
    char conf[4096];

    if (origin_start(&r_good, "good", pools_answer) < 0 ||
        origin_start(&r_hung, "hung", pools_answer) < 0 ||
        origin_start(&r_holder, "holder", pools_answer) < 0)
        abort();
    r_site = th_free_port();
    r_dead = th_free_port();
    reload_conf(conf, sizeof(conf), r_dead, 0);
    if (th_gatehouse_start(&rgh, conf) < 0)
        abort();
}

static void reload_rig_stop(void)
{
    kill(r_hung.pid, SIGCONT);
    rig_stop_clean(&rgh);
    rig_origin_stop(&r_good);
    rig_origin_stop(&r_hung);
    rig_origin_stop(&r_holder);
}

/* Reloads with `dead` as the passive pool's second server, and waits until
 * the worker answers from the new generation. */
static void reload_with(int dead)
{
    static int seq;
    int gen = (int)getpid() * 100 + ++seq, now = 0;
    char conf[4096], want[64];

    reload_conf(conf, sizeof(conf), dead, gen);
    ck_assert_int_eq(th_gatehouse_reload(&rgh, conf), 0);
    snprintf(want, sizeof(want), "http://gen-%d.test/", gen);
    for (int i = 0; i < 100 && !now; i++) {
        struct tc_response r = {0};
        size_t n;
        const char *v;
        pools_get(r_site, "gen.test", "/", NULL, &r);
        v = tc_header(&r, "Location", &n);
        now = v && n == strlen(want) && memcmp(v, want, n) == 0;
        tc_response_free(&r);
        if (!now)
            th_sleep_ms(50);
    }
    ck_assert_msg(now, "the worker never ran the reloaded configuration");
}

/* The status page now, one read. */
static void status_now(char *dst, size_t cap)
{
    struct tc_response r = {0};

    ck_assert_int_eq(pools_get(r_site, "any", "/_status", NULL, &r), 200);
    snprintf(dst, cap, "%s", r.body);
    tc_response_free(&r);
}

/* Polls the status page until it holds `needle` (5 s at most). */
static int reload_status_shows(const char *needle)
{
    static char body[16384];

    for (int i = 0; i < 100; i++) {
        status_now(body, sizeof(body));
        if (strstr(body, needle))
            return 1;
        th_sleep_ms(50);
    }
    return 0;
}

/* Copies what the status page says of pool's server on port, but for the
 * time since its last change; 0 when it is not there. */
static int server_entry(const char *status, const char *pool, int port, char *dst, size_t cap)
{
    char name[64], addr[64];
    const char *p, *e;

    snprintf(name, sizeof(name), "\"name\":\"%s\"", pool);
    snprintf(addr, sizeof(addr), "\"address\":\"127.0.0.1:%d\"", port);
    if (!(p = strstr(status, name)) || !(p = strstr(p, addr)) ||
        !(e = strstr(p, ",\"since_change_ms\"")))
        return 0;
    snprintf(dst, cap, "%.*s", (int)(e - p), p);
    return 1;
}

/* The health checks found a server hung; a reload that keeps it must keep
 * it down (it used to come back "up" and take every other request, each
 * waiting upstream_read for nothing), and its checks go on from there. */
START_TEST(down_server_stays_down_across_reload)
{
    static char body[16384];
    struct tc_response r = {0};
    char needle[256], up_again[128];

    pools_server_state(needle, sizeof(needle), r_hung.port, "up");
    ck_assert(reload_status_shows(needle));
    kill(r_hung.pid, SIGSTOP);
    pools_server_state(needle, sizeof(needle), r_hung.port, "down");
    ck_assert_msg(reload_status_shows(needle), "the checks never found the stopped origin down");
    snprintf(up_again, sizeof(up_again), "127.0.0.1:%d is UP again", r_hung.port);
    for (int k = 0; k < 3; k++) {
        reload_with(r_dead);
        status_now(body, sizeof(body)); /* at once: no check has run on the new generation */
        ck_assert_msg(strstr(body, needle), "reload %d: the hung server is not down: %s", k, body);
        for (int i = 0; i < 4; i++) {
            ck_assert_int_eq(pools_get(r_site, "checked.test", "/hello", NULL, &r), 200);
            ck_assert_str_eq(r.body, "hello from good\n");
            tc_response_free(&r);
        }
    }
    ck_assert_int_eq(th_log_lines(rgh.errlog, 0, up_again, NULL), 0);
    ck_assert_int_eq(th_log_lines(rgh.access, 0, "checked.test", "\" 504 ", NULL), 0);
    /* the new generation's checks bring it back */
    kill(r_hung.pid, SIGCONT);
    pools_server_state(needle, sizeof(needle), r_hung.port, "up");
    ck_assert_msg(reload_status_shows(needle), "the origin never came back up");
    ck_assert_int_eq(th_log_lines(rgh.errlog, 1, up_again, NULL), 1);
}
END_TEST

/* A server ejected after a failed request stays ejected for its
 * fail_timeout across reloads, and the counters go on; a server whose
 * address changed is a new server. */
START_TEST(ejection_and_counters_kept_across_reload)
{
    static char before[16384], after[16384];
    struct tc_response r = {0};
    char needle[256], failed[128], was[256], is[256];
    int moved = th_free_port();

    snprintf(failed, sizeof(failed), "pool 'passive' server 127.0.0.1:%d failed", r_dead);
    for (int i = 0;
         i < 4 && th_log_lines(rgh.errlog, 0, "ejected after failed requests", NULL) == 0; i++) {
        ck_assert_int_eq(pools_get(r_site, "passive.test", "/hello", NULL, &r), 200); /* retried */
        tc_response_free(&r);
    }
    pools_server_state(needle, sizeof(needle), r_dead, "ejected");
    ck_assert(reload_status_shows(needle));
    int fails = th_log_lines(rgh.errlog, 0, failed, NULL);
    status_now(before, sizeof(before));
    reload_with(r_dead);
    status_now(after, sizeof(after));
    ck_assert_msg(strstr(after, needle), "the ejection was forgotten: %s", after);
    /* the good server's counters, as they were */
    ck_assert(server_entry(before, "passive", r_good.port, was, sizeof(was)));
    ck_assert(server_entry(after, "passive", r_good.port, is, sizeof(is)));
    ck_assert_msg(strstr(was, "\"requests\":0,") == NULL, "no request counted: %s", was);
    ck_assert_str_eq(is, was);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pools_get(r_site, "passive.test", "/hello", NULL, &r), 200);
        ck_assert_str_eq(r.body, "hello from good\n");
        tc_response_free(&r);
    }
    ck_assert_int_eq(th_log_lines(rgh.errlog, 0, failed, NULL), fails); /* never tried again */
    /* another address: a new server, up, counted from zero */
    reload_with(moved);
    snprintf(needle, sizeof(needle),
             "\"address\":\"127.0.0.1:%d\",\"weight\":1,\"backup\":false,\"max_conns\":0,"
             "\"state\":\"up\",\"active\":0,\"requests\":0,\"failures\":0",
             moved);
    status_now(after, sizeof(after));
    ck_assert_msg(strstr(after, needle), "not fresh: %s", after);
    reload_with(r_dead);
}
END_TEST

/* max_conns = 2 holds across reloads with requests in flight and queued:
 * the count of requests in flight is the server's, not the generation's. */
START_TEST(max_conns_across_reloads)
{
    enum { ROUNDS = 3, ALL = 2 + 2 * ROUNDS };
    const char *hold = "GET /hold HTTP/1.1\r\nHost: narrow.test\r\n\r\n";
    static char body[16384];
    struct pollfd pf[ALL];
    char queued[160], active[128];
    unsigned now = 0, peak = 0, answered = 0;

    for (int k = 0; k < 2; k++) {
        pf[k] = (struct pollfd){.fd = tc_connect("127.0.0.1", r_site), .events = POLLIN};
        ck_assert_int_eq(tc_send_all(pf[k].fd, hold, strlen(hold)), 0);
    }
    for (int i = 0; i < 100 && now < 2; i++) {
        pools_held(&r_holder, &now, &peak);
        if (now < 2)
            th_sleep_ms(50);
    }
    ck_assert_uint_eq(now, 2);
    snprintf(active, sizeof(active),
             "\"address\":\"127.0.0.1:%d\",\"weight\":1,\"backup\":false,"
             "\"max_conns\":2,\"state\":\"up\",\"active\":2,",
             r_holder.port);
    for (int round = 1; round <= ROUNDS; round++) {
        reload_with(r_dead);
        for (int k = 2 * round; k < 2 * round + 2; k++) {
            pf[k] = (struct pollfd){.fd = tc_connect("127.0.0.1", r_site), .events = POLLIN};
            ck_assert_int_eq(tc_send_all(pf[k].fd, hold, strlen(hold)), 0);
        }
        /* either they wait in the queue, or (wrongly) they reach the origin */
        snprintf(queued, sizeof(queued),
                 "\"name\":\"narrow\",\"balance\":\"round_robin\","
                 "\"health_check\":\"none\",\"queued\":%d,",
                 2 * round);
        int waiting = 0;
        for (int i = 0; i < 100 && !waiting && now <= 2; i++) {
            status_now(body, sizeof(body));
            waiting = strstr(body, queued) != NULL;
            pools_held(&r_holder, &now, &peak);
            if (!waiting && now <= 2)
                th_sleep_ms(50);
        }
        ck_assert_msg(now == 2 && peak == 2,
                      "round %d: %u requests at the origin at once (max_conns 2)", round, peak);
        ck_assert_msg(waiting, "round %d: the new requests were not queued: %s", round, body);
        ck_assert_msg(strstr(body, active), "round %d: the requests in flight were forgotten: %s",
                      round, body);
    }
    /* let them all go, two by two */
    while (answered < ALL) {
        struct tc_response r = {0};
        unsigned want = ALL - answered < 2 ? ALL - answered : 2;
        for (int i = 0; i < 100 && now < want; i++) {
            pools_held(&r_holder, &now, &peak);
            if (now < want)
                th_sleep_ms(50);
        }
        ck_assert_uint_eq(now, want);
        pools_release(&r_holder);
        for (unsigned got = 0; got < want;) {
            ck_assert_int_gt(poll(pf, ALL, 10000), 0);
            for (int k = 0; k < ALL; k++) {
                if (pf[k].fd < 0 || !(pf[k].revents & POLLIN))
                    continue;
                ck_assert_int_eq(tc_read_response(pf[k].fd, 0, &r), 0);
                ck_assert_int_eq(r.status, 200);
                ck_assert_str_eq(r.body, "held\n");
                tc_response_free(&r);
                tc_close(pf[k].fd);
                pf[k].fd = -1;
                got++;
                answered++;
            }
        }
        pools_held(&r_holder, &now, &peak);
    }
    ck_assert_uint_eq(peak, 2);
}
END_TEST

Suite *pools_reload_suite(void)
{
    Suite *s = suite_create("pools_reload");
    TCase *tc = tcase_create("reload");

    tcase_add_unchecked_fixture(tc, reload_rig_start, reload_rig_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, down_server_stays_down_across_reload);
    tcase_add_test(tc, ejection_and_counters_kept_across_reload);
    tcase_add_test(tc, max_conns_across_reloads);
    suite_add_tcase(s, tc);
    return s;
}
