import type { RunReport, StrategyResult } from "../../src/report/result.js";
import { encodeHistogram, newLatencyHistogram, recordMs, summarise } from "../../src/stats/histogram.js";

/** A histogram of known values, and its summary. */
export function histogramOf(valuesMs: readonly number[]): { histogram: string; latencyMs: StrategyResult["latencyMs"] } {
  const h = newLatencyHistogram();
  for (const v of valuesMs) recordMs(h, v);
  return { histogram: encodeHistogram(h), latencyMs: summarise(h) };
}

function result(strategy: string, over: Partial<StrategyResult>, latencies: number[]): StrategyResult {
  const { histogram, latencyMs } = histogramOf(latencies);
  return {
    strategy,
    state: "completed",
    requests: 1000,
    succeeded: 1000,
    failed: 0,
    errorRate: 0,
    durationMs: 500,
    tps: 2000,
    latencyMs,
    errors: {},
    audit: { duplicateSystems: 0, duplicateMachines: 0, duplicateIps: 0, lostRegistrations: 0, violations: 0, unacknowledgedRows: 0 },
    memory: { peakRssMb: 120 },
    histogram,
    strategyStats: {},
    store: "sqlite (temporary file)",
    resends: 0,
    notes: [],
    startedAt: 1_700_000_000_000,
    endedAt: 1_700_000_000_500,
    runs: 1,
    noise: { tpsStderr: 40, p99StderrMs: 1.5, basis: "slices" },
    ...over,
  };
}

/** A fixed report: a correct fast strategy, a broken one, a slow correct one, and an unaudited target. */
export function fixtureReport(): RunReport {
  return {
    tool: "regbench",
    schemaVersion: 1,
    config: {
      mode: "in-process",
      scenario: "storm | remote",
      strategies: ["atomic", "none", "global", "target"],
      requests: 1000,
      concurrency: 100,
      warmup: 0,
      systems: 1,
      projects: 1,
      resend: 0,
      dbLatencyMs: 1,
      seed: 42,
      cidr: "10.0.0.0/12",
      lockKey: "per strategy",
      lockTimeoutMs: 30000,
      shards: 16,
      retries: 30,
      store: "sqlite (temporary file)",
      faults: [],
      runs: 1,
    },
    results: [
      result(
        "atomic",
        {
          tps: 20000,
          durationMs: 2500,
          timeline: [
            { t: 0, spanS: 1, completed: 19000, errors: 0, p50Ms: 2, p99Ms: 8 },
            { t: 1, spanS: 1, completed: 21000, errors: 0, p50Ms: 2, p99Ms: 13 },
            { t: 2, spanS: 0.5, completed: 10000, errors: 0, p50Ms: 3, p99Ms: 9 },
          ],
        },
        [1, 2, 2, 3, 5, 8, 13],
      ),
      result(
        "none",
        { tps: 25000, audit: { duplicateSystems: 999, duplicateMachines: 0, duplicateIps: 9990, lostRegistrations: 0, violations: 10989 } },
        [1, 1, 2],
      ),
      result("global", { tps: 175, failed: 20, errorRate: 0.02, errors: { "lock-timeout": 20 } }, [100, 200, 300, 400]),
      result("target", { tps: 5000, audit: null, memory: { peakRssMb: null }, notes: ["audit n/a: the target answered 404 on GET /v1/audit/rows"] }, [4, 5, 6]),
    ],
    skipped: [],
    failed: [{ strategy: "sharded", reason: "the measuring process exited on SIGKILL before reporting" }],
    notes: ["a note with a | pipe"],
    environment: { cpu: "Test CPU @ 1.00GHz", cores: 2, os: "linux test", node: "v20.0.0", regbench: "0.1.0", commit: "abcdef123456" },
  };
}
