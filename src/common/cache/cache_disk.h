/* cache_disk.h — the cache's disk tier: objects in files of one directory
 * under a size limit, an index in memory (an S3-FIFO of its own, sized in
 * file bytes) rebuilt by scanning the directory at start-up while requests
 * are already served, and one thread that does every write, scan and read
 * back, so the workers never wait on the disk except in sendfile(2) of a
 * hit.  A write that fails (a full or failing disk) turns the tier off
 * with one log line; the memory tier goes on alone. */
#ifndef GH_CACHE_DISK_H
#define GH_CACHE_DISK_H

#include "cache_s3fifo.h"

#include <stddef.h>
#include <stdint.h>

struct cache_obj;

/* Starts the tier on dir (created if missing) with limit bytes, or follows
 * a new limit.  A second directory is ignored until a restart. */
void cache_disk_configure(const char *dir, uint64_t limit);

/* Before privileges are dropped: creates dir if missing and hands it (when
 * root owns it) to the account the daemon will run as.  Failures are left
 * to cache_disk_configure to report. */
void cache_disk_prepare(const char *dir, unsigned uid, unsigned gid);

/* The index (NULL: no disk tier). */
struct s3fifo *cache_disk_index(void);

/* Queues o (copied; its body referenced) to be written under key. */
void cache_disk_write(const char *key, size_t len, const struct cache_obj *o);

/* Queues the disk object o to be read back into memory under key. */
void cache_disk_promote(const char *key, size_t len, const struct cache_obj *o);

#endif
