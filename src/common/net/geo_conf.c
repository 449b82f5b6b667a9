/* geo_conf.c — the `geo` section of the configuration: the MaxMind
 * database a generation opens for both modes (reverse routes' geo orders,
 * the deny rules' country and continent criteria).  Looking addresses up is
 * geo.c's; what a country means is the modes' and the rules' business. */
#include "config.h"
#include "geo.h"
#include "util.h"

#include <stdlib.h>

static const char *const geo_keys[] = {"database", NULL};

int geo_conf_load(struct gh_config *c, const config_setting_t *root, char *err, size_t errlen)
{
    config_setting_t *g = config_setting_get_member(root, "geo");
    const char *db = NULL;
    char *path, msg[512];

    if (!g)
        return 0;
    if (config_check_group(g, err, errlen,
                           "geo = { database = \"/path/GeoLite2-Country.mmdb\"; }") < 0 ||
        config_check_keys(g, geo_keys, NULL, err, errlen) < 0 ||
        config_get_string(g, "database", &db, err, errlen) < 0)
        return -1;
    if (!db) {
        config_error(err, errlen, g, "'geo' needs 'database', a .mmdb file");
        return -1;
    }
    path = config_path(c, db);
    c->geo = geo_open(path, msg, sizeof(msg));
    free(path);
    if (!c->geo) {
        config_error(err, errlen, config_setting_get_member(g, "database"), "%s", msg);
        return -1;
    }
    return 0;
}
