/* check_rules.c — tests of the filtering list engine (rules.h).
 *
 * Every list is a real file written to a fresh temporary directory: one
 * table of lists (each format, with the bad lines a user would write and the
 * warnings they must see, "file:line: ..."), one table of requests against
 * them (verdict and the rule text the access log would show), then the
 * file-level cases: gzip, CRLF, a byte-order mark, the category directory,
 * unreadable paths, the warning cap, over-long lines, threads, and a
 * 200,000-name list checked entry by entry. */
#include "rules.h"
#include "suites.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static char dir[64];
static char warnings[65536]; /* every warning, one per line */
static int nwarnings;

static void collect(void *ctx, const char *msg)
{
    size_t used = strlen(warnings);

    ck_assert_ptr_eq(ctx, &nwarnings);
    ck_assert_msg(strchr(msg, '\n') == NULL, "a warning must be one line: %s", msg);
    snprintf(warnings + used, sizeof(warnings) - used, "%s\n", msg);
    nwarnings++;
}

/* Occurrences of s in the collected warnings. */
static int warned(const char *s)
{
    int n = 0;

    for (const char *p = warnings; (p = strstr(p, s)) != NULL; p += strlen(s))
        n++;
    return n;
}

/* Writes len bytes to dir/name; returns the full path (static). */
static const char *write_bytes(const char *name, const char *text, size_t len)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

static const char *write_file(const char *name, const char *text)
{
    return write_bytes(name, text, strlen(text));
}

static const char *write_gz(const char *name, const char *text)
{
    static char path[256];
    gzFile gz;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    gz = gzopen(path, "wb9");
    ck_assert_ptr_nonnull(gz);
    ck_assert_int_eq(gzwrite(gz, text, (unsigned)strlen(text)), (int)strlen(text));
    ck_assert_int_eq(gzclose(gz), Z_OK);
    return path;
}

static void setup(void)
{
    strcpy(dir, "/tmp/gh-rules-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    warnings[0] = '\0';
    nwarnings = 0;
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static struct rulelist *load(const char *path, enum rules_format f)
{
    char err[512] = "";
    struct rulelist *l = rulelist_load("t", path, f, collect, &nwarnings, err, sizeof(err));

    ck_assert_msg(l != NULL, "%s: %s", path, err);
    return l;
}

/* Loading must fail; returns the message. */
static const char *load_fails(const char *path, enum rules_format f)
{
    static char err[512];

    err[0] = '\0';
    ck_assert_ptr_null(rulelist_load("t", path, f, collect, &nwarnings, err, sizeof(err)));
    ck_assert_msg(err[0] != '\0', "no message for %s", path);
    return err;
}

static enum rules_verdict match(const struct rulelist *l, const char *host, const char *path,
                                const char **rule)
{
    return rulelist_match(l, host, strlen(host), path, strlen(path), rule);
}

/* ---- the lists ---- */

enum { L_DOMAINS, L_HOSTS, L_ADBLOCK, L_URLS, L_REGEX };

struct list_def {
    const char *file;
    enum rules_format fmt;
    const char *text;
    size_t size;          /* rulelist_size */
    int nwarnings;        /* exactly this many */
    const char *warn[12]; /* each must appear, "file:line: ..." */
};

/* clang-format off: one line of a list per line, numbered */
static const struct list_def lists[] = {
    [L_DOMAINS] =
        {"domains",
         RULES_AUTO,
         "# UT1-style domains\n"   /* 1 */
         "\n"                      /* 2 */
         "example.com\n"           /* 3 */
         ".dot.example\n"          /* 4 */
         "*.star.example\n"        /* 5 */
         "UPPER.Example\n"         /* 6 */
         "trailing.example.\n"     /* 7 */
         "xn--bcher-kva.example\n" /* 8 */
         "under_score.example\n"   /* 9 */
         "-dash.example\n"         /* 10 */
         "10.1.0.0/16\n"           /* 11 */
         "192.0.2.7\n"             /* 12 */
         "2001:db8::/32\n"         /* 13 */
         "2001:DB8:1:0::5/128\n"   /* 14 */
         "198.51.100.9/32\n"       /* 15 */
         "bad name.example\n"      /* 16 */
         "bad..name.example\n"     /* 17 */
         "*bad.example\n"          /* 18 */
         "a.*.example\n"           /* 19 */
         "b\xc3\xbc"
         "cher.example\n"                                                             /* 20 */
         "300.1.2.3\n"                                                                /* 21 */
         "10.0.0.0/33\n"                                                              /* 22 */
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\n" /* 23 */
         "example.com/path\n"                                                         /* 24 */
         "  spaced.example\t\n" /* 25: trimmed, fine */
         "example.com\n"        /* 26: a duplicate */
         "0x7f.0.0.10\n",       /* 27: an address, as a resolver reads it */
         15,
         9,
         {"/domains:16: space inside a name: 'bad name.example'",
          "/domains:17: empty label: 'bad..name.example'",
          "/domains:18: '*' is only allowed as a leading \"*.\": '*bad.example'",
          "/domains:19: '*' is only allowed",
          "/domains:20: not ASCII (write internationalised names in punycode, xn--...): "
          "'b\\xc3\\xbccher.example'",
          "/domains:21: not an address or address/prefix-length: '300.1.2.3'",
          "/domains:22: bad network '10.0.0.0/33'", "/domains:23: label longer than 63 bytes",
          "/domains:24: invalid character in a name: 'example.com/path'"}},
    [L_HOSTS] = {"hosts",
                 RULES_AUTO,
                 "# a blocklist in hosts format\n"               /* 1 */
                 "127.0.0.1 localhost\n"                         /* 2 */
                 "127.0.0.1 localhost.localdomain\n"             /* 3 */
                 "255.255.255.255 broadcasthost\n"               /* 4 */
                 "::1 ip6-localhost ip6-loopback\n"              /* 5 */
                 "0.0.0.0 0.0.0.0\n"                             /* 6 */
                 "0.0.0.0 ads.example   tracker.example # two\n" /* 7 */
                 "127.0.0.1\ttab.example\n"                      /* 8 */
                 "::1 six.example\n"                             /* 9 */
                 "0.0.0.0 bad!name.example good.example\n"       /* 10 */
                 "not-an-address name.example\n"                 /* 11 */
                 "0.0.0.0\n"                                     /* 12 */
                 "0.0.0.0 LOCAL\n"                               /* 13 */
                 "0.0.0.0 *.wild.example\n",                     /* 14 */
                 5,
                 4,
                 {"/hosts:10: invalid character in a name: 'bad!name.example'",
                  "/hosts:11: not a hosts line (want: address name ...): 'not-an-address'",
                  "/hosts:12: an address without a name: '0.0.0.0'",
                  "/hosts:14: '*' is only allowed"}},
    [L_ADBLOCK] = {"ads.txt",
                   RULES_AUTO,
                   "[Adblock Plus 2.0]\n"             /* 1 */
                   "! Title: a test list\n"           /* 2 */
                   "||ads.example^\n"                 /* 3 */
                   "@@||good.ads.example^\n"          /* 4 */
                   "||tracker.example^$third-party\n" /* 5: options */
                   "@@||ok.example^$document\n"       /* 6: options */
                   "##.banner\n"                      /* 7: skipped */
                   "example.org##.ad\n"               /* 8: skipped */
                   "#@#.sponsor\n"                    /* 9: skipped */
                   "/banner/*\n"                      /* 10: skipped */
                   "||paths.example/ads/\n"           /* 11: skipped */
                   "||wild*.example^\n"               /* 12: skipped */
                   "||UPPER.Example^\n"               /* 13 */
                   "||192.0.2.99^\n"                  /* 14 */
                   "@@||example.org^\n"               /* 15 */
                   "||ads.example.org^\n"             /* 16 */
                   "||same.example^\n"                /* 17 */
                   "@@||same.example^\n"              /* 18 */
                   "@@||first.example^\n"             /* 19 */
                   "||first.example^\n"               /* 20 */
                   "||bad!.example^\n"                /* 21 */
                   "# a hosts-style comment\n",       /* 22 */
                   10,
                   4,
                   {"/ads.txt:5: adblock options are not supported, rule skipped: '$third-party'",
                    "/ads.txt:6: adblock options are not supported, rule skipped: '$document'",
                    "/ads.txt:21: invalid character in a name: 'bad!.example'",
                    "/ads.txt: 6 adblock rules skipped"}},
    [L_URLS] = {"urls",
                RULES_URLS,
                "news.example/gambling/\n"      /* 1 */
                "http://shop.example/poker\n"   /* 2 */
                "HTTPS://Cards.Example/Deck/\n" /* 3 */
                "whole.example\n"               /* 4 */
                "slash.example/\n"              /* 5 */
                "127.0.0.1/blocked-path\n"      /* 6 */
                "[2001:db8::1]/v6/\n"           /* 7 */
                "www.keepwww.example/x\n"       /* 8 */
                "port.example:8080/x\n"         /* 9 */
                "bad host.example/x\n"          /* 10 */
                "bad!.example/x\n"              /* 11 */
                "/no-host\n"                    /* 12 */
                "encoded.example/%7Euser/\n"    /* 13: paths in their normal form */
                "encoded.example/a%2fb\n"       /* 14 */
                "Encoded.Example./x/../y//\n"   /* 15 */
                "encoded.example/bad%00\n"      /* 16 */
                "encoded.example/%zz\n"         /* 17 */
                "0x7f.2/hex/\n"                 /* 18 */
                "encoded.example/q?id=%35\n",   /* 19 */
                13,
                6,
                {"/urls:9: not a host/path (an address? ports are not supported): "
                 "'port.example:8080/x'",
                 "/urls:10: space inside a URL: 'bad host.example/x'",
                 "/urls:11: invalid character in a name: 'bad!.example/x'",
                 "/urls:12: empty name: '/no-host'",
                 "/urls:16: NUL (%00) in the request target: 'encoded.example/bad%00'",
                 "/urls:17: bad percent-encoding in the request path: 'encoded.example/%zz'"}},
    [L_REGEX] = {"expressions",
                 RULES_REGEX,
                 "# squidGuard expressions\n"   /* 1 */
                 "(roulette|blackjack)[0-9]*\n" /* 2 */
                 "^[^/]*\\.casino\\.example/\n" /* 3 */
                 "(unclosed\n"                  /* 4 */
                 "/adult/.*\\.jpg$\n",          /* 5 */
                 3,
                 1,
                 {"/expressions:4: bad regular expression '(unclosed': missing closing "
                  "parenthesis at offset 9"}},
};
/* clang-format on */

static struct rulelist *load_def(const struct list_def *d)
{
    return load(write_file(d->file, d->text), d->fmt);
}

START_TEST(test_list_table)
{
    const struct list_def *d = &lists[_i];
    struct rulelist *l = load_def(d);

    for (int i = 0; i < (int)COUNT(d->warn) && d->warn[i]; i++)
        ck_assert_msg(warned(d->warn[i]) == 1, "%s: want once \"%s\" in:\n%s", d->file, d->warn[i],
                      warnings);
    ck_assert_msg(nwarnings == d->nwarnings, "%s: %d warnings, want %d:\n%s", d->file, nwarnings,
                  d->nwarnings, warnings);
    ck_assert_uint_eq(rulelist_size(l), d->size);
    ck_assert_str_eq(rulelist_name(l), "t");
    rulelist_free(l);
}
END_TEST

/* ---- requests against them ---- */

struct match_case {
    int list;
    const char *host, *path;
    enum rules_verdict want;
    const char *rule; /* the text handed back, for a match */
};

#define B RULES_BLOCK
#define A RULES_ALLOW
#define N RULES_NONE

static const struct match_case matches[] = {
    /* a name covers itself and the names below it, and nothing else */
    {L_DOMAINS, "example.com", "", B, "example.com"},
    {L_DOMAINS, "www.example.com", "/", B, "example.com"},
    {L_DOMAINS, "a.b.example.com", "/x?y=1", B, "example.com"},
    {L_DOMAINS, "notexample.com", "/", N, NULL},
    {L_DOMAINS, "example.com.evil.test", "/", N, NULL},
    {L_DOMAINS, "example.co", "/", N, NULL},
    {L_DOMAINS, "com", "/", N, NULL},
    {L_DOMAINS, "xample.com", "/", N, NULL},
    /* case, one trailing dot, a leading dot from the client */
    {L_DOMAINS, "WWW.Example.COM", "/", B, "example.com"},
    {L_DOMAINS, "example.com.", "/", B, "example.com"},
    {L_DOMAINS, "www.example.com.", "/", B, "example.com"},
    /* a spelling no resolver takes still meets the list without its dots
     * (gatehouse refuses such names with 400; the SNI of a tunnel may hold one) */
    {L_DOMAINS, "example.com..", "/", B, "example.com"},
    {L_DOMAINS, "WWW.example.COM...", "/", B, "example.com"},
    {L_DOMAINS, "bad..example.com", "/", B, "example.com"},
    {L_DOMAINS, "", "/", N, NULL},
    {L_DOMAINS, ".", "/", N, NULL},
    /* ".name" and "*.name" mean the name and below */
    {L_DOMAINS, "dot.example", "", B, "dot.example"},
    {L_DOMAINS, "x.dot.example", "", B, "dot.example"},
    {L_DOMAINS, "star.example", "", B, "star.example"},
    {L_DOMAINS, "x.y.star.example", "", B, "star.example"},
    {L_DOMAINS, "upper.example", "", B, "upper.example"},
    {L_DOMAINS, "trailing.example", "", B, "trailing.example"},
    {L_DOMAINS, "under_score.example", "", B, "under_score.example"},
    {L_DOMAINS, "-dash.example", "", B, "-dash.example"},
    {L_DOMAINS, "spaced.example", "", B, "spaced.example"},
    /* IDNs compare in punycode, as clients send them */
    {L_DOMAINS, "xn--bcher-kva.example", "", B, "xn--bcher-kva.example"},
    {L_DOMAINS, "WWW.XN--BCHER-KVA.EXAMPLE", "", B, "xn--bcher-kva.example"},
    {L_DOMAINS,
     "b\xc3\xbc"
     "cher.example",
     "", N, NULL},
    /* IP literals against addresses and prefixes */
    {L_DOMAINS, "10.1.200.3", "/", B, "10.1.0.0/16"},
    {L_DOMAINS, "10.1.0.0", "/", B, "10.1.0.0/16"},
    {L_DOMAINS, "10.2.0.1", "/", N, NULL},
    {L_DOMAINS, "::ffff:10.1.2.3", "/", B, "10.1.0.0/16"},
    {L_DOMAINS, "192.0.2.7", "/", B, "192.0.2.7"},
    {L_DOMAINS, "192.0.2.8", "/", N, NULL},
    {L_DOMAINS, "192.0.2.7.", "/", B, "192.0.2.7"},
    {L_DOMAINS, "0xc0.0.2.7", "/", B, "192.0.2.7"}, /* inet_aton forms a resolver takes */
    {L_DOMAINS, "3221225991", "/", B, "192.0.2.7"},
    {L_DOMAINS, "[::ffff:192.0.2.7]", "/", B, "192.0.2.7"},
    {L_DOMAINS, "a.192.0.2.7", "/", N, NULL}, /* a name, not the address */
    {L_DOMAINS, "198.51.100.9", "/", B, "198.51.100.9"},
    {L_DOMAINS, "198.51.100.10", "/", N, NULL},
    {L_DOMAINS, "2001:db8::7", "/", B, "2001:db8::/32"},
    {L_DOMAINS, "[2001:DB8::7]", "/", B, "2001:db8::/32"},
    {L_DOMAINS, "2001:db9::", "/", N, NULL},
    {L_DOMAINS, "2001:db8:1::5", "/", B, "2001:db8:1::5"},
    {L_DOMAINS, "2001:0db8:0001:0:0:0:0:5", "/", B, "2001:db8:1::5"},
    {L_DOMAINS, "::1", "/", N, NULL},
    {L_DOMAINS, "127.0.0.10", "/", B, "127.0.0.10"}, /* written 0x7f.0.0.10 */
    {L_DOMAINS, "2130706442", "/", B, "127.0.0.10"},
    {L_DOMAINS, "0x7f.0.0.10.", "/", B, "127.0.0.10"},
    /* hosts files: every name after the address, local names skipped */
    {L_HOSTS, "ads.example", "/", B, "ads.example"},
    {L_HOSTS, "x.tracker.example", "/", B, "tracker.example"},
    {L_HOSTS, "tab.example", "/", B, "tab.example"},
    {L_HOSTS, "six.example", "/", B, "six.example"},
    {L_HOSTS, "good.example", "/", B, "good.example"},
    {L_HOSTS, "localhost", "/", N, NULL},
    {L_HOSTS, "localhost.localdomain", "/", N, NULL},
    {L_HOSTS, "broadcasthost", "/", N, NULL},
    {L_HOSTS, "ip6-localhost", "/", N, NULL},
    {L_HOSTS, "local", "/", N, NULL},
    {L_HOSTS, "0.0.0.0", "/", N, NULL},
    {L_HOSTS, "127.0.0.1", "/", N, NULL},
    {L_HOSTS, "name.example", "/", N, NULL},
    {L_HOSTS, "two", "/", N, NULL},
    /* adblock: exceptions win inside the list, whatever the order or depth */
    {L_ADBLOCK, "ads.example", "/", B, "ads.example"},
    {L_ADBLOCK, "x.ads.example", "/", B, "ads.example"},
    {L_ADBLOCK, "good.ads.example", "/", A, "@@good.ads.example"},
    {L_ADBLOCK, "a.good.ads.example", "", A, "@@good.ads.example"},
    {L_ADBLOCK, "ads.example.org", "/", A, "@@example.org"},
    {L_ADBLOCK, "example.org", "/", A, "@@example.org"},
    {L_ADBLOCK, "same.example", "/", A, "@@same.example"},
    {L_ADBLOCK, "first.example", "/", A, "@@first.example"},
    {L_ADBLOCK, "upper.example", "/", B, "upper.example"},
    {L_ADBLOCK, "192.0.2.99", "/", B, "192.0.2.99"},
    {L_ADBLOCK, "tracker.example", "/", N, NULL}, /* its rule had options */
    {L_ADBLOCK, "ok.example", "/", N, NULL},
    {L_ADBLOCK, "paths.example", "/ads/", N, NULL},
    {L_ADBLOCK, "wild1.example", "/", N, NULL},
    /* URL prefixes: the host or below, and a path starting with the prefix */
    {L_URLS, "news.example", "/gambling/today", B, "news.example/gambling/"},
    {L_URLS, "news.example", "/gambling/", B, "news.example/gambling/"},
    {L_URLS, "www.news.example", "/gambling/x", B, "news.example/gambling/"},
    {L_URLS, "NEWS.example.", "/GAMBLING/x", B, "news.example/gambling/"},
    {L_URLS, "news.example", "/gambling", N, NULL},
    {L_URLS, "news.example", "/sport/gambling/", N, NULL},
    {L_URLS, "news.example", "", N, NULL}, /* CONNECT: no path to see */
    {L_URLS, "othernews.example", "/gambling/", N, NULL},
    {L_URLS, "shop.example", "/poker-chips?id=1", B, "shop.example/poker"},
    {L_URLS, "shop.example", "/pokemon", N, NULL},
    {L_URLS, "cards.example", "/deck/1", B, "cards.example/Deck/"},
    {L_URLS, "whole.example", "", B, "whole.example"},
    {L_URLS, "a.whole.example", "/anything", B, "whole.example"},
    {L_URLS, "slash.example", "", B, "slash.example"},
    {L_URLS, "127.0.0.1", "/blocked-path/x", B, "127.0.0.1/blocked-path"},
    {L_URLS, "0x7f.1", "/blocked-path", B, "127.0.0.1/blocked-path"},
    {L_URLS, "127.0.0.1", "/other", N, NULL},
    {L_URLS, "[2001:db8::1]", "/v6/x", B, "2001:db8::1/v6/"},
    {L_URLS, "2001:DB8:0::1", "/v6/", B, "2001:db8::1/v6/"},
    {L_URLS, "keepwww.example", "/x", N, NULL}, /* "www." is not stripped */
    {L_URLS, "www.keepwww.example", "/x", B, "www.keepwww.example/x"},
    {L_URLS, "a.www.keepwww.example", "/x/y", B, "www.keepwww.example/x"},
    {L_URLS, "port.example", "/x", N, NULL},
    /* rules' paths are read in the requests' normal form (urlpath.h) */
    {L_URLS, "encoded.example", "/~user/page", B, "encoded.example/~user/"},
    {L_URLS, "encoded.example", "/a/b", B, "encoded.example/a/b"},
    {L_URLS, "encoded.example", "/y/z", B, "encoded.example/y/"},
    {L_URLS, "encoded.example", "/x/y/z", N, NULL},
    {L_URLS, "encoded.example", "/q?id=5", B, "encoded.example/q?id=5"},
    {L_URLS, "encoded.example", "/bad", N, NULL},
    {L_URLS, "127.0.0.2", "/hex/x", B, "127.0.0.2/hex/"},
    /* patterns, against "host/path", without case */
    {L_REGEX, "play.example", "/Roulette7", B, "(roulette|blackjack)[0-9]*"},
    {L_REGEX, "BLACKJACK.example", "", B, "(roulette|blackjack)[0-9]*"},
    {L_REGEX, "www.casino.example", "/", B, "^[^/]*\\.casino\\.example/"},
    {L_REGEX, "www.casino.example", "", N, NULL}, /* no '/' without a path */
    {L_REGEX, "casino.example.test", "/", N, NULL},
    {L_REGEX, "img.example", "/adult/x.JPG", B, "/adult/.*\\.jpg$"},
    {L_REGEX, "img.example", "/adult/x.png", N, NULL},
    {L_REGEX, "play.example", "/chess", N, NULL},
    {L_REGEX, "unclosed", "/", N, NULL},
};

START_TEST(test_match_table)
{
    const struct match_case *c = &matches[_i];
    struct rulelist *l = load_def(&lists[c->list]);
    const char *rule = "untouched";
    enum rules_verdict got = match(l, c->host, c->path, &rule);

    ck_assert_msg(got == c->want, "%s: '%s' '%s': got %d, want %d", lists[c->list].file, c->host,
                  c->path, got, c->want);
    if (c->rule)
        ck_assert_str_eq(rule, c->rule);
    else
        ck_assert_str_eq(rule, "untouched");
    ck_assert_int_eq(match(l, c->host, c->path, NULL), c->want); /* rule may be NULL */
    rulelist_free(l);
}
END_TEST

#undef B
#undef A
#undef N

/* The host and path are counted strings, not C strings: bytes past the
 * lengths are not read as part of them. */
START_TEST(test_counted_strings)
{
    struct rulelist *l = load_def(&lists[L_URLS]);
    const char *host = "news.example:8080", *path = "/gambling/x";

    ck_assert_int_eq(rulelist_match(l, host, 12, path, strlen(path), NULL), RULES_BLOCK);
    ck_assert_int_eq(rulelist_match(l, host, 12, path, 5, NULL), RULES_NONE);
    ck_assert_int_eq(rulelist_match(l, "whole.example.evil", 13, NULL, 0, NULL), RULES_BLOCK);
    rulelist_free(l);
}
END_TEST

/* A URL longer than the matcher's stack buffer still meets the patterns,
 * and a host longer than any name still meets its parents. */
START_TEST(test_long_request)
{
    struct rulelist *l = load_def(&lists[L_REGEX]);
    struct rulelist *d = load_def(&lists[L_DOMAINS]);
    char *path = malloc(10001), *host = malloc(4001);

    memset(path, 'a', 10000);
    path[0] = '/';
    memcpy(path + 9990, "roulette", 8);
    path[10000] = '\0';
    ck_assert_int_eq(match(l, "play.example", path, NULL), RULES_BLOCK);
    path[9990] = 'x';
    ck_assert_int_eq(match(l, "play.example", path, NULL), RULES_NONE);
    for (int i = 0; i < 3988; i += 2)
        memcpy(host + i, "a.", 2);
    strcpy(host + 3988, "example.com");
    ck_assert_int_eq(match(d, host, "/", NULL), RULES_BLOCK);
    strcpy(host + 3988, "example.org");
    ck_assert_int_eq(match(d, host, "/", NULL), RULES_NONE);
    free(path);
    free(host);
    rulelist_free(l);
    rulelist_free(d);
}
END_TEST

/* ---- files ---- */

/* RULES_AUTO on a file: the first rule decides the format. */
static const struct {
    const char *text, *host;
    enum rules_verdict want;
} guesses[] = {
    {"||ads.example^\n", "ads.example", RULES_BLOCK},
    {"! comment\n||ads.example^\n", "x.ads.example", RULES_BLOCK},
    {"[Adblock Plus 2.0]\n@@||ok.example^\n", "ok.example", RULES_ALLOW},
    {"# hosts\n\n0.0.0.0 ads.example\n", "ads.example", RULES_BLOCK},
    {"::1 ads.example\n", "ads.example", RULES_BLOCK},
    {"# domains\nads.example\n", "ads.example", RULES_BLOCK},
    {"10.0.0.0/8\nads.example\n", "10.9.9.9", RULES_BLOCK},
    {"192.0.2.1\nads.example\n", "ads.example", RULES_BLOCK},
};

START_TEST(test_guess_table)
{
    struct rulelist *l = load(write_file("guess", guesses[_i].text), RULES_AUTO);

    ck_assert_int_eq(match(l, guesses[_i].host, "/", NULL), guesses[_i].want);
    ck_assert_msg(nwarnings == 0, "%s", warnings);
    rulelist_free(l);
}
END_TEST

/* The same list gzip'd, with CRLF endings, a byte-order mark and no final
 * newline: the same rules, no warnings. */
START_TEST(test_gzip_crlf_bom)
{
    static const char text[] = "\xef\xbb\xbf# list\r\nbom.example\r\n\r\n.crlf.example\r\n"
                               "10.0.0.0/8\r\nlast.example";
    const char *names[] = {"bom.example", "x.crlf.example", "10.1.1.1", "last.example"};
    struct rulelist *lists2[3];

    lists2[0] = load(write_file("plain", text), RULES_AUTO);
    lists2[1] = load(write_gz("packed.gz", text), RULES_AUTO);
    lists2[2] = load(write_gz("no-suffix", text), RULES_DOMAINS);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(rulelist_size(lists2[i]), 4);
        for (size_t k = 0; k < COUNT(names); k++)
            ck_assert_msg(match(lists2[i], names[k], "/", NULL) == RULES_BLOCK, "list %d: %s", i,
                          names[k]);
        ck_assert_int_eq(match(lists2[i], "crlf.example.", "/", NULL), RULES_BLOCK);
        ck_assert_int_eq(match(lists2[i], "other.example", "/", NULL), RULES_NONE);
        rulelist_free(lists2[i]);
    }
    ck_assert_msg(nwarnings == 0, "%s", warnings);
}
END_TEST

/* A bad line in a gzip'd file is reported with the file's name and line. */
START_TEST(test_gzip_bad_line)
{
    const char *path = write_gz("bad.gz", "ok.example\nnot ok\n");
    char want[300];
    struct rulelist *l = load(path, RULES_DOMAINS);

    snprintf(want, sizeof(want), "%s:2: space inside a name: 'not ok'", path);
    ck_assert_msg(warned(want) == 1, "%s", warnings);
    rulelist_free(l);
}
END_TEST

/* A cut-off download is refused, not half loaded. */
START_TEST(test_gzip_truncated)
{
    char text[200000], *data;
    const char *path;
    FILE *f;
    long size;
    size_t o = 0;

    for (int i = 0; o + 40 < sizeof(text); i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "n%d.example\n", i * 7919);
    path = write_gz("cut.gz", text);
    f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    data = malloc((size_t)size);
    ck_assert_uint_eq(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    path = write_bytes("cut.gz", data, (size_t)size / 2);
    free(data);
    ck_assert_msg(strstr(load_fails(path, RULES_AUTO), "cut.gz: gzip: ") != NULL, "%s",
                  load_fails(path, RULES_AUTO));
}
END_TEST

/* The UT1 / squidGuard layout: <dir>/<category>/{domains,urls,expressions},
 * any of them gzip'd. */
START_TEST(test_category_directory)
{
    char cat[128];
    struct rulelist *l;

    snprintf(cat, sizeof(cat), "%s/gambling", dir);
    ck_assert_int_eq(mkdir(cat, 0755), 0);
    write_gz("gambling/domains.gz", "casino.example\nbet.invalid\n");
    write_file("gambling/urls", "news.example/gambling/\r\nbad url.example/\r\n");
    write_file("gambling/expressions", "poker[0-9]+\n");
    write_file("gambling/usage", "black\n"); /* UT1 ships it; not a list */
    l = load(cat, RULES_AUTO);
    ck_assert_uint_eq(rulelist_size(l), 4);
    ck_assert_int_eq(match(l, "www.casino.example", "/", NULL), RULES_BLOCK);
    ck_assert_int_eq(match(l, "bet.invalid", "", NULL), RULES_BLOCK);
    ck_assert_int_eq(match(l, "news.example", "/gambling/x", NULL), RULES_BLOCK);
    ck_assert_int_eq(match(l, "news.example", "/weather", NULL), RULES_NONE);
    ck_assert_int_eq(match(l, "games.example", "/poker21", NULL), RULES_BLOCK);
    ck_assert_int_eq(match(l, "black", "/", NULL), RULES_NONE);
    ck_assert_msg(warned("/gambling/urls:2: space inside a URL: 'bad url.example/'") == 1, "%s",
                  warnings);
    ck_assert_int_eq(nwarnings, 1);
    rulelist_free(l);

    /* one file is enough */
    snprintf(cat, sizeof(cat), "%s/adult", dir);
    ck_assert_int_eq(mkdir(cat, 0755), 0);
    write_file("adult/expressions", "xxx\n");
    l = load(cat, RULES_AUTO);
    ck_assert_uint_eq(rulelist_size(l), 1);
    ck_assert_int_eq(match(l, "xxx.example", "", NULL), RULES_BLOCK);
    rulelist_free(l);
}
END_TEST

/* What stops a load: the message a user reads, "path: reason". */
START_TEST(test_unreadable)
{
    char path[256], want[300];
    const char *err;

    snprintf(path, sizeof(path), "%s/missing", dir);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    ck_assert_str_eq(load_fails(path, RULES_AUTO), want);

    write_file("file", "x.example\n");
    snprintf(path, sizeof(path), "%s/file/below", dir);
    err = load_fails(path, RULES_DOMAINS);
    ck_assert_msg(strstr(err, "/file/below: Not a directory") != NULL, "%s", err);

    err = load_fails(dir, RULES_AUTO); /* the blacklists root, not a category */
    snprintf(want, sizeof(want), "%s: no domains, urls or expressions file", dir);
    ck_assert_msg(strstr(err, want) == err, "%s", err);

    err = load_fails(dir, RULES_DOMAINS);
    ck_assert_msg(strstr(err, "a directory (a category directory needs the format auto)"), "%s",
                  err);

    snprintf(path, sizeof(path), "%s/cat", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/cat/domains", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0); /* a category file that is not a file */
    snprintf(path, sizeof(path), "%s/cat", dir);
    err = load_fails(path, RULES_AUTO);
    ck_assert_msg(strstr(err, "/cat/domains: Is a directory") != NULL, "%s", err);

    if (geteuid() != 0) { /* root reads anything */
        const char *p = write_file("secret", "x.example\n");
        ck_assert_int_eq(chmod(p, 0), 0);
        err = load_fails(p, RULES_AUTO);
        ck_assert_msg(strstr(err, "secret: Permission denied") != NULL, "%s", err);
    }
}
END_TEST

/* A short error buffer gets a terminated message; warn may be NULL. */
START_TEST(test_short_err_and_null_warn)
{
    char err[8];
    struct rulelist *l;

    memset(err, 'z', sizeof(err));
    ck_assert_ptr_null(
        rulelist_load("t", "/nonexistent/x", RULES_AUTO, NULL, NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "/nonexi");
    l = rulelist_load("t", write_file("l", "bad name\nok.example\n"), RULES_AUTO, NULL, NULL, err,
                      sizeof(err));
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(match(l, "ok.example", "", NULL), RULES_BLOCK);
    rulelist_free(l);
    rulelist_free(NULL);
}
END_TEST

/* An empty file is an empty list, not an error. */
START_TEST(test_empty_file)
{
    struct rulelist *l = load(write_file("empty", ""), RULES_AUTO);

    ck_assert_uint_eq(rulelist_size(l), 0);
    ck_assert_int_eq(match(l, "example.com", "/", NULL), RULES_NONE);
    ck_assert_int_eq(match(l, "10.0.0.1", "/", NULL), RULES_NONE);
    rulelist_free(l);
}
END_TEST

/* A file of junk (a wrong path) warns 50 times, then once with the count. */
START_TEST(test_warning_cap)
{
    char text[4096] = "", want[300];
    const char *path;
    struct rulelist *l;

    for (int i = 0; i < 60; i++)
        strcat(text, "no-good!\n");
    strcat(text, "fine.example\n");
    path = write_file("junk", text);
    l = load(path, RULES_DOMAINS);
    ck_assert_int_eq(nwarnings, 51);
    snprintf(want, sizeof(want), "%s:50: invalid character", path);
    ck_assert_int_eq(warned(want), 1);
    snprintf(want, sizeof(want), "%s:51: ", path);
    ck_assert_int_eq(warned(want), 0);
    snprintf(want, sizeof(want), "%s: 10 more bad lines skipped (only the first 50 are shown)",
             path);
    ck_assert_msg(warned(want) == 1, "%s", warnings);
    ck_assert_int_eq(match(l, "fine.example", "/", NULL), RULES_BLOCK);
    rulelist_free(l);
}
END_TEST

/* Lines longer than the read buffer: up to 1 MiB read whole (a bad name
 * here), beyond that skipped; the line numbers stay right. */
START_TEST(test_long_lines)
{
    size_t big = 1536 * 1024, mid = 100 * 1024;
    char *text = malloc(big + mid + 64), want[300];
    const char *path;
    struct rulelist *l;

    memset(text, 'a', mid);
    text[mid] = '\n';
    memset(text + mid + 1, 'b', big);
    strcpy(text + mid + 1 + big, "\nafter.example\n");
    path = write_bytes("long", text, strlen(text));
    free(text);
    l = load(path, RULES_DOMAINS);
    snprintf(want, sizeof(want), "%s:1: name longer than 253 bytes", path);
    ck_assert_msg(warned(want) == 1, "%s", warnings);
    snprintf(want, sizeof(want), "%s:2: line longer than 1048576 bytes, skipped", path);
    ck_assert_msg(warned(want) == 1, "%s", warnings);
    ck_assert_int_eq(nwarnings, 2);
    ck_assert_uint_eq(rulelist_size(l), 1);
    ck_assert_int_eq(match(l, "after.example", "/", NULL), RULES_BLOCK);
    rulelist_free(l);
}
END_TEST

/* A NUL byte inside a line is reported, not taken as the line's end. */
START_TEST(test_nul_byte)
{
    static const char text[] = "evil.example\0.ok\ngood.example\n";
    const char *path = write_bytes("nul", text, sizeof(text) - 1);
    struct rulelist *l = load(path, RULES_DOMAINS);

    ck_assert_msg(warned("/nul:1: NUL byte in the line: 'evil.example\\x00.ok'") == 1, "%s",
                  warnings);
    ck_assert_int_eq(match(l, "evil.example", "/", NULL), RULES_NONE);
    ck_assert_int_eq(match(l, "good.example", "/", NULL), RULES_BLOCK);
    rulelist_free(l);
}
END_TEST

/* ---- sharing and scale ---- */

struct worker_arg {
    const struct rulelist *l;
    int errors;
};

static void *worker(void *p)
{
    struct worker_arg *w = p;
    char host[64];

    for (int i = 0; i < 5000; i++) {
        const char *rule = NULL;
        snprintf(host, sizeof(host), "w%d.casino.example", i);
        w->errors += match(w->l, host, "/", &rule) != RULES_BLOCK || strcmp(rule, "casino.example");
        w->errors += match(w->l, "play.example", "/roulette", NULL) != RULES_BLOCK;
        w->errors += match(w->l, "play.example", "/chess", NULL) != RULES_NONE;
    }
    return NULL;
}

/* One list, four threads matching at once (worker threads share lists). */
START_TEST(test_threads)
{
    char cat[128];
    struct rulelist *l;
    pthread_t t[4];
    struct worker_arg w[4];

    snprintf(cat, sizeof(cat), "%s/c", dir);
    ck_assert_int_eq(mkdir(cat, 0755), 0);
    write_file("c/domains", "casino.example\n");
    write_file("c/expressions", "roulette\n");
    l = load(cat, RULES_AUTO);
    for (int i = 0; i < 4; i++) {
        w[i].l = l;
        w[i].errors = 0;
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(w[i].errors, 0);
    }
    rulelist_free(l);
}
END_TEST

#define SCALE 200000

/* 200,000 names in the three spellings: every one found, with its parents'
 * neighbours and look-alikes not. */
START_TEST(test_scale)
{
    char path[256], host[96], want[64];
    FILE *f;
    struct rulelist *l;

    snprintf(path, sizeof(path), "%s/big", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < SCALE; i++)
        fprintf(f,
                i % 3 == 0   ? "site%d.example\n"
                : i % 3 == 1 ? ".site%d.example\n"
                             : "*.SITE%d.Example\n",
                i);
    fclose(f);
    l = load(path, RULES_AUTO);
    ck_assert_int_eq(nwarnings, 0);
    ck_assert_uint_eq(rulelist_size(l), SCALE);
    for (int i = 0; i < SCALE; i++) {
        const char *rule = NULL;
        snprintf(want, sizeof(want), "site%d.example", i);
        ck_assert_int_eq(match(l, want, "", &rule), RULES_BLOCK);
        ck_assert_str_eq(rule, want);
        snprintf(host, sizeof(host), "www.Site%d.example.", i);
        ck_assert_int_eq(match(l, host, "/", &rule), RULES_BLOCK);
        ck_assert_str_eq(rule, want);
        snprintf(host, sizeof(host), "site%d.example", i + SCALE);
        ck_assert_int_eq(match(l, host, "/", NULL), RULES_NONE);
        snprintf(host, sizeof(host), "xsite%d.example", i);
        ck_assert_int_eq(match(l, host, "/", NULL), RULES_NONE);
        snprintf(host, sizeof(host), "site%d.example.test", i);
        ck_assert_int_eq(match(l, host, "/", NULL), RULES_NONE);
    }
    ck_assert_int_eq(match(l, "example", "/", NULL), RULES_NONE);
    rulelist_free(l);
}
END_TEST

Suite *rules_suite(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("formats");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_list_table, 0, (int)COUNT(lists));
    tcase_add_loop_test(tc, test_match_table, 0, (int)COUNT(matches));
    tcase_add_test(tc, test_counted_strings);
    tcase_add_test(tc, test_long_request);
    tcase_add_loop_test(tc, test_guess_table, 0, (int)COUNT(guesses));
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_gzip_crlf_bom);
    tcase_add_test(tc, test_gzip_bad_line);
    tcase_add_test(tc, test_gzip_truncated);
    tcase_add_test(tc, test_category_directory);
    tcase_add_test(tc, test_unreadable);
    tcase_add_test(tc, test_short_err_and_null_warn);
    tcase_add_test(tc, test_empty_file);
    tcase_add_test(tc, test_warning_cap);
    tcase_add_test(tc, test_long_lines);
    tcase_add_test(tc, test_nul_byte);
    suite_add_tcase(s, tc);

    tc = tcase_create("scale");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_scale);
    suite_add_tcase(s, tc);
    return s;
}
