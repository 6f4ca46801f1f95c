-- http_post.lua: the wrk script of the HTTP benchmarks (tests/bench/run.sh, docs/BENCHMARKS.md).
--
-- Every request is a POST with a JSON body and a Bearer token; the body changes per request:
--   BENCH_MODE=intake    POST {path} with a report of category 0102 at the next point of
--                        BENCH_INPUT (lines "lon lat", points inside a grid);
--   BENCH_MODE=dispatch  POST /api/v1/events/ID/actions {"action":"dispatch"}, ID the next
--                        of BENCH_INPUT (one event id a line), each id used once: the threads
--                        take interleaved ids (thread t of n: lines t, t+n, t+2n...).
-- BENCH_TOKEN is the session token. At the end one JSON line on stdout:
--   {"requests":N,"seconds":S,"rps":R,"p50_us":..,"p90_us":..,"p99_us":..,"max_us":..,
--    "non2xx":N,"socket_errors":N,"exhausted":N}
-- ("exhausted": requests made after a thread ran out of ids, sent to an id that is no
-- longer filed and so answered 409: counted in non2xx).

local mode = os.getenv("BENCH_MODE") or "intake"
local token = os.getenv("BENCH_TOKEN") or ""
local input = os.getenv("BENCH_INPUT") or ""
dofile("tests/bench/wrk_lib.lua") -- setup(), the line reader, the summary

function init(args)
  -- tid is set by setup() before init runs; nthreads comes from the command line (--).
  nthreads = tonumber(args[1]) or 1
  items = {}
  wrk_lib.lines(input, nthreads, tid, function(line) table.insert(items, line) end)
  pos = 0
  non2xx = 0
  exhausted = 0
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
end

function request()
  pos = pos + 1
  if mode == "dispatch" then
    if pos > #items then
      exhausted = exhausted + 1
      pos = #items
    end
    return wrk.format("POST", "/api/v1/events/" .. items[pos] .. "/actions", headers,
      '{"action":"dispatch"}')
  end
  if pos > #items then pos = 1 end
  local lon, lat = items[pos]:match("^(%S+)%s+(%S+)")
  return wrk.format("POST", "/api/v1/events", headers,
    '{"source":"citizen","category":"0102","category_kind":"event","title":"bench report",' ..
    '"lon":' .. lon .. ',"lat":' .. lat .. '}')
end

function response(status, hdrs, body)
  wrk_lib.ok(status, body)
end

function done(summary, latency, requests)
  wrk_lib.summary(summary, latency, { "exhausted" })
end
