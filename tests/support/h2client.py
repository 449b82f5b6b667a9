#!/usr/bin/python3
"""h2client.py -- a frame-level HTTP/2 client for the integration tests
(tests/integration/check_h2.c): it sends what browsers never send, with
python3-h2's own validation off, and prints what came back, one event a
line, for the test to assert:

    STATUS <stream> <code>      a response head
    BODY <stream> <bytes> <text>  a stream's end: its body length and (up to
                                --show bytes, CR/LF as spaces) its text
    RST <stream> <code>         RST_STREAM received (code by name: PROTOCOL_ERROR)
    GOAWAY <code> <last id>     GOAWAY received
    EOF                         the server closed the connection
    TIMEOUT                     nothing ended the run within --timeout

Usage: h2client.py --port P [--tls] [--authority A] [--timeout S] SCENARIO ARGS
Scenarios:
  request [-H name=value]... [--path P] [--method M] [--body N] [--window W]
          [--no-authority] [--big N]
      one request; names and values are Python string escapes (\\r, \\n,
      \\x00), so they may hold what HTTP/1.1 cannot; --body sends N bytes
      ('a' + i % 26) in DATA frames; --window W: a stream window of W for
      the response (0: held at zero), the connection's never opened;
      --big N adds a field x-big of N bytes.
  streams N PATH        N requests at once on one connection
  rapid-reset N         N requests, each cancelled at once (CVE-2023-44487)
  continuation N        one HEADERS then N CONTINUATION frames, no END_HEADERS
  hpack-bomb N          one 4 KiB field, then N references to it
  flood KIND N          N frames of KIND: settings, ping, priority, empty-data
  hold PATH SECONDS     a request whose answer is read SECONDS later: the
                        connection's window stays at zero meanwhile
  stall PATH            the connection's window opened wide, a request for PATH
                        whose stream window is never opened, then GET /hello
                        on stream 3: the first stalls alone
  noread PATH SECONDS   windows opened wide, a request for PATH, then nothing
                        read for SECONDS; then reads to the end
  abandon PATH          (TLS) a request, its first bytes read, then
                        close_notify and close while the answer is still coming
  drain PATH            a request; prints what comes until the connection ends
Every loop is bounded in count and in time (--timeout, default 10 s).
"""
import argparse
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import hpack
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame,
                              PingFrame, PriorityFrame, RstStreamFrame, SettingsFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def out(*words):
    print(" ".join(str(w) for w in words), flush=True)


def code_name(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return str(code)


class Client:
    def __init__(self, a, settings=None):
        self.a = a
        self.deadline = time.monotonic() + a.timeout
        raw = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
        if a.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            raw = ctx.wrap_socket(raw, server_hostname=a.authority)
            if raw.selected_alpn_protocol() != "h2":
                out("NOALPN", raw.selected_alpn_protocol())
                sys.exit(2)
        self.sock = raw
        cfg = h2.config.H2Configuration(client_side=True, validate_outbound_headers=False,
                                        normalize_outbound_headers=False,
                                        validate_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.flush()
        self.bodies = {}
        self.ended = set()
        self.closed = False
        self.goaway = False

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.send(data)

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            pass  # the server may have closed already; what it said is read next

    def headers(self, sid, fields, end):
        self.conn.send_headers(sid, fields, end_stream=end)
        self.flush()

    def read_once(self, wait):
        """Reads what comes within `wait` seconds; False once the run is over."""
        if self.closed or time.monotonic() > self.deadline:
            return False
        self.sock.settimeout(max(0.01, min(wait, self.deadline - time.monotonic())))
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        except OSError:
            data = b""
        if not data:
            out("EOF")
            self.closed = True
            return False
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            out("CLIENTERROR", type(e).__name__)
            self.closed = True
            return False
        for ev in events:
            self.event(ev)
        self.flush()
        return True

    def event(self, ev):
        if isinstance(ev, h2.events.ResponseReceived):
            status = dict(ev.headers).get(b":status", b"?").decode()
            out("STATUS", ev.stream_id, status)
            self.bodies.setdefault(ev.stream_id, b"")
        elif isinstance(ev, h2.events.DataReceived):
            self.bodies[ev.stream_id] = self.bodies.get(ev.stream_id, b"") + ev.data
            if self.a.consume:
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            body = self.bodies.get(ev.stream_id, b"")
            text = body[:self.a.show].decode("latin-1").replace("\r", " ").replace("\n", " ").strip()
            out("BODY", ev.stream_id, len(body), text)
            self.ended.add(ev.stream_id)
        elif isinstance(ev, h2.events.StreamReset):
            out("RST", ev.stream_id, code_name(ev.error_code))
            self.ended.add(ev.stream_id)
        elif isinstance(ev, h2.events.ConnectionTerminated):
            out("GOAWAY", code_name(ev.error_code), ev.last_stream_id)
            self.goaway = True

    def until(self, done):
        while not done():
            if not self.read_once(0.5):
                break
        if not done() and not self.closed:
            out("TIMEOUT")

    def request_fields(self, path="/", method="GET", extra=()):
        f = [(":method", method), (":scheme", "https" if self.a.tls else "http"),
             (":path", path), (":authority", self.a.authority)]
        return f + list(extra)


def unescape(s):
    return s.encode("latin-1").decode("unicode_escape")


def pattern(n):
    return bytes(97 + i % 26 for i in range(n))


def raw_frame(c, frame):
    c.send(frame.serialize())


def do_request(a, rest):
    p = argparse.ArgumentParser(prog="request")
    p.add_argument("-H", action="append", default=[])
    p.add_argument("--path", default="/hello")
    p.add_argument("--method", default="GET")
    p.add_argument("--body", type=int, default=-1)
    p.add_argument("--window", type=int, default=-1)
    p.add_argument("--no-authority", action="store_true")
    p.add_argument("--big", type=int, default=0)
    r = p.parse_args(rest)
    settings = {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: r.window} if r.window >= 0 else None
    if r.window >= 0:
        a.consume = False
    c = Client(a, settings)
    extra = []
    for h in r.H:
        name, _, value = h.partition("=")
        extra.append((unescape(name).encode("latin-1"), unescape(value).encode("latin-1")))
    if r.big:
        extra.append((b"x-big", b"a" * r.big))
    fields = c.request_fields(r.path, r.method)
    if r.no_authority:
        fields = [f for f in fields if f[0] != ":authority"]
    fields = [(n.encode(), v.encode()) for n, v in fields] + extra
    c.headers(1, fields, r.body < 0)
    if r.body >= 0:
        body, off = pattern(r.body), 0
        while off < len(body) and not c.closed and 1 not in c.ended:
            room = min(c.conn.local_flow_control_window(1), c.conn.max_outbound_frame_size)
            if room <= 0:
                c.read_once(0.5)
                if time.monotonic() > c.deadline:
                    break
                continue
            n = min(room, len(body) - off)
            c.conn.send_data(1, body[off:off + n])
            c.flush()
            off += n
        if 1 not in c.ended and not c.closed:
            c.conn.end_stream(1)
            c.flush()
    c.until(lambda: 1 in c.ended or c.goaway)


def do_streams(a, rest):
    n, path = int(rest[0]), rest[1]
    c = Client(a)
    for i in range(n):
        sid = 1 + 2 * i
        c.headers(sid, c.request_fields(path), True)
    c.until(lambda: len(c.ended) >= n or c.goaway)


def do_rapid_reset(a, rest):
    n = int(rest[0])
    c = Client(a)
    for i in range(n):
        sid = 1 + 2 * i
        c.conn.send_headers(sid, c.request_fields("/hello"), end_stream=True)
        c.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        if i % 50 == 49:
            c.flush()
    c.flush()
    c.until(lambda: c.goaway)


def do_continuation(a, rest):
    n = int(rest[0])
    c = Client(a)
    enc = hpack.Encoder()
    block = enc.encode(c.request_fields("/hello"))
    raw_frame(c, HeadersFrame(1, data=block, flags=["END_STREAM"]))
    for i in range(n):
        frag = enc.encode([("x-filler-%d" % i, "v")])
        raw_frame(c, ContinuationFrame(1, data=frag))
        if i % 100 == 99 and not c.read_once(0.01):
            break
    c.until(lambda: c.goaway)


def do_hpack_bomb(a, rest):
    n = int(rest[0])
    c = Client(a)
    enc = hpack.Encoder()
    big = ("x-bomb", "b" * 4000)
    block = enc.encode(c.request_fields("/hello") + [big] * n)
    raw_frame(c, HeadersFrame(1, data=block[:16384], flags=[] if len(block) > 16384 else
                              ["END_HEADERS", "END_STREAM"]))
    off = 16384
    while off < len(block):
        last = off + 16384 >= len(block)
        raw_frame(c, ContinuationFrame(1, data=block[off:off + 16384],
                                       flags=["END_HEADERS"] if last else []))
        off += 16384
    c.until(lambda: c.goaway or 1 in c.ended)


def do_flood(a, rest):
    kind, n = rest[0], int(rest[1])
    c = Client(a)
    if kind == "empty-data":
        c.headers(1, [(k.encode(), v.encode()) for k, v in c.request_fields("/hello", "POST")],
                  False)
    for i in range(n):
        if kind == "settings":
            f = SettingsFrame(0, settings={h2.settings.SettingCodes.ENABLE_PUSH: 0})
        elif kind == "ping":
            f = PingFrame(0, opaque_data=i.to_bytes(8, "big"))
        elif kind == "priority":
            f = PriorityFrame(3 + 2 * (i % 1000), depends_on=0, stream_weight=15)
        else:
            f = DataFrame(1, data=b"")
        raw_frame(c, f)
        if i % 100 == 99 and not c.read_once(0.01):
            break
    c.until(lambda: c.goaway)


def do_hold(a, rest):
    path, secs = rest[0], float(rest[1])
    a.consume = False
    c = Client(a)
    c.headers(1, c.request_fields(path), True)
    end = time.monotonic() + secs
    while time.monotonic() < end and not c.closed:  # read, never opening the windows
        c.read_once(min(0.5, max(0.01, end - time.monotonic())))
    out("HELD")
    c.until(lambda: c.goaway or 1 in c.ended)


def do_stall(a, rest):
    a.consume = False
    c = Client(a)
    c.conn.increment_flow_control_window(1 << 24)
    c.headers(1, c.request_fields(rest[0]), True)
    got = 0
    while got < 65535 and c.read_once(0.5):
        got = len(c.bodies.get(1, b""))
    out("STALLED", got)
    c.headers(3, c.request_fields("/hello"), True)
    a.consume = True
    c.until(lambda: 3 in c.ended or c.goaway)
    a.consume = False
    c.until(lambda: 1 in c.ended or c.goaway)


def do_noread(a, rest):
    path, secs = rest[0], float(rest[1])
    big = (1 << 31) - 1
    c = Client(a, {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: big})
    c.conn.increment_flow_control_window(big - 65535)
    c.headers(1, c.request_fields(path), True)
    time.sleep(secs)
    n = 0
    while time.monotonic() < c.deadline:
        try:
            c.sock.settimeout(max(0.01, c.deadline - time.monotonic()))
            data = c.sock.recv(1 << 20)
        except (socket.timeout, ssl.SSLWantReadError):
            break
        except OSError:
            data = b""
        if not data:
            out("EOF")
            return
        n += len(data)
    out("TIMEOUT", n)


def do_abandon(a, rest):
    """A request for PATH, its first bytes read, then close_notify and the
    socket closed while the server still has much to write."""
    c = Client(a)
    c.headers(1, c.request_fields(rest[0]), True)
    c.sock.settimeout(2)
    try:
        c.sock.recv(16384)
        c.sock.settimeout(0.2)
        c.sock.unwrap()
    except (OSError, ValueError):
        pass
    c.sock.close()
    out("CLOSED")


def do_drain(a, rest):
    """Frames read by hand (python3-h2 takes no frame after a GOAWAY, and a
    graceful GOAWAY is followed by the streams in flight)."""
    c = Client(a)
    dec = hpack.Decoder()
    c.headers(1, c.request_fields(rest[0]), True)
    pending = b""
    body = b""
    while time.monotonic() < c.deadline:
        c.sock.settimeout(max(0.01, c.deadline - time.monotonic()))
        try:
            data = c.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            break
        except OSError:
            data = b""
        if not data:
            out("EOF")
            return
        pending += data
        while len(pending) >= 9:
            f, length = Frame.parse_frame_header(pending[:9])
            if len(pending) < 9 + length:
                break
            f.parse_body(memoryview(pending[9:9 + length]))
            pending = pending[9 + length:]
            if isinstance(f, HeadersFrame):
                fields = dict(dec.decode(f.data))
                if ":status" in fields:
                    out("STATUS", f.stream_id, fields[":status"])
            elif isinstance(f, DataFrame):
                body += f.data
            elif isinstance(f, GoAwayFrame):
                out("GOAWAY", code_name(f.error_code), f.last_stream_id)
            elif isinstance(f, RstStreamFrame):
                out("RST", f.stream_id, code_name(f.error_code))
            elif isinstance(f, PingFrame) and "ACK" not in f.flags:
                c.send(PingFrame(0, opaque_data=f.opaque_data, flags=["ACK"]).serialize())
            elif isinstance(f, SettingsFrame) and "ACK" not in f.flags:
                c.send(SettingsFrame(0, flags=["ACK"]).serialize())
            if "END_STREAM" in f.flags and f.stream_id == 1:
                out("BODY", 1, len(body), body[:a.show].decode("latin-1").strip())
    out("TIMEOUT")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--authority", default="a.test")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--show", type=int, default=200)
    p.add_argument("scenario")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    a = p.parse_args()
    a.consume = True
    scenarios = {"request": do_request, "streams": do_streams, "rapid-reset": do_rapid_reset,
                 "continuation": do_continuation, "hpack-bomb": do_hpack_bomb,
                 "flood": do_flood, "hold": do_hold, "drain": do_drain, "stall": do_stall,
                 "noread": do_noread, "abandon": do_abandon}
    scenarios[a.scenario](a, a.rest)


if __name__ == "__main__":
    main()
