/* list_bench.c — how long a big domain list takes to load, how much memory
 * it takes, and how many lookups a second one core does.  Not a test: run
 * by bench/lists.sh, which prints the figures. */
#include "rules.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    char err[512], host[128];
    uint64_t t0, t1;
    long before = rss_kb(), lookups = argc > 3 ? atol(argv[3]) : 2000000, hits = 0;
    struct rulelist *l;

    if (argc < 3) {
        fprintf(stderr, "usage: list_bench FILE ENTRIES [LOOKUPS]\n");
        return 2;
    }
    t0 = gh_now_ms();
    l = rulelist_load("bench", argv[1], RULES_DOMAINS, NULL, NULL, err, sizeof(err));
    t1 = gh_now_ms();
    if (!l) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("entries      %zu\n", rulelist_size(l));
    printf("load         %.2f s\n", (double)(t1 - t0) / 1000.0);
    printf("memory       %.0f MB\n", (double)(rss_kb() - before) / 1024.0);
    t0 = gh_now_ms();
    for (long i = 0; i < lookups; i++) {
        /* half hits (subdomains of listed names), half misses */
        int n = i % 2 ? snprintf(host, sizeof(host), "www.site%ld.example", (i * 7919) % atol(argv[2]))
                      : snprintf(host, sizeof(host), "www.other%ld.test", i);
        hits += rulelist_match(l, host, (size_t)n, "", 0, NULL) == RULES_BLOCK;
    }
    t1 = gh_now_ms();
    printf("lookups      %.0f per second (one core, %ld of %ld hit)\n",
           (double)lookups / ((double)(t1 - t0) / 1000.0 + 1e-9), hits, lookups);
    rulelist_free(l);
    return 0;
}
