/* log.c — error and access logs (see log.h).  Owns the two log descriptors
 * and the paths they were opened from; knows nothing of what is logged. */
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = LOG_INFO;
static atomic_int error_fd = 2;          /* 2 while logging to stderr */
static atomic_int access_fd = -1;        /* -1: off */
static char error_path[4096];     /* "" when not a file */
static char access_path[4096];

static const char *level_names[] = {"error", "warn", "info", "debug"};

void log_init(enum log_level level)
{
    min_level = level;
}

int log_level_parse(const char *s)
{
    for (unsigned i = 0; i < GH_ARRAY_LEN(level_names); i++)
        if (strcmp(s, level_names[i]) == 0)
            return (int)i;
    return -1;
}

int log_enabled(enum log_level level)
{
    return (int)level <= atomic_load_explicit(&min_level, memory_order_relaxed);
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/* Points *fd at `path`: reuses the descriptor number when one is open. */
static int retarget(atomic_int *fd, const char *path, char *saved, char *err, size_t errlen)
{
    int nfd;

    if (strcmp(path, "off") == 0) {
        saved[0] = '\0';
        *fd = -1; /* the old descriptor is leaked on purpose: a worker may be writing */
        return 0;
    }
    if (strcmp(path, "stderr") == 0 || strcmp(path, "stdout") == 0) {
        saved[0] = '\0';
        *fd = path[3] == 'e' ? 2 : 1;
        return 0;
    }
    if (saved[0] && strcmp(saved, path) == 0)
        return 0; /* unchanged by a reload: keep the open file (no privileges needed) */
    nfd = open_log(path);
    if (nfd < 0) {
        gh_fmt(err, errlen, "cannot open log file %s: %s", path, strerror(errno));
        return -1;
    }
    if (*fd > 2) {
        dup2(nfd, *fd);
        close(nfd);
    } else {
        *fd = nfd;
    }
    gh_fmt(saved, 4096, "%s", path);
    return 0;
}

int log_configure(const char *epath, const char *apath, enum log_level level, char *err,
                  size_t errlen)
{
    if (epath && retarget(&error_fd, epath, error_path, err, errlen) < 0)
        return -1;
    if (retarget(&access_fd, apath, access_path, err, errlen) < 0)
        return -1;
    min_level = level;
    return 0;
}

/* Opens path again and moves it over *fd (logrotate renamed the old one).
 * Returns 0, or -1 (logged). */
static int reopen_one(atomic_int *fd, const char *path)
{
    int nfd = open_log(path);

    if (nfd < 0) {
        log_error("cannot reopen log file %s: %s (still writing to the old file)", path,
                  strerror(errno));
        return -1;
    }
    if (dup2(nfd, *fd) < 0) {
        log_error("cannot reopen log file %s: dup2: %s", path, strerror(errno));
        close(nfd);
        return -1;
    }
    close(nfd);
    return 0;
}

int log_reopen(void)
{
    int bad = 0;

    if (error_path[0])
        bad += reopen_one(&error_fd, error_path) < 0;
    if (access_path[0])
        bad += reopen_one(&access_fd, access_path) < 0;
    return bad;
}

static int chown_file(const char *path, unsigned uid, unsigned gid)
{
    char dir[4096], *slash;
    struct stat st, ds;

    /* only regular files: never hand /dev/null or a fifo to the service user */
    if (!path[0] || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    gh_fmt(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    if (slash && stat(dir, &ds) == 0 && (ds.st_mode & S_ISGID))
        gid = (unsigned)-1; /* the directory's group, which the file inherited */
    if (chown(path, uid, gid) < 0) {
        log_error("cannot hand log file %s to the service user: %s (it could not be reopened "
                  "after rotation)",
                  path, strerror(errno));
        return 1;
    }
    return 0;
}

int log_chown(unsigned uid, unsigned gid)
{
    return chown_file(error_path, uid, gid) + chown_file(access_path, uid, gid);
}

static int journal; /* stderr is the journal's stream */

void log_journal_detect(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long dev, ino;
    struct stat st;

    journal = js && sscanf(js, "%lu:%lu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
              (unsigned long)st.st_dev == dev && (unsigned long)st.st_ino == ino;
}

static void vlog(enum log_level level, const char *fmt, va_list ap)
{
    char line[2048];
    size_t n;
    struct tm tm;
    uint64_t us = gh_wall_us();
    time_t secs = (time_t)(us / 1000000u);

    gmtime_r(&secs, &tm);
    n = 0;
    if (journal && error_fd == 2) /* syslog priorities: err, warning, info, debug */
        n = gh_fmt(line, sizeof(line), "<%d>", "\3\4\6\7"[level]);
    n += strftime(line + n, sizeof(line) - n, "%Y-%m-%dT%H:%M:%S", &tm);
    n += gh_fmt(line + n, sizeof(line) - n, ".%03uZ %s: ", (unsigned)(us / 1000u % 1000u),
                level_names[level]);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    if (m > 0)
        n += GH_MIN((size_t)m, sizeof(line) - n - 2);
    line[n++] = '\n';
    if (write(error_fd, line, n) < 0) {
        /* nowhere left to report it */
    }
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_ERROR, fmt, ap);
    va_end(ap);
    exit(1);
}

int log_access_enabled(void)
{
    return access_fd >= 0;
}

void log_access_write(const char *line, size_t len)
{
    int fd = access_fd;

    if (fd >= 0 && write(fd, line, len) < 0) {
        /* a full disk loses log lines, never exchanges */
    }
}

void log_clf_time(char *dst, size_t cap)
{
    static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    gh_fmt(dst, cap, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, mon[tm.tm_mon],
           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
