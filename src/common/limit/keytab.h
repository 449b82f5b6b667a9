/* keytab.h — a bounded table of small counters by key, shared by every
 * worker thread: the state behind rate limits, ban counts, connection
 * limits and bandwidth buckets.
 *
 * A key is a 64-bit digest (keytab_hash) of what it names: a limit's name
 * and a client address, a user name, a header's value.  Each key holds two
 * 64-bit words whose meaning is the caller's.  The table is cut into
 * shards, each with its own lock and its own least-recently-seen list, so
 * no lock is held across shards and workers contend only when their keys
 * fall in one shard.  A full shard gives the entry seen longest ago to a
 * new key, unless the table's `pinned` predicate keeps it (a client with
 * open connections).  Memory is fixed when the table is made: 40 bytes a
 * key, 2 a key for the hash chains' heads, and 5% spare for keys that fall
 * unevenly on the shards (1,000,000 keys in 46 MB), taken from the kernel
 * only as keys arrive. */
#ifndef GH_KEYTAB_H
#define GH_KEYTAB_H

#include <stddef.h>
#include <stdint.h>

struct keytab;

/* Creates a table for at least max_keys keys.  `pinned` (may be NULL)
 * says whether an entry may not be evicted; it is called under the
 * shard's lock. */
struct keytab *keytab_new(size_t max_keys, int (*pinned)(const uint64_t v[2]));
void keytab_free(struct keytab *t);

/* What keytab_with runs on a key's two words, under its shard's lock:
 * `fresh` says the entry was just made (the words are zero).  Returns what
 * keytab_with returns. */
typedef long keytab_fn(uint64_t v[2], int fresh, void *arg);

/* Finds key (making it, and marking it the most recently seen), then runs
 * fn on its words.  Returns fn's result, or `full` without calling fn when
 * the key is new and every entry of its shard is pinned. */
long keytab_with(struct keytab *t, uint64_t key, keytab_fn *fn, void *arg, long full);

/* Runs fn on key's words when the key is there (fresh is 0), without
 * making it or changing its place.  Returns fn's result, or `absent`. */
long keytab_peek(struct keytab *t, uint64_t key, keytab_fn *fn, void *arg, long absent);

/* Removes key; returns 1 if it was there. */
int keytab_remove(struct keytab *t, uint64_t key);

/* Keys held now, keys ever evicted, the capacity, and the bytes the table
 * reserved (its whole size, touched or not). */
struct keytab_stats {
    uint64_t keys, evicted, capacity, bytes;
};
void keytab_stats(struct keytab *t, struct keytab_stats *s);

/* A digest of a namespace (a limit's name, "" for none) and a key's bytes,
 * keyed with a secret drawn once per process: nobody outside can choose
 * keys that collide, and two different keys share an entry with a chance
 * of 2^-64. */
uint64_t keytab_hash(const char *ns, const void *key, size_t len);

#endif
