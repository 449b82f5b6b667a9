/* harness.c — processes and files for integration tests (see harness.h). */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void th_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* A port the kernel picks for a socket bound to port 0, then closed. */
static int kernel_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int th_free_port(void)
{
    /* Nothing holds a port between two calls, so the kernel may pick the
     * same one twice (two listeners of one configuration then collide):
     * the ports handed out lately are not handed out again. */
    static int recent[64];
    static unsigned given;
    int port = 0;

    for (int tries = 0; tries < 100; tries++) {
        int seen = 0;
        port = kernel_port();
        for (unsigned i = 0; i < given && i < 64; i++)
            seen |= recent[i] == port;
        if (!seen)
            break;
    }
    recent[given++ % 64] = port;
    return port;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* Copies text to path replacing @DIR@ and @ACCESS@. */
static int write_conf(const struct th_gatehouse *g, const char *text)
{
    FILE *f = fopen(g->conf, "w");

    if (!f)
        return -1;
    for (const char *p = text; *p;) {
        if (strncmp(p, "@DIR@", 5) == 0) {
            fputs(g->dir, f);
            p += 5;
        } else if (strncmp(p, "@ACCESS@", 8) == 0) {
            fputs(g->access, f);
            p += 8;
        } else {
            fputc(*p++, f);
        }
    }
    fclose(f);
    chmod(g->conf, 0644);
    return 0;
}

static size_t file_text(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    size_t n = 0;
    ssize_t r;

    if (fd < 0) {
        buf[0] = '\0';
        return 0;
    }
    while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fd);
    return n;
}

/* The last cap - 1 bytes of a file at most, from a line's start. */
static void file_tail(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
    off_t from = size > (off_t)(cap - 1) ? size - (off_t)(cap - 1) : 0;
    size_t n = 0;
    ssize_t r;

    buf[0] = '\0';
    if (fd < 0)
        return;
    lseek(fd, from, SEEK_SET);
    while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fd);
    if (from > 0) { /* drop the partial first line */
        char *nl = strchr(buf, '\n');
        memmove(buf, nl ? nl + 1 : buf + n, strlen(nl ? nl + 1 : buf + n) + 1);
    }
}

static int count_in_file(const char *path, const char *needle)
{
    static char buf[1 << 20];
    int count = 0;

    file_text(path, buf, sizeof(buf));
    for (char *p = buf; (p = strstr(p, needle)) != NULL; p++)
        count++;
    return count;
}

int th_gatehouse_start(struct th_gatehouse *g, const char *conf_text)
{
    memset(g, 0, sizeof(*g));
    strcpy(g->dir, "/tmp/gh-test-XXXXXX");
    if (!mkdtemp(g->dir))
        return -1;
    chmod(g->dir, 0755);
    snprintf(g->conf, sizeof(g->conf), "%s/gatehouse.conf", g->dir);
    snprintf(g->errlog, sizeof(g->errlog), "%s/error.log", g->dir);
    snprintf(g->access, sizeof(g->access), "%s/access.log", g->dir);
    if (write_conf(g, conf_text) < 0)
        return -1;
    g->pid = fork();
    if (g->pid == 0) {
        int fd = open(g->errlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        dup2(fd, 1);
        execl(env_or("GH_BIN", "./build/gatehouse"), "gatehouse", "-f", "-c", g->conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        int st;
        if (count_in_file(g->errlog, " started: ") > 0)
            return 0;
        if (waitpid(g->pid, &st, WNOHANG) == g->pid) {
            g->pid = 0;
            return -1;
        }
        th_sleep_ms(10);
    }
    return -1;
}

int th_gatehouse_reload(struct th_gatehouse *g, const char *conf_text)
{
    int ok = count_in_file(g->errlog, "configuration reloaded");
    int bad = count_in_file(g->errlog, "reload failed");

    if (write_conf(g, conf_text) < 0)
        return -1;
    kill(g->pid, SIGHUP);
    for (int i = 0; i < 500; i++) {
        if (count_in_file(g->errlog, "configuration reloaded") > ok)
            return 0;
        if (count_in_file(g->errlog, "reload failed") > bad)
            return -1;
        th_sleep_ms(10);
    }
    return -1;
}

int th_gatehouse_stop(struct th_gatehouse *g, int sig, int timeout_ms)
{
    int st;

    if (g->pid <= 0)
        return -1;
    kill(g->pid, sig);
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (waitpid(g->pid, &st, WNOHANG) == g->pid) {
            g->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        th_sleep_ms(10);
    }
    kill(g->pid, SIGKILL);
    waitpid(g->pid, &st, 0);
    g->pid = 0;
    return -1;
}

int th_gatehouse_check(const char *conf_text, char *out, size_t cap)
{
    struct th_gatehouse g;

    memset(&g, 0, sizeof(g));
    strcpy(g.dir, "/tmp/gh-test-XXXXXX");
    if (!mkdtemp(g.dir))
        return -1;
    chmod(g.dir, 0755);
    snprintf(g.conf, sizeof(g.conf), "%s/gatehouse.conf", g.dir);
    snprintf(g.access, sizeof(g.access), "%s/access.log", g.dir);
    write_conf(&g, conf_text);
    return th_sh(out, cap, "%s -t -c %s 2>&1", env_or("GH_BIN", "./build/gatehouse"), g.conf);
}

pid_t th_spawn(const char *log, char *const argv[])
{
    pid_t pid = fork();

    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int th_wait_port(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};

    for (int i = 0; i < 500; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
        ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            return 0;
        th_sleep_ms(10);
    }
    return -1;
}

void th_reap(pid_t pid)
{
    int st;

    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return;
        th_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

static long status_kb(pid_t pid, const char *key)
{
    char path[64], buf[4096], *p;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    file_text(path, buf, sizeof(buf));
    p = strstr(buf, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

long th_peak_rss_kb(pid_t pid)
{
    return status_kb(pid, "VmHWM:");
}

long th_rss_kb(pid_t pid)
{
    return status_kb(pid, "VmRSS:");
}

int th_log_lines(const char *path, int want, ...)
{
    static char buf[4 << 20]; /* the last 4 MiB of the log */
    const char *needles[16];
    int n = 0, count = 0;
    va_list ap;

    va_start(ap, want);
    while (n < 16 && (needles[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    for (int tries = 0; tries < 200; tries++) {
        char *line = buf;
        count = 0;
        file_tail(path, buf, sizeof(buf));
        while (line && *line) {
            char *nl = strchr(line, '\n');
            int all = 1;
            if (nl)
                *nl = '\0';
            for (int i = 0; i < n && all; i++)
                all = strstr(line, needles[i]) != NULL;
            count += all;
            line = nl ? nl + 1 : NULL;
        }
        if (count >= want)
            break;
        th_sleep_ms(10);
    }
    return count;
}

int th_sh(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    FILE *p;
    size_t n = 0;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    if (out && cap) {
        n = fread(out, 1, cap - 1, p);
        out[n] = '\0';
    } else {
        char junk[4096];
        while (fread(junk, 1, sizeof(junk), p) > 0)
            ;
    }
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
