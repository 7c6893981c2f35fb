-- wrk -s Benchmarks/Serve/paths.lua URL -- PATHS_FILE
-- Requests the paths of PATHS_FILE (one a line, such as /api/latest?region=Europe) in turn,
-- each wrk thread from its own starting point. Written by Benchmarks/Serve/load.py run.

local paths = {}
local i = 0

function init(args)
    local file = args[1]
    if file == nil then
        error("paths.lua needs the paths file: wrk -s paths.lua URL -- PATHS_FILE")
    end
    for line in io.lines(file) do
        if line ~= "" then
            paths[#paths + 1] = line
        end
    end
    if #paths == 0 then
        error("no paths in " .. file)
    end
    i = math.random(#paths) - 1
end

function request()
    i = i % #paths + 1
    return wrk.format(nil, paths[i])
end
