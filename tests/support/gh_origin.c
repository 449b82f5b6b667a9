/* gh-origin — the test origin as a program of its own, for the README's
 * front-door tour (three of them behind etc/examples/front-door.conf):
 *
 *   gh-origin -p PORT [-n NAME] [-a ADDR]
 *
 * -p PORT   port to listen on; 0 picks one.
 * -n NAME   its name, in X-Origin and in /hello (default "origin").
 * -a ADDR   numeric address to bind (default 127.0.0.1; "::1" for IPv6).
 *
 * It prints "PORT <n>" once it listens, logs one line per request on
 * stderr, and serves until SIGTERM or SIGINT.  Its answers:
 *   /hello       200 "hello from NAME\n" (the tour's health check too)
 *   /obj/...?cc=VALUE
 *                200 "object <path>\n" with Cache-Control: VALUE, so the
 *                tour shows a miss, then a hit
 *   anything else  404 "not found\n"
 * The integration tests do not use it: each starts origins of its own
 * with the answers written in the test (tests/support/origin.h). */
#include "origin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    char cc[256];

    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strncmp(rq->path, "/obj/", 5) == 0) {
        if (origin_query(rq, "cc", 0, cc, sizeof(cc)) == 0)
            origin_add(re, "Cache-Control: %s", cc);
        origin_text(re, "object %s\n", rq->path);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: gh-origin -p PORT [-n NAME] [-a ADDR]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *port = NULL, *name = "origin";
    char *end;
    long p;
    int opt, lfd, bound;

    while ((opt = getopt(argc, argv, "p:n:a:h")) != -1) {
        switch (opt) {
        case 'p': port = optarg; break;
        case 'n': name = optarg; break;
        case 'a': addr = optarg; break;
        default: usage();
        }
    }
    if (!port || optind != argc)
        usage();
    p = strtol(port, &end, 10);
    if (*end || p < 0 || p > 65535 || strlen(name) > 200 || strpbrk(name, "\r\n")) {
        fprintf(stderr, "gh-origin: bad port or name\n");
        return 2;
    }
    lfd = origin_listen(addr, (int)p, &bound);
    if (lfd < 0) {
        perror("gh-origin: listen");
        return 1;
    }
    printf("PORT %d\n", bound);
    fflush(stdout);
    origin_serve(lfd, name, bound, answer);
}
