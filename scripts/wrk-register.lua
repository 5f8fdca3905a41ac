-- wrk script: one distinct registration body per request, for comparing wrk's figures with regbench's
-- against the same `regbench serve`. Environment: RB_PROJECT, RB_KEY (from the secrets file regbench serve writes),
-- RB_PREFIX.
local counter = 0
local prefix = os.getenv("RB_PREFIX") or "wrk"
local project = os.getenv("RB_PROJECT")
local key = os.getenv("RB_KEY")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  counter = counter + 1
  local body = string.format(
    '{"projectId":"%s","key":"%s","systemUuid":"%s-s0","systemName":"edge-system-0","machineId":"%s-m%d",' ..
    '"peerId":"peer-%d","hostname":"edge-0-%d","arch":"x86_64","distro":"debian 12","kernelVersion":"6.1.0-28-amd64"}',
    project, key, prefix, prefix, counter, counter, counter)
  return wrk.format(nil, nil, nil, body)
end

done = function(summary, latency, requests)
  io.write(string.format("wrk: %d requests in %.2f s = %.0f req/s, non-2xx %d, p50 %.3f ms, p99 %.3f ms\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
