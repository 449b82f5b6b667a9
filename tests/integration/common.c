/* common.c — what the integration suites share (see common.h). */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether a log holds a sanitizer's report. */
static int sanitizer_report(const char *log)
{
    return th_log_lines(log, 0, "Sanitizer", NULL) || th_log_lines(log, 0, "runtime error:", NULL);
}

void rig_conf(char *dst, size_t cap, const struct rig *r, int origin_port)
{
    snprintf(
        dst, cap,
        "workers = 2;\n"
        "log = { level = \"info\"; access = \"@ACCESS@\"; };\n"
        "timeouts = { drain = 5; };\n"
        "listeners = (\n"
        "  { name = \"gw\"; mode = \"forward\"; listen = [ \"127.0.0.1:%d\" ]; policy = \"lan\"; },\n"
        "  { name = \"site\"; mode = \"reverse\"; listen = [ \"127.0.0.1:%d\" ]; routes = \"site\"; }\n"
        ");\n"
        "policies = { lan = { connect_ports = ( 443, \"1024-65535\" ); }; };\n"
        "pools = { app = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
        "routes = { site = ( { host = \"*\"; path = \"/\"; pool = \"app\"; } ); };\n",
        r->fwd, r->rev, origin_port);
}

void rig_up_gateway_and_site(struct rig *r, origin_fn *answer)
{
    char conf[2048];

    ck_assert_int_eq(origin_start(&r->o, "o1", answer), 0);
    r->fwd = th_free_port();
    r->rev = th_free_port();
    rig_conf(conf, sizeof(conf), r, r->o.port);
    ck_assert_msg(th_gatehouse_start(&r->g, conf) == 0, "gatehouse did not start (see %s)",
                  r->g.errlog);
}

void rig_down(struct rig *r)
{
    int status = th_gatehouse_stop(&r->g, SIGTERM, 10000);

    origin_stop(&r->o);
    /* a sanitizer build reports into the error log: any report fails the test */
    ck_assert_msg(!sanitizer_report(r->g.errlog), "sanitizer report in %s", r->g.errlog);
    ck_assert_msg(!sanitizer_report(r->o.log), "sanitizer report in %s", r->o.log);
    ck_assert_msg(status == 0, "gatehouse exited with %d (see %s)", status, r->g.errlog);
    th_sh(NULL, 0, "rm -rf %s %s", r->g.dir, r->o.log);
}

void rig_origin_stop(struct origin *o)
{
    origin_stop(o);
    if (sanitizer_report(o->log)) {
        fprintf(stderr, "origin %s reported a sanitizer error: see %s\n", o->name, o->log);
        exit(1);
    }
}

void rig_stop_clean(struct th_gatehouse *g)
{
    int status = th_gatehouse_stop(g, SIGTERM, 10000);

    if (status != 0 || sanitizer_report(g->errlog)) {
        fprintf(stderr, "gatehouse exited with %d or reported a sanitizer error: see %s\n", status,
                g->errlog);
        exit(1);
    }
    th_sh(NULL, 0, "rm -rf %s", g->dir);
}

const char *rig_slapd_start(const char *dir, int *ldap, int *ldaps)
{
    char out[512];

    if (access("/usr/sbin/slapd", X_OK) != 0 || system("command -v ldapadd >/dev/null") != 0)
        return "slapd and ldap-utils are not installed (packaging/deps.sh --test)";
    *ldap = th_free_port();
    *ldaps = th_free_port();
    if (th_sh(out, sizeof(out), "sh tests/support/slapd-rig.sh %s/ldap %d %d 2>&1", dir, *ldap,
              *ldaps) != 0) {
        fprintf(stderr, "slapd-rig.sh failed:\n%s\n", out);
        exit(1);
    }
    return NULL;
}

void rig_slapd_stop(const char *dir)
{
    /* slapd forks: its pid is in its file */
    th_sh(NULL, 0, "kill $(cat %s/ldap/slapd.pid 2>/dev/null) 2>/dev/null", dir);
}

void rig_exchange(int fd, const char *raw, struct tc_response *r)
{
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tc_send_all(fd, raw, strlen(raw)), 0);
    ck_assert_int_eq(tc_read_response(fd, strncmp(raw, "HEAD ", 5) == 0, r), 0);
}
