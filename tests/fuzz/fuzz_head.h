/* fuzz_head.h — invariants every parsed head must keep, shared by the
 * request and response fuzz targets. */
#ifndef GH_FUZZ_HEAD_H
#define GH_FUZZ_HEAD_H

#include "http1.h"

#include <stdlib.h>

static inline void check_slice(struct http_slice s, size_t len)
{
    if ((size_t)s.off + s.len > len)
        abort();
}

/* A complete head's slices lie inside it; an error carries a status. */
static inline void check_head(int rc, const struct http_head *h, size_t len)
{
    if (rc > 0) {
        if ((size_t)rc > len || (uint32_t)rc != h->head_len || h->nfields > HTTP1_MAX_HEADERS)
            abort();
        check_slice(h->method, (size_t)rc);
        check_slice(h->target, (size_t)rc);
        check_slice(h->host, (size_t)rc);
        check_slice(h->path, (size_t)rc);
        check_slice(h->reason, (size_t)rc);
        for (unsigned i = 0; i < h->nfields; i++) {
            check_slice(h->fields[i].name, (size_t)rc);
            check_slice(h->fields[i].value, (size_t)rc);
        }
    } else if (rc == HTTP1_ERROR) {
        if (h->error_status < 400 || h->error_status > 599 || !h->error)
            abort();
    } else if (rc != HTTP1_PARTIAL) {
        abort();
    }
}

#endif
