/* status.c — the JSON status document (see status.h). */
#include "status.h"
#include "cache.h"
#include "protect.h"
#include "stats.h"
#include "compress.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void put_server(struct text *o, struct server *sv, uint64_t now)
{
    struct health h;
    const char *state;

    pthread_mutex_lock(&sv->st->lock);
    h = sv->st->h;
    pthread_mutex_unlock(&sv->st->lock);
    state = !h.up ? "down" : !health_usable(&h, now) ? "ejected" : "up";
    text_printf(o, "{\"address\":");
    text_json_str(o, sv->label);
    text_printf(o,
                ",\"weight\":%u,\"backup\":%s,\"max_conns\":%u,\"state\":\"%s\","
                "\"active\":%u,\"requests\":%llu,\"failures\":%llu,\"since_change_ms\":%llu}",
                sv->weight, sv->backup ? "true" : "false", sv->max_conns, state,
                atomic_load(&sv->st->active), (unsigned long long)atomic_load(&sv->st->requests),
                (unsigned long long)atomic_load(&sv->st->failures),
                (unsigned long long)(h.changed_at && now > h.changed_at ? now - h.changed_at : 0));
}

/* HTTP/2 clients: connections, streams, refused streams, and each kind
 * of abuse caught (stats.h); HTTP/2 to upstreams (`upstream`: connections
 * made, open now, streams); ending the document. */
static void put_http2(struct text *o)
{
    struct stats_total t;

    stats_snapshot(&t);
    text_printf(o,
                "\"http2\":{\"connections\":%llu,\"open\":%llu,\"streams\":%llu,\"malformed\":%llu",
                (unsigned long long)t.h2_conns, (unsigned long long)t.h2_active,
                (unsigned long long)t.h2_streams, (unsigned long long)t.h2_malformed);
    for (int k = 0; k < H2_ABUSE_KINDS; k++)
        text_printf(o, ",\"%s\":%llu", stats_h2_abuse_names[k], (unsigned long long)t.h2_abuse[k]);
    text_printf(o, ",\"upstream\":{\"connections\":%llu,\"open\":%llu,\"streams\":%llu}}}\n",
                (unsigned long long)t.h2up_conns, (unsigned long long)t.h2up_open,
                (unsigned long long)t.h2up_streams);
}

void status_answer(struct exchange *ex, const struct pool_set *ps)
{
    struct text o = {.p = xcalloc(1, 4096), .cap = 4096};
    uint64_t now = gh_now_ms();

    text_printf(&o, "{\"pools\":[");
    for (unsigned i = 0; i < ps->n; i++) {
        struct pool *p = &ps->p[i];
        text_printf(&o, "%s{\"name\":", i ? "," : "");
        text_json_str(&o, p->name);
        text_printf(&o, ",\"balance\":\"%s\",\"health_check\":\"%s\",\"queued\":%u,\"servers\":[",
                    p->bal->name,
                    !p->check.enabled ? "none"
                    : p->check.http   ? "http"
                                      : "tcp",
                    atomic_load(&p->st->queued));
        for (unsigned k = 0; k < p->nservers; k++) {
            if (k)
                text_printf(&o, ",");
            put_server(&o, &p->servers[k], now);
        }
        text_printf(&o, "],\"protocol\":\"%s\"}", p->h2_streams ? "h2" : "http/1.1");
    }
    struct cache_store_stats cs;
    cache_store_stats(&cs);
    text_printf(&o,
                "],\"cache\":{\"entries\":%llu,\"bytes\":%llu,\"limit\":%llu,\"hits\":%llu,"
                "\"misses\":%llu,\"disk_entries\":%llu,\"disk_bytes\":%llu,\"disk_limit\":%llu},",
                (unsigned long long)cs.entries, (unsigned long long)cs.bytes,
                (unsigned long long)cs.limit, (unsigned long long)cs.hits,
                (unsigned long long)cs.misses, (unsigned long long)cs.disk_entries,
                (unsigned long long)cs.disk_bytes, (unsigned long long)cs.disk_limit);
    struct compress_stats zs;
    compress_stats(&zs);
    text_printf(&o,
                "\"compression\":{\"gzip\":%llu,\"br\":%llu,\"zstd\":%llu,\"bytes_in\":%llu,"
                "\"bytes_out\":%llu},",
                (unsigned long long)zs.responses[COMPRESS_GZIP],
                (unsigned long long)zs.responses[COMPRESS_BR],
                (unsigned long long)zs.responses[COMPRESS_ZSTD], (unsigned long long)zs.bytes_in,
                (unsigned long long)zs.bytes_out);
    size_t plen;
    char *prot = protect_status_json(&plen);
    text_printf(&o, "%.*s,", (int)plen, prot);
    free(prot);
    put_http2(&o); /* the last member, and the closing brace */
    exchange_respond(ex, 200, "application/json", "Cache-Control: no-store\r\n", o.p, o.len);
    free(o.p);
}
