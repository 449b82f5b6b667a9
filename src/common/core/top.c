/* top.c — bounded tables of the heaviest keys (see top.h). */
#include "top.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>

struct top {
    struct top *next;
    char title[64], unit[16];
    pthread_mutex_t lock;
    unsigned n;
    struct top_row rows[TOP_SLOTS];
};

static pthread_mutex_t tables_lock = PTHREAD_MUTEX_INITIALIZER;
static struct top *tables, **tables_last = &tables;

struct top *top_get(const char *title, const char *unit)
{
    struct top *t;

    pthread_mutex_lock(&tables_lock);
    for (t = tables; t; t = t->next)
        if (strcmp(t->title, title) == 0)
            break;
    if (!t) {
        t = xcalloc(1, sizeof(*t));
        gh_fmt(t->title, sizeof(t->title), "%s", title);
        gh_fmt(t->unit, sizeof(t->unit), "%s", unit);
        pthread_mutex_init(&t->lock, NULL);
        *tables_last = t;
        tables_last = &t->next;
    }
    pthread_mutex_unlock(&tables_lock);
    return t;
}

void top_add(struct top *t, const char *key, uint64_t v)
{
    unsigned i, min = 0;

    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    for (i = 0; i < t->n; i++) {
        if (strncmp(t->rows[i].key, key, sizeof(t->rows[i].key) - 1) == 0)
            break;
        if (t->rows[i].v < t->rows[min].v)
            min = i;
    }
    if (i == t->n) {
        if (t->n < TOP_SLOTS)
            t->rows[t->n++].v = 0;
        else
            i = min; /* replaces the lightest, keeping its weight */
        gh_fmt(t->rows[i].key, sizeof(t->rows[i].key), "%s", key);
    }
    t->rows[i].v += v;
    pthread_mutex_unlock(&t->lock);
}

static int heavier(const void *a, const void *b)
{
    const struct top_row *x = a, *y = b;

    return x->v < y->v ? 1 : x->v > y->v ? -1 : strcmp(x->key, y->key);
}

void top_each(unsigned n, void (*fn)(void *arg, const char *title, const char *unit,
                                     const struct top_row *rows, unsigned nrows),
              void *arg)
{
    static struct top_row copy[TOP_SLOTS];
    static pthread_mutex_t copy_lock = PTHREAD_MUTEX_INITIALIZER;
    struct top *t;
    unsigned k;

    pthread_mutex_lock(&copy_lock);
    pthread_mutex_lock(&tables_lock);
    for (t = tables; t; t = t->next) {
        pthread_mutex_lock(&t->lock);
        k = t->n;
        memcpy(copy, t->rows, k * sizeof(copy[0]));
        pthread_mutex_unlock(&t->lock);
        qsort(copy, k, sizeof(copy[0]), heavier);
        fn(arg, t->title, t->unit, copy, k < n ? k : n);
    }
    pthread_mutex_unlock(&tables_lock);
    pthread_mutex_unlock(&copy_lock);
}
