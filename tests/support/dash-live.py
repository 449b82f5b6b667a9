#!/usr/bin/python3
"""dash-live.py — the dashboard as a browser keeps it open: a headless
Chromium, driven over the DevTools protocol on a pipe (stdlib only), loads
the page ONCE, reads what its charts hold, sends traffic through the site
while the page stays open, and waits (bounded) until the page's own polls
show it; then takes a screenshot.  Prints one JSON line: the values before
and after, how many navigations the page saw (1: it was never reloaded).

usage: dash-live.py URL TRAFFIC_URL N PROFILE_DIR SCREENSHOT.png
"""
import base64
import json
import os
import select
import subprocess
import sys
import time
import urllib.request

url, traffic, n, profile, png = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

# Chromium reads commands from fd 3 and writes answers to fd 4.
cmd_r, cmd_w = os.pipe()
ans_r, ans_w = os.pipe()


def child_fds():
    a, b = os.dup(cmd_r), os.dup(ans_w)  # above 4 first: the pipes may be 3 or 4
    os.dup2(a, 3)
    os.dup2(b, 4)


browser = subprocess.Popen(
    ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
     "--disable-background-networking", "--disable-component-update", "--disable-sync",
     "--no-proxy-server", "--remote-debugging-pipe", "--user-data-dir=" + profile, "--window-size=1280,900",
     "about:blank"],
    preexec_fn=child_fds, pass_fds=(3, 4),
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(cmd_r)
os.close(ans_w)
buf = b""
next_id = 0
deadline = time.monotonic() + 45  # for what the page should show
hard = deadline + 30  # for the browser to answer at all


def call(method, params=None, session=None):
    """Sends one command and returns its result (events are skipped)."""
    global buf, next_id
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if session:
        msg["sessionId"] = session
    os.write(cmd_w, json.dumps(msg).encode() + b"\0")
    while True:
        while b"\0" not in buf:
            if time.monotonic() > hard:
                raise SystemExit("dash-live: chromium did not answer " + method)
            if not select.select([ans_r], [], [], 1)[0]:
                continue
            chunk = os.read(ans_r, 65536)
            if not chunk:
                raise SystemExit("dash-live: chromium closed the pipe")
            buf += chunk
        raw, buf = buf.split(b"\0", 1)
        ans = json.loads(raw)
        if ans.get("id") == next_id:
            if "error" in ans:
                raise SystemExit("dash-live: %s: %s" % (method, ans["error"]))
            return ans["result"]


READ = """JSON.stringify({
  requests: +(document.body.dataset.requests || -1),
  seq: +(document.body.dataset.seq || 0),
  points: +(document.getElementById('c-rps').getAttribute('data-points') || 0),
  rps: document.getElementById('c-rps').innerHTML,
  navigations: performance.getEntriesByType('navigation').length,
  marker: window.ghMarker || 0})"""


def read(session):
    """What the page holds now; None while it is still loading."""
    r = call("Runtime.evaluate", {"expression": READ, "returnByValue": True}, session)
    return json.loads(r["result"]["value"]) if "value" in r["result"] else None


def wait_for(session, cond, what):
    while True:
        v = read(session)
        if v and cond(v):
            return v
        if time.monotonic() > deadline:
            raise SystemExit("dash-live: timed out waiting for %s; last %s" % (what, v))
        time.sleep(0.2)


try:
    target = call("Target.createTarget", {"url": url})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    before = wait_for(session, lambda v: v["seq"] > 0 and v["points"] > 0, "the first data")
    # a mark on the window: a reload would wipe it
    call("Runtime.evaluate", {"expression": "window.ghMarker = 1"}, session)
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no http_proxy
    for _ in range(n):
        with direct.open(traffic, timeout=10) as r:
            r.read()
    after = wait_for(session, lambda v: v["requests"] >= before["requests"] + n
                     and v["seq"] > before["seq"], "the traffic on the page")
    shot = call("Page.captureScreenshot", {"format": "png"}, session)
    with open(png, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    changed = before.pop("rps") != after.pop("rps")
    print(json.dumps({"before": before, "after": after, "chart_changed": changed}))
finally:
    try:
        call("Browser.close")
    except BaseException:
        pass
    try:
        browser.wait(timeout=10)
    except subprocess.TimeoutExpired:
        browser.kill()
        browser.wait()
