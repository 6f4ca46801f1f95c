-- wrk_lib.lua: what the wrk scripts of the HTTP benchmarks share (http_post.lua, gps.lua,
-- locate.lua; tests/bench/run.sh runs wrk from the repository's root, where dofile finds this).
--
-- Each script keeps its per-thread counters in globals named in its call of
-- wrk_lib.summary(); a thread's counter is read back with thread:get().

wrk_lib = {}

local threads = {}
local counter = 0

-- wrk's setup(): numbers the threads (tid) and keeps them for the summary.
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

-- Calls fn(line, n) for this thread's lines of path: thread t of nthreads takes lines t,
-- t+nthreads, t+2*nthreads... (n counts every line from 0), so no two threads share one.
function wrk_lib.lines(path, nthreads, tid, fn)
  local n = 0
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if n % nthreads == tid then
      fn(line, n)
    end
    n = n + 1
  end
  f:close()
end

-- Counts an answer other than 2xx in the thread's global non2xx (and shows the first three);
-- true when the answer was a 2xx.
function wrk_lib.ok(status, body)
  if status >= 200 and status <= 299 then
    return true
  end
  non2xx = non2xx + 1
  if non2xx <= 3 then io.stderr:write("non-2xx " .. status .. ": " .. string.sub(body, 1, 200) .. "\n") end
  return false
end

-- wrk's done(): one JSON line on stdout with the run's figures and, summed over the threads,
-- non2xx and each counter named in extra (a list of global names).
function wrk_lib.summary(summary, latency, extra)
  local sums = { non2xx = 0 }
  for _, name in ipairs(extra) do sums[name] = 0 end
  for _, t in ipairs(threads) do
    for name, v in pairs(sums) do sums[name] = v + (t:get(name) or 0) end
  end
  local e = summary.errors
  local s = summary.duration / 1e6
  local out = string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non2xx":%d,"socket_errors":%d',
    summary.requests, s, summary.requests / s, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, sums.non2xx, e.connect + e.read + e.write + e.timeout)
  for _, name in ipairs(extra) do out = out .. string.format(',"%s":%d', name, sums[name]) end
  io.write(out .. "}\n")
end
