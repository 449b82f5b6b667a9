/* tls_names.c — which context serves which server name.  The names come
 * from the certificates (tls_certs.c); a name goes to every certificate
 * that lists it, one per key type, and the names served by the same
 * certificates share one SSL_CTX (a "site").  Each site gets its own
 * session id context, derived from its names and its client-certificate
 * settings, so a session made on one site never resumes on another.
 * Lookups are a binary search over the sorted names: the exact name, then
 * the wildcard for its first label. */
#include "tls_int.h"
#include "log.h"
#include "util.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    const char *name;
    unsigned cert;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : x->cert < y->cert ? -1 : x->cert > y->cert;
}

/* The certificates serving entries e[0..n) (all one name): the first
 * listed per key type.  Returns -1 with err when they disagree on client
 * certificates. */
static int pick_certs(const struct tls_cert *certs, const struct entry *e, size_t n,
                      int key[TLS_SLOTS], char *err, size_t errlen)
{
    int first = -1;

    for (int s = 0; s < TLS_SLOTS; s++)
        key[s] = -1;
    for (size_t j = 0; j < n; j++) {
        const struct tls_cert *c = &certs[e[j].cert];
        if (key[c->slot] < 0) {
            key[c->slot] = (int)e[j].cert;
        } else if (key[c->slot] != (int)e[j].cert) {
            log_warn("'%s' and '%s' both serve '%s' with the same key type: '%s' is used",
                     certs[key[c->slot]].cert_path, c->cert_path, e[j].name,
                     certs[key[c->slot]].cert_path);
            continue;
        }
        if (first < 0) {
            first = (int)e[j].cert;
        } else if (memcmp(certs[first].auth, c->auth, sizeof(c->auth)) != 0) {
            config_error(err, errlen, c->where,
                         "'%s' and '%s' both serve '%s' but ask for client certificates "
                         "differently",
                         certs[first].cert_path, c->cert_path, e[j].name);
            return -1;
        }
    }
    return 0;
}

static unsigned find_site(struct tls_site **sites, unsigned *nsites, const int key[TLS_SLOTS])
{
    unsigned i;

    for (i = 0; i < *nsites; i++)
        if (memcmp((*sites)[i].certs, key, sizeof((*sites)[i].certs)) == 0)
            return i;
    *sites = xrealloc(*sites, (i + 1) * sizeof(**sites));
    memset(&(*sites)[i], 0, sizeof(**sites));
    memcpy((*sites)[i].certs, key, sizeof((*sites)[i].certs));
    (*nsites)++;
    return i;
}

/* sid_ctx = SHA-256("gatehouse-sid", client-certificate settings, names). */
static void derive_sid_ctx(const struct tls_cert *certs, struct tls_site *sites, unsigned nsites,
                           const struct tls_name *names, unsigned nnames)
{
    static const char label[] = "gatehouse-sid";
    EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX **md = xcalloc(nsites, sizeof(*md));
    unsigned i;

    if (!sha)
        log_fatal("OpenSSL: no SHA-256");
    for (i = 0; i < nsites; i++) {
        int c = 0;
        while (sites[i].certs[c] < 0)
            c++;
        if (!(md[i] = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(md[i], sha, NULL))
            log_fatal("OpenSSL: SHA-256 init failed");
        EVP_DigestUpdate(md[i], label, sizeof(label));
        EVP_DigestUpdate(md[i], certs[sites[i].certs[c]].auth, sizeof(certs->auth));
    }
    for (i = 0; i < nnames; i++)
        EVP_DigestUpdate(md[names[i].site], names[i].name, strlen(names[i].name) + 1);
    for (i = 0; i < nsites; i++) {
        EVP_DigestFinal_ex(md[i], sites[i].sid_ctx, NULL);
        EVP_MD_CTX_free(md[i]);
    }
    free(md);
    EVP_MD_free(sha);
}

int tls_names_build(const struct tls_cert *certs, unsigned ncerts, struct tls_site **sites_out,
                    unsigned *nsites_out, struct tls_name **names_out, unsigned *nnames_out,
                    char *err, size_t errlen)
{
    struct entry *e;
    struct tls_site *sites = NULL;
    struct tls_name *names;
    size_t total = 0, n = 0, i, j;
    unsigned nsites = 0, nnames = 0;
    int key[TLS_SLOTS];

    for (i = 0; i < ncerts; i++)
        total += certs[i].nnames;
    e = xmalloc((total ? total : 1) * sizeof(*e));
    names = xmalloc((total ? total : 1) * sizeof(*names));
    for (i = 0; i < ncerts; i++)
        for (j = 0; j < certs[i].nnames; j++)
            e[n++] = (struct entry){certs[i].names[j], (unsigned)i};
    qsort(e, n, sizeof(*e), entry_cmp);
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && strcmp(e[j].name, e[i].name) == 0; j++)
            ;
        if (pick_certs(certs, e + i, j - i, key, err, errlen) < 0) {
            for (unsigned k = 0; k < nnames; k++)
                free(names[k].name);
            free(names);
            free(sites);
            free(e);
            return -1;
        }
        names[nnames].name = xstrdup(e[i].name);
        names[nnames++].site = find_site(&sites, &nsites, key);
    }
    free(e);
    derive_sid_ctx(certs, sites, nsites, names, nnames);
    *sites_out = sites;
    *nsites_out = nsites;
    *names_out = names;
    *nnames_out = nnames;
    return 0;
}

static int lookup(const struct tls_name *names, unsigned n, const char *name)
{
    unsigned lo = 0, hi = n;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = strcmp(name, names[mid].name);
        if (c == 0)
            return (int)names[mid].site;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

int tls_names_find(const struct tls_name *names, unsigned nnames, const char *name)
{
    char wild[TLS_NAME_MAX + 2];
    const char *dot;
    int site;

    if (name[0] == '*') /* a client asking for a wildcard literally */
        return -1;
    site = lookup(names, nnames, name);
    if (site >= 0 || !(dot = strchr(name, '.')) || dot == name || !dot[1])
        return site;
    gh_fmt(wild, sizeof(wild), "*%s", dot);
    return lookup(names, nnames, wild);
}

int tls_sni_parse(const unsigned char *p, size_t len, char *dst, size_t cap)
{
    size_t list, n;

    if (len < 2 || (list = (size_t)p[0] << 8 | p[1]) != len - 2)
        return -1;
    for (p += 2; list > 0; p += 3 + n, list -= 3 + n) {
        if (list < 3 || (n = (size_t)p[1] << 8 | p[2]) > list - 3)
            return -1;
        if (p[0] != 0) /* not a host_name */
            continue;
        if (n && p[3 + n - 1] == '.')
            n--;
        if (n == 0 || n > TLS_NAME_MAX || n >= cap || memchr(p + 3, '\0', n))
            return -1;
        for (size_t i = 0; i < n; i++)
            dst[i] = (char)(p[3 + i] >= 'A' && p[3 + i] <= 'Z' ? p[3 + i] + 32 : p[3 + i]);
        dst[n] = '\0';
        return 1;
    }
    return 0;
}
