/* safesearch.c — the table of safe-search host names (see safesearch.h).
 *
 * Where the names come from: each vendor's own network-wide method, a DNS
 * CNAME (or, for a proxy, sending the request to the same place):
 *   - Google: "Block adult content at your school with SafeSearch"
 *     (support.google.com/websearch/answer/186669) maps www.google.com and
 *     the other Google search domains to forcesafesearch.google.com.  The
 *     search domains are those of www.google.com/supported_domains (as
 *     copied into public projects from 2019 to 2024; the union is below),
 *     each bare and with www.
 *   - YouTube: Google Workspace's admin help on YouTube restrictions
 *     (support.google.com/a/answer/6214622, as quoted by the filter
 *     vendors' guides) maps www.youtube.com, m.youtube.com,
 *     youtubei.googleapis.com, youtube.googleapis.com and
 *     www.youtube-nocookie.com to restrict.youtube.com (strict) and names
 *     the YouTube-Restrict header for proxies.  The bare youtube.com and
 *     youtube-nocookie.com go there too.  music.youtube.com is not on
 *     Google's list, and the YouTube Data API at
 *     www.googleapis.com/youtube/ is a path of the host every Google API
 *     shares: neither is steered (a policy that wants them gone blocks
 *     them with a list).
 *   - Bing: Microsoft's network method is a CNAME of www.bing.com to
 *     strict.bing.com; bing.com goes there too.
 *   - DuckDuckGo: safe.duckduckgo.com for duckduckgo.com; the www.,
 *     start., html. and lite. front-ends go there too, so a pupil's next
 *     try is not the way around it (if one of them is not served there, it
 *     fails closed). */
#include "safesearch.h"
#include "util.h"

#include <string.h>

#define GOOGLE_SAFE "forcesafesearch.google.com"
#define YOUTUBE_SAFE "restrict.youtube.com"

/* Hosts steered whole, in normal form. */
static const struct {
    const char *host;
    const char *safe;
} steer[] = {
    {"www.bing.com", "strict.bing.com"},
    {"bing.com", "strict.bing.com"},
    {"duckduckgo.com", "safe.duckduckgo.com"},
    {"www.duckduckgo.com", "safe.duckduckgo.com"},
    {"start.duckduckgo.com", "safe.duckduckgo.com"},
    {"html.duckduckgo.com", "safe.duckduckgo.com"},
    {"lite.duckduckgo.com", "safe.duckduckgo.com"},
    {"www.youtube.com", YOUTUBE_SAFE},
    {"m.youtube.com", YOUTUBE_SAFE},
    {"youtube.com", YOUTUBE_SAFE},
    {"youtubei.googleapis.com", YOUTUBE_SAFE},
    {"youtube.googleapis.com", YOUTUBE_SAFE},
    {"www.youtube-nocookie.com", YOUTUBE_SAFE},
    {"youtube-nocookie.com", YOUTUBE_SAFE},
};

/* What follows "google." in Google's search domains
 * (www.google.com/supported_domains). */
static const char *const google_suffixes[] = {
    "com",    "ad",     "ae",     "com.af", "com.ag", "com.ai", "al",     "am",     "co.ao",
    "com.ar", "as",     "at",     "com.au", "az",     "ba",     "com.bd", "be",     "bf",
    "bg",     "com.bh", "bi",     "bj",     "com.bn", "com.bo", "com.br", "bs",     "bt",
    "co.bw",  "by",     "com.bz", "ca",     "cat",    "cd",     "cf",     "cg",     "ch",
    "ci",     "co.ck",  "cl",     "cm",     "cn",     "com.co", "co.cr",  "com.cu", "cv",
    "com.cy", "cz",     "de",     "dj",     "dk",     "dm",     "com.do", "dz",     "com.ec",
    "ee",     "com.eg", "es",     "com.et", "fi",     "com.fj", "fm",     "fr",     "ga",
    "ge",     "gg",     "com.gh", "com.gi", "gl",     "gm",     "gr",     "com.gt", "gy",
    "com.hk", "hn",     "hr",     "ht",     "hu",     "co.id",  "ie",     "co.il",  "im",
    "co.in",  "iq",     "is",     "it",     "je",     "com.jm", "jo",     "co.jp",  "co.ke",
    "com.kh", "ki",     "kg",     "co.kr",  "com.kw", "kz",     "la",     "com.lb", "li",
    "lk",     "co.ls",  "lt",     "lu",     "lv",     "com.ly", "co.ma",  "md",     "me",
    "mg",     "mk",     "ml",     "com.mm", "mn",     "ms",     "com.mt", "mu",     "mv",
    "mw",     "com.mx", "com.my", "co.mz",  "com.na", "com.ng", "com.ni", "ne",     "nl",
    "no",     "com.np", "nr",     "nu",     "co.nz",  "com.om", "com.pa", "com.pe", "com.pg",
    "com.ph", "com.pk", "pl",     "pn",     "com.pr", "ps",     "pt",     "com.py", "com.qa",
    "ro",     "rs",     "ru",     "rw",     "com.sa", "com.sb", "sc",     "se",     "com.sg",
    "sh",     "si",     "sk",     "com.sl", "sn",     "so",     "sm",     "sr",     "st",
    "com.sv", "td",     "tg",     "co.th",  "com.tj", "tl",     "tm",     "tn",     "to",
    "com.tr", "tt",     "com.tw", "co.tz",  "com.ua", "co.ug",  "co.uk",  "com.uy", "co.uz",
    "com.vc", "co.ve",  "vg",     "co.vi",  "com.vn", "vu",     "ws",     "co.za",  "co.zm",
    "co.zw",
};

static int equals(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

/* Whether host is google.<suffix> or www.google.<suffix> for one of
 * Google's search domains. */
static int google_search(const char *host, size_t len)
{
    if (len > 4 && memcmp(host, "www.", 4) == 0)
        host += 4, len -= 4;
    if (len <= 7 || memcmp(host, "google.", 7) != 0)
        return 0;
    for (size_t i = 0; i < GH_ARRAY_LEN(google_suffixes); i++)
        if (equals(host + 7, len - 7, google_suffixes[i]))
            return 1;
    return 0;
}

const char *safesearch_host(const char *host, size_t len)
{
    for (size_t i = 0; i < GH_ARRAY_LEN(steer); i++)
        if (equals(host, len, steer[i].host))
            return steer[i].safe;
    return google_search(host, len) ? GOOGLE_SAFE : NULL;
}

int safesearch_is_youtube(const char *host, size_t len)
{
    const char *safe = safesearch_host(host, len);
    return safe && strcmp(safe, YOUTUBE_SAFE) == 0;
}
