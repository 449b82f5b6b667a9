/* hostcheck.c — the machine-side checks of `gatehouse -t` (see hostcheck.h).  The
 * checks that must be made as the service user run in a child process
 * that has become that user (initgroups, setgid, setuid), exactly as the
 * daemon does after binding. */
#include "hostcheck.h"
#include "config.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *hostcheck_user_name(const struct gh_config *c)
{
    if (c->user)
        return c->user;
    return getpwnam("gatehouse") ? "gatehouse" : "nobody";
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;

    fputs("gatehouse: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static int is_file_dest(const char *p)
{
    return p && p[0] == '/';
}

/* The daemon opens its logs before dropping root: the file must open (or
 * its directory take a new file). */
static int check_log_open(const struct gh_config *c, const char *path, const char *what)
{
    char copy[4096];
    struct stat st;
    int fd;

    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
            return fail("%s: log.%s %s is not a file", c->path, what, path);
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            return fail("%s: log.%s %s cannot be opened: %s", c->path, what, path, strerror(errno));
        close(fd);
        return 0;
    }
    gh_fmt(copy, sizeof(copy), "%s", path);
    const char *dir = dirname(copy);
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return fail("%s: log.%s %s cannot be created: no directory %s", c->path, what, path, dir);
    if (access(dir, W_OK | X_OK) < 0)
        return fail("%s: log.%s %s cannot be created in %s: %s", c->path, what, path, dir,
                    strerror(errno));
    return 0;
}

/* As the service user: reopening a log after rotation needs its directory
 * searchable; the disk cache must be writable (a directory the daemon
 * will hand over, owned by root, excepted); reloads read the TLS files
 * again. */
static int checks_as_user(const struct gh_config *c, int handed_over)
{
    char copy[4096];
    struct stat st;
    int n = 0, fd;
    const char *logs[2] = {c->log_error, c->log_access}, *names[2] = {"error", "access"};

    for (int i = 0; i < 2; i++) {
        if (!is_file_dest(logs[i]))
            continue;
        gh_fmt(copy, sizeof(copy), "%s", logs[i]);
        if (access(dirname(copy), X_OK) < 0)
            n += fail("%s: log.%s %s cannot be reopened by the service user after rotation: "
                      "directory %s: %s",
                      c->path, names[i], logs[i], dirname(copy), strerror(errno));
    }
    if (c->cache.disk_dir && stat(c->cache.disk_dir, &st) == 0 && !(handed_over && st.st_uid == 0) &&
        access(c->cache.disk_dir, W_OK | X_OK) < 0)
        n += fail("%s: cache.disk_dir %s is not writable by the service user: %s", c->path,
                  c->cache.disk_dir, strerror(errno));
    for (unsigned i = 0; i < c->nreread; i++) {
        fd = open(c->reread[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            n += fail("%s: %s is not readable by the service user (a reload reads it again): %s",
                      c->path, c->reread[i], strerror(errno));
        else
            close(fd);
    }
    return n;
}

/* Runs checks_as_user in a child that became `pw` (when we are root). */
static int as_user(const struct gh_config *c, const struct passwd *pw)
{
    pid_t pid;
    int st;

    if (geteuid() != 0 || !pw || pw->pw_uid == 0)
        return checks_as_user(c, 0);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        return fail("fork: %s", strerror(errno));
    if (pid == 0) {
        if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
            setuid(pw->pw_uid) < 0)
            _exit(fail("cannot become user '%s': %s", pw->pw_name, strerror(errno)));
        _exit(GH_MIN(checks_as_user(c, 1), 100));
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* Each listen address must be one of this machine's: a bind to it, on
 * any port, tells (the running daemon's own port is not needed). */
static int check_local(const struct gh_config *c)
{
    int n = 0;

    for (unsigned i = 0; i < c->nlisteners; i++)
        for (unsigned k = 0; k < c->listeners[i].naddrs; k++) {
            const struct listen_addr *a = &c->listeners[i].addrs[k];
            struct sockaddr_storage ss = a->ss;
            int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
                continue;
            if (ss.ss_family == AF_INET6)
                ((struct sockaddr_in6 *)&ss)->sin6_port = 0;
            else
                ((struct sockaddr_in *)&ss)->sin_port = 0;
            if (bind(fd, (struct sockaddr *)&ss, a->len) < 0 && errno == EADDRNOTAVAIL)
                n += fail("%s:%d: listener '%s': %s is not an address of this machine",
                          c->listeners[i].file, c->listeners[i].line, c->listeners[i].name, a->text);
            close(fd);
        }
    return n;
}

int hostcheck_run(const struct gh_config *c)
{
    const char *name = hostcheck_user_name(c);
    struct passwd *pw = strcmp(name, "root") == 0 ? NULL : getpwnam(name);
    int n = 0;

    if (strcmp(name, "root") != 0 && !pw)
        n += fail("%s: user '%s' does not exist", c->path, name);
    if (is_file_dest(c->log_error))
        n += check_log_open(c, c->log_error, "error");
    if (is_file_dest(c->log_access))
        n += check_log_open(c, c->log_access, "access");
    if (c->cache.disk_dir) {
        char copy[4096];
        struct stat st;
        gh_fmt(copy, sizeof(copy), "%s", c->cache.disk_dir);
        if (stat(c->cache.disk_dir, &st) == 0 ? !S_ISDIR(st.st_mode)
                                               : stat(dirname(copy), &st) < 0 || !S_ISDIR(st.st_mode))
            n += fail("%s: cache.disk_dir %s is not a directory and cannot be made one", c->path,
                      c->cache.disk_dir);
    }
    n += check_local(c);
    if (pw || strcmp(name, "root") == 0)
        n += as_user(c, pw);
    return n;
}
