/* exchange_tls.c — what an exchange's TLS connection says about the client,
 * for front-ends (exchange.h). */
#include "exchange.h"
#include "session.h"
#include "tls.h"

int exchange_client_verified(const struct exchange *ex)
{
    return ex->s->tls && tls_io_peer_verified(ex->s->io.fd);
}
