/* procstat.c — the process's own metrics (see procstat.h), read from /proc
 * and getrusage(2) at each scrape. */
#include "procstat.h"
#include "metrics.h"
#include "util.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *version_text = "";
static double started_s;
static _Atomic double reload_s;
static atomic_int reload_ok = 1;
static atomic_ullong reloads_ok, reloads_failed;

static double wall_s(void)
{
    return (double)gh_wall_us() / 1e6;
}

void procstat_reloaded(int ok)
{
    atomic_store(&reload_ok, ok);
    if (ok)
        atomic_store(&reload_s, wall_s());
    atomic_fetch_add(ok ? &reloads_ok : &reloads_failed, 1);
}

static long rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void one(struct text *o, const char *name, const char *type, const char *help,
                const char *labels, double v)
{
    metrics_family(o, name, type, help);
    metrics_sample(o, name, labels, v);
}

static void collect(struct text *o, void *arg)
{
    struct rusage ru;
    struct rlimit rl;
    char l[64];

    (void)arg;
    getrusage(RUSAGE_SELF, &ru);
    getrlimit(RLIMIT_NOFILE, &rl);
    one(o, "process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.",
        NULL,
        (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
            ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6);
    one(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", NULL,
        (double)rss_bytes());
    one(o, "process_open_fds", "gauge", "Number of open file descriptors.", NULL,
        (double)open_fds());
    one(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.", NULL,
        rl.rlim_cur == RLIM_INFINITY ? 1e9 : (double)rl.rlim_cur);
    one(o, "process_start_time_seconds", "gauge",
        "Start time of the process since the Unix epoch in seconds.", NULL, started_s);
    one(o, "gatehouse_build_info", "gauge", "The running version, as a label.",
        metrics_labels(l, sizeof(l), "version", version_text, NULL), 1);
    one(o, "gatehouse_config_last_reload_successful", "gauge",
        "Whether the last configuration reload succeeded (1) or was refused (0).", NULL,
        (double)atomic_load(&reload_ok));
    one(o, "gatehouse_config_last_reload_success_timestamp_seconds", "gauge",
        "When the configuration in use was loaded, since the Unix epoch.", NULL,
        atomic_load(&reload_s));
    metrics_family(o, "gatehouse_config_reloads_total", "counter",
                   "Configuration reloads (SIGHUP), by result.");
    metrics_sample(o, "gatehouse_config_reloads_total", "result=\"ok\"",
                   (double)atomic_load(&reloads_ok));
    metrics_sample(o, "gatehouse_config_reloads_total", "result=\"refused\"",
                   (double)atomic_load(&reloads_failed));
}

void procstat_init(const char *version)
{
    version_text = version;
    started_s = wall_s();
    atomic_store(&reload_s, started_s);
    metrics_add_collector(collect, NULL);
}
