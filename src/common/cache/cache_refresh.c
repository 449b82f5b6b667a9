/* cache_refresh.c — the background refresher (see cache_refresh.h).  One
 * thread, blocking sockets with timeouts: it never holds up a worker, and a
 * slow origin only delays other refreshes, which are best-effort anyway
 * (the object keeps being served stale meanwhile).  The request it sends is
 * built by the worker (cache_recipe.c). */
#include "cache_refresh.h"
#include "body.h"
#include "buf.h"
#include "cache_head.h"
#include "cache_key.h"
#include "cache_store.h"
#include "cache_targeted.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUEUED 256
#define IO_TIMEOUT_MS 10000

struct job {
    struct job *next;
    size_t len, keylen;
    char addr[80];
    char *head; /* the request, without validators */
    struct cache_opts opts;
    char *targets[CACHE_TARGETS_MAX];
    unsigned ntargets;
    enum cache_class cls;
    char key[];
};

static void job_free(struct job *j)
{
    free(j->head);
    for (unsigned i = 0; i < j->ntargets; i++)
        free(j->targets[i]);
    free(j);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct job *first, *last;
static unsigned queued;
static int started;

static const struct http1_limits limits = {.max_line = 8192, .max_head = 16384, .max_fields = 100};

/* A blocking connection to "ip:port" with I/O timeouts; -1 on failure. */
static int dial(const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    struct timeval tv = {IO_TIMEOUT_MS / 1000, 0};
    int fd;

    if (config_parse_addr(addr, &ss, &sl) < 0)
        return -1;
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The job's request with the stored object's validators.  Malloc'd. */
static char *conditional_request(const char *head, const struct cache_obj *o, size_t *len)
{
    struct http_head *h = xmalloc(sizeof(*h));
    char cond[1024];
    long n = 0;
    size_t hl = strlen(head);
    char *out;

    if (http1_parse_response(o->head, o->head_len, &limits, 0, h) > 0)
        n = cache_conditional_fields(h, o->head, cond, sizeof(cond));
    free(h);
    if (n < 0)
        n = 0;
    out = xmalloc(hl + (size_t)n + 1);
    memcpy(out, head, hl - 2); /* up to the blank line */
    memcpy(out + hl - 2, cond, (size_t)n);
    memcpy(out + hl - 2 + n, "\r\n", 3);
    *len = hl + (size_t)n;
    return out;
}

struct sink {
    struct cache_body *b;
    size_t cap, max;
    int failed;
};

static void collect(void *arg, const char *p, size_t n)
{
    struct sink *s = arg;

    if (s->failed)
        return;
    if (s->b->len + n > s->cap) {
        size_t cap = GH_MAX(s->cap * 2, s->b->len + n);
        struct cache_body *nb;
        if (s->b->len + n > s->max || !(nb = realloc(s->b, sizeof(*nb) + cap))) {
            s->failed = 1;
            return;
        }
        s->b = nb;
        s->cap = cap;
    }
    memcpy(s->b->data + s->b->len, p, n);
    s->b->len += n;
}

/* Reads the body of response h (its first bytes already in in) into a new
 * cache_body; NULL when it does not come whole. */
static struct cache_body *read_body(int fd, struct buf *in, const struct http_head *h)
{
    struct sink s = {NULL, 16384, 64u << 20, 0};
    struct body b;
    int blocked, eof = 0;

    if (h->framing == HTTP_BODY_LENGTH)
        s.cap = (size_t)h->content_length;
    if (h->framing == HTTP_BODY_LENGTH && h->content_length > s.max)
        return NULL;
    s.b = cache_body_new(s.cap);
    if (!s.b)
        return NULL;
    body_init(&b, h->framing, h->content_length, 0);
    b.tee = collect;
    b.tee_arg = &s;
    for (;;) {
        int rc = body_pump(&b, in, eof, -1, &blocked);
        if (rc == GH_DONE && !s.failed)
            return s.b;
        if (rc == GH_ERROR || s.failed || eof)
            break;
        if (buf_room(in) == 0)
            buf_compact(in);
        ssize_t n = buf_read_fd(in, fd);
        if (n == 0)
            eof = 1;
        else if (n < 0)
            break;
    }
    cache_body_unref(s.b);
    return NULL;
}

/* The facts of a response the refresh got, judged as the worker would. */
static void judge(const struct job *j, const struct http_head *h, const char *base, int64_t t0,
                  struct cache_meta *m)
{
    cache_meta_judge(m, h, base, t0, (int64_t)time(NULL), (const char *const *)j->targets,
                     j->ntargets, j->cls);
}

/* A 304: freshens the stored head; a 304 that names another
 * representation drops the stored copy (RFC 9111 4.3.4).  Returns whether
 * something was stored. */
static int file_304(const struct job *j, const struct cache_obj *o, const struct http_head *h,
                    const char *base, int64_t t0)
{
    struct http_head *sh = xmalloc(sizeof(*sh));
    struct cache_meta m;
    size_t len;
    char *head = NULL;
    int stored = 0;

    if (http1_parse_response(o->head, o->head_len, &limits, 0, sh) > 0 &&
        cache_head_matches(sh, o->head, h, base) &&
        (head = cache_head_update(sh, o->head, h, base, &len)) &&
        http1_parse_response(head, len, &limits, 0, sh) > 0) {
        judge(j, sh, head, t0, &m);
        struct cache_obj *n = cache_obj_new(head, len, &m, cache_body_ref(o->body));
        n->recipe = xstrdup(o->recipe);
        n->override_ttl = o->override_ttl;
        cache_store_put(j->key, j->len, n);
        stored = 1;
    } else {
        free(head);
        log_info("cache: background refresh of %.*s: the 304 names another representation; "
                 "the stored copy is dropped",
                 (int)GH_MIN(j->keylen, 200u), j->key);
        cache_store_remove(j->key, j->len);
    }
    free(sh);
    return stored;
}

/* One refresh; returns whether something was stored. */
static int refresh_one(const struct job *j)
{
    struct cache_ref *ref = cache_store_get(j->key, j->len);
    const struct cache_obj *o = ref ? cache_ref_obj(ref) : NULL;
    struct http_head *h = NULL;
    struct buf *in = NULL;
    char *req = NULL;
    size_t rlen;
    int fd = -1, stored = 0, rc = 0;
    int64_t t0 = (int64_t)time(NULL);

    if (!o || !o->recipe)
        goto out;
    req = conditional_request(j->head, o, &rlen);
    if ((fd = dial(j->addr)) < 0 || send_all(fd, req, rlen) < 0) {
        log_info("cache: background refresh of %.*s: cannot reach %s", (int)GH_MIN(j->keylen, 200u),
                 j->key, j->addr);
        goto out;
    }
    h = xmalloc(sizeof(*h));
    in = buf_get();
    while ((rc = http1_parse_response(buf_head(in), buf_len(in), &limits, 0, h)) == HTTP1_PARTIAL) {
        if (buf_room(in) == 0 || buf_read_fd(in, fd) <= 0)
            goto out;
    }
    if (rc <= 0)
        goto out;
    if (h->status == 304) {
        stored = file_304(j, o, h, buf_head(in), t0);
    } else {
        struct cache_req_info rq = {.method = CACHE_M_GET};
        struct cache_opts opts = j->opts;
        struct cache_meta m;
        struct cache_body *b;
        const char *why;
        char vary[8];
        size_t len;

        cache_cc_init(&rq.cc);
        judge(j, h, buf_head(in), t0, &m);
        /* the same variant filing as before, or nothing */
        if (!cache_storable(&rq, &m, &opts, &why) ||
            (cache_vary_list(h, buf_head(in), vary, sizeof(vary)) != 0) != (j->len > j->keylen))
            goto out;
        char *head = cache_head_for_storage(h, buf_head(in), 0, &len);
        buf_consume(in, h->head_len);
        if (!(b = read_body(fd, in, h))) {
            free(head);
            goto out;
        }
        struct cache_obj *n = cache_obj_new(head, len, &m, b);
        n->recipe = xstrdup(o->recipe);
        n->override_ttl = o->override_ttl;
        cache_store_fix_length(n);
        cache_store_put(j->key, j->len, n);
        stored = 1;
    }
out:
    if (fd >= 0)
        close(fd);
    buf_put(in);
    free(h);
    free(req);
    cache_ref_release(ref);
    return stored;
}

static void *run(void *arg)
{
    (void)arg;
    for (;;) {
        struct job *j;

        pthread_mutex_lock(&lock);
        while (!first)
            pthread_cond_wait(&wake, &lock);
        j = first;
        first = j->next;
        if (!first)
            last = NULL;
        queued--;
        pthread_mutex_unlock(&lock);
        if (cache_fill_claim(j->key, j->keylen) == CACHE_CLAIMED)
            cache_fill_done(j->key, j->keylen, refresh_one(j));
        job_free(j);
    }
    return NULL;
}

void cache_refresh(const struct cache_refresh_req *rr)
{
    struct job *j;

    pthread_mutex_lock(&lock);
    if (!started) {
        pthread_t t;
        if (pthread_create(&t, NULL, run, NULL) != 0) {
            pthread_mutex_unlock(&lock);
            return;
        }
        pthread_detach(t);
        started = 1;
    }
    for (j = first; j; j = j->next)
        if (j->len == rr->len && memcmp(j->key, rr->key, rr->len) == 0)
            break;
    if (!j && queued < MAX_QUEUED && strlen(rr->addr) < sizeof(j->addr)) {
        j = xcalloc(1, sizeof(*j) + rr->len);
        j->len = rr->len;
        j->keylen = rr->keylen;
        memcpy(j->key, rr->key, rr->len);
        gh_fmt(j->addr, sizeof(j->addr), "%s", rr->addr);
        j->head = xmalloc(rr->head_len + 1);
        memcpy(j->head, rr->head, rr->head_len);
        j->head[rr->head_len] = '\0';
        j->opts = *rr->opts;
        for (unsigned i = 0; i < rr->ntargets && i < CACHE_TARGETS_MAX; i++)
            j->targets[j->ntargets++] = xstrdup(rr->targets[i]);
        j->cls = rr->cls;
        if (last)
            last->next = j;
        else
            first = j;
        last = j;
        queued++;
        pthread_cond_signal(&wake);
    }
    pthread_mutex_unlock(&lock);
}
