/* schedule.h — time windows for filter rules: "mon-fri 08:00-16:00",
 * "sat,sun", "12:00-13:30", "fri 22:00-06:00" (crossing midnight). */
#ifndef GH_SCHEDULE_H
#define GH_SCHEDULE_H

#include <stddef.h>
#include <time.h>

/* One window: the days it starts on and minutes [start, end) of the day;
 * end < start means it runs past midnight into the next day. */
struct window {
    unsigned days;     /* bit 0 = Sunday ... bit 6 = Saturday */
    unsigned start;    /* minutes from midnight */
    unsigned end;      /* minutes from midnight, 1440 = end of day */
};

/* Parses a window; returns 0, or -1 with a message in err. */
int window_parse(const char *text, struct window *w, char *err, size_t errlen);

/* 1 when the local time tm falls in the window. */
int window_contains(const struct window *w, const struct tm *tm);

#endif
