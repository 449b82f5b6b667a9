/* cache_store.c — the process's cache store and its table of fills in
 * progress (see cache_store.h).  The memory tier's index and eviction are
 * cache_s3fifo.c's; this file owns what an object is and how keys file it. */
#include "cache_store.h"
#include "cache.h"
#include "cache_disk.h"
#include "cache_key.h"
#include "cache_s3fifo.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;
static struct s3fifo *_Atomic mem; /* NULL until a configuration enables the cache */
static _Atomic uint64_t max_memory_object; /* a disk hit this small is read back into memory */

struct cache_ref {
    struct s3fifo *tier;
    struct s3fifo_entry *e;
};

/* ---- objects ---- */

struct cache_body *cache_body_new(size_t cap)
{
    struct cache_body *b = malloc(sizeof(*b) + cap);

    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = 0;
    b->path = NULL;
    b->off = 0;
    return b;
}

struct cache_body *cache_body_ref(struct cache_body *b)
{
    if (b)
        atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void cache_body_unref(struct cache_body *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        if (b->path) {
            unlink(b->path);
            free(b->path);
        }
        free(b);
    }
}

struct cache_obj *cache_obj_new(char *head, size_t head_len, const struct cache_meta *m,
                                struct cache_body *body)
{
    struct cache_obj *o = xmalloc(sizeof(*o));

    memset(o, 0, sizeof(*o));
    o->head = head;
    o->head_len = head_len;
    if (m)
        o->meta = *m;
    o->body = body;
    o->override_ttl = CACHE_UNSET;
    return o;
}

void cache_obj_free(struct cache_obj *o)
{
    if (!o)
        return;
    free(o->head);
    free(o->vary);
    free(o->recipe);
    cache_body_unref(o->body);
    free(o);
}

static void free_value(void *arg, void *value)
{
    (void)arg;
    cache_obj_free(value);
}

/* A stored head states the body's length, whatever framing it came in. */
void cache_store_fix_length(struct cache_obj *o)
{
    static const char cl[] = "content-length:";
    size_t need = o->head_len + 48;
    char *h;

    for (const char *p = strstr(o->head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, cl, sizeof(cl) - 1) == 0)
            return;
    h = xmalloc(need);
    memcpy(h, o->head, o->head_len - 2); /* without the blank line */
    o->head_len = o->head_len - 2 +
                  gh_fmt(h + o->head_len - 2, need - (o->head_len - 2), "Content-Length: %zu\r\n\r\n",
                         o->body->len);
    free(o->head);
    o->head = h;
}

/* ---- the store ---- */

void cache_store_configure(const struct cache_conf *c)
{
    struct s3fifo *m;

    if (!c->memory_bytes)
        return; /* a store made by an earlier generation stays, unused */
    atomic_store(&max_memory_object, c->max_object_bytes);
    pthread_mutex_lock(&setup_lock);
    if (c->disk_dir && c->disk_bytes)
        cache_disk_configure(c->disk_dir, c->disk_bytes);
    m = atomic_load(&mem);
    if (!m) {
        struct s3fifo_ops ops = {.free_value = free_value};
        atomic_store(&mem, s3fifo_new(c->memory_bytes, &ops));
    } else {
        s3fifo_set_limit(m, c->memory_bytes);
    }
    pthread_mutex_unlock(&setup_lock);
}

int cache_store_ready(void)
{
    return atomic_load_explicit(&mem, memory_order_acquire) != NULL;
}

static struct cache_ref *ref_new(struct s3fifo *tier, struct s3fifo_entry *e)
{
    struct cache_ref *r;

    if (!e)
        return NULL;
    r = xmalloc(sizeof(*r));
    r->tier = tier;
    r->e = e;
    return r;
}

struct cache_ref *cache_store_get(const char *key, size_t len)
{
    struct s3fifo *m = atomic_load_explicit(&mem, memory_order_acquire), *d;
    uint64_t hash = cache_key_hash(key, len);
    struct cache_ref *r;

    if (!m)
        return NULL;
    r = ref_new(m, s3fifo_lookup(m, hash, key, len));
    if (r || !(d = cache_disk_index()))
        return r;
    r = ref_new(d, s3fifo_lookup(d, hash, key, len));
    if (r) {
        const struct cache_obj *o = s3fifo_value(r->e);
        if (o->body && o->body->len <= atomic_load(&max_memory_object))
            cache_disk_promote(key, len, o); /* the next hits come from memory */
    }
    return r;
}

const struct cache_obj *cache_ref_obj(const struct cache_ref *r)
{
    return s3fifo_value(r->e);
}

void cache_ref_release(struct cache_ref *r)
{
    if (r) {
        s3fifo_release(r->tier, r->e);
        free(r);
    }
}

void cache_store_put_memory(const char *key, size_t len, struct cache_obj *o)
{
    struct s3fifo *m = atomic_load_explicit(&mem, memory_order_acquire);
    struct s3fifo_entry *e;
    uint64_t size = sizeof(*o) + o->head_len + len + (o->body ? o->body->len : 0) +
                    (o->vary ? strlen(o->vary) : 0) + (o->recipe ? strlen(o->recipe) : 0);

    if (!m) {
        cache_obj_free(o);
        return;
    }
    e = s3fifo_insert(m, cache_key_hash(key, len), key, len, o, size);
    if (e)
        s3fifo_release(m, e);
    else
        cache_obj_free(o); /* larger than the whole tier */
}

void cache_store_put(const char *key, size_t len, struct cache_obj *o)
{
    if (cache_disk_index() && (!o->body || !o->body->path))
        cache_disk_write(key, len, o);
    cache_store_put_memory(key, len, o);
}

struct prefix {
    const char *p;
    size_t len;
    int variants_of; /* match key itself and key "\n" ... only */
};

static int match_prefix(void *arg, const char *key, size_t keylen, void *value)
{
    const struct prefix *x = arg;

    (void)value;
    if (keylen < x->len || memcmp(key, x->p, x->len) != 0)
        return 0;
    return !x->variants_of || keylen == x->len || key[x->len] == '\n';
}

static size_t remove_in(struct s3fifo *t, const char *key, size_t len, int variants_of)
{
    struct prefix x = {key, len, variants_of};
    size_t n = 0;

    if (!t)
        return 0;
    if (variants_of)
        n = (size_t)s3fifo_remove(t, cache_key_hash(key, len), key, len);
    return n + s3fifo_remove_if(t, match_prefix, &x);
}

size_t cache_store_remove(const char *key, size_t len)
{
    size_t n = remove_in(atomic_load_explicit(&mem, memory_order_acquire), key, len, 1);
    size_t d = remove_in(cache_disk_index(), key, len, 1);

    return GH_MAX(n, d);
}

size_t cache_store_remove_prefix(const char *prefix, size_t len)
{
    size_t n = remove_in(atomic_load_explicit(&mem, memory_order_acquire), prefix, len, 0);
    size_t d = remove_in(cache_disk_index(), prefix, len, 0);

    return GH_MAX(n, d);
}

/* ---- fills in progress ---- */

#define FILL_BUCKETS 256
#define PASS_MS 1000 /* after a fetch that stored nothing, waiters fetch alone this long */

struct fill {
    struct fill *next;
    uint64_t hash;
    uint64_t pass_until; /* 0 while fetching; else the time the pass ends */
    size_t len;
    char key[];
};

static pthread_mutex_t fill_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fill *fills[FILL_BUCKETS];
static atomic_uint_fast64_t fill_count;

/* The entry for key in its bucket, with expired passes dropped on the way;
 * *link is where it hangs. */
static struct fill *fill_find(const char *key, size_t len, uint64_t hash, struct fill ***link)
{
    struct fill **pp = &fills[hash % FILL_BUCKETS];
    uint64_t now = gh_now_ms();

    while (*pp) {
        struct fill *f = *pp;
        if (f->pass_until && f->pass_until <= now) {
            *pp = f->next;
            free(f);
            continue;
        }
        if (f->hash == hash && f->len == len && memcmp(f->key, key, len) == 0) {
            *link = pp;
            return f;
        }
        pp = &f->next;
    }
    *link = pp;
    return NULL;
}

enum cache_claim cache_fill_claim(const char *key, size_t len)
{
    uint64_t hash = cache_key_hash(key, len);
    struct fill **link, *f;
    enum cache_claim rc;

    pthread_mutex_lock(&fill_lock);
    f = fill_find(key, len, hash, &link);
    if (f) {
        rc = f->pass_until ? CACHE_PASS : CACHE_BUSY;
    } else {
        f = xmalloc(sizeof(*f) + len);
        f->next = NULL;
        f->hash = hash;
        f->pass_until = 0;
        f->len = len;
        memcpy(f->key, key, len);
        *link = f;
        atomic_fetch_add_explicit(&fill_count, 1, memory_order_relaxed);
        rc = CACHE_CLAIMED;
    }
    pthread_mutex_unlock(&fill_lock);
    return rc;
}

void cache_fill_done(const char *key, size_t len, int stored)
{
    uint64_t hash = cache_key_hash(key, len);
    struct fill **link, *f;

    pthread_mutex_lock(&fill_lock);
    f = fill_find(key, len, hash, &link);
    if (f && !f->pass_until) {
        if (stored) {
            *link = f->next;
            free(f);
        } else {
            f->pass_until = gh_now_ms() + PASS_MS;
        }
    }
    pthread_mutex_unlock(&fill_lock);
}

void cache_store_stats(struct cache_store_stats *st)
{
    struct s3fifo *m = atomic_load_explicit(&mem, memory_order_acquire);
    struct s3fifo_stats s;

    memset(st, 0, sizeof(*st));
    st->fills = atomic_load_explicit(&fill_count, memory_order_relaxed);
    if (cache_disk_index()) {
        s3fifo_stats(cache_disk_index(), &s);
        st->disk_entries = s.entries;
        st->disk_bytes = s.bytes;
        st->disk_limit = s.limit;
    }
    if (!m)
        return;
    s3fifo_stats(m, &s);
    st->hits = s.hits;
    st->misses = s.misses;
    st->entries = s.entries;
    st->bytes = s.bytes;
    st->limit = s.limit;
}
