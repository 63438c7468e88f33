-- Rotate through the request paths listed in a file, one path a line, so that a run is not
-- one cached URL; report the run as one JSON line for bench/web.py.
--
--   wrk -t2 -c32 -d20s --latency -s bench/web_lua/rotate.lua http://127.0.0.1:8000 -- paths.txt
--
-- Each thread starts at its own offset in the list and walks it in order, wrapping around.
-- Every response whose status is not 2xx is counted (wrk itself counts only >= 400).

local threads = {}

function setup(thread)
   thread:set("thread_number", #threads)
   table.insert(threads, thread)
end

function init(args)
   paths = {}
   for line in io.lines(args[1]) do
      if #line > 0 then
         paths[#paths + 1] = line
      end
   end
   if #paths == 0 then
      error("no request paths in " .. args[1])
   end
   thread_count = tonumber(args[2] or "1")
   position = math.floor(#paths * thread_number / thread_count)
   non_2xx = 0
end

function request()
   position = position % #paths + 1
   return wrk.format("GET", paths[position])
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non_2xx = non_2xx + 1
   end
end

function done(summary, latency, requests)
   local non_2xx_total = 0
   for _, thread in ipairs(threads) do
      non_2xx_total = non_2xx_total + thread:get("non_2xx")
   end
   local errors = summary.errors
   io.write(string.format(
      "WRK_JSON {\"duration_us\": %d, \"requests\": %d, \"bytes\": %d, " ..
      "\"connect_errors\": %d, \"read_errors\": %d, \"write_errors\": %d, " ..
      "\"status_errors\": %d, \"timeouts\": %d, \"non_2xx\": %d, " ..
      "\"latency_us\": {\"mean\": %.1f, \"stdev\": %.1f, \"max\": %d, " ..
      "\"p50\": %d, \"p90\": %d, \"p99\": %d, \"p99_9\": %d}}\n",
      summary.duration, summary.requests, summary.bytes,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout, non_2xx_total,
      latency.mean, latency.stdev, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9)))
end
