/* schedule.c — parsing and testing time windows (see schedule.h).  Local
 * time, as the school's timetable is written. */
#include "schedule.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <strings.h>

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int day_index(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        if (n == 3 && strncasecmp(s, day_names[i], 3) == 0)
            return i;
    return -1;
}

/* "mon-fri", "sat,sun", "mon,wed-fri" into a day mask. */
static int parse_days(const char *s, size_t n, unsigned *mask)
{
    size_t i = 0;

    *mask = 0;
    while (i < n) {
        int a = day_index(s + i, GH_MIN((size_t)3, n - i)), b;
        if (a < 0)
            return -1;
        i += 3;
        b = a;
        if (i < n && s[i] == '-') {
            b = day_index(s + i + 1, GH_MIN((size_t)3, n - i - 1));
            if (b < 0)
                return -1;
            i += 4;
        }
        for (int d = a;; d = (d + 1) % 7) { /* "fri-mon" wraps the week */
            *mask |= 1u << d;
            if (d == b)
                break;
        }
        if (i < n) {
            if (s[i] != ',')
                return -1;
            i++;
        }
    }
    return *mask ? 0 : -1;
}

static int parse_hhmm(const char *s, unsigned *minutes)
{
    unsigned h, m;
    char tail;

    if (strlen(s) != 5 || sscanf(s, "%2u:%2u%c", &h, &m, &tail) != 2 || s[2] != ':' ||
        !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[3]) || m > 59 ||
        h > 24 || (h == 24 && m != 0))
        return -1;
    *minutes = h * 60 + m;
    return 0;
}

int window_parse(const char *text, struct window *w, char *err, size_t errlen)
{
    char days[64] = "", times[32] = "", start[8], end[8];
    const char *sp = strchr(text, ' ');
    const char *first_digit = strpbrk(text, "0123456789");

    w->days = 0x7f;
    w->start = 0;
    w->end = 1440;
    if (!*text)
        goto bad;
    if (sp) {
        gh_fmt(days, sizeof(days), "%.*s", (int)(sp - text), text);
        gh_fmt(times, sizeof(times), "%s", sp + 1);
    } else if (first_digit == text) {
        gh_fmt(times, sizeof(times), "%s", text);
    } else {
        gh_fmt(days, sizeof(days), "%s", text);
    }
    if (days[0] && parse_days(days, strlen(days), &w->days) < 0)
        goto bad;
    if (times[0]) {
        const char *dash = strchr(times, '-');
        if (!dash || dash - times != 5)
            goto bad;
        gh_fmt(start, sizeof(start), "%.5s", times);
        gh_fmt(end, sizeof(end), "%s", dash + 1);
        if (parse_hhmm(start, &w->start) < 0 || parse_hhmm(end, &w->end) < 0 || w->start == 1440 ||
            w->start == w->end)
            goto bad;
    }
    return 0;
bad:
    gh_fmt(err, errlen, "bad time window '%s' (e.g. \"mon-fri 08:00-16:00\", \"sat,sun\", \"12:00-13:30\")",
           text);
    return -1;
}

int window_contains(const struct window *w, const struct tm *tm)
{
    unsigned now = (unsigned)(tm->tm_hour * 60 + tm->tm_min);
    unsigned today = 1u << tm->tm_wday, yesterday = 1u << ((tm->tm_wday + 6) % 7);

    if (w->start < w->end)
        return (w->days & today) && now >= w->start && now < w->end;
    /* past midnight: the evening of a listed day, or the morning after one */
    return ((w->days & today) && now >= w->start) || ((w->days & yesterday) && now < w->end);
}
