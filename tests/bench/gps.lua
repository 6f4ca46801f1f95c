-- gps.lua: the wrk script of the GPS intake benchmark (tests/bench/run.sh bench_gps,
-- docs/BENCHMARKS.md).
--
-- BENCH_INPUT is the file of tests/bench/gps_bench prepare: one worker a line,
-- "token patrol_id lon lat" (a session, its running patrol, a point of its grid). The threads
-- take interleaved workers (thread t of n: lines t, t+n, t+2n...), so a worker is only ever
-- posted by one thread, and each thread serves its workers in turn, one batch per request:
--   POST /api/v1/patrols/ID/points {"points":[{"t":ms,"lon":..,"lat":..,"accuracy_m":..,
--   "speed":..}, ...]}
-- with BENCH_BATCH points (default 100) 5 s apart from the worker's time cursor, which starts at
-- BENCH_T0 (Unix ms; each wrk run gets its own stretch of time so that no point repeats), a
-- walk of about 2 m a point from the worker's point. The points are those a phone sends
-- (web/public/patrol.js: t in ms).
-- At the end one JSON line on stdout:
--   {"requests":N,"seconds":S,"rps":R,"p50_us":..,"p90_us":..,"p99_us":..,"max_us":..,
--    "non2xx":N,"socket_errors":N,"stored":N,"duplicates":N}
-- ("stored" and "duplicates" summed from the answers: the points the server kept).

local input = os.getenv("BENCH_INPUT") or ""
local batch = tonumber(os.getenv("BENCH_BATCH") or "100")
local t0 = tonumber(os.getenv("BENCH_T0") or "0")
dofile("tests/bench/wrk_lib.lua") -- setup(), the line reader, the summary

function init(args)
  nthreads = tonumber(args[1]) or 1
  workers = {}
  wrk_lib.lines(input, nthreads, tid, function(line, n)
    local tok, id, lon, lat = line:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)")
    table.insert(workers, {
      path = "/api/v1/patrols/" .. id .. "/points",
      headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tok },
      lon = tonumber(lon), lat = tonumber(lat), t = t0, k = n,
    })
  end)
  pos = 0
  non2xx = 0
  stored = 0
  duplicates = 0
end

function request()
  pos = pos % #workers + 1
  local w = workers[pos]
  local parts = {}
  -- a direction per worker and batch, about 2 m a point (1e-5 degree is about 1.1 m)
  local a = (w.k * 7 + w.t / 5000) % 360 * math.pi / 180
  local dlon, dlat = 1.8e-5 * math.cos(a), 1.8e-5 * math.sin(a)
  for i = 0, batch - 1 do
    parts[i + 1] = string.format('{"t":%d,"lon":%.6f,"lat":%.6f,"accuracy_m":%d,"speed":%.1f}',
      w.t + i * 5000, w.lon + dlon * i, w.lat + dlat * i, 5 + i % 10, 0.4 + (i % 5) * 0.1)
  end
  w.t = w.t + batch * 5000
  return wrk.format("POST", w.path, w.headers, '{"points":[' .. table.concat(parts, ",") .. ']}')
end

function response(status, hdrs, body)
  if not wrk_lib.ok(status, body) then return end
  local s, d = body:match('"stored":(%d+),"duplicates":(%d+)')
  stored = stored + (tonumber(s) or 0)
  duplicates = duplicates + (tonumber(d) or 0)
end

function done(summary, latency, requests)
  wrk_lib.summary(summary, latency, { "stored", "duplicates" })
end
