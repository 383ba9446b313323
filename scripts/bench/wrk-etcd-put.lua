-- wrk script of scripts/bench-raft for etcd: `POST /v3/kv/put` (the gRPC gateway), a unique key
-- `bench/<run>/<thread>/<n>` per request and a 256-byte value, both base64 as the gateway wants.
package.path = (os.getenv("BENCH_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local common = require("wrk-common")

local value64 = common.base64(common.value)
local headers = { ["Content-Type"] = "application/json" }
local n = 0

setup = common.setup
done = common.done

request = function()
  n = n + 1
  local key = "bench/" .. common.run .. "/" .. tostring(thread_id) .. "/" .. n
  local body = '{"key":"' .. common.base64(key) .. '","value":"' .. value64 .. '"}'
  return wrk.format("POST", "/v3/kv/put", headers, body)
end
