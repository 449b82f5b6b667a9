#!/usr/bin/python3
"""bench/h2_idle.py — hold N idle HTTP/2 connections open on a TLS server.

Opens N connections to 127.0.0.1:PORT over TLS with ALPN h2 (python3-h2
for the frames), makes one GET of PATH on each and reads its answer whole,
then keeps every connection open and idle; prints "ready OK FAILED" once
all are, and holds until signalled or HOLD seconds pass.  bench/h2.sh
reads the server's memory meanwhile; this measures nothing itself.

  h2_idle.py PORT N PATH HOLD
"""
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events


def open_one(ctx, port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(s, server_hostname="localhost")
    if s.selected_alpn_protocol() != "h2":
        raise OSError("no h2")
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    c.send_headers(1, [(":method", "GET"), (":scheme", "https"), (":authority", "localhost"),
                       (":path", path)], end_stream=True)
    s.sendall(c.data_to_send())
    done = False
    while not done:
        data = s.recv(65536)
        if not data:
            raise OSError("closed")
        for ev in c.receive_data(data):
            if isinstance(ev, h2.events.DataReceived):
                c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if isinstance(ev, h2.events.StreamEnded):
                done = True
        s.sendall(c.data_to_send())
    return s


def main():
    port, n, path, hold = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    held, failed = [], 0
    for _ in range(n):
        try:
            held.append(open_one(ctx, port, path))
        except OSError:
            failed += 1
    print("ready %d %d" % (len(held), failed), flush=True)
    end = time.time() + hold
    while time.time() < end:
        time.sleep(0.5)


if __name__ == "__main__":
    main()
