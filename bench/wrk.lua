-- bench/wrk.lua: request shaping and a one-line summary for bench/run.sh.
--   BENCH_URL=http://127.0.0.1:PORT/1k  sends absolute-form requests (forward
--                                       proxies) with that URL's authority as Host.
-- done() prints one line bench/run.sh parses:
--   RESULT requests= rps= p50_us= p99_us= errors= non2xx= bytes=
local url = os.getenv("BENCH_URL")
if url ~= nil and url ~= "" then
  wrk.path = url
  wrk.headers["Host"] = url:match("^http://([^/]+)")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d errors=%d non2xx=%d bytes=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, summary.bytes))
end
