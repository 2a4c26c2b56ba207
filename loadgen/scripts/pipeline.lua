-- wrk script: pipelines `depth` requests per write (default 16), as TechEmpower's plaintext
-- test does. Usage:
--   wrk -t1 -c64 -d5s -s loadgen/scripts/pipeline.lua http://127.0.0.1:8083/ -- 16
-- The path of the URL is the path of every request; wrk counts each response, so Requests/sec
-- is responses per second.

local depth = 16

init = function(args)
   depth = tonumber(args[1]) or depth
   local one = wrk.format(nil, wrk.path)
   req = string.rep(one, depth)
end

request = function()
   return req
end
