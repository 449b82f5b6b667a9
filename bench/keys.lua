-- bench/keys.lua: every request a new X-Key (k1, k2, ...) to keys.bench,
-- so each one is a key the rate limit tracks (bench/protect.sh's memory run).
local n = tonumber(os.getenv("KEY_BASE") or "0") -- keys of earlier runs are not sent again
request = function()
  n = n + 1
  return wrk.format("GET", "/1k", { ["Host"] = "keys.bench", ["X-Key"] = "k" .. n })
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
