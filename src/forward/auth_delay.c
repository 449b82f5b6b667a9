/* auth_delay.c — failed logins counted by address, by user name and by the
 * pair (see auth_delay.h).  Owns three fixed tables shared by the workers,
 * each a set of 4-way buckets under striped locks; no lock is held across
 * two tables.  Names are kept only as digests. */
#include "auth_delay.h"
#include "fleet.h"
#include "log.h"
#include "util.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define WAYS 4
#define LOCKS 64
#define FORGET_MS (10 * 60 * 1000) /* a count not added to for this long is dropped */

struct entry {
    unsigned char key[16]; /* the address, or a digest naming a user or a pair */
    uint32_t count;
    uint64_t last; /* the last failure (ms), 0 for a free way */
};

struct table {
    struct entry *e;
    unsigned nbuckets;
    pthread_mutex_t locks[LOCKS];
};

/* 4,096 addresses, 4,096 names and 8,192 pairs: 512 KB in all, whatever
 * the attack. */
static struct entry addr_e[1024 * WAYS], user_e[1024 * WAYS], pair_e[2048 * WAYS];
static struct table by_addr = {.e = addr_e, .nbuckets = 1024};
static struct table by_user = {.e = user_e, .nbuckets = 1024};
static struct table by_pair = {.e = pair_e, .nbuckets = 2048};

static unsigned char salt[16];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
    struct table *t[] = {&by_addr, &by_user, &by_pair};

    for (unsigned i = 0; i < 3; i++)
        for (unsigned k = 0; k < LOCKS; k++)
            pthread_mutex_init(&t[i]->locks[k], NULL);
    /* a secret salt: nobody can choose names or addresses that crowd one bucket */
    if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt) &&
        RAND_bytes(salt, (int)sizeof(salt)) != 1)
        log_fatal("cannot draw random bytes for the login failure tables");
}

static unsigned bucket_of(const struct table *t, const unsigned char *key)
{
    uint64_t h;

    memcpy(&h, salt, sizeof(h));
    for (unsigned i = 0; i < 16; i++)
        h = (h ^ (key[i] ^ salt[8 + (i & 7)])) * 0x100000001b3ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return (unsigned)(h % t->nbuckets);
}

static int live(const struct entry *e, uint64_t now)
{
    return e->last && e->last + FORGET_MS >= now; /* never now - last: last may be later */
}

enum op { ADD, TAKE, PEEK };

/* ADD: one more failure for key (creating its entry in a free way, or in
 * place of the one with the fewest failures, the oldest among equals: a
 * flood of one-off names cannot wash out a count that an attack keeps
 * growing); returns the count after.  TAKE: subtracts up to n;
 * returns what was taken.  PEEK: returns the count. */
static uint32_t update(struct table *t, const unsigned char *key, enum op op, uint32_t n)
{
    unsigned b = bucket_of(t, key);
    struct entry *e = &t->e[b * WAYS], *hit = NULL, *victim = e;
    pthread_mutex_t *m = &t->locks[b % LOCKS];
    uint64_t now;
    uint32_t out = 0;

    pthread_mutex_lock(m);
    now = gh_now_ms(); /* under the lock: no other thread's failure is later */
    for (unsigned w = 0; w < WAYS; w++) {
        if (!live(&e[w], now))
            e[w].last = 0, e[w].count = 0;
        else if (memcmp(e[w].key, key, 16) == 0)
            hit = &e[w];
        if (e[w].count < victim->count || (e[w].count == victim->count && e[w].last < victim->last))
            victim = &e[w];
    }
    if (op == ADD) {
        if (!hit) {
            hit = victim;
            memcpy(hit->key, key, 16);
            hit->count = 0;
        }
        if (hit->count < UINT32_MAX)
            hit->count++;
        hit->last = now;
        out = hit->count;
    } else if (hit) {
        out = op == PEEK || n > hit->count ? hit->count : n;
        if (op == TAKE)
            hit->count -= out;
    }
    pthread_mutex_unlock(m);
    return out;
}

static void addr_key(const struct sockaddr_storage *c, unsigned char *key)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(key, 0, 16);
    if (c->ss_family == AF_INET) { /* as ::ffff:a.b.c.d, so that it is one address */
        memcpy(key, mapped, sizeof(mapped));
        memcpy(key + 12, &((const struct sockaddr_in *)c)->sin_addr, 4);
    } else if (c->ss_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)c)->sin6_addr, 16);
    }
}

/* A digest naming the user (addr NULL) or the address and user pair. */
static void name_key(const unsigned char *addr, const char *user, unsigned char *key)
{
    unsigned char buf[16 + 1 + 16 + 512], md[EVP_MAX_MD_SIZE];
    size_t n = 0, ul = strlen(user);
    unsigned mdlen = 0;

    memcpy(buf, salt, 16);
    n = 16;
    buf[n++] = addr ? 'p' : 'u';
    if (addr) {
        memcpy(buf + n, addr, 16);
        n += 16;
    }
    if (ul > sizeof(buf) - n)
        ul = sizeof(buf) - n;
    memcpy(buf + n, user, ul);
    n += ul;
    EVP_Digest(buf, n, md, &mdlen, EVP_sha256(), NULL);
    memcpy(key, md, 16);
}

uint32_t auth_delay_for(uint32_t failures)
{
    if (failures <= 3)
        return 0;
    return failures >= 9 ? 8000 : 250u << (failures - 4);
}

/* ---- the fleet's share (fleet.h) ----
 * A failure is announced as "authfail ADDR USER", and a good login that
 * forgot failures as "authok ADDR USER" (ADDR the 16 bytes of addr_key in
 * hex, USER the rest), so every node counts every node's failures and the
 * hold grows on all of them alike.  A good login with no failures to
 * forget, the common case, sends nothing. */

static void share(const char *kind, const unsigned char *addr, const char *user)
{
    const struct fleet_conf *fc = fleet_conf_here();
    char m[32 + 2 + 256];
    size_t n = 0;

    if (!fc || !fc->share_auth)
        return;
    for (int i = 0; i < 16; i++)
        n += gh_fmt(m + n, sizeof(m) - n, "%02x", addr[i]);
    n += gh_fmt(m + n, sizeof(m) - n, " %s", user);
    fleet_publish(kind, m, n);
}

/* The address and user of a message; 0, or -1 when it is not one. */
static int from_message(const char *msg, size_t len, unsigned char *addr, char *user, size_t cap)
{
    if (len < 33 || msg[32] != ' ' || len - 33 >= cap)
        return -1;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        char h[3] = {msg[2 * i], msg[2 * i + 1], 0};
        if (sscanf(h, "%2x", &v) != 1)
            return -1;
        addr[i] = (unsigned char)v;
    }
    memcpy(user, msg + 33, len - 33);
    user[len - 33] = '\0';
    return 0;
}

static uint32_t failed_at(const unsigned char *addr, const char *user,
                          struct auth_delay_counts *counts);
static uint32_t succeeded_at(const unsigned char *addr, const char *user);

static void on_fail(const char *msg, size_t len, uint64_t age_ms)
{
    (void)age_ms;
    unsigned char addr[16];
    char user[256];

    if (from_message(msg, len, addr, user, sizeof(user)) == 0)
        failed_at(addr, user, NULL);
}

static void on_ok(const char *msg, size_t len, uint64_t age_ms)
{
    (void)age_ms;
    unsigned char addr[16];
    char user[256];

    if (from_message(msg, len, addr, user, sizeof(user)) == 0)
        succeeded_at(addr, user);
}

void auth_delay_subscribe(void)
{
    fleet_subscribe("authfail", on_fail);
    fleet_subscribe("authok", on_ok);
}

uint32_t auth_delay_failed(const struct sockaddr_storage *client, const char *user,
                           struct auth_delay_counts *counts)
{
    unsigned char addr[16];
    uint32_t hold;

    pthread_once(&init_once, init);
    addr_key(client, addr);
    hold = failed_at(addr, user, counts);
    share("authfail", addr, user);
    return hold;
}

void auth_delay_succeeded(const struct sockaddr_storage *client, const char *user)
{
    unsigned char addr[16];

    pthread_once(&init_once, init);
    addr_key(client, addr);
    if (succeeded_at(addr, user))
        share("authok", addr, user);
}

static uint32_t failed_at(const unsigned char *addr, const char *user,
                          struct auth_delay_counts *counts)
{
    unsigned char key[16];
    struct auth_delay_counts c = {0, 0};

    pthread_once(&init_once, init);
    c.address = update(&by_addr, addr, ADD, 0);
    if (user[0]) {
        name_key(NULL, user, key);
        c.user = update(&by_user, key, ADD, 0);
        name_key(addr, user, key);
        update(&by_pair, key, ADD, 0);
    }
    if (counts)
        *counts = c;
    return auth_delay_for(c.address > c.user ? c.address : c.user);
}

/* Forgets addr's failures for user; returns how many it forgot. */
static uint32_t succeeded_at(const unsigned char *addr, const char *user)
{
    unsigned char key[16];
    uint32_t mine;

    pthread_once(&init_once, init);
    /* the common case, an address with no failures: nothing to forget */
    if (update(&by_addr, addr, PEEK, 0) == 0)
        return 0;
    name_key(addr, user, key);
    mine = update(&by_pair, key, TAKE, UINT32_MAX);
    if (!mine)
        return 0;
    update(&by_addr, addr, TAKE, mine);
    name_key(NULL, user, key);
    update(&by_user, key, TAKE, mine);
    return mine;
}
