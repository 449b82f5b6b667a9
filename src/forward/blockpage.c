/* blockpage.c — rendering the block page (see blockpage.h). */
#include "blockpage.h"
#include "util.h"

static const char builtin[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Blocked</title></head>\n"
    "<body><h1>This page is blocked</h1>\n"
    "<p><code>{{url}}</code> is in the category <strong>{{category}}</strong>.</p>\n"
    "<p>Rule: <code>{{rule}}</code></p>\n<hr><p>gatehouse</p></body></html>\n";

static size_t put_escaped(char *out, size_t o, size_t cap, const char *s)
{
    for (; *s && o + 7 < cap; s++) {
        switch (*s) {
        case '<': o += gh_fmt(out + o, cap - o, "&lt;"); break;
        case '>': o += gh_fmt(out + o, cap - o, "&gt;"); break;
        case '&': o += gh_fmt(out + o, cap - o, "&amp;"); break;
        case '"': o += gh_fmt(out + o, cap - o, "&quot;"); break;
        default: out[o++] = *s;
        }
    }
    return o;
}

size_t blockpage_render(const char *tmpl, const char *url, const char *category, const char *rule,
                        const char *client, char *out, size_t cap)
{
    const struct {
        const char *key;
        const char *value;
    } vars[] = {{"{{url}}", url}, {"{{category}}", category}, {"{{rule}}", rule}, {"{{client}}", client}};
    size_t o = 0;
    const char *p = tmpl ? tmpl : builtin;

    while (*p && o + 1 < cap) {
        unsigned i;
        for (i = 0; i < GH_ARRAY_LEN(vars); i++) {
            size_t kl = strlen(vars[i].key);
            if (strncmp(p, vars[i].key, kl) == 0) {
                o = put_escaped(out, o, cap, vars[i].value ? vars[i].value : "");
                p += kl;
                break;
            }
        }
        if (i == GH_ARRAY_LEN(vars))
            out[o++] = *p++;
    }
    out[o] = '\0';
    return o;
}
