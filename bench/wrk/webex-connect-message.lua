-- wrk script of bench/emulator.sh, cases "wxc-valid" and "wxc-invalid": Webex Connect's
-- messaging API, POST /resources/v1/messaging with a JSON body, the service key in `key`.
--
-- From the environment:
--   BENCH_BODY      the JSON body (the script sets it per case: one SMS to one msisdn, or
--                   the same without "destination")
--   BENCH_KEY       the service key, sent as "key: <key>"; or, for the valid message,
--   BENCH_KEYS      a count N: the requests take turns over the keys BENCH_KEY_PREFIX1 ..
--                   BENCH_KEY_PREFIX<N> (added beforehand with POST /_verdict/tokens), as the
--                   emulator allows 1000 transactions per key in 60 s (code 7020) and one
--                   accepted message to one address is one transaction.
--
-- With one key there is no request() function and wrk sends one prebuilt request, as in
-- the other cases. With BENCH_KEYS it builds the N requests once per thread (in init) and
-- request() hands out the next one: a table lookup per request, but still a call into Lua
-- per request, which costs wrk some CPU on the cores it shares with the server.

local function need(name)
  local v = os.getenv(name)
  if v == nil or v == "" then error(name .. " is not set") end
  return v
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = need("BENCH_BODY")

local count = tonumber(os.getenv("BENCH_KEYS") or "")
if count == nil or count < 1 then
  wrk.headers["key"] = need("BENCH_KEY")
else
  local prefix = need("BENCH_KEY_PREFIX")
  local requests = {}
  local n = 0

  function init(args)
    for i = 1, count do
      local headers = {}
      for k, v in pairs(wrk.headers) do headers[k] = v end
      headers["key"] = prefix .. i
      requests[i] = wrk.format(nil, nil, headers, nil)
    end
  end

  function request()
    n = n % count + 1
    return requests[n]
  end
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "emulator.lua")
