-- wrk script: POST a Breakpad-style multipart body (from BODY_FILE) to
-- /submit and record every crash id answered with 200, so the driver can
-- check each one is stored.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. os.getenv("BOUNDARY")
wrk.headers["User-Agent"] = "wrk-bench"

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ids = {}
  non200 = 0
end

function response(status, headers, resp_body)
  if status == 200 then
    local id = string.match(resp_body, "^CrashID=bp%-([%x%-]+)")
    if id then
      table.insert(ids, id)
    end
  else
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("IDS_FILE"), "w"))
  local bad = 0
  for _, thread in ipairs(threads) do
    local t_ids = thread:get("ids")
    for _, id in ipairs(t_ids) do
      out:write(id, "\n")
    end
    bad = bad + thread:get("non200")
  end
  out:close()
  io.write(string.format("non-200 answers: %d\n", bad))
  io.write(string.format("p50 %.1f ms  p99 %.1f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
