/* cache_disk.c — the disk tier (see cache_disk.h).
 *
 * A file holds one object: a fixed header, the object's cache_meta, its
 * key, stored head, Vary list (a marker's) and refetch recipe, then the
 * body.  Files are written under a temporary name and renamed, so a crash
 * leaves either a whole object or a "tmp-" file the next scan deletes. */
#include "cache_disk.h"
#include "cache_key.h"
#include "cache_store.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "GHCACHE1"
#define MAX_PENDING (64u << 20) /* bytes queued for writing; more are dropped */

struct disk_hdr {
    char magic[8];
    uint32_t meta_size; /* sizeof(struct cache_meta): another build's files are dropped */
    uint32_t keylen, headlen, varylen, recipelen, pad;
    int64_t override_ttl;
    uint64_t bodylen;
};

enum job_kind { J_WRITE, J_PROMOTE };

struct job {
    struct job *next;
    enum job_kind kind;
    struct cache_obj *o; /* a copy: head, vary, recipe; body referenced */
    size_t len;
    char key[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct job *first, *last;
static uint64_t pending;
static char *dir;
static struct s3fifo *_Atomic index_;
static atomic_int enabled;
static uint64_t seq;

struct s3fifo *cache_disk_index(void)
{
    return atomic_load(&enabled) ? atomic_load_explicit(&index_, memory_order_acquire) : NULL;
}

static void free_value(void *arg, void *value)
{
    (void)arg;
    cache_obj_free(value); /* the body's last reference unlinks the file */
}

static void turn_off(const char *what, const char *path)
{
    if (atomic_exchange(&enabled, 0))
        log_error("cache: disk tier off: %s %s: %s; serving from memory only", what, path,
                  strerror(errno));
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* Files an object read or written at path into the index. */
static void index_put(const char *key, size_t len, struct cache_obj *o, uint64_t fsize)
{
    struct s3fifo *ix = atomic_load(&index_);
    struct s3fifo_entry *e = s3fifo_insert(ix, cache_key_hash(key, len), key, len, o, fsize);

    if (e)
        s3fifo_release(ix, e);
    else
        cache_obj_free(o);
}

/* A disk body for bytes [off, off + len) of path (taken). */
static struct cache_body *disk_body(char *path, uint64_t off, uint64_t len)
{
    struct cache_body *b = cache_body_new(0);

    b->path = path;
    b->off = off;
    b->len = (size_t)len;
    return b;
}

static void do_write(struct job *j)
{
    const struct cache_obj *o = j->o;
    struct disk_hdr h = {.meta_size = sizeof(struct cache_meta)};
    size_t blen = o->body ? o->body->len : 0;
    char tmp[4096], *path;
    uint64_t off, n;
    int fd;

    memcpy(h.magic, MAGIC, 8);
    h.keylen = (uint32_t)j->len;
    h.headlen = (uint32_t)o->head_len;
    h.varylen = (uint32_t)slen(o->vary);
    h.recipelen = (uint32_t)slen(o->recipe);
    h.override_ttl = o->override_ttl;
    h.bodylen = blen;
    pthread_mutex_lock(&lock);
    n = ++seq;
    pthread_mutex_unlock(&lock);
    snprintf(tmp, sizeof(tmp), "%s/tmp-%llu", dir, (unsigned long long)n);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        turn_off("cannot create", tmp);
        return;
    }
    if (write_all(fd, &h, sizeof(h)) < 0 || write_all(fd, &o->meta, sizeof(o->meta)) < 0 ||
        write_all(fd, j->key, j->len) < 0 || write_all(fd, o->head, o->head_len) < 0 ||
        write_all(fd, o->vary ? o->vary : "", h.varylen) < 0 ||
        write_all(fd, o->recipe ? o->recipe : "", h.recipelen) < 0 ||
        write_all(fd, o->body ? o->body->data : "", blen) < 0 || close(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        turn_off("cannot write", tmp);
        return;
    }
    path = xmalloc(strlen(dir) + 40);
    sprintf(path, "%s/%016llx-%llu", dir, (unsigned long long)cache_key_hash(j->key, j->len),
            (unsigned long long)n);
    if (rename(tmp, path) < 0) {
        unlink(tmp);
        turn_off("cannot rename", path);
        free(path);
        return;
    }
    off = sizeof(h) + sizeof(o->meta) + j->len + o->head_len + h.varylen + h.recipelen;
    struct cache_obj *d = cache_obj_new(xmalloc(o->head_len + 1), o->head_len, &o->meta,
                                        disk_body(path, off, blen));
    memcpy(d->head, o->head, o->head_len);
    d->head[o->head_len] = '\0';
    d->vary = o->vary ? xstrdup(o->vary) : NULL;
    d->recipe = o->recipe ? xstrdup(o->recipe) : NULL;
    d->override_ttl = o->override_ttl;
    index_put(j->key, j->len, d, off + blen);
}

static void do_promote(struct job *j)
{
    const struct cache_obj *o = j->o;
    struct cache_body *b = cache_body_new(o->body->len);
    int fd = open(o->body->path, O_RDONLY | O_CLOEXEC);
    ssize_t n = -1;

    if (b && fd >= 0)
        n = pread(fd, b->data, o->body->len, (off_t)o->body->off);
    if (fd >= 0)
        close(fd);
    if (!b || n != (ssize_t)o->body->len) {
        cache_body_unref(b);
        return;
    }
    b->len = o->body->len;
    struct cache_obj *m = cache_obj_new(xstrdup(o->head), o->head_len, &o->meta, b);
    m->vary = o->vary ? xstrdup(o->vary) : NULL;
    m->recipe = o->recipe ? xstrdup(o->recipe) : NULL;
    m->override_ttl = o->override_ttl;
    cache_store_put_memory(j->key, j->len, m);
}

/* Reads one file's header, key and object into the index; deletes what is
 * not a whole object of this build. */
static void scan_one(const char *name)
{
    struct disk_hdr h;
    struct cache_meta meta;
    struct stat st;
    char *path = xmalloc(strlen(dir) + strlen(name) + 2), *key = NULL, *head = NULL, *vary = NULL,
         *recipe = NULL;
    int fd;
    unsigned long long n = 0;
    uint64_t off;

    sprintf(path, "%s/%s", dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        free(path);
        return;
    }
    if (strncmp(name, "tmp-", 4) == 0 || read(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) ||
        memcmp(h.magic, MAGIC, 8) != 0 || h.meta_size != sizeof(meta) || h.keylen == 0 ||
        h.keylen > 16384 || h.headlen > 65536 || h.varylen > 4096 || h.recipelen > 65536 ||
        read(fd, &meta, sizeof(meta)) != (ssize_t)sizeof(meta))
        goto drop;
    off = sizeof(h) + sizeof(meta) + h.keylen + h.headlen + h.varylen + h.recipelen;
    if ((uint64_t)st.st_size != off + h.bodylen)
        goto drop;
    key = xmalloc(h.keylen);
    head = xmalloc(h.headlen + 1);
    vary = xmalloc(h.varylen + 1);
    recipe = xmalloc(h.recipelen + 1);
    if (read(fd, key, h.keylen) != (ssize_t)h.keylen ||
        read(fd, head, h.headlen) != (ssize_t)h.headlen ||
        read(fd, vary, h.varylen) != (ssize_t)h.varylen ||
        read(fd, recipe, h.recipelen) != (ssize_t)h.recipelen)
        goto drop;
    head[h.headlen] = vary[h.varylen] = recipe[h.recipelen] = '\0';
    close(fd);
    sscanf(name, "%*16[0-9a-f]-%llu", &n);
    pthread_mutex_lock(&lock);
    if (n > seq)
        seq = n;
    pthread_mutex_unlock(&lock);
    struct cache_obj *o = cache_obj_new(head, h.headlen, &meta, disk_body(path, off, h.bodylen));
    o->vary = h.varylen ? vary : (free(vary), NULL);
    o->recipe = h.recipelen ? recipe : (free(recipe), NULL);
    o->override_ttl = h.override_ttl;
    index_put(key, h.keylen, o, (uint64_t)st.st_size);
    free(key);
    return;
drop:
    close(fd);
    unlink(path);
    free(path);
    free(key);
    free(head);
    free(vary);
    free(recipe);
}

static void scan(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned n = 0;

    if (!d) {
        turn_off("cannot open", dir);
        return;
    }
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            scan_one(e->d_name);
            n++;
        }
    closedir(d);
    log_info("cache: disk tier %s: %u files scanned", dir, n);
}

static void *run(void *arg)
{
    (void)arg;
    scan();
    for (;;) {
        struct job *j;

        pthread_mutex_lock(&lock);
        while (!first)
            pthread_cond_wait(&wake, &lock);
        j = first;
        first = j->next;
        if (!first)
            last = NULL;
        if (j->kind == J_WRITE && j->o->body)
            pending -= j->o->body->len;
        pthread_mutex_unlock(&lock);
        if (atomic_load(&enabled)) {
            if (j->kind == J_WRITE)
                do_write(j);
            else
                do_promote(j);
        }
        cache_obj_free(j->o);
        free(j);
    }
    return NULL;
}

void cache_disk_prepare(const char *path, unsigned uid, unsigned gid)
{
    struct stat st;

    if (mkdir(path, 0750) < 0 && errno != EEXIST) {
        log_error("cache: cannot create %s: %s (the disk tier will be off)", path, strerror(errno));
        return;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 && uid != 0 &&
        chown(path, uid, gid) < 0)
        log_error("cache: cannot hand %s to uid %u: %s (the disk tier will be off)", path, uid,
                  strerror(errno));
}

void cache_disk_configure(const char *path, uint64_t limit)
{
    struct s3fifo *ix = atomic_load(&index_);
    pthread_t t;

    if (ix) {
        s3fifo_set_limit(ix, limit);
        return;
    }
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        log_error("cache: disk tier off: cannot create %s: %s", path, strerror(errno));
        return;
    }
    if (access(path, W_OK | X_OK) < 0) {
        log_error("cache: disk tier off: %s is not writable: %s", path, strerror(errno));
        return;
    }
    struct s3fifo_ops ops = {.free_value = free_value};
    dir = xstrdup(path);
    atomic_store(&index_, s3fifo_new(limit, &ops));
    atomic_store(&enabled, 1);
    if (pthread_create(&t, NULL, run, NULL) != 0) {
        atomic_store(&enabled, 0);
        return;
    }
    pthread_detach(t);
}

static void enqueue(enum job_kind kind, const char *key, size_t len, const struct cache_obj *o)
{
    struct job *j;
    size_t blen = o->body ? o->body->len : 0;

    if (!atomic_load(&enabled))
        return;
    pthread_mutex_lock(&lock);
    if (kind == J_WRITE && pending + blen > MAX_PENDING) {
        pthread_mutex_unlock(&lock);
        return; /* the disk is behind: this one stays in memory only */
    }
    if (kind == J_WRITE)
        pending += blen;
    pthread_mutex_unlock(&lock);
    j = xmalloc(sizeof(*j) + len);
    j->next = NULL;
    j->kind = kind;
    j->len = len;
    memcpy(j->key, key, len);
    j->o = cache_obj_new(xmalloc(o->head_len + 1), o->head_len, &o->meta, cache_body_ref(o->body));
    if (o->head_len)
        memcpy(j->o->head, o->head, o->head_len);
    j->o->head[o->head_len] = '\0';
    j->o->vary = o->vary ? xstrdup(o->vary) : NULL;
    j->o->recipe = o->recipe ? xstrdup(o->recipe) : NULL;
    j->o->override_ttl = o->override_ttl;
    pthread_mutex_lock(&lock);
    if (last)
        last->next = j;
    else
        first = j;
    last = j;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
}

void cache_disk_write(const char *key, size_t len, const struct cache_obj *o)
{
    enqueue(J_WRITE, key, len, o);
}

void cache_disk_promote(const char *key, size_t len, const struct cache_obj *o)
{
    enqueue(J_PROMOTE, key, len, o);
}
