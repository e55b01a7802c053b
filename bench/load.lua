-- wrk script for bench/load.py: replay the paths in the file named after the URL (one a line),
-- in order, each thread its own stretch, and count responses by status code and cache hits.
-- wrk itself only counts statuses >= 400; a 3xx here means the URL mix is stale, so it counts too.
--
--   wrk -s bench/load.lua http://127.0.0.1:8000 -- urls.txt THREADS

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local paths = {}
local position = 0
statuses = {} -- global, so that done() can read it from every thread with thread:get
hits = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  if #paths == 0 then
    error("no paths in " .. args[1])
  end
  -- Each thread replays its own stretch of the list, so a one-off query stays one-off.
  local count = tonumber(args[2]) or 1
  position = math.floor(id * #paths / count) % #paths
end

function request()
  position = position % #paths + 1
  return wrk.format("GET", paths[position])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if headers["x-cache"] == "hit" or headers["X-Cache"] == "hit" then
    hits = hits + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  local cached = 0
  for _, thread in ipairs(threads) do
    cached = cached + thread:get("hits")
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d %d\n", status, count))
  end
  io.write(string.format("cache hits %d\n", cached))
end
