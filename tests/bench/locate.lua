-- locate.lua: the wrk script of the point-to-grid lookup over HTTP (tests/bench/run.sh
-- bench_locate_http, docs/BENCHMARKS.md).
--
-- Every request is GET /api/v1/locate?lon=..&lat=.. with a Bearer token (BENCH_TOKEN), the
-- point the next line of BENCH_INPUT ("lon lat" lines: the lookup benchmark's points that lie
-- inside a grid); the threads take interleaved lines (thread t of n: lines t, t+n, ...) and
-- start again at the first when they run out. At the end one JSON line on stdout:
--   {"requests":N,"seconds":S,"rps":R,"p50_us":..,"p90_us":..,"p99_us":..,"max_us":..,
--    "non2xx":N,"socket_errors":N,"found":N}
-- ("found": answers with "found":true, so that a run of misses cannot pass for a fast one).

local token = os.getenv("BENCH_TOKEN") or ""
local input = os.getenv("BENCH_INPUT") or ""
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(args[1]) or 1
  paths = {}
  local n = 0
  local f = assert(io.open(input, "r"))
  for line in f:lines() do
    if n % nthreads == tid then
      local lon, lat = line:match("^(%S+)%s+(%S+)")
      table.insert(paths, "/api/v1/locate?lon=" .. lon .. "&lat=" .. lat)
    end
    n = n + 1
  end
  f:close()
  pos = 0
  non2xx = 0
  found = 0
  headers = { ["Authorization"] = "Bearer " .. token }
end

function request()
  pos = pos % #paths + 1
  return wrk.format("GET", paths[pos], headers)
end

function response(status, hdrs, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if non2xx <= 3 then io.stderr:write("non-2xx " .. status .. ": " .. string.sub(body, 1, 200) .. "\n") end
  elseif body:find('"found":true', 1, true) then
    found = found + 1
  end
end

function done(summary, latency, requests)
  local bad, fo = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    fo = fo + (t:get("found") or 0)
  end
  local e = summary.errors
  local s = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non2xx":%d,"socket_errors":%d,"found":%d}\n',
    summary.requests, s, summary.requests / s, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, bad, e.connect + e.read + e.write + e.timeout, fo))
end
