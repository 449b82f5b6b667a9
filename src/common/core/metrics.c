/* metrics.c — the registry of counters and histograms, the collectors, and
 * the text exposition format (see metrics.h).  Owns no counter of any
 * module: modules create their series here and count into them. */
#include "metrics.h"
#include "util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const double metrics_bucket_bounds[METRICS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                        0.1,   0.25,   0.5,   1,    2.5,   10};

__thread unsigned metrics_shard;

struct family;

struct series {
    struct series *next;
    struct family *fam;
    char *labels;
    void *m; /* struct metric_counter or struct metric_hist */
};

struct family {
    struct family *next;
    char *name, *help;
    int hist;
    struct series *first, **last;
};

struct collector {
    struct collector *next;
    void (*fn)(struct text *o, void *arg);
    void *arg;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct family *families, **families_last = &families;
static struct collector *collectors, **collectors_last = &collectors;

void metrics_set_shard(unsigned n)
{
    metrics_shard = n % METRICS_SHARDS;
}

/* The index of every series by family name and labels: open addressing,
 * filled under the lock, read without it (a slot, once published, never
 * changes), so that finding an existing series costs no lock. */
#define INDEX_SIZE 8192u
#define SERIES_MAX (INDEX_SIZE / 2)
static _Atomic(struct series *) index_[INDEX_SIZE];
static unsigned nseries;

static uint32_t hash2(const char *a, const char *b)
{
    uint32_t h = 2166136261u;

    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 16777619u;
    h = (h ^ 0xffu) * 16777619u;
    for (; *b; b++)
        h = (h ^ (unsigned char)*b) * 16777619u;
    return h;
}

static struct series *find(const char *name, const char *labels, uint32_t h, unsigned *slot)
{
    for (unsigned i = 0; i < INDEX_SIZE; i++) {
        unsigned k = (h + i) & (INDEX_SIZE - 1);
        struct series *s = atomic_load_explicit(&index_[k], memory_order_acquire);
        if (!s) {
            *slot = k;
            return NULL;
        }
        if (strcmp(s->labels, labels) == 0 && strcmp(s->fam->name, name) == 0)
            return s;
    }
    *slot = INDEX_SIZE;
    return NULL;
}

static void *series_get(const char *name, const char *help, const char *labels, int hist)
{
    uint32_t h = hash2(name, labels);
    struct family *f;
    struct series *s;
    unsigned slot;
    size_t size = hist ? sizeof(struct metric_hist) : sizeof(struct metric_counter);

    if ((s = find(name, labels, h, &slot)))
        return s->fam->hist == hist ? s->m : NULL;
    pthread_mutex_lock(&lock);
    if ((s = find(name, labels, h, &slot)) || slot == INDEX_SIZE || nseries >= SERIES_MAX) {
        pthread_mutex_unlock(&lock);
        return s && s->fam->hist == hist ? s->m : NULL; /* full: not counted */
    }
    for (f = families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            break;
    if (!f) {
        f = xcalloc(1, sizeof(*f));
        f->name = xstrdup(name);
        f->help = xstrdup(help);
        f->hist = hist;
        f->last = &f->first;
        *families_last = f;
        families_last = &f->next;
    }
    if (f->hist != hist) {
        pthread_mutex_unlock(&lock);
        return NULL; /* one name, two types: the second is not counted */
    }
    s = xcalloc(1, sizeof(*s));
    s->fam = f;
    s->labels = xstrdup(labels);
    if (posix_memalign(&s->m, 64, size) != 0)
        abort();
    memset(s->m, 0, size);
    *f->last = s;
    f->last = &s->next;
    nseries++;
    atomic_store_explicit(&index_[slot], s, memory_order_release);
    pthread_mutex_unlock(&lock);
    return s->m;
}

struct metric_counter *metrics_counter(const char *name, const char *help, const char *labels)
{
    return series_get(name, help, labels ? labels : "", 0);
}

struct metric_hist *metrics_hist(const char *name, const char *help, const char *labels)
{
    return series_get(name, help, labels ? labels : "", 1);
}

uint64_t metric_value(const struct metric_counter *m)
{
    uint64_t v = 0;

    for (unsigned i = 0; m && i < METRICS_SHARDS; i++)
        v += atomic_load_explicit(&m->cell[i].v, memory_order_relaxed);
    return v;
}

void metric_observe(struct metric_hist *h, uint64_t us)
{
    unsigned b = 0;
    double s = (double)us / 1e6;

    if (!h)
        return;
    while (b < METRICS_BUCKETS && s > metrics_bucket_bounds[b])
        b++;
    atomic_fetch_add_explicit(&h->cell[metrics_shard].b[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->cell[metrics_shard].sum_us, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->cell[metrics_shard].count, 1, memory_order_relaxed);
}

char *metrics_labels(char *dst, size_t cap, ...)
{
    va_list ap;
    size_t n = 0;
    const char *k;

    dst[0] = '\0';
    va_start(ap, cap);
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        n += gh_fmt(dst + n, cap - n, "%s%s=\"", n ? "," : "", k);
        for (; v && *v && n + 3 < cap; v++) {
            if (*v == '\\' || *v == '"')
                dst[n++] = '\\', dst[n++] = *v;
            else if (*v == '\n')
                dst[n++] = '\\', dst[n++] = 'n';
            else
                dst[n++] = *v;
        }
        dst[n] = '\0';
        n += gh_fmt(dst + n, cap - n, "\"");
    }
    va_end(ap);
    return dst;
}

/* ---- writing ---- */

void metrics_printf(struct text *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    text_vprintf(o, fmt, ap);
    va_end(ap);
}

void metrics_family(struct text *o, const char *name, const char *type, const char *help)
{
    metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(struct text *o, const char *name, const char *labels, double v)
{
    int has = labels && *labels;

    if (v > -9e15 && v < 9e15 && v == (double)(long long)v)
        metrics_printf(o, "%s%s%s%s %.0f\n", name, has ? "{" : "", has ? labels : "",
                       has ? "}" : "", v);
    else
        metrics_printf(o, "%s%s%s%s %.9g\n", name, has ? "{" : "", has ? labels : "",
                       has ? "}" : "", v);
}

/* Sums a histogram's cells: buckets (not cumulative), count, sum. */
static void hist_sum(const struct metric_hist *h, uint64_t *b, uint64_t *count, uint64_t *sum_us)
{
    memset(b, 0, sizeof(uint64_t) * (METRICS_BUCKETS + 1));
    *count = *sum_us = 0;
    for (unsigned i = 0; i < METRICS_SHARDS; i++) {
        for (unsigned k = 0; k <= METRICS_BUCKETS; k++)
            b[k] += atomic_load_explicit(&h->cell[i].b[k], memory_order_relaxed);
        *sum_us += atomic_load_explicit(&h->cell[i].sum_us, memory_order_relaxed);
    }
    /* the count is the buckets' sum, so the two can never disagree */
    for (unsigned k = 0; k <= METRICS_BUCKETS; k++)
        *count += b[k];
}

void metrics_write_hist(struct text *o, const char *name, const char *labels,
                        const struct metric_hist *h)
{
    uint64_t b[METRICS_BUCKETS + 1], count, sum_us, cum = 0;
    const char *sep = labels && *labels ? "," : "";

    labels = labels ? labels : "";
    hist_sum(h, b, &count, &sum_us);
    for (unsigned k = 0; k < METRICS_BUCKETS; k++) {
        cum += b[k];
        metrics_printf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
                       metrics_bucket_bounds[k], (unsigned long long)cum);
    }
    metrics_printf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                   (unsigned long long)count);
    metrics_printf(o, "%s_sum%s%s%s %.6f\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
                   (double)sum_us / 1e6);
    metrics_printf(o, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels,
                   *labels ? "}" : "", (unsigned long long)count);
}

void metric_hist_buckets(const struct metric_hist *h, uint64_t b[METRICS_BUCKETS + 1])
{
    uint64_t count, sum_us;

    hist_sum(h, b, &count, &sum_us);
}

double metrics_quantile(const uint64_t b[METRICS_BUCKETS + 1], double q)
{
    uint64_t count = 0, cum = 0;
    double rank, lo = 0;

    for (unsigned k = 0; k <= METRICS_BUCKETS; k++)
        count += b[k];
    if (!count)
        return 0;
    rank = q * (double)count;
    for (unsigned k = 0; k <= METRICS_BUCKETS; k++) {
        /* the last bucket has no bound: its values are read as the last bound */
        double hi = k < METRICS_BUCKETS ? metrics_bucket_bounds[k] : lo;
        if (b[k] && (double)(cum + b[k]) >= rank)
            return lo + (hi - lo) * ((rank - (double)cum) / (double)b[k]);
        cum += b[k];
        lo = hi;
    }
    return lo;
}

void metrics_add_collector(void (*fn)(struct text *o, void *arg), void *arg)
{
    struct collector *c = xcalloc(1, sizeof(*c));

    c->fn = fn;
    c->arg = arg;
    pthread_mutex_lock(&lock);
    *collectors_last = c;
    collectors_last = &c->next;
    pthread_mutex_unlock(&lock);
}

void metrics_write(struct text *o)
{
    struct family *f;
    struct collector *c;

    /* the lock keeps the lists still while they are walked; the counts
     * themselves are read without it */
    pthread_mutex_lock(&lock);
    c = collectors;
    for (f = families; f; f = f->next) {
        metrics_family(o, f->name, f->hist ? "histogram" : "counter", f->help);
        for (struct series *s = f->first; s; s = s->next) {
            if (f->hist)
                metrics_write_hist(o, f->name, s->labels, s->m);
            else
                metrics_sample(o, f->name, s->labels, (double)metric_value(s->m));
        }
    }
    pthread_mutex_unlock(&lock);
    for (; c; c = c->next)
        c->fn(o, c->arg);
}
