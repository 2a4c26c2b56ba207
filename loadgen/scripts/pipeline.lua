-- wrk script: pipelined requests, as TechEmpower's plaintext test sends them.
-- Every write carries DEPTH copies of the request (default 16); wrk then reads DEPTH answers.
-- Usage: wrk -t1 -c64 -d5s -s loadgen/scripts/pipeline.lua http://127.0.0.1:8083/ -- 16

local batch

function init(args)
    local depth = tonumber(args[1] or "16")
    local one = wrk.format(nil, nil, nil, nil)
    batch = string.rep(one, depth)
end

function request()
    return batch
end
