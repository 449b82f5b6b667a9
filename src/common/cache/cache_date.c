/* cache_date.c — HTTP-date parsing and formatting (RFC 9110 section 5.6.7):
 * the three formats a recipient must accept, converted with civil-calendar
 * arithmetic rather than timegm(3) so no time zone or locale state is
 * involved.  Declared in cache_policy.h. */
#include "cache_policy.h"

#include "util.h"

#include <stdio.h>

static const char *const wkday[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const weekday[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil); m is 1..12. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse: the date of a day number. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return dm[m - 1] + (m == 2 && leap);
}

/* Index of s[0..n) in names (case-insensitive, whole), or -1. */
static int name_index(const char *s, size_t n, const char *const *names, int count)
{
    int i;

    for (i = 0; i < count; i++)
        if (gh_strcaseeq(s, n, names[i]))
            return i;
    return -1;
}

/* Exactly n decimal digits (a leading space allowed when lead_space), or -1. */
static int number(const char *s, size_t n, int lead_space)
{
    int v = 0;
    size_t i = 0;

    if (lead_space && n > 1 && s[0] == ' ')
        i = 1;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "HH:MM:SS" at s (8 bytes) into seconds of the day, or -1.  A leap second
 * (:60) is accepted and counts as the next second. */
static int64_t time_of_day(const char *s)
{
    int h = number(s, 2, 0), mi = number(s + 3, 2, 0), se = number(s + 6, 2, 0);

    if (s[2] != ':' || s[5] != ':' || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
        return -1;
    return (int64_t)h * 3600 + mi * 60 + se;
}

/* Seconds since the epoch of a checked date and time, 0 before 1970. */
static int64_t make_time(int64_t y, int mon, int day, int64_t tod)
{
    int64_t t;

    if (mon < 0 || day < 1 || y < 0 || day > days_in_month(y, mon + 1) || tod < 0)
        return CACHE_UNSET;
    t = days_from_civil(y, mon + 1, day) * 86400 + tod;
    return t < 0 ? 0 : t;
}

/* The year meant by an RFC 850 two-digit year, seen from `now`: the one in
 * the current century, or in the previous one when that would be more than
 * 50 years ahead. */
static int64_t full_year(int yy, int64_t now)
{
    int64_t ny, y;
    int m, d;

    civil_from_days((now > 0 ? now : 0) / 86400, &ny, &m, &d);
    y = ny - ny % 100 + yy;
    if (y > ny + 50)
        y -= 100;
    return y;
}

int64_t cache_http_date(const char *s, size_t len, int64_t now)
{
    const char *comma;
    size_t wl;

    if (!s)
        return CACHE_UNSET;
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    if (len == 29 && s[3] == ',') {
        if (name_index(s, 3, wkday, 7) < 0 || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
            s[16] != ' ' || s[25] != ' ' || s[26] != 'G' || s[27] != 'M' || s[28] != 'T')
            return CACHE_UNSET;
        return make_time(number(s + 12, 4, 0), name_index(s + 8, 3, months, 12),
                         number(s + 5, 2, 0), time_of_day(s + 17));
    }
    /* asctime: "Sun Nov  6 08:49:37 1994" */
    if (len == 24 && s[3] == ' ') {
        if (name_index(s, 3, wkday, 7) < 0 || s[7] != ' ' || s[10] != ' ' || s[19] != ' ')
            return CACHE_UNSET;
        return make_time(number(s + 20, 4, 0), name_index(s + 4, 3, months, 12),
                         number(s + 8, 2, 1), time_of_day(s + 11));
    }
    /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
    comma = memchr(s, ',', len < 10 ? len : 10);
    if (!comma)
        return CACHE_UNSET;
    wl = (size_t)(comma - s);
    if (len != wl + 24 || name_index(s, wl, weekday, 7) < 0)
        return CACHE_UNSET;
    s = comma + 2;
    if (s[-1] != ' ' || s[2] != '-' || s[6] != '-' || s[9] != ' ' || s[18] != ' ' || s[19] != 'G' ||
        s[20] != 'M' || s[21] != 'T' || number(s + 7, 2, 0) < 0)
        return CACHE_UNSET;
    return make_time(full_year(number(s + 7, 2, 0), now), name_index(s + 3, 3, months, 12),
                     number(s, 2, 0), time_of_day(s + 10));
}

size_t cache_http_date_format(int64_t t, char *out)
{
    int64_t days = (t >= 0 ? t : 0) / 86400, secs = (t >= 0 ? t : 0) % 86400, y;
    int m, d;

    civil_from_days(days, &y, &m, &d);
    snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", wkday[(days + 4) % 7], d,
             months[m - 1], (int)(y % 10000), (int)(secs / 3600), (int)(secs / 60 % 60),
             (int)(secs % 60));
    return 29;
}
