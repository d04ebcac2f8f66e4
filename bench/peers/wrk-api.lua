-- bench/api.sh: POST a JSON body per request, rotating through a file of bodies (one per
-- line), and print machine-readable results at the end.
--   wrk ... -s wrk-api.lua URL -- BODIES [TOKENS [ANSWERS]]
-- TOKENS, when not empty, is a file of bearer tokens, one a line: request k carries
-- `Authorization: Bearer` the k-th (rotating), so each token stands for one client among
-- many (a server limiting each identity's rate sees each one's share). ANSWERS, when given, is a
-- path prefix: thread k writes the body of every 2xx answer to ANSWERS-k, each as its length
-- in bytes on a line, then the body, then a newline (bench/peers/api_stored.py reads them to
-- check that each certificate answered was stored). Each thread starts at its own
-- offset in the file. response() counts every status code, so answers that are not 2xx are
-- reported as errors and never as throughput (wrk's own "Non-2xx or 3xx" count leaves 3xx out).
-- done() prints one line: `api_result {json}` (latencies in ms).
local threads = {}
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("id", nthreads)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  if path == nil then error("usage: wrk ... -s wrk-api.lua URL -- BODIES [TOKENS [ANSWERS]]") end
  bodies = {}
  for line in io.lines(path) do
    if line ~= "" then bodies[#bodies + 1] = line end
  end
  if #bodies == 0 then error("no bodies in " .. path) end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  tokens = {}
  if args[2] ~= nil and args[2] ~= "" then
    for line in io.lines(args[2]) do
      if line ~= "" then tokens[#tokens + 1] = "Bearer " .. line end
    end
    if #tokens == 0 then error("no tokens in " .. args[2]) end
  end
  next_token = id - 1
  -- thread k starts (k-1) half-files in: with -t2 the two threads start half a file apart
  next_body = (id - 1) * math.floor(#bodies / 2) % #bodies
  statuses = {}
  if args[3] ~= nil and args[3] ~= "" then
    answers = assert(io.open(args[3] .. "-" .. id, "w"))
  end
end

function request()
  next_body = next_body % #bodies + 1
  if #tokens > 0 then
    next_token = next_token % #tokens + 1
    wrk.headers["Authorization"] = tokens[next_token]
  end
  return wrk.format(nil, nil, nil, bodies[next_body])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if answers ~= nil and status >= 200 and status <= 299 then
    answers:write(#body, "\n", body, "\n")  -- flushed at exit by the C library
  end
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local ok, other, parts = 0, 0, {}
  for status, n in pairs(counts) do
    if status >= 200 and status <= 299 then ok = ok + n else other = other + n end
    parts[#parts + 1] = string.format('"%d":%d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'api_result {"requests":%d,"duration_s":%.6f,"ok_2xx":%d,"non_2xx":%d,"statuses":{%s},'
      .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},'
      .. '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6, ok, other, table.concat(parts, ","),
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, latency.mean / 1e3))
end
