-- wrk script: optional POST body (WRK_POST_BYTES), optional If-None-Match
-- (WRK_IF_NONE_MATCH: a browser's revalidation), and a machine-readable
-- summary line at the end (latencies in microseconds).
local post = os.getenv("WRK_POST_BYTES")
if post and tonumber(post) and tonumber(post) > 0 then
  wrk.method = "POST"
  wrk.body = string.rep("x", tonumber(post))
  wrk.headers["Content-Type"] = "application/octet-stream"
end
local etag = os.getenv("WRK_IF_NONE_MATCH")
if etag and etag ~= "" then
  wrk.headers["If-None-Match"] = etag
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "\nBENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"errors\":{\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d},\"latency_us\":{\"p50\":%d,\"p90\":%d,\"p99\":%d,\"max\":%d,\"mean\":%.1f}}\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
