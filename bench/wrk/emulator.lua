-- wrk script of bench/emulator.sh: adds the request headers of a case and, at the end,
-- prints one machine-readable line with the numbers the script reports.
--
-- Headers come from the environment, so that one script serves every case:
--   BENCH_TOKEN  sent as "Authorization: Bearer <token>" when set
--   BENCH_FAULT  sent as "X-Verdict-Fault: <value>" when set (e.g. "status=429; retry-after=1")
--
-- No request() or response() function is defined: wrk then sends one prebuilt request
-- again and again and does not hand answers to Lua, which keeps its own CPU cost (on
-- cores it shares with the server) as low as with no script at all. Statuses are counted
-- by wrk itself (summary.errors.status: answers that are neither 2xx nor 3xx).

local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local fault = os.getenv("BENCH_FAULT")
if fault ~= nil and fault ~= "" then
  wrk.headers["X-Verdict-Fault"] = fault
end

-- Called once, after every thread has stopped. Durations are in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "wrk-result requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d non_2xx_3xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
