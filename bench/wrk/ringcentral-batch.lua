-- wrk script of bench/emulator.sh, case "rc-batch": a RingCentral batch read of two
-- extensions, GET /restapi/v1.0/account/~/extension/ID1,ID2 (the ids are in the URL the
-- script gives wrk), answered 207 multipart/mixed.
--
-- From the environment: BENCH_TOKEN, sent as "Authorization: Bearer <token>" (emulator.lua
-- adds it). No request() function: wrk sends the one prebuilt request.

wrk.method = "GET"

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "emulator.lua")
