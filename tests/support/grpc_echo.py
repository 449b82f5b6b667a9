#!/usr/bin/python3
"""grpc_echo.py — a gRPC echo service and its client, on Debian's
python3-grpcio, for the HTTP/2 upstream tests (check_h2up.c).

No .proto compiled: methods are registered generically with bytes in and
out (identity serialisers), which is all gRPC's wire format needs.

  grpc_echo.py serve PORT            plain h2c; prints "ready" when listening
  grpc_echo.py call HOST:PORT CA SERVERNAME KIND [ARG]
        KIND: unary TEXT       -> "unary TEXT"
              fail TEXT        -> "status CODE message MESSAGE" (the server aborts)
              stream N         -> N lines "item I" (server streaming)
              bidi N           -> N lines "echo I" (bidirectional)
        over TLS with the CA file's roots and SERVERNAME as the TLS name
"""
import sys
from concurrent import futures

import grpc

SVC = "gh.Echo"


def unary(req, ctx):
    if req.startswith(b"fail"):
        ctx.abort(grpc.StatusCode.FAILED_PRECONDITION, "refused: " + req.decode())
    return b"unary " + req


def server_stream(req, ctx):
    for i in range(int(req)):
        yield b"item %d" % i


def bidi(reqs, ctx):
    for r in reqs:
        yield b"echo " + r


def serve(port):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(server_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SVC, handlers),))
    server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


def call(target, ca, name, kind, arg):
    with open(ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    opts = (("grpc.ssl_target_name_override", name), ("grpc.default_authority", name))
    with grpc.secure_channel(target, creds, options=opts) as ch:
        if kind in ("unary", "fail"):
            m = ch.unary_unary("/%s/Unary" % SVC)
            try:
                print(m((("fail " if kind == "fail" else "") + arg).encode(), timeout=10).decode())
            except grpc.RpcError as e:
                print("status %s message %s" % (e.code().name, e.details()))
        elif kind == "stream":
            m = ch.unary_stream("/%s/Stream" % SVC)
            for r in m(arg.encode(), timeout=10):
                print(r.decode())
        elif kind == "bidi":
            m = ch.stream_stream("/%s/Bidi" % SVC)
            for r in m((b"%d" % i for i in range(int(arg))), timeout=10):
                print(r.decode())


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        call(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6] if len(sys.argv) > 6 else "")
