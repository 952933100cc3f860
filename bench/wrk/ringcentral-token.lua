-- wrk script of bench/emulator.sh, case "rc-token": RingCentral's token endpoint with the
-- password grant. Every request is the same:
--
--   POST /restapi/oauth/token
--   Authorization: Basic base64(client_id:client_secret)
--   Content-Type: application/x-www-form-urlencoded
--   grant_type=password&username=<username, URL-encoded>&password=<password, URL-encoded>
--
-- From the environment (bench/emulator.sh takes them from the emulator's JSON line):
--   BENCH_BASIC     base64 of "client_id:client_secret"
--   BENCH_USERNAME  the username (a phone number such as +16505550100)
--   BENCH_PASSWORD  the password
-- No request() function: wrk sends the one prebuilt request (see emulator.lua).

local function need(name)
  local v = os.getenv(name)
  if v == nil or v == "" then error(name .. " is not set") end
  return v
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

wrk.method = "POST"
wrk.headers["Authorization"] = "Basic " .. need("BENCH_BASIC")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=password&username=" .. urlencode(need("BENCH_USERNAME"))
  .. "&password=" .. urlencode(need("BENCH_PASSWORD"))

-- done(): one machine-readable line, shared with the other cases.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "emulator.lua")
