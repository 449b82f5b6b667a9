/* quota.c — daily volume quotas (see quota.h).  Owns one store per file,
 * made on first use and kept for the process's life (a reload finds the
 * same store, so nothing is read twice or lost): the users' counts of the
 * day under a lock, and the file, a journal of "DAY USER BYTES" lines
 * appended as exchanges end.  At start-up the journal is read, today's
 * lines summed, and the file rewritten with one line a user. */
#include "quota.h"
#include "config.h"
#include "fleet.h"
#include "keytab.h"
#include "protect.h"
#include "log.h"
#include "pstats.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS 4096
#define USER_MAX 128

static const char *const keys[] = {"daily", "file", NULL};

struct quser {
    struct quser *next;
    uint32_t day;
    uint64_t bytes;
    char name[USER_MAX];
};

struct qstore {
    struct qstore *next;
    char *path;
    int fd;
    pthread_mutex_t lock;
    struct quser *b[BUCKETS];
};

static struct qstore *stores;
static pthread_mutex_t stores_lock = PTHREAD_MUTEX_INITIALIZER;

uint32_t quota_today(void)
{
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    return (uint32_t)((tm.tm_year + 1900) * 1000 + tm.tm_yday);
}

static unsigned bucket(const char *s)
{
    unsigned h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % BUCKETS;
}

/* The user's entry (made when absent), under the store's lock; its day
 * starts over when the day changed. */
static struct quser *find(struct qstore *s, const char *user, uint32_t today)
{
    unsigned i = bucket(user);
    struct quser *u;

    for (u = s->b[i]; u; u = u->next)
        if (strcmp(u->name, user) == 0)
            break;
    if (!u) {
        u = xcalloc(1, sizeof(*u));
        gh_fmt(u->name, sizeof(u->name), "%s", user);
        u->next = s->b[i];
        s->b[i] = u;
    }
    if (u->day != today) {
        u->day = today;
        u->bytes = 0;
    }
    return u;
}

/* A user name as the journal keeps it: one word, at most USER_MAX - 1. */
static int plain(const char *user)
{
    size_t n = strlen(user);

    return n > 0 && n < USER_MAX && !strpbrk(user, " \t\r\n");
}

/* Reads the journal; rewrites it with today's totals.  Returns 0 or -1
 * with a message. */
static int replay(struct qstore *s, char *msg, size_t cap)
{
    FILE *f = fopen(s->path, "r");
    uint32_t today = quota_today(), day;
    unsigned long long bytes;
    char user[USER_MAX], tmp[4096], line[512];
    long no = 0;
    int fd;

    if (!f && errno != ENOENT) {
        gh_fmt(msg, cap, "%s: %s", s->path, strerror(errno));
        return -1;
    }
    while (f && fgets(line, sizeof(line), f)) {
        no++;
        if (sscanf(line, "%u %127s %llu", &day, user, &bytes) != 3) {
            log_warn("%s:%ld: not \"DAY USER BYTES\": skipped", s->path, no);
            continue;
        }
        if (day == today)
            find(s, user, today)->bytes += bytes;
    }
    if (f)
        fclose(f);
    gh_fmt(tmp, sizeof(tmp), "%s.new", s->path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0) {
        gh_fmt(msg, cap, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    for (unsigned i = 0; i < BUCKETS; i++)
        for (struct quser *u = s->b[i]; u; u = u->next)
            if (u->day == today && u->bytes) {
                int n = snprintf(line, sizeof(line), "%u %s %llu\n", today, u->name,
                                 (unsigned long long)u->bytes);
                if (write(fd, line, (size_t)n) != n)
                    log_warn("%s: %s", tmp, strerror(errno));
            }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, s->path) < 0) {
        gh_fmt(msg, cap, "%s: %s", s->path, strerror(errno));
        return -1;
    }
    s->fd = open(s->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (s->fd < 0) {
        gh_fmt(msg, cap, "%s: %s", s->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The store of path, made and read on first use; NULL with msg. */
static struct qstore *store(const char *path, char *msg, size_t cap)
{
    struct qstore *s;

    pthread_mutex_lock(&stores_lock);
    for (s = stores; s && strcmp(s->path, path) != 0; s = s->next)
        ;
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        s->path = xstrdup(path);
        s->fd = -1;
        pthread_mutex_init(&s->lock, NULL);
        if (replay(s, msg, cap) < 0) {
            for (unsigned i = 0; i < BUCKETS; i++)
                while (s->b[i]) {
                    struct quser *u = s->b[i];
                    s->b[i] = u->next;
                    free(u);
                }
            free(s->path);
            free(s);
            s = NULL;
        } else {
            s->next = stores;
            stores = s;
        }
    }
    pthread_mutex_unlock(&stores_lock);
    return s;
}

int quota_load(const struct gh_config *c, const char *name, const config_setting_t *g,
               struct quota **out, char *err, size_t errlen)
{
    long daily = 0;
    const char *file = NULL;
    char msg[512], *path;
    struct quota *q;

    *out = NULL;
    if (!g)
        return 0;
    if (config_check_group(g, err, errlen, "'quota' must be a group { daily = 500000000; file = "
                                           "\"/var/lib/gatehouse/quota\"; }") < 0 ||
        config_check_keys(g, keys, NULL, err, errlen) < 0 ||
        config_get_int(g, "daily", 1, 1L << 50, &daily, err, errlen) < 0 ||
        config_get_string(g, "file", &file, err, errlen) < 0)
        return -1;
    if (!daily || !file) {
        config_error(err, errlen, g, "'quota' needs 'daily' (bytes a user may move a day) and "
                                     "'file' (where the day's counts are kept)");
        return -1;
    }
    path = config_path(c, file);
    q = xcalloc(1, sizeof(*q));
    q->daily = (uint64_t)daily;
    q->st = store(path, msg, sizeof(msg));
    free(path);
    if (!q->st) {
        free(q);
        config_error(err, errlen, config_setting_get_member(g, "file"), "%s", msg);
        return -1;
    }
    q->ps = pstats_get(PS_QUOTA, name);
    q->name = xstrdup(name);
    q->fleet_ns = xmalloc(strlen(name) + 8);
    memcpy(q->fleet_ns, "fleetq:", 7);
    memcpy(q->fleet_ns + 7, name, strlen(name) + 1);
    *out = q;
    return 0;
}

void quota_free(struct quota *q)
{
    if (!q)
        return;
    free(q->name);
    free(q->fleet_ns);
    free(q); /* the store lives on for the next generation */
}

/* ---- the fleet's share ----
 * Each charge is also added to one counter per place, day and user in
 * Redis ("q:PLACE:DAY:<SHA-256 of the user, 128 bits>", kept two days),
 * and its answer, the fleet's total, is kept in the key table beside the
 * local count (v[0] the day, v[1] the total).  So a user over the quota
 * on the fleet is refused by a node from that node's next charge for the
 * user on: each node may let one more exchange through. */

static int sharing(void)
{
    const struct fleet_conf *fc = fleet_conf_here();
    return fc && fc->share_quotas;
}

struct total {
    uint32_t day;
    long long n;
};

static long keep_total(uint64_t v[2], int fresh, void *arg)
{
    struct total *t = arg;

    (void)fresh;
    if (v[0] != t->day || (uint64_t)t->n > v[1]) {
        v[0] = t->day;
        v[1] = (uint64_t)t->n;
    }
    return 0;
}

static long read_total(uint64_t v[2], int fresh, void *arg)
{
    const struct total *t = arg;

    (void)fresh;
    return v[0] == t->day ? (long)GH_MIN(v[1], (uint64_t)LONG_MAX) : 0;
}

struct charge {
    uint64_t key;
    uint32_t day;
};

static void charged(void *arg, int ok, long long total)
{
    struct charge *c = arg;
    struct total t = {c->day, total};

    if (ok && total > 0)
        keytab_with(protect_table(), c->key, keep_total, &t, 0);
    free(c);
}

static void fleet_charge(const struct quota *q, const char *user, uint64_t bytes, uint32_t day)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    char key[256], hex[33];
    struct charge *c;

    if (!sharing())
        return;
    EVP_Digest(user, strlen(user), md, NULL, EVP_sha256(), NULL);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    gh_fmt(key, sizeof(key), "q:%s:%u:%s", q->name, day, hex);
    c = xmalloc(sizeof(*c));
    c->key = keytab_hash(q->fleet_ns, user, strlen(user));
    c->day = day;
    if (fleet_incrby(key, (uint32_t)GH_MIN(bytes, UINT32_MAX), 2 * 86400 * 1000ull, charged, c) < 0) {
        fleet_note_fallback();
        free(c);
    }
}

static uint64_t fleet_used(const struct quota *q, const char *user)
{
    struct total t = {quota_today(), 0};

    if (!sharing())
        return 0;
    return (uint64_t)keytab_peek(protect_table(), keytab_hash(q->fleet_ns, user, strlen(user)),
                                 read_total, &t, 0);
}

uint64_t quota_used(const struct quota *q, const char *user)
{
    uint64_t n;

    if (!plain(user))
        return 0;
    pthread_mutex_lock(&q->st->lock);
    n = find(q->st, user, quota_today())->bytes;
    pthread_mutex_unlock(&q->st->lock);
    return n;
}

int quota_over(const struct quota *q, const char *user)
{
    if (quota_used(q, user) < q->daily && (!plain(user) || fleet_used(q, user) < q->daily))
        return 0;
    pstats_add(q->ps, 0, 1);
    return 1;
}

void quota_charge(const struct quota *q, const char *user, uint64_t bytes)
{
    struct qstore *s = q->st;
    uint32_t today = quota_today();
    char line[USER_MAX + 48];
    int n;

    if (!bytes || !plain(user))
        return;
    pthread_mutex_lock(&s->lock);
    find(s, user, today)->bytes += bytes;
    n = snprintf(line, sizeof(line), "%u %s %llu\n", today, user, (unsigned long long)bytes);
    if (s->fd >= 0 && write(s->fd, line, (size_t)n) != n)
        log_warn("%s: %s", s->path, strerror(errno));
    pthread_mutex_unlock(&s->lock);
    fleet_charge(q, user, bytes, today);
}
