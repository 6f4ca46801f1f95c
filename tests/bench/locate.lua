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
dofile("tests/bench/wrk_lib.lua") -- setup(), the line reader, the summary

function init(args)
  nthreads = tonumber(args[1]) or 1
  paths = {}
  wrk_lib.lines(input, nthreads, tid, function(line)
    local lon, lat = line:match("^(%S+)%s+(%S+)")
    table.insert(paths, "/api/v1/locate?lon=" .. lon .. "&lat=" .. lat)
  end)
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
  if wrk_lib.ok(status, body) and body:find('"found":true', 1, true) then
    found = found + 1
  end
end

function done(summary, latency, requests)
  wrk_lib.summary(summary, latency, { "found" })
end
