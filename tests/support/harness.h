/* harness.h — starting real processes for integration tests: gatehouse on a
 * temporary configuration, other programs, and helpers to read their logs
 * and memory.  Everything talks over loopback on ports the kernel picked.
 * Test origins, whose answers each test writes, are origin.h's. */
#ifndef GH_HARNESS_H
#define GH_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

struct th_gatehouse {
    pid_t pid;
    char dir[128];        /* temporary directory (mode 0755: the daemon drops to nobody) */
    char conf[192];       /* dir/gatehouse.conf */
    char errlog[192];     /* stderr of the daemon */
    char access[192];     /* access log (the config should use "@ACCESS@") */
};

/* A TCP port on 127.0.0.1 that was free a moment ago, and not one this
 * process (or the runner before it forked) handed out lately. */
int th_free_port(void);

/* Writes conf_text (with "@DIR@" and "@ACCESS@" replaced) and starts
 * `$GH_BIN -f -c conf`; waits until it logs "started" (0) or exits (-1). */
int th_gatehouse_start(struct th_gatehouse *g, const char *conf_text);
/* Rewrites the configuration and sends SIGHUP; waits for the outcome line.
 * Returns 0 when reloaded, -1 when the reload was refused. */
int th_gatehouse_reload(struct th_gatehouse *g, const char *conf_text);
/* Sends sig and waits up to timeout_ms for exit; returns the exit status,
 * or -1 (then kills it). */
int th_gatehouse_stop(struct th_gatehouse *g, int sig, int timeout_ms);
/* Runs `$GH_BIN -t -c file` on conf_text; returns its exit status and its
 * output in out. */
int th_gatehouse_check(const char *conf_text, char *out, size_t cap);

/* Starts a program (argv NULL-terminated) with stdout and stderr to `log`;
 * returns its pid or -1. */
pid_t th_spawn(const char *log, char *const argv[]);
/* Waits up to 5 s until something accepts on 127.0.0.1:port; 0 or -1. */
int th_wait_port(int port);
/* Stops a spawned process (SIGTERM, then SIGKILL). */
void th_reap(pid_t pid);

/* Peak resident set (VmHWM) of a process in KiB, or -1. */
long th_peak_rss_kb(pid_t pid);
/* Current resident set (VmRSS) in KiB, or -1. */
long th_rss_kb(pid_t pid);

/* Counts lines (in the last 4 MiB of a file) containing every one of the
 * NULL-terminated needles; waits up to 2 s for at least `want` of them. */
int th_log_lines(const char *path, int want, ...);

/* Runs a shell command, captures up to cap bytes of stdout; returns the
 * exit status. */
int th_sh(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void th_sleep_ms(int ms);

#endif
