/* notify.c — sd_notify and the reload outcome file (see notify.h). */
#include "notify.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

static int outcome_fd = -1, pid_fd = -1;
static unsigned long reloads;

static int outcome_path(char *dst, size_t cap)
{
    const char *dir = getenv("RUNTIME_DIRECTORY");

    if (!dir || !*dir)
        return -1;
    /* systemd may list several directories, separated by ':' */
    gh_fmt(dst, cap, "%.*s/reload", (int)strcspn(dir, ":"), dir);
    return 0;
}

void notify_init(void)
{
    char path[4096];

    if (outcome_path(path, sizeof(path)) < 0)
        return;
    outcome_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (outcome_fd >= 0 && write(outcome_fd, "0 started\n", 10) < 0) {
        /* the reload helper then reports an unknown outcome */
    }
    strcpy(path + strlen(path) - strlen("reload"), "gatehouse.pid");
    pid_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

void notify_ready(void)
{
    char pid[24];
    size_t n = gh_fmt(pid, sizeof(pid), "%ld\n", (long)getpid());

    /* after daemonize(): the pid that will take signals */
    if (pid_fd >= 0 && pwrite(pid_fd, pid, n, 0) < 0)
        log_error("cannot write the pid file: %s", strerror(errno));
    sd_notify(0, "READY=1\nSTATUS=serving");
}

void notify_reloading(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u);
}

void notify_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

void notify_reloaded(int ok, const char *why)
{
    char line[1200];
    size_t n;

    reloads++;
    n = gh_fmt(line, sizeof(line), "%lu %s%s%s\n", reloads, ok ? "ok" : "refused", ok ? "" : ": ",
               ok ? "" : why);
    if (outcome_fd >= 0 && (ftruncate(outcome_fd, 0) < 0 || pwrite(outcome_fd, line, n, 0) < 0))
        log_error("cannot write the reload outcome: %s", strerror(errno));
    if (ok)
        sd_notify(0, "READY=1\nSTATUS=serving");
    else
        sd_notifyf(0, "READY=1\nSTATUS=reload refused, the previous configuration serves: %s", why);
}

/* The count in the outcome file, or -1. */
static long read_outcome(const char *path, char *line, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, line, cap - 1);
    close(fd);
    if (n <= 0)
        return -1;
    line[n] = '\0';
    line[strcspn(line, "\n")] = '\0';
    return strtol(line, NULL, 10);
}

int notify_reload_and_wait(pid_t pid)
{
    char path[4096], line[1200];
    long before;

    if (outcome_path(path, sizeof(path)) < 0) {
        fprintf(stderr, "gatehouse: RUNTIME_DIRECTORY is not set: cannot learn the outcome; "
                        "sending SIGHUP anyway\n");
        return kill(pid, SIGHUP) == 0 ? 0 : 1;
    }
    before = read_outcome(path, line, sizeof(line));
    if (kill(pid, SIGHUP) < 0) {
        fprintf(stderr, "gatehouse: cannot signal process %ld: %s\n", (long)pid, strerror(errno));
        return 1;
    }
    for (int i = 0; i < 9000; i++) { /* 90 s: a reload loads every list again */
        long now = read_outcome(path, line, sizeof(line));
        if (now > before || (before < 0 && now >= 0)) {
            const char *what = strchr(line, ' ');
            what = what ? what + 1 : line;
            if (strncmp(what, "ok", 2) == 0)
                return 0;
            fprintf(stderr, "gatehouse: reload %s\n", what);
            return 1;
        }
        usleep(10000);
    }
    fprintf(stderr, "gatehouse: no outcome of the reload within 90 s\n");
    return 1;
}
