-- Counts answers by HTTP status (and, when a pattern is given, by the value it captures in the
-- body) in every thread, and prints one line for bench/common.py to read:
--   BENCH {"requests": ..., "p50_ms": ..., "statuses": {...}, "captured": {...}, ...}
-- Loaded by the other scripts here; alone it is the script for plain GETs:
--   wrk -s report.lua URL [-- <pattern to count in answers>]

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function report_init(pattern)
   statuses = {}
   captured = {}
   capture = pattern ~= nil and pattern ~= "" and pattern or nil
end

function init(args)
   report_init(args[1])
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if capture then
      local value = body and body:match(capture) or "none"
      captured[value] = (captured[value] or 0) + 1
   end
end

local function merged(name)
   local total = {}
   for _, thread in ipairs(threads) do
      for key, count in pairs(thread:get(name) or {}) do
         total[tostring(key)] = (total[tostring(key)] or 0) + count
      end
   end
   return total
end

local function object(counts)
   local parts = {}
   for key, count in pairs(counts) do
      parts[#parts + 1] = string.format('"%s": %d', key, count)
   end
   return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
   local exhausted = 0
   for _, thread in ipairs(threads) do
      exhausted = exhausted + (thread:get("exhausted") or 0)
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p95_ms": %.2f, ' ..
      '"p99_ms": %.2f, "max_ms": %.2f, "socket_errors": %d, "timeouts": %d, ' ..
      '"exhausted": %d, "statuses": %s, "captured": %s}\n',
      summary.requests, summary.duration / 1e6,
      latency:percentile(50) / 1000, latency:percentile(95) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000,
      errors.connect + errors.read + errors.write, errors.timeout,
      exhausted, object(merged("statuses")), object(merged("captured"))))
end
