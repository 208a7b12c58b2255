-- wrk script: POST /api/v1/appointments with one booking body per request,
-- read from a file of JSON lines; each thread takes every n-th line, so no two
-- threads send the same slot. Counts 201, 409 and any other status.
-- wrk ... -s book.lua URL -- TOKEN FILE THREADS
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  token = args[1]
  local n = tonumber(args[3])
  bodies = {}
  local line_no = 0
  for line in io.lines(args[2]) do
    if line_no % n == id then
      bodies[#bodies + 1] = line
    end
    line_no = line_no + 1
  end
  next_body = 0
  created, conflicts, other = 0, 0, 0
end

function request()
  next_body = next_body + 1
  if next_body > #bodies then
    next_body = 1 -- slots used up: the rest are 409s
  end
  return wrk.format("POST", "/api/v1/appointments",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token },
    bodies[next_body])
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 409 then
    conflicts = conflicts + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("created")
    b = b + t:get("conflicts")
    c = c + t:get("other")
  end
  io.write(string.format("STATUSES 201=%d 409=%d other=%d\n", a, b, c))
end
