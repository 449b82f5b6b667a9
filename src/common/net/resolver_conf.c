/* resolver_conf.c — the `resolver` section of the configuration (see
 * resolver.h): its keys, ranges and defaults, and the name servers, checked
 * as addresses and kept as the list c-ares reads ("1.2.3.4:53,[::1]:53").
 * Using them is resolver.c's. */
#include "config.h"
#include "resolver.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* One name server as c-ares reads it: a bare address means port 53. */
static int nameserver(const char *a, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len;
    unsigned char bin[16];

    if (inet_pton(AF_INET, a, bin) == 1)
        gh_fmt(out, cap, "%s:53", a);
    else if (inet_pton(AF_INET6, a, bin) == 1)
        gh_fmt(out, cap, "[%s]:53", a);
    else
        gh_fmt(out, cap, "%s", a);
    return config_parse_addr(out, &ss, &len);
}

/* nameservers = [ "10.0.0.53", "[2001:db8::53]:5353" ]: kept as one string. */
static int parse_nameservers(struct gh_config *c, const struct config_key *k,
                             const config_setting_t *s, char *err, size_t errlen)
{
    char **list, csv[1024] = "", one[80];
    unsigned n;
    size_t len = 0;
    int rc = -1;

    if (config_get_strings(config_setting_parent(s), k->name, 0, &list, &n, err, errlen) < 0)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, i);
        if (strlen(list[i]) > 64) {
            config_error(err, errlen, e, "'nameservers' entries are addresses");
            goto out;
        }
        if (nameserver(list[i], one, sizeof(one)) < 0) {
            config_error(err, errlen, e,
                         "bad nameserver '%s' (an IP address, with :port if not 53)", list[i]);
            goto out;
        }
        len += gh_fmt(csv + len, sizeof(csv) - len, "%s%s", len ? "," : "", one);
    }
    free(c->dns.nameservers);
    c->dns.nameservers = len ? xstrdup(csv) : NULL;
    rc = 0;
out:
    config_strings_free(list);
    return rc;
}

static const struct config_key resolver_keys[] = {
    /* name, kind and field, range (timeout in ms), default as README.md writes it */
    {"nameservers", CONFIG_STRING(dns.nameservers), 0, 0, NULL, NULL, NULL, parse_nameservers},
    {"timeout", CONFIG_MSEC(dns.timeout), 100, 60000, "2", NULL, NULL, NULL},
    {"attempts", CONFIG_U32(dns.attempts), 1, 10, "2", NULL, NULL, NULL},
    {"cache_max_ttl", CONFIG_U32(dns.cache_max_ttl), 0, 86400, "3600", NULL, NULL, NULL},
    {"negative_ttl", CONFIG_U32(dns.negative_ttl), 0, 3600, "5", NULL, NULL, NULL},
    {0},
};

const struct config_section resolver_section = {"resolver", resolver_keys};
