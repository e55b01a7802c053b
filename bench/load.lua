-- wrk script for bench/load.py: replay the paths in the file named after the URL (one a line),
-- round-robin, each thread from its own offset, and count responses by status code.
-- wrk itself only counts statuses >= 400; a 3xx here means the URL mix is stale, so it counts too.
--
--   wrk -s bench/load.lua http://127.0.0.1:8000 -- urls.txt

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local paths = {}
local position = 0
statuses = {} -- global, so that done() can read it from every thread with thread:get

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  if #paths == 0 then
    error("no paths in " .. args[1])
  end
  -- Spread the threads over the list so they do not ask for the same page at the same time.
  position = (id * 7919) % #paths
end

function request()
  position = position % #paths + 1
  return wrk.format("GET", paths[position])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d %d\n", status, count))
  end
end
