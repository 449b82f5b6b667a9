/* directory_ldap.c — the lookups of directory.h, on a small pool of threads
 * of their own: connect, StartTLS (or ldaps), find the user's DN, bind as
 * it with the password, read its groups; or, by name (a Kerberos user's
 * groups), the same bound as the search account or anonymously.
 * libldap's synchronous calls, each bounded by the directory's timeout,
 * block a pool thread and never a worker: libldap has no asynchronous
 * connect or StartTLS handshake, so its _ext (message id) calls driven
 * from a worker's loop would still block it there.  Workers learn the
 * answer from the cache. */
#include "directory_int.h"
#include "log.h"
#include "util.h"

#include <ldap.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define POOL_THREADS 4

struct job {
    struct job *next;
    struct directory *d; /* a reference of the job's own */
    char user[64];
    char password[256];
    int by_name; /* no password: directory_lookup's NULL */
    unsigned char key[32];
    void (*done)(const struct directory *d, const char *user, const unsigned char key[32],
                 const struct dir_answer *a);
};

static struct job *head, *tail;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* ---- one lookup ---- */

static void why_ldap(struct dir_answer *a, const struct directory *d, const char *what, LDAP *ld,
                     int rc)
{
    char *diag = NULL;

    if (ld)
        ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    gh_fmt(a->why, sizeof(a->why), "%s: %s: %s%s%s", d->uri, what, ldap_err2string(rc),
           diag && *diag ? ": " : "", diag && *diag ? diag : "");
    ldap_memfree(diag);
}

/* Writes a template with %s (or %u) as user and %d as dn, each escaped
 * by esc.  -1 when too long. */
static int expand(const char *t, const char *user, const char *dn,
                  int (*esc)(const char *, char *, size_t), char *out, size_t cap)
{
    char v[1024];
    size_t o = 0;

    for (; *t; t++) {
        if (*t == '%' && (t[1] == 's' || t[1] == 'u' || t[1] == 'd')) {
            if (esc(t[1] == 'd' ? dn : user, v, sizeof(v)) < 0 || o + strlen(v) >= cap)
                return -1;
            memcpy(out + o, v, strlen(v));
            o += strlen(v);
            t++;
        } else {
            if (o + 1 >= cap)
                return -1;
            out[o++] = *t;
        }
    }
    out[o] = '\0';
    return 0;
}

static LDAP *connect_to(const struct directory *d, struct dir_answer *a)
{
    LDAP *ld = NULL;
    int rc, v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
    struct timeval tv = {d->timeout_ms / 1000, (d->timeout_ms % 1000) * 1000};

    if ((rc = ldap_initialize(&ld, d->uri)) != LDAP_SUCCESS) {
        why_ldap(a, d, "ldap_initialize", NULL, rc);
        return NULL;
    }
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    if (d->ca)
        ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, d->ca);
    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
    if (d->starttls && (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
        why_ldap(a, d, "StartTLS", ld, rc);
        ldap_unbind_ext_s(ld, NULL, NULL);
        return NULL;
    }
    return ld;
}

static int bind_as(LDAP *ld, const char *dn, const char *password)
{
    struct berval cred = {strlen(password), (char *)password};

    if (!cred.bv_len) /* an unauthenticated bind would "succeed" (RFC 4513 5.1.2) */
        return LDAP_INAPPROPRIATE_AUTH;
    return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

static int search(const struct directory *d, LDAP *ld, const char *base, int scope,
                  const char *filter, char **attrs, int limit, LDAPMessage **res)
{
    struct timeval tv = {d->timeout_ms / 1000, (d->timeout_ms % 1000) * 1000};

    *res = NULL;
    return ldap_search_ext_s(ld, base, scope, filter, attrs, 0, NULL, NULL, &tv, limit, res);
}

/* The user's DN: from bind_dn, or searched for (as the search account, or
 * anonymously).  1 found, 0 no such user (a->result DIR_BAD), -1 down. */
static int find_dn(const struct directory *d, LDAP *ld, const char *user, char *dn, size_t cap,
                   struct dir_answer *a)
{
    char filter[1024];
    char *attrs[] = {LDAP_NO_ATTRS, NULL}, *found;
    LDAPMessage *res;
    int rc, n;

    if (d->bind_dn) {
        if (expand(d->bind_dn, user, "", directory_dn_escape, dn, cap) < 0)
            goto too_long;
        return 1;
    }
    if (expand(d->user_filter, user, "", directory_filter_escape, filter, sizeof(filter)) < 0)
        goto too_long;
    if (d->search_dn && (rc = bind_as(ld, d->search_dn, d->search_password)) != LDAP_SUCCESS) {
        why_ldap(a, d, "bind as search_dn", ld, rc);
        return -1;
    }
    rc = search(d, ld, d->base, LDAP_SCOPE_SUBTREE, filter, attrs, 2, &res);
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
        why_ldap(a, d, "search for the user", ld, rc);
        ldap_msgfree(res);
        return -1;
    }
    n = ldap_count_entries(ld, res);
    if (n != 1) {
        ldap_msgfree(res);
        gh_fmt(a->why, sizeof(a->why), n ? "the user filter finds several entries"
                                         : "no such user");
        a->result = DIR_BAD;
        return 0;
    }
    found = ldap_get_dn(ld, ldap_first_entry(ld, res));
    gh_fmt(dn, cap, "%s", found ? found : "");
    ldap_memfree(found);
    ldap_msgfree(res);
    return dn[0] != '\0';
too_long:
    a->result = DIR_BAD;
    gh_fmt(a->why, sizeof(a->why), "user name too long");
    return 0;
}

/* Appends a group name to a->groups (NUL-separated, an empty name last). */
static void add_group(struct dir_answer *a, const char *name, size_t len)
{
    size_t used = 0;

    while (a->groups[used])
        used += strlen(a->groups + used) + 1;
    if (!len || used + len + 2 > sizeof(a->groups))
        return;
    memcpy(a->groups + used, name, len);
    a->groups[used + len] = '\0';
    a->groups[used + len + 1] = '\0';
}

/* A group named by its DN: the value of its first RDN (cn=staff,... is "staff"). */
static void add_group_dn(struct dir_answer *a, const char *dn)
{
    LDAPDN parsed = NULL;

    if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAP) == LDAP_SUCCESS && parsed && parsed[0] &&
        parsed[0][0])
        add_group(a, parsed[0][0]->la_value.bv_val, parsed[0][0]->la_value.bv_len);
    ldap_dnfree(parsed);
}

/* Each value of attr in each entry of res, through fn. */
static void each_value(LDAP *ld, LDAPMessage *res, const char *attr, int as_dn,
                       struct dir_answer *a)
{
    for (LDAPMessage *e = ldap_first_entry(ld, res); e; e = ldap_next_entry(ld, e)) {
        struct berval **v = ldap_get_values_len(ld, e, attr);
        for (int i = 0; v && v[i]; i++) {
            if (as_dn)
                add_group_dn(a, v[i]->bv_val);
            else
                add_group(a, v[i]->bv_val, v[i]->bv_len);
        }
        ldap_value_free_len(v);
    }
}

/* The user's groups, read bound as the user (by name: as the search
 * account, or anonymously): the group attribute of its
 * entry, then the group filter's entries' cn.  0, or -1 down. */
static int read_groups(const struct directory *d, LDAP *ld, const char *user, const char *dn,
                       struct dir_answer *a)
{
    char filter[2048];
    char *gattrs[] = {d->group_attr, NULL}, *cn[] = {"cn", NULL};
    LDAPMessage *res;
    int rc;

    if (d->group_attr[0]) {
        rc = search(d, ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", gattrs, 1, &res);
        if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
            why_ldap(a, d, "reading the user's groups", ld, rc);
            ldap_msgfree(res);
            return -1;
        }
        each_value(ld, res, d->group_attr, 1, a);
        ldap_msgfree(res);
    }
    if (!d->group_filter[0])
        return 0;
    if (expand(d->group_filter, user, dn, directory_filter_escape, filter, sizeof(filter)) < 0)
        return 0;
    rc = search(d, ld, d->group_base, LDAP_SCOPE_SUBTREE, filter, cn, 0, &res);
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
        why_ldap(a, d, "searching for the user's groups", ld, rc);
        ldap_msgfree(res);
        return -1;
    }
    each_value(ld, res, "cn", 0, a);
    ldap_msgfree(res);
    return 0;
}

/* Whether the entry dn can be read (bound as we are).  1 yes, 0 no such
 * user (a->result DIR_BAD), -1 down. */
static int entry_exists(const struct directory *d, LDAP *ld, const char *dn,
                        struct dir_answer *a)
{
    char *attrs[] = {LDAP_NO_ATTRS, NULL};
    LDAPMessage *res;
    int rc = search(d, ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1, &res), n;

    if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
        why_ldap(a, d, "reading the user's entry", ld, rc);
        ldap_msgfree(res);
        return -1;
    }
    n = rc == LDAP_SUCCESS ? ldap_count_entries(ld, res) : 0;
    ldap_msgfree(res);
    if (n != 1) {
        a->result = DIR_BAD;
        gh_fmt(a->why, sizeof(a->why), "no such user");
        return 0;
    }
    return 1;
}

/* A user's groups by name: bound as the search account (find_dn binds as
 * it when it searches) or anonymously, never as the user. */
static void lookup_by_name(const struct directory *d, LDAP *ld, const char *user,
                           struct dir_answer *a)
{
    char dn[1024];
    int rc;

    if (d->bind_dn && d->search_dn &&
        (rc = bind_as(ld, d->search_dn, d->search_password)) != LDAP_SUCCESS) {
        why_ldap(a, d, "bind as search_dn", ld, rc);
        return;
    }
    if (find_dn(d, ld, user, dn, sizeof(dn), a) <= 0)
        return;
    if (d->bind_dn && entry_exists(d, ld, dn, a) <= 0)
        return;
    if (read_groups(d, ld, user, dn, a) == 0)
        a->result = DIR_OK;
}

void directory_lookup(const struct directory *d, const char *user, const char *password,
                      struct dir_answer *a)
{
    char dn[1024];
    LDAP *ld;
    int rc;

    memset(a, 0, sizeof(*a));
    a->result = DIR_DOWN;
    if (password && !*password) {
        a->result = DIR_BAD;
        gh_fmt(a->why, sizeof(a->why), "empty password");
        return;
    }
    if (!(ld = connect_to(d, a)))
        return;
    if (!password) {
        lookup_by_name(d, ld, user, a);
        goto out;
    }
    if ((rc = find_dn(d, ld, user, dn, sizeof(dn), a)) <= 0)
        goto out;
    rc = bind_as(ld, dn, password);
    if (rc == LDAP_INVALID_CREDENTIALS) {
        a->result = DIR_BAD;
        gh_fmt(a->why, sizeof(a->why), "the directory refused the password");
        goto out;
    }
    if (rc != LDAP_SUCCESS) {
        why_ldap(a, d, "bind", ld, rc);
        goto out;
    }
    if (read_groups(d, ld, user, dn, a) == 0)
        a->result = DIR_OK;
out:
    ldap_unbind_ext_s(ld, NULL, NULL);
}

/* ---- the pool ---- */

static void *pool_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct dir_answer *a = xmalloc(sizeof(*a));
        struct job *j;

        pthread_mutex_lock(&qlock);
        while (!head)
            pthread_cond_wait(&qcond, &qlock);
        j = head;
        head = j->next;
        if (!head)
            tail = NULL;
        pthread_mutex_unlock(&qlock);
        directory_lookup(j->d, j->user, j->by_name ? NULL : j->password, a);
        j->done(j->d, j->user, j->key, a);
        OPENSSL_cleanse(j->password, sizeof(j->password));
        directory_free(j->d);
        free(j);
        free(a);
    }
    return NULL;
}

static void pool_start(void)
{
    for (int i = 0; i < POOL_THREADS; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, pool_main, NULL) == 0)
            pthread_detach(t);
        else
            log_error("directory: cannot start a lookup thread");
    }
}

void directory_submit(struct directory *d, const char *user, const char *password,
                      const unsigned char key[32],
                      void (*done)(const struct directory *d, const char *user,
                                   const unsigned char key[32], const struct dir_answer *a))
{
    struct job *j = xcalloc(1, sizeof(*j));

    pthread_once(&pool_once, pool_start);
    directory_ref(d);
    j->d = d;
    gh_fmt(j->user, sizeof(j->user), "%s", user);
    j->by_name = !password;
    gh_fmt(j->password, sizeof(j->password), "%s", password ? password : "");
    memcpy(j->key, key, 32);
    j->done = done;
    pthread_mutex_lock(&qlock);
    if (tail)
        tail->next = j;
    else
        head = j;
    tail = j;
    pthread_cond_signal(&qcond);
    pthread_mutex_unlock(&qlock);
}
