-- wrk script of scripts/bench-raft for Drover: `PUT /v1/var/bench/<run>/<thread>/<n>`, a unique
-- variable path per request, whose one item holds a 256-byte value.
package.path = (os.getenv("BENCH_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local common = require("wrk-common")

local body = '{"Items":{"v":"' .. common.value .. '"}}'
local headers = { ["Content-Type"] = "application/json" }
local n = 0

setup = common.setup
done = common.done

request = function()
  n = n + 1
  local path = "/v1/var/bench/" .. common.run .. "/" .. tostring(thread_id) .. "/" .. n
  return wrk.format("PUT", path, headers, body)
end
