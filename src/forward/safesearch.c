/* safesearch.c — the table of safe-search host names (see safesearch.h). */
#include "safesearch.h"
#include "util.h"

#include <strings.h>

static const struct {
    const char *host;
    const char *safe;
} steer[] = {
    {"www.google.com", "forcesafesearch.google.com"},
    {"google.com", "forcesafesearch.google.com"},
    {"www.bing.com", "strict.bing.com"},
    {"bing.com", "strict.bing.com"},
    {"duckduckgo.com", "safe.duckduckgo.com"},
    {"www.duckduckgo.com", "safe.duckduckgo.com"},
    {"www.youtube.com", "restrict.youtube.com"},
    {"m.youtube.com", "restrict.youtube.com"},
    {"youtube.com", "restrict.youtube.com"},
    {"youtubei.googleapis.com", "restrict.youtube.com"},
    {"youtube.googleapis.com", "restrict.youtube.com"},
    {"www.youtube-nocookie.com", "restrict.youtube.com"},
};

const char *safesearch_host(const char *host, size_t len)
{
    for (unsigned i = 0; i < GH_ARRAY_LEN(steer); i++)
        if (strlen(steer[i].host) == len && strncasecmp(steer[i].host, host, len) == 0)
            return steer[i].safe;
    return NULL;
}

int safesearch_is_youtube(const char *host, size_t len)
{
    const char *safe = safesearch_host(host, len);
    return safe && strcmp(safe, "restrict.youtube.com") == 0;
}
