/* h1.h — HTTP/1 as the protocol of a client connection (conn.h): request
 * heads read from the connection and exchanges started for them, one at a
 * time, pipelined requests waiting in the buffer; keep-alive decided when
 * an exchange ends; and the client side of its exchange: heads and bodies
 * written to the socket (writev of a head with its body, sendfile for
 * files) and the request body read from it.  The HTTP/1 parser itself is
 * http1.h.  HTTP/2 will be a second `struct proto` beside this one. */
#ifndef GH_H1_H
#define GH_H1_H

#include "conn.h"

extern const struct proto h1_proto;

#endif
