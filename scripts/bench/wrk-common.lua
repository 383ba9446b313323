-- Shared by the wrk scripts of scripts/bench-raft: per-thread ids, a 256-byte value, base64, and a
-- done() that prints wrk's own figures as one machine-readable line.
local M = {}

M.value = string.rep("v", tonumber(os.getenv("BENCH_VALUE_BYTES") or "256"))
M.run = os.getenv("BENCH_RUN") or tostring(os.time())

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function M.base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = alphabet:sub(c1 + 1, c1 + 1) .. alphabet:sub(c2 + 1, c2 + 1)
      .. (b and alphabet:sub(c3 + 1, c3 + 1) or "=") .. (c and alphabet:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

-- wrk calls setup() once per thread in the main interpreter: give each thread an id.
local next_thread = 0
function M.setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_id", next_thread)
end

-- Latencies are in microseconds; errors.status counts responses that are not 2xx/3xx.
function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end

return M
