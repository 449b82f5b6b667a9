/* origin.c — the test origin's server (see origin.h): its processes (the
 * test program exec'ed again, told by a variable to serve), its
 * listening socket, one thread per connection that reads a request
 * (origin_request.c), calls the test's handler and sends the answer it
 * built (origin_reply.c), and the gate that holds answers until released.
 * What an answer says belongs to the handler, written in the test that
 * starts the origin: nothing here chooses a status, a field or a body by
 * the request's path.  Blocking sockets. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "origin_reply.h"
#include "origin_request.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The serving process's own: set once by origin_serve. */
static const char *g_name = "origin";
static int g_port;
static origin_fn *g_answer;
static atomic_uint_fast64_t g_next_conn_id = 1;

/* Shuts our side, drains what the peer still sends for a while (unread
 * input would turn our FIN into a RST that destroys what we sent), closes. */
static void close_gracefully(int fd)
{
    struct timeval tv = {0, 200 * 1000};
    char tmp[16384];
    size_t total = 0;
    struct timespec t0, now;

    shutdown(fd, SHUT_WR);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n == 0)
            break;
        if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        if (n > 0)
            total += (size_t)n;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= 2 || total > 64u * 1024 * 1024)
            break;
    }
    close(fd);
}

/* ------------------------------------------------------ held answers ---- */

/* A release starts a new generation: every hold begun before it ends. */
static pthread_mutex_t g_hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_hold_cond = PTHREAD_COND_INITIALIZER;
static unsigned g_hold_gen, g_held, g_held_peak;

void origin_hold(void)
{
    struct timespec until;
    unsigned gen;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&g_hold_lock);
    gen = g_hold_gen;
    if (++g_held > g_held_peak)
        g_held_peak = g_held;
    while (g_hold_gen == gen)
        if (pthread_cond_timedwait(&g_hold_cond, &g_hold_lock, &until) == ETIMEDOUT)
            break;
    g_held--;
    pthread_mutex_unlock(&g_hold_lock);
}

void origin_release(void)
{
    pthread_mutex_lock(&g_hold_lock);
    g_hold_gen++;
    pthread_cond_broadcast(&g_hold_cond);
    pthread_mutex_unlock(&g_hold_lock);
}

int origin_hold_paths(const struct origin_request *rq, struct origin_reply *re)
{
    if (strcmp(rq->path, "/hold") == 0) {
        origin_hold();
        origin_text(re, "held\n");
    } else if (strcmp(rq->path, "/release") == 0) {
        origin_release();
        origin_text(re, "released\n");
    } else {
        return 0;
    }
    return 1;
}

void origin_holding(unsigned *now, unsigned *peak)
{
    pthread_mutex_lock(&g_hold_lock);
    *now = g_held;
    *peak = g_held_peak;
    pthread_mutex_unlock(&g_hold_lock);
}

/* --------------------------------------------------------- connections ---- */

/* The library's own answer to a request it cannot read. */
static void answer_bad(const struct origin_conn *c, const struct origin_bad *bad)
{
    struct origin_reply_to to = {.fd = c->fd,
                                 .http_minor = bad->http_minor,
                                 .name = g_name,
                                 .conn_id = c->id,
                                 .nreq = c->nreq};
    struct origin_reply *re = origin_reply_new(&to);

    origin_status(re, bad->status);
    origin_text(re, "bad request: %s\n", bad->why);
    origin_reply_send(re);
    origin_reply_free(re);
}

/* A connection's thread: request, answer, as long as both sides keep it. */
static void *conn_main(void *arg)
{
    struct origin_conn *c = arg;
    struct origin_request *rq;
    struct origin_bad bad = {0};
    int keep = 1;

    while (keep && (rq = origin_request_read(c, g_name, g_port, &bad)) != NULL) {
        struct origin_reply_to to = {.fd = c->fd,
                                     .is_head = strcmp(rq->method, "HEAD") == 0,
                                     .http_minor = rq->http_minor,
                                     .keep = rq->keep_alive,
                                     .name = g_name,
                                     .conn_id = c->id,
                                     .nreq = c->nreq};
        struct origin_reply *re = origin_reply_new(&to);
        g_answer(rq, re);
        keep = origin_reply_send(re);
        origin_reply_free(re);
        origin_request_free(rq);
    }
    if (bad.status)
        answer_bad(c, &bad);
    close_gracefully(c->fd);
    free(c);
    return NULL;
}

/* ----------------------------------------------------------- processes ---- */

static void on_signal(int sig)
{
    (void)sig;
    _exit(0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int origin_listen(const char *addr, int port, int *bound)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[64], service[16];
    size_t al = strlen(addr);
    int fd, one = 1, saved;

    if (al >= 2 && addr[0] == '[' && addr[al - 1] == ']')
        snprintf(host, sizeof(host), "%.*s", (int)(al - 2), addr + 1);
    else
        snprintf(host, sizeof(host), "%s", addr);
    snprintf(service, sizeof(service), "%d", port);
    if (getaddrinfo(host, service, &hints, &res) != 0) {
        errno = EINVAL;
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        saved = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        errno = saved;
        return -1;
    }
    freeaddrinfo(res);
    *bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                      : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

void origin_serve(int lfd, const char *name, int port, origin_fn *answer)
{
    struct sigaction sa = {.sa_handler = on_signal};
    pthread_attr_t attr;
    sigset_t none;
    int one = 1;

    g_name = name;
    g_port = port;
    g_answer = answer;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        struct origin_conn *c;
        pthread_t th;
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                sleep_ms(10);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (!(c = malloc(sizeof(*c)))) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->id = atomic_fetch_add(&g_next_conn_id, 1);
        c->nreq = 0;
        c->start = c->end = 0;
        if (pthread_create(&th, &attr, conn_main, c) != 0) {
            close(fd);
            free(c);
        }
    }
}

/* The process group the next origin joins; 0: its parent's. */
static pid_t g_pgid;

/* An origin is a new process of the test program itself, which this
 * variable, set for it alone, makes serve: "<port> <handler> <name>", the
 * handler as its distance from origin_serve (the image is the same, its
 * place in memory is not), the listening socket on fd 3, the log on 2. */
#define SERVE_VAR "GH_TEST_ORIGIN_SERVE"

/* Before main: a copy of the program started by spawn serves, and never
 * returns to the test runner's code. */
__attribute__((constructor)) static void serve_if_asked(void)
{
    const char *v = getenv(SERVE_VAR);
    static char name[64];
    long long handler;
    int port;

    if (!v)
        return;
    if (sscanf(v, "%d %lld %63s", &port, &handler, name) != 3)
        _exit(127);
    unsetenv(SERVE_VAR); /* not for what the origin may run */
    origin_serve(3, name, port, (origin_fn *)((uintptr_t)origin_serve + (uintptr_t)handler));
}

/* The environment for o's process: this one's, and SERVE_VAR. */
static char **serve_env(const struct origin *o, int port, char *var, size_t cap)
{
    extern char **environ;
    size_t n = 0;
    char **env;

    while (environ[n])
        n++;
    if (!(env = calloc(n + 2, sizeof(*env))))
        return NULL;
    memcpy(env, environ, n * sizeof(*env));
    snprintf(var, cap, SERVE_VAR "=%d %lld %s", port,
             (long long)((uintptr_t)o->answer - (uintptr_t)origin_serve), o->name);
    env[n] = var;
    return env;
}

/* In the child, between fork and exec: only calls that are safe there (the
 * test may run threads, and a lock one held at the fork stays held). */
static void exec_origin(int lfd, int logfd, char **env)
{
    char *argv[] = {"gh-test-origin", NULL};

    if (g_pgid > 0)
        setpgid(0, g_pgid);
    dup2(logfd, 2);
    if (lfd == 3)
        fcntl(3, F_SETFD, 0); /* dup2 onto itself would keep close-on-exec */
    else
        dup2(lfd, 3);
    /* no copy of the test's own sockets and pipes keeps them open */
    if (close_range(4, ~0U, 0) < 0)
        for (int fd = 4; fd < 65536; fd++)
            close(fd);
    execve("/proc/self/exe", argv, env);
    _exit(127);
}

/* Starts o's process on `port` (0: any).  The socket is listening before
 * the fork, so the origin accepts as soon as this returns. */
static int spawn(struct origin *o, int port)
{
    char var[256], **env;
    int bound, lfd, logfd;
    sigset_t all, was;
    pid_t pid = -1;

    /* a restart may find the old process still closing its socket */
    for (int i = 0; (lfd = origin_listen(o->addr, port, &bound)) < 0; i++)
        if (!port || errno != EADDRINUSE || i == 500)
            return -1;
        else
            sleep_ms(10);
    snprintf(o->log, sizeof(o->log), "/tmp/gh-origin-%s-%d.log", o->name, (int)getpid());
    logfd = open(o->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    env = serve_env(o, bound, var, sizeof(var));
    /* no signal reaches the child before origin_serve has its handlers */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &was);
    if (logfd >= 0 && env)
        pid = fork();
    if (pid == 0)
        exec_origin(lfd, logfd, env);
    /* both sides set the group: the test may end (and its group be
     * killed) before the child runs */
    if (pid > 0 && g_pgid > 0)
        setpgid(pid, g_pgid);
    pthread_sigmask(SIG_SETMASK, &was, NULL);
    free(env);
    close(lfd);
    if (logfd >= 0)
        close(logfd);
    if (pid < 0)
        return -1;
    o->pid = pid;
    o->port = bound;
    return 0;
}

int origin_start_at(struct origin *o, const char *name, const char *addr, origin_fn *answer)
{
    if (!*name || strlen(name) >= sizeof(o->name) || strpbrk(name, " \t\r\n"))
        return -1;
    memset(o, 0, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "%s", name);
    snprintf(o->addr, sizeof(o->addr), "%s", addr);
    o->answer = answer;
    return spawn(o, 0);
}

int origin_start(struct origin *o, const char *name, origin_fn *answer)
{
    return origin_start_at(o, name, "127.0.0.1", answer);
}

int origin_restart(struct origin *o)
{
    int rc;

    origin_stop(o);
    /* Check runs each test in a child that leads its own process group and
     * kills that group at the end: an origin restarted there joins the
     * runner's group instead, so it outlives the test. */
    if (getpgid(0) == getpid())
        g_pgid = getpgid(getppid());
    rc = spawn(o, o->port);
    g_pgid = 0;
    return rc;
}

void origin_stop(struct origin *o)
{
    int st;

    if (o->pid > 0) {
        kill(o->pid, SIGTERM);
        waitpid(o->pid, &st, 0);
        o->pid = 0;
    }
}
