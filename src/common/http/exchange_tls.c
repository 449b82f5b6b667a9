/* exchange_tls.c — what an exchange's TLS connection says about the client,
 * for front-ends (exchange.h). */
#include "exchange.h"
#include "exchange_int.h"
#include "tls.h"

int exchange_client_verified(const struct exchange *ex)
{
    return ex->conn->tls && tls_io_peer_verified(ex->conn->io.fd);
}
