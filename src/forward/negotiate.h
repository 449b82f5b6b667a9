/* negotiate.h — Kerberos single sign-on for proxy authentication: the
 * "Negotiate" scheme (RFC 4559, SPNEGO) through GSSAPI (MIT krb5).  The
 * browser sends a service ticket for HTTP/<proxy host> it got from the
 * domain's KDC; the proxy checks it against its keytab, locally, with no
 * network and no password.  One round: a token that needs another leg
 * (NTLM inside SPNEGO) is refused.  Offered beside Basic when the policy
 * has a password source too. */
#ifndef GH_NEGOTIATE_H
#define GH_NEGOTIATE_H

#include "config.h"

#include <stddef.h>

struct negotiate;

/* Reads a `negotiate` group (keytab, principal, realm, groups_optional):
 * file:line errors into err, NULL on error.  The keytab must exist and
 * hold keys for the principal (any of its principals without one). */
struct negotiate *negotiate_load(const config_setting_t *g, const struct gh_config *cfg,
                                 char *err, size_t errlen);
void negotiate_free(struct negotiate *n);

/* Checks a Proxy-Authorization value "Negotiate <base64 token>".  1 with
 * the client's name in user (cap bytes; "alice" for alice@REALM when
 * strip_realm), or 0 with why (whycap bytes) for the log. */
int negotiate_check(const struct negotiate *n, const char *value, size_t len, char *user,
                    size_t cap, char *why, size_t whycap);

/* Whether a user whose directory groups cannot be looked up (the
 * directory down, or the user not in it) goes on without them
 * (`groups_optional = true`) rather than being refused (the default). */
int negotiate_groups_optional(const struct negotiate *n);

/* Whether a Proxy-Authorization value is of the Negotiate scheme. */
int negotiate_scheme(const char *value, size_t len);

#endif
