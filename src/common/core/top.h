/* top.h — a bounded table of the heaviest keys (users by bytes, blocked
 * categories by count), for the dashboard.  Space-saving algorithm: at
 * most TOP_SLOTS keys are kept; a new key, when the table is full, takes
 * the lightest one's place and inherits its weight, so a heavy key is
 * never lost and the weights are upper bounds.  A mutex guards a table:
 * one short critical section per update. */
#ifndef GH_TOP_H
#define GH_TOP_H

#include <stdint.h>

#define TOP_SLOTS 128

struct top;

/* The table titled `title` (made at the first call, kept for the life of
 * the process); `unit` says what the weights count ("bytes",
 * "requests").  Thread-safe. */
struct top *top_get(const char *title, const char *unit);

/* Adds weight v to key (truncated to 63 bytes).  NULL table: no-op. */
void top_add(struct top *t, const char *key, uint64_t v);

/* Calls fn for each table, with its title, unit and up to n heaviest
 * entries, heaviest first. */
struct top_row {
    char key[64];
    uint64_t v;
};
void top_each(unsigned n, void (*fn)(void *arg, const char *title, const char *unit,
                                     const struct top_row *rows, unsigned nrows),
              void *arg);

#endif
