-- wrk script for the benchmarks: POST the lines of a file in turn, count bad answers, print JSON.
--
--   wrk -t1 -c8 -d15s -s bench/wrk_post.lua -H 'Authorization: Bearer ...' URL -- BODIES_FILE
--
-- BODIES_FILE holds one JSON request body per line. Headers come from wrk's -H flags. An answer
-- counts as bad when its status is not 200 or its body carries GraphQL "errors". At the end one
-- line "WRKJSON {...}" gives requests, bad answers, wrk's own error counts and latency percentiles.

-- Globals, not locals: done() reads them from each thread with thread:get().
bodies = {}
counter = 0
bad = 0
local threads = {}

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
  if #bodies == 0 then error("no request bodies in " .. args[1]) end
  counter = offset or 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, thread in ipairs(threads) do total_bad = total_bad + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "bad_answers": %d, '
      .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, "non_2xx": %d, '
      .. '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes, total_bad,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
