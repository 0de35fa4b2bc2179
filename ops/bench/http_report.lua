-- wrk script: POST /v1/reports over keep-alive, a unique report_id per request.
-- GRIDCASE_TOKEN: a bearer token; GRIDCASE_RUN: a prefix unique to this run.
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  token = os.getenv("GRIDCASE_TOKEN") or ""
  prefix = "bench-" .. (os.getenv("GRIDCASE_RUN") or "0") .. "-" .. tostring(tid) .. "-"
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
end

function request()
  counter = counter + 1
  local body = '{"report_id":"' .. prefix .. counter ..
      '","grid":"jjbl-c1-g01","category":"sanitation","severity":2,"title":"垃圾堆积"}'
  return wrk.format("POST", "/v1/reports", headers, body)
end
