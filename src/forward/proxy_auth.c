/* proxy_auth.c — proxy authentication of forward requests (see
 * proxy_auth.h): which credentials a request carries, what the policy's
 * users and the directory say of them, and the 407 when they do not do. */
#include "proxy_auth.h"
#include "auth.h"
#include "auth_delay.h"
#include "log.h"
#include "metrics.h"
#include "negotiate.h"
#include "notes.h"
#include "protect.h"
#include "util.h"

#include <string.h>

/* A user name as the error log may show it: printable, no quotes. */
static void printable_name(char *dst, size_t cap, const char *src)
{
    size_t n = 0;

    for (; *src && n + 1 < cap; src++)
        dst[n++] = (*src < 0x20 || *src > 0x7e || *src == '"' || *src == '\\') ? '?' : *src;
    dst[n] = '\0';
}

/* Counts an authentication result (ok, failed, missing) for /metrics. */
static void count_auth(const struct policy *p, const char *result)
{
    char l[300];

    metric_inc(metrics_counter("gatehouse_forward_auth_total",
                               "Proxy authentication results, by policy (ok, failed, missing).",
                               metrics_labels(l, sizeof(l), "policy", p->name, "result", result,
                                              NULL)));
}

/* The 407 asking for proxy credentials. */
static void ask(struct exchange *ex, const struct policy *p)
{
    char challenge[256];

    gh_fmt(challenge, sizeof(challenge), "%s%s%s%s",
           p->negotiate ? "Proxy-Authenticate: Negotiate\r\n" : "",
           p->basic ? "Proxy-Authenticate: Basic realm=\"" : "", p->basic ? p->realm : "",
           p->basic ? "\", charset=\"UTF-8\"\r\n" : "");
    exchange_respond(ex, 407, "text/plain; charset=utf-8", challenge,
                     "proxy authentication required\n", 30);
}

/* A Kerberos ticket (Negotiate), or with v NULL the user its connection
 * was authenticated as: accepted once per exchange (a parked exchange is
 * decided again, and the same ticket twice is a replay) and remembered
 * for the connection, then, when the policy has a directory too, the
 * user's groups looked up in it by name.  A user it does not know goes on
 * with no directory groups; a directory that is down refuses (AUTH_DOWN)
 * unless groups_optional. */
static enum auth_result sso(struct exchange *ex, const struct policy *p, const char *v, size_t len,
                            char *user, size_t cap, char *why, size_t whycap)
{
    struct fwd_notes *n = fwd_notes_of(ex);
    enum auth_result rc;
    char shown[64];

    if (!n->sso_user[0] && !v) {
        gh_fmt(n->sso_user, sizeof(n->sso_user), "%s", exchange_conn_user(ex));
    } else if (!n->sso_user[0]) {
        if (!negotiate_check(p->negotiate, v, len, user, cap, why, whycap)) {
            log_info("Negotiate from %s refused: %s", exchange_client_text(ex), why);
            return AUTH_BAD;
        }
        gh_fmt(n->sso_user, sizeof(n->sso_user), "%s", user);
        exchange_conn_set_user(ex, user);
    }
    gh_fmt(user, cap, "%s", n->sso_user);
    rc = auth_check_name(p->users, user, why, whycap);
    if (rc == AUTH_OK || rc == AUTH_PENDING ||
        (rc == AUTH_DOWN && !negotiate_groups_optional(p->negotiate)))
        return rc;
    printable_name(shown, sizeof(shown), user);
    if (rc == AUTH_BAD)
        log_info("Kerberos user \"%s\" from %s is not in the directory (%s): no directory groups",
                 shown, exchange_client_text(ex), why);
    else
        log_warn("Kerberos user \"%s\" from %s goes on without directory groups "
                 "(groups_optional): directory unavailable (%s)",
                 shown, exchange_client_text(ex), why);
    return AUTH_OK;
}

/* The credentials in field i: a Kerberos ticket (Negotiate), or a user
 * and password (Basic), as the policy takes them. */
static enum auth_result credentials(struct exchange *ex, const struct policy *p, int i, char *user,
                                    size_t cap, char *why, size_t whycap)
{
    const struct http_head *r = exchange_request(ex);
    const char *v = exchange_str(ex, r->fields[i].value);
    size_t len = r->fields[i].value.len;

    if (negotiate_scheme(v, len) && p->negotiate)
        return sso(ex, p, v, len, user, cap, why, whycap);
    if (negotiate_scheme(v, len) || !p->basic) {
        if (cap)
            user[0] = '\0';
        return AUTH_BAD;
    }
    return auth_check(p->users, v, len, user, cap, why, whycap);
}

int proxy_authenticate(struct exchange *ex, const struct policy *p)
{
    const struct http_head *r = exchange_request(ex);
    int i = http1_find(r, exchange_base(ex), "proxy-authorization", 0);
    char user[128], shown[64], why[200];
    struct auth_delay_counts n;
    enum auth_result rc = AUTH_BAD;
    uint32_t hold;

    if (i >= 0)
        rc = credentials(ex, p, i, user, sizeof(user), why, sizeof(why));
    else if (p->negotiate && exchange_conn_user(ex)) /* logged in on this connection */
        rc = sso(ex, p, NULL, 0, user, sizeof(user), why, sizeof(why));
    if (rc == AUTH_PENDING) {
        exchange_queue(ex, auth_wait_ms(p->users));
        return 0;
    }
    if (rc == AUTH_OK) {
        auth_delay_succeeded(exchange_client(ex), user);
        exchange_set_user(ex, user);
        count_auth(p, "ok");
        return 1;
    }
    ask(ex, p);
    if (i < 0) {
        exchange_error_reason(ex, "proxy authentication required");
        count_auth(p, "missing");
        return 0;
    }
    printable_name(shown, sizeof(shown), user);
    if (rc == AUTH_DOWN) { /* fails closed; not the user's failure */
        exchange_error_reason(ex, "proxy authentication: directory unavailable");
        count_auth(p, "unavailable");
        log_warn("proxy authentication of user \"%s\" from %s refused: directory unavailable "
                 "(%s)", shown, exchange_client_text(ex), why);
        return 0;
    }
    count_auth(p, "failed");
    /* a wrong password, not a first challenge */
    protect_note_event(ex, PEV_AUTH);
    hold = auth_delay_failed(exchange_client(ex), user, &n);
    exchange_error_reason(ex, "proxy authentication failed");
    if (hold) {
        exchange_delay(ex, hold);
        log_info("proxy authentication failed from %s for user \"%s\" (failures: %u from the "
                 "address, %u for the name); 407 held back %u ms",
                 exchange_client_text(ex), shown, n.address, n.user, hold);
    }
    return 0;
}
