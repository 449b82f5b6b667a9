/* process.c — process lifecycle (see process.h).  The main thread owns the
 * current configuration generation, the listening-socket table, the workers
 * and the signals; it never handles a connection itself. */
#include "process.h"
#include "cache_disk.h"
#include "hostcheck.h"
#include "dashboard.h"
#include "notify.h"
#include "observe.h"
#include "procstat.h"
#include "tls.h"
#include "log.h"
#include "sockets.h"
#include "util.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct process {
    const char *path;
    const struct frontend *const *fes;
    unsigned nfes;
    int foreground;
    struct gh_config *cfg;
    struct socket_set *socks;
    struct worker **workers;
    unsigned nworkers;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gatehouse [-c FILE] [-t] [-q] [-f] [-r PID] [-V] [-h]\n"
            "  -c FILE  configuration file (default %s)\n"
            "  -t       check the configuration and this machine, and exit (0 valid, 1 not)\n"
            "  -q       quiet: only warnings and errors\n"
            "  -f       stay in the foreground and log to stderr\n"
            "  -r PID   check, then make process PID reload and wait for the outcome\n"
            "  -V       print the version and exit\n"
            "  -h       this help\n",
            GATEHOUSE_DEFAULT_CONFIG);
}

/* Opens the logs a generation names; foreground keeps errors on stderr. */
static int apply_logs(const struct process *pr, const struct gh_config *c, char *err, size_t errlen)
{
    return log_configure(pr->foreground ? NULL : c->log_error, c->log_access,
                         (enum log_level)c->log_level, err, errlen);
}

/* Drops root for the configured user; without one, "gatehouse" if that
 * account exists, else "nobody".  The user keeps its supplementary groups
 * (initgroups): a key readable through `ssl-cert` stays readable at the
 * next reload. */
static int drop_privileges(const struct gh_config *c, char *err, size_t errlen)
{
    const char *name = hostcheck_user_name(c);
    struct passwd *pw;

    if (geteuid() != 0) {
        if (c->user && strcmp(c->user, "root") != 0 && !getpwnam(c->user))
            log_warn("user '%s' does not exist (not running as root: ignored)", c->user);
        return 0;
    }
    if (strcmp(name, "root") == 0) {
        log_warn("running as root: user = \"root\" keeps all privileges");
        return 0;
    }
    pw = getpwnam(name);
    if (!pw) {
        gh_fmt(err, errlen, "%s: user '%s' does not exist", c->path, name);
        return -1;
    }
    log_chown(pw->pw_uid, pw->pw_gid);
    if (c->cache.disk_dir)
        cache_disk_prepare(c->cache.disk_dir, pw->pw_uid, pw->pw_gid);
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        gh_fmt(err, errlen, "cannot switch to user '%s': %s", name, strerror(errno));
        return -1;
    }
    log_info("running as user %s", name);
    return 0;
}

static void hand_out(struct process *pr)
{
    for (unsigned i = 0; i < pr->nworkers; i++)
        worker_update(pr->workers[i], sockets_update(pr->socks, pr->cfg, i));
}

static void reload(struct process *pr)
{
    char err[CONFIG_ERRLEN];
    struct gh_config *c = config_load(pr->path, pr->fes, pr->nfes, err, sizeof(err));

    notify_reloading();
    if (!c) {
        log_error("reload failed, keeping the running configuration: %s", err);
        procstat_reloaded(0);
        notify_reloaded(0, err);
        return;
    }
    if (sockets_bind(pr->socks, c, err, sizeof(err)) < 0) {
        log_error("reload failed, keeping the running configuration: %s", err);
        config_unref(c);
        procstat_reloaded(0);
        notify_reloaded(0, err);
        return;
    }
    if (apply_logs(pr, c, err, sizeof(err)) < 0)
        log_error("reload: %s (logs unchanged)", err);
    if (c->workers != pr->cfg->workers)
        log_warn("reload: 'workers' changes only at restart (%u running)", pr->nworkers);
    config_unref(pr->cfg);
    pr->cfg = c;
    config_activate(c);
    hand_out(pr);
    log_info("configuration reloaded from %s", pr->path);
    procstat_reloaded(1);
    notify_reloaded(1, NULL);
}

static int all_exited(const struct process *pr)
{
    for (unsigned i = 0; i < pr->nworkers; i++)
        if (!atomic_load(&pr->workers[i]->exited))
            return 0;
    return 1;
}

static void shut_down(struct process *pr)
{
    uint64_t until = gh_now_ms() + pr->cfg->to.drain;

    notify_stopping();
    log_info("shutting down: finishing in-flight exchanges (up to %u ms)", pr->cfg->to.drain);
    for (unsigned i = 0; i < pr->nworkers; i++)
        worker_stop(pr->workers[i], 1);
    while (!all_exited(pr) && gh_now_ms() < until)
        poll(NULL, 0, 20);
    if (!all_exited(pr)) {
        log_warn("drain timeout: closing the remaining connections");
        for (unsigned i = 0; i < pr->nworkers; i++)
            worker_stop(pr->workers[i], 2);
    }
    dashboard_stop();
    for (unsigned i = 0; i < pr->nworkers; i++)
        worker_free(pr->workers[i]);
    free(pr->workers);
    sockets_free(pr->socks);
    config_unref(pr->cfg);
    log_info("stopped");
}

static int signal_loop(struct process *pr, int sfd)
{
    for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(sfd, &si, sizeof(si));
        if (n != (ssize_t)sizeof(si)) {
            if (n < 0 && errno == EINTR)
                continue;
            log_error("signalfd: %s", strerror(errno));
            return 1;
        }
        switch (si.ssi_signo) {
        case SIGHUP:
            reload(pr);
            break;
        case SIGUSR1:
            if (log_reopen() == 0)
                log_info("log files reopened");
            break;
        case SIGTERM:
        case SIGINT:
            shut_down(pr);
            return 0;
        }
    }
}

/* Every connection costs a descriptor or two: take all the kernel allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_warn("cannot raise the descriptor limit: %s", strerror(errno));
    }
}

/* The descriptor limit in force (the size of per-descriptor tables). */
static unsigned fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return 1u << 20;
    return (unsigned)GH_MIN(rl.rlim_cur, (rlim_t)1 << 24);
}

static int daemonize(void)
{
    pid_t pid = fork();
    int fd;

    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    setsid();
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        if (fd > 1)
            close(fd);
    }
    return 0;
}

int process_main(int argc, char **argv, const struct frontend *const *fes, unsigned nfes)
{
    struct process pr = {.path = GATEHOUSE_DEFAULT_CONFIG, .fes = fes, .nfes = nfes};
    char err[CONFIG_ERRLEN];
    int check = 0, quiet = 0, opt, sfd;
    long reload_pid = 0;
    sigset_t mask;

    while ((opt = getopt(argc, argv, "c:tqr:fVh")) != -1) {
        switch (opt) {
        case 'c': pr.path = optarg; break;
        case 't': check = 1; break;
        case 'q': quiet = 1; break;
        case 'r':
            reload_pid = strtol(optarg, NULL, 10);
            if (reload_pid <= 1) {
                fprintf(stderr, "gatehouse: -r wants the daemon's process id\n");
                return 1;
            }
            break;
        case 'f': pr.foreground = 1; break;
        case 'V': printf("gatehouse %s\n", GATEHOUSE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 1;
    }
    log_init(quiet ? LOG_WARN : LOG_INFO);
    log_journal_detect();
    pr.cfg = config_load(pr.path, fes, nfes, err, sizeof(err));
    if (!pr.cfg) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 1;
    }
    if (check || reload_pid) {
        int bad = hostcheck_run(pr.cfg);
        if (!bad && !quiet && !reload_pid)
            printf("gatehouse: configuration %s is valid\n", pr.path);
        config_unref(pr.cfg);
        if (bad || !reload_pid)
            return bad ? 1 : 0;
        return notify_reload_and_wait((pid_t)reload_pid);
    }
    /* Signals belong to the main thread's signalfd; workers inherit the mask. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);

    raise_fd_limit();
    tls_io_init(fd_limit());
    pr.nworkers = pr.cfg->workers;
    pr.socks = sockets_new(pr.nworkers);
    notify_init();
    if (sockets_bind(pr.socks, pr.cfg, err, sizeof(err)) < 0 ||
        apply_logs(&pr, pr.cfg, err, sizeof(err)) < 0 ||
        drop_privileges(pr.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 1;
    }
    if (!pr.foreground && daemonize() < 0) {
        fprintf(stderr, "gatehouse: fork: %s\n", strerror(errno));
        return 1;
    }
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        log_error("signalfd: %s", strerror(errno));
        return 1;
    }
    config_activate(pr.cfg);
    observe_init();
    procstat_init(GATEHOUSE_VERSION);
    pr.workers = xcalloc(pr.nworkers, sizeof(*pr.workers));
    for (unsigned i = 0; i < pr.nworkers; i++) {
        pr.workers[i] = worker_new(i);
        if (worker_start(pr.workers[i], sockets_update(pr.socks, pr.cfg, i)) < 0)
            log_fatal("cannot start worker %u", i);
    }
    for (unsigned i = 0; i < pr.cfg->nlisteners; i++) {
        const struct listener_conf *l = &pr.cfg->listeners[i];
        for (unsigned k = 0; k < l->naddrs; k++)
            log_info("listener '%s' (%s) on %s", l->name, l->fe->name, l->addrs[k].text);
    }
    dashboard_start();
    log_info("gatehouse %s started: %u workers, configuration %s", GATEHOUSE_VERSION,
             pr.nworkers, pr.path);
    notify_ready();
    return signal_loop(&pr, sfd);
}
