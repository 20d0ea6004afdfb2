-- wrk script for bench/write_throughput.py: POST an update per request, round-robin over
-- the stories and editor tokens given after `--` (stories first, then "--tokens", then
-- tokens), each request with a fresh Idempotency-Key (unless "--no-keys" is given; keys
-- embed the "nonce=..." argument, so that no two runs share one).
-- done() prints one line, "RESULT <json>", with the figures and latency quantiles (us).

local threads = {}
local counter = 0
local stories, tokens, keys, nonce = {}, {}, true, "0"
local body = '{"body": "A **bold** update from the benchmark, with a [link](https://example.org) and some words."}'

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local into = stories
  for _, value in ipairs(args) do
    if value == "--tokens" then
      into = tokens
    elseif value == "--no-keys" then
      keys = false
    elseif string.sub(value, 1, 6) == "nonce=" then
      nonce = string.sub(value, 7)
    else
      table.insert(into, value)
    end
  end
end

function request()
  counter = counter + 1
  local n = counter + tid * 7
  local headers = { ["Content-Type"] = "application/json" }
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]
  end
  if keys then
    headers["Idempotency-Key"] = "wrk-" .. nonce .. "-" .. tid .. "-" .. counter
  end
  local story = stories[(n % #stories) + 1]
  return wrk.format("POST", "/api/v1/stories/" .. story .. "/updates", headers, body)
end

function done(summary, latency, requests)
  local q = {}
  for i = 1, 1000 do
    q[i] = latency:percentile(i / 10)
  end
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "quantiles_us": [%s]}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout, table.concat(q, ",")))
end
