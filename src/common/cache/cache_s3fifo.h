/* cache_s3fifo.h — the memory tier's index and eviction policy: S3-FIFO
 * (Yang et al., "FIFO queues are all you need for cache eviction", SOSP '23)
 * over byte sizes.
 *
 * New objects enter a small FIFO (10% of the bytes); those accessed again
 * before they reach its end move to the main FIFO, the rest leave and their
 * hashes are remembered in a ghost queue, so an object that comes back soon
 * goes straight to main.  Main evicts from its end, reinserting objects that
 * were accessed (a 2-bit counter, up to 3 lives).  A one-off scan therefore
 * flows through the small queue without disturbing the hot set in main.
 *
 * Entries are found by (64-bit hash, whole key): the hash alone never serves
 * an object.  The structure owns its entries; values are the caller's,
 * handed back through the ops when no longer needed.
 *
 * Thread safety: one mutex around the whole structure (lookups, inserts and
 * evictions are O(1) amortised and short; a sharded store puts several of
 * these side by side).  Reference counts are atomic: a reader holding an
 * entry may use its value with no lock while others evict or replace it;
 * the value is freed when the last reference goes.  Callbacks run with the
 * lock released. */
#ifndef GH_CACHE_S3FIFO_H
#define GH_CACHE_S3FIFO_H

#include <stddef.h>
#include <stdint.h>

struct s3fifo;
struct s3fifo_entry; /* opaque; valid while a reference is held */

/* What the structure calls back; any may be NULL. */
struct s3fifo_ops {
    /* An entry left because of the size limit (not remove, not replace):
     * a disk tier may keep it.  The value stays valid during the call. */
    void (*evicted)(void *arg, const char *key, size_t keylen, void *value, uint64_t size);
    /* The entry is gone and unreferenced: release the value. */
    void (*free_value)(void *arg, void *value);
    void *arg;
};

struct s3fifo_stats {
    uint64_t hits, misses; /* lookups */
    uint64_t inserts, evictions, ghost_hits;
    uint64_t entries; /* linked entries */
    uint64_t bytes;   /* their sizes: never above limit */
    uint64_t small_bytes, main_bytes;
    uint64_t pinned_bytes; /* evicted or removed, still referenced by readers */
    uint64_t limit;
};

/* A structure holding at most limit_bytes of entry sizes; ops is copied. */
struct s3fifo *s3fifo_new(uint64_t limit_bytes, const struct s3fifo_ops *ops);

/* Frees the structure and every entry (free_value for each value).  Every
 * reference must have been released before. */
void s3fifo_free(struct s3fifo *c);

/* Inserts value (size bytes, the caller's accounting of the object) under
 * key[0..keylen) with hash; an entry with the same key is replaced (it
 * leaves at once and is freed when its readers release it).  Evicts to make
 * room first.  Returns the new entry with one reference for the caller (to
 * release), or NULL when size exceeds the limit, in which case the caller
 * still owns value. */
struct s3fifo_entry *s3fifo_insert(struct s3fifo *c, uint64_t hash, const char *key, size_t keylen,
                                   void *value, uint64_t size);

/* Finds key; on a hit counts an access and returns the entry with one
 * reference for the caller (to release); NULL on a miss. */
struct s3fifo_entry *s3fifo_lookup(struct s3fifo *c, uint64_t hash, const char *key, size_t keylen);

/* Drops a reference from insert or lookup. */
void s3fifo_release(struct s3fifo *c, struct s3fifo_entry *e);

/* Removes key (PURGE, invalidation).  Returns 1 if it was there. */
int s3fifo_remove(struct s3fifo *c, uint64_t hash, const char *key, size_t keylen);

/* Removes every entry for which match(arg, key, keylen, value) is true (a
 * purge by prefix, say).  match runs with the lock held and must not call
 * into c.  Returns the number removed. */
size_t s3fifo_remove_if(struct s3fifo *c,
                        int (*match)(void *arg, const char *key, size_t keylen, void *value),
                        void *arg);

/* Changes the limit, evicting down to it. */
void s3fifo_set_limit(struct s3fifo *c, uint64_t limit_bytes);

/* A snapshot of the counters. */
void s3fifo_stats(struct s3fifo *c, struct s3fifo_stats *st);

/* The parts of a referenced entry. */
void *s3fifo_value(const struct s3fifo_entry *e);
uint64_t s3fifo_size(const struct s3fifo_entry *e);
const char *s3fifo_key(const struct s3fifo_entry *e, size_t *keylen);

#endif
