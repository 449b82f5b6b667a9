/* exchange_log.c — an exchange in the access log: the request's fields
 * noted as it is read (exchange_note_request), the line written in the
 * configured format (gatehouse, combined, common, squid) when it ends,
 * and the end itself (the front-end's finished hook, the bans, the
 * traffic counters).  The line is built from printable copies only
 * (exchange_log_copy), so a client cannot forge one. */
#include "exchange.h"
#include "compress.h"
#include "exchange_int.h"
#include "intercept.h"
#include "log.h"
#include "observe.h"
#include "protect.h"
#include "util.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

uint64_t exchange_elapsed_ms(const struct exchange *ex)
{
    return gh_now_ms() - ex->start_ms;
}

const char *exchange_proto(const struct exchange *ex)
{
    return ex->conn && ex->conn->proto && ex->conn->proto->name ? ex->conn->proto->name
                                                                 : "http/1.1";
}

void exchange_note_type(struct exchange *ex, const char *type, size_t len)
{
    size_t n = 0;

    /* the media type alone: the squid log's fields are separated by spaces */
    while (n < len && n + 1 < sizeof(ex->log_type) && type[n] != ';' && type[n] > ' ' &&
           type[n] < 0x7f && type[n] != '"')
        n++;
    if (n) /* type is NULL for an answer without one */
        memcpy(ex->log_type, type, n);
    ex->log_type[n] = '\0';
}

/* Squid's result code for the exchange (TCP_MISS, TCP_HIT, TCP_DENIED...). */
static const char *squid_code(const struct exchange *ex)
{
    if (!ex->status)
        return "TCP_MISS_ABORTED";
    if (ex->decision == DECIDE_TUNNEL || ex->parent_tunnel)
        return "TCP_TUNNEL";
    if (strcmp(ex->label, "cache") == 0)
        return "TCP_HIT";
    if (ex->decision == DECIDE_LOCAL && (ex->status == 403 || ex->status == 407))
        return "TCP_DENIED";
    return "TCP_MISS";
}

/* Squid's native access.log line ("squid" format): time.ms elapsed client
 * code/status bytes method URL user hierarchy/host type. */
static size_t squid_line(const struct exchange *ex, char *line, size_t cap)
{
    const char *req = ex->log_req, *sp1 = strchr(req, ' '), *sp2 = strrchr(req, ' ');
    uint64_t now = gh_wall_us() / 1000u;
    char host[64];
    size_t hl;

    if (!sp1 || sp2 <= sp1)
        sp1 = sp2 = req + strlen(req);
    gh_fmt(host, sizeof(host), "%s", ex->up_addr);
    hl = strlen(host);
    /* the address without its port: "10.0.0.5:80", "[::1]:80" */
    while (hl > 0 && host[hl - 1] != ':')
        hl--;
    if (hl > 0)
        host[hl - 1] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    return gh_fmt(line, cap, "%llu.%03u %6llu %s %s/%03d %llu %.*s %.*s %s %s/%s %s",
                  (unsigned long long)(now / 1000u), (unsigned)(now % 1000u),
                  (unsigned long long)(gh_now_ms() - ex->start_ms), ex->conn->peer_text,
                  squid_code(ex), ex->status, (unsigned long long)ex->bytes_out,
                  (int)(sp1 - req), *sp1 ? req : "-", (int)(sp2 > sp1 ? sp2 - sp1 - 1 : 1),
                  sp2 > sp1 ? sp1 + 1 : "-", ex->user[0] ? ex->user : "-",
                  ex->up_addr[0] ? (ex->to_proxy ? "FIRSTUP_PARENT" : "HIER_DIRECT") : "HIER_NONE",
                  ex->up_addr[0] && host[0] ? host : "-", ex->log_type[0] ? ex->log_type : "-");
}

void exchange_log(struct exchange *ex)
{
    char line[2048], when[40];
    size_t n;
    const struct gh_config *c = ex->cfg;

    if (!log_access_enabled() || !ex->log_req[0])
        return;
    if (c->log_format == LOG_FORMAT_SQUID) {
        n = squid_line(ex, line, sizeof(line));
        if (n >= sizeof(line) - 1)
            n = sizeof(line) - 2;
        line[n++] = '\n';
        log_access_write(line, n);
        return;
    }
    log_clf_time(when, sizeof(when));
    n = gh_fmt(line, sizeof(line), "%s - %s [%s] \"%s\" %d ", ex->conn->peer_text,
               ex->user[0] ? ex->user : "-", when, ex->log_req,
               ex->status ? ex->status : 0);
    if (ex->resp_body_bytes)
        n += gh_fmt(line + n, sizeof(line) - n, "%llu", (unsigned long long)ex->resp_body_bytes);
    else
        n += gh_fmt(line + n, sizeof(line) - n, "-");
    if (c->log_format != LOG_FORMAT_COMMON)
        n += gh_fmt(line + n, sizeof(line) - n, " \"%s\" \"%s\"",
                    ex->log_referer[0] ? ex->log_referer : "-",
                    ex->log_agent[0] ? ex->log_agent : "-");
    if (c->log_format == LOG_FORMAT_GATEHOUSE)
        n += gh_fmt(line + n, sizeof(line) - n,
                    " listener=%s mode=%s in=%llu out=%llu ms=%llu upstream=%s filter=%s why=%s"
                    " proto=%s upstream_proto=%s",
                    ex->lst ? ex->lst->name : "-", ex->lst ? ex->lst->fe->name : "-",
                    (unsigned long long)ex->bytes_in, (unsigned long long)ex->bytes_out,
                    (unsigned long long)(gh_now_ms() - ex->start_ms),
                    ex->up_addr[0] ? ex->up_addr : ex->label[0] ? ex->label : "-",
                    ex->filter[0] ? ex->filter : "-", ex->why ? ex->why : "-",
                    ex->conn->proto->version  ? ex->conn->proto->name
                    : ex->req.minor_version ? "http/1.1"
                                            : "http/1.0",
                    !ex->up_addr[0] ? "-" : ex->up_h2_streams ? "h2" : "http/1.1");
    if (c->log_format == LOG_FORMAT_GATEHOUSE && ex->respb.z) /* compressed: before, after */
        n += gh_fmt(line + n, sizeof(line) - n, " enc=%s zin=%llu zout=%llu",
                    ex->zdecode ? "gunzip" : compress_name((enum compress_alg)ex->zalg),
                    (unsigned long long)compress_enc_in(ex->respb.z),
                    (unsigned long long)compress_enc_produced(ex->respb.z));
    if (n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    log_access_write(line, n);
}

void exchange_end(struct exchange *ex)
{
    if (ex->lst && ex->lst->fe->finished)
        ex->lst->fe->finished(ex);
    protect_end(ex); /* the bans count its events */
    if (ex->log_req[0])
        observe_exchange(ex, exchange_proto(ex));
    exchange_log(ex);
}

void exchange_log_copy(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = GH_MIN(len, cap - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') ? '_' : (char)ch;
    }
    dst[n] = '\0';
}

/* The log's request field for an intercepted TLS connection:
 * "TLS name:port", the name the hello gave, else the address. */
static void note_intercepted_tls(struct exchange *ex)
{
    char ip[INET6_ADDRSTRLEN], tmp[300];
    size_t n;

    intercept_ip_text(&ex->conn->orig_dst, ip, sizeof(ip));
    if (ex->hello.result == SNI_HELLO && ex->hello.namelen)
        n = gh_fmt(tmp, sizeof(tmp), "TLS %.*s:%u", (int)ex->hello.namelen, ex->hello.name,
                   intercept_port(&ex->conn->orig_dst));
    else
        n = gh_fmt(tmp, sizeof(tmp), strchr(ip, ':') ? "TLS [%s]:%u" : "TLS %s:%u", ip,
                   intercept_port(&ex->conn->orig_dst));
    exchange_log_copy(ex->log_req, sizeof(ex->log_req), tmp, n);
}

void exchange_note_request(struct exchange *ex)
{
    const struct http_head *r = &ex->req;
    const char *base = exchange_base(ex);
    char tmp[600];
    size_t n;
    int i;

    if (ex->intercept_tls) {
        note_intercepted_tls(ex);
        return;
    }

    ex->req_is_head = r->method.len == 4 && memcmp(base + r->method.off, "HEAD", 4) == 0;
    if (!log_access_enabled()) {
        gh_cat(ex->log_req, sizeof(ex->log_req), 0, "-", 1); /* "a request was read" */
        return;
    }
    n = gh_cat(tmp, sizeof(tmp), 0, base + r->method.off, r->method.len);
    n = gh_cat(tmp, sizeof(tmp), n, " ", 1);
    n = gh_cat(tmp, sizeof(tmp), n, base + r->target.off, GH_MIN(r->target.len, 500u));
    if (ex->conn->proto->version)
        n = gh_cat_str(tmp, sizeof(tmp), n, ex->conn->proto->version);
    else
        n = gh_cat(tmp, sizeof(tmp), n, r->minor_version ? " HTTP/1.1" : " HTTP/1.0", 9);
    exchange_log_copy(ex->log_req, sizeof(ex->log_req), tmp, n);
    if ((i = http1_find(r, base, "referer", 0)) >= 0)
        exchange_log_copy(ex->log_referer, sizeof(ex->log_referer), base + r->fields[i].value.off,
                 r->fields[i].value.len);
    if ((i = http1_find(r, base, "user-agent", 0)) >= 0)
        exchange_log_copy(ex->log_agent, sizeof(ex->log_agent), base + r->fields[i].value.off,
                 r->fields[i].value.len);
}
