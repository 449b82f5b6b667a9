/* negotiate.c — Kerberos "Negotiate" proxy authentication (see
 * negotiate.h): the acceptor's credentials from the keytab, acquired once
 * per configuration, and one gss_accept_sec_context per request.  The
 * check is local (the keytab's keys decrypt the ticket): it never waits
 * on the network, so it runs on the worker. */
#include "negotiate.h"
#include "log.h"
#include "util.h"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const negotiate_keys[] = {"keytab", "principal", "realm", "groups_optional",
                                             NULL};

struct negotiate {
    gss_cred_id_t cred;
    char *realm; /* names in it are given without "@realm"; others refused. NULL: any, whole */
    int groups_optional; /* no directory groups is no refusal (default off) */
};

/* GSSAPI's words for a major/minor status, into out. */
static void gss_why(char *out, size_t cap, const char *what, OM_uint32 major, OM_uint32 minor)
{
    OM_uint32 m, ctx = 0;
    gss_buffer_desc a = GSS_C_EMPTY_BUFFER, b = GSS_C_EMPTY_BUFFER;

    gss_display_status(&m, major, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &a);
    ctx = 0;
    if (minor)
        gss_display_status(&m, minor, GSS_C_MECH_CODE, GSS_C_NO_OID, &ctx, &b);
    gh_fmt(out, cap, "%s: %.*s%s%.*s", what, (int)a.length, (const char *)a.value,
           b.length ? ": " : "", (int)b.length, (const char *)b.value);
    gss_release_buffer(&m, &a);
    gss_release_buffer(&m, &b);
}

struct negotiate *negotiate_load(const config_setting_t *g, const struct gh_config *cfg,
                                 char *err, size_t errlen)
{
    const char *keytab = NULL, *principal = NULL, *realm = NULL;
    int optional = 0;
    gss_key_value_element_desc el;
    gss_key_value_set_desc store = {1, &el};
    gss_buffer_desc nb;
    gss_name_t name = GSS_C_NO_NAME;
    OM_uint32 major, minor;
    struct negotiate *n;
    char why[512], *path;

    if (config_check_group(g, err, errlen, "'negotiate' must be a group { keytab = \"...\"; }") <
            0 ||
        config_check_keys(g, negotiate_keys, NULL, err, errlen) < 0 ||
        config_get_string(g, "keytab", &keytab, err, errlen) < 0 ||
        config_get_string(g, "principal", &principal, err, errlen) < 0 ||
        config_get_string(g, "realm", &realm, err, errlen) < 0 ||
        config_get_bool(g, "groups_optional", &optional, err, errlen) < 0)
        return NULL;
    if (!keytab) {
        config_error(err, errlen, g, "'negotiate' needs 'keytab', the proxy's HTTP/ keys");
        return NULL;
    }
    path = config_path(cfg, keytab);
    if (access(path, R_OK) != 0) {
        config_error(err, errlen, config_setting_get_member(g, "keytab"),
                     "cannot read keytab %s", path);
        free(path);
        return NULL;
    }
    if (principal) {
        nb.value = (void *)principal;
        nb.length = strlen(principal);
        major = gss_import_name(&minor, &nb, GSS_C_NT_USER_NAME, &name);
        if (GSS_ERROR(major)) {
            gss_why(why, sizeof(why), "principal", major, minor);
            config_error(err, errlen, config_setting_get_member(g, "principal"), "%s", why);
            free(path);
            return NULL;
        }
    }
    n = xcalloc(1, sizeof(*n));
    el.key = "keytab";
    el.value = path;
    major = gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, GSS_C_NO_OID_SET, GSS_C_ACCEPT,
                                  &store, &n->cred, NULL, NULL);
    if (name != GSS_C_NO_NAME)
        gss_release_name(&minor, &name);
    if (GSS_ERROR(major)) {
        gss_why(why, sizeof(why), "acquiring the keytab's credentials", major, minor);
        config_error(err, errlen, config_setting_get_member(g, "keytab"), "%s: %s", path, why);
        free(path);
        free(n);
        return NULL;
    }
    free(path);
    n->realm = realm ? xstrdup(realm) : NULL;
    n->groups_optional = optional;
    return n;
}

void negotiate_free(struct negotiate *n)
{
    OM_uint32 minor;

    if (!n)
        return;
    gss_release_cred(&minor, &n->cred);
    free(n->realm);
    free(n);
}

int negotiate_groups_optional(const struct negotiate *n)
{
    return n->groups_optional;
}

int negotiate_scheme(const char *value, size_t len)
{
    return len > 10 && strncasecmp(value, "Negotiate ", 10) == 0;
}

/* The client's name, as the policy names users. */
static int name_of(const struct negotiate *n, gss_name_t src, char *user, size_t cap, char *why,
                   size_t whycap)
{
    gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
    OM_uint32 minor;
    char full[256], *at;

    if (GSS_ERROR(gss_display_name(&minor, src, &b, NULL)) || b.length >= sizeof(full)) {
        gss_release_buffer(&minor, &b);
        gh_fmt(why, whycap, "the client's name cannot be read");
        return 0;
    }
    memcpy(full, b.value, b.length);
    full[b.length] = '\0';
    gss_release_buffer(&minor, &b);
    at = strrchr(full, '@');
    if (n->realm && (!at || strcmp(at + 1, n->realm) != 0)) {
        gh_fmt(why, whycap, "%s is not of realm %s", full, n->realm);
        return 0;
    }
    if (n->realm)
        *at = '\0';
    gh_fmt(user, cap, "%s", full);
    return 1;
}

int negotiate_check(const struct negotiate *n, const char *value, size_t len, char *user,
                    size_t cap, char *why, size_t whycap)
{
    gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
    gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
    gss_name_t src = GSS_C_NO_NAME;
    OM_uint32 major, minor;
    unsigned char *tok;
    int tlen, ok = 0;

    if (cap)
        user[0] = '\0';
    if (!negotiate_scheme(value, len) || len > 65536) {
        gh_fmt(why, whycap, "not a Negotiate token");
        return 0;
    }
    value += 10;
    len -= 10;
    while (len && value[len - 1] == ' ')
        len--;
    if (!len) {
        gh_fmt(why, whycap, "an empty Negotiate token");
        return 0;
    }
    tok = xmalloc(len);
    tlen = EVP_DecodeBlock(tok, (const unsigned char *)value, (int)len);
    for (size_t i = len; tlen > 0 && i > 0 && value[i - 1] == '='; i--)
        tlen--; /* EVP_DecodeBlock counts padding as bytes */
    if (tlen <= 0) {
        free(tok);
        gh_fmt(why, whycap, "a Negotiate token that is not base64");
        return 0;
    }
    in.value = tok;
    in.length = (size_t)tlen;
    major = gss_accept_sec_context(&minor, &ctx, n->cred, &in, GSS_C_NO_CHANNEL_BINDINGS, &src,
                                   NULL, &out, NULL, NULL, NULL);
    if (major == GSS_S_COMPLETE)
        ok = name_of(n, src, user, cap, why, whycap);
    else if (major == GSS_S_CONTINUE_NEEDED)
        gh_fmt(why, whycap, "the token asks for another round (NTLM?): Kerberos only");
    else
        gss_why(why, whycap, "the ticket was refused", major, minor);
    gss_release_buffer(&minor, &out);
    if (src != GSS_C_NO_NAME)
        gss_release_name(&minor, &src);
    if (ctx != GSS_C_NO_CONTEXT)
        gss_delete_sec_context(&minor, &ctx, GSS_C_NO_BUFFER);
    free(tok);
    return ok;
}
