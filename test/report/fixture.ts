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

/**
 * A results file carrying every field the schema declares (an agent's share of an open-loop HTTP run under a nemesis,
 * measured twice, gated, interrupted): no run writes them all at once, but each field here has the type regbench
 * writes it with (the compiler checks the typed ones), so the schema is tested against every field it names.
 */
export function everyFieldReport(): RunReport {
  const base = fixtureReport();
  const service = histogramOf([1, 2, 3, 4]);
  const atomic = base.results[0]!;
  return {
    ...base,
    config: {
      ...base.config,
      mode: "http",
      target: "http://127.0.0.1:8080",
      profile: "regbench",
      auditDb: "postgres://postgres:***@127.0.0.1:5432/test",
      instances: 2,
      workers: 3,
      serverWarmup: null,
      timeoutMs: 10000,
      requests: null,
      rate: 2000,
      durationMs: 30000,
      stages: [{ durationMs: 30000, target: 2000 }],
      stagesOf: "rate",
      warmupMs: 5000,
      redis: "redis://127.0.0.1:6379",
      etcd: "http://127.0.0.1:2379",
      lockTtlMs: 10000,
      lockWaitMs: 30000,
      watchdog: true,
      lockBatch: 1,
      lockNesting: false,
      pool: 10,
      isolation: "database default",
      keepStore: true,
      faults: ["pause:2:5"],
      nemeses: ["kill:instance@2s"],
      run: "ci-42",
      agent: "0/2",
      agents: 2,
      runTotal: { requests: 2000, concurrency: 20, rate: 4000, warmup: 0 },
      startAt: "2026-12-01T20:00:00.000Z",
      maxErrorRate: 0.01,
    },
    results: [
      {
        ...atomic,
        state: "interrupted",
        serviceLatencyMs: service.latencyMs,
        serviceHistogram: service.histogram,
        runs: 2,
        perRun: [
          { tps: 19000, p99: 12, durationMs: 2500 },
          { tps: 21000, p99: null, durationMs: 2500 },
        ],
        noise: { tpsStderr: 1000, p99StderrMs: null, basis: "runs" },
        run: "ci-42",
        agent: { run: "ci-42", index: 0, of: 2 },
        pacing: { targetRate: 2000, achievedRate: 1990.5, late: 12 },
        nemeses: [
          { spec: "kill:instance@2s", startMs: 2000, endMs: 2000, applied: true, detail: "killed instance #1 (pid 4242)" },
          { spec: "pause:instance#2:3s@60s", startMs: null, endMs: null, applied: false, detail: "the run ended first" },
        ],
        instanceDeaths: [{ instance: 1, pid: 4242, atMs: 2000, reason: "killed by SIGKILL", nemesis: "kill:instance@2s" }],
        verdict: "pass",
        relativeTps: 1,
        timeline: [{ t: 0, spanS: 1, completed: 0, errors: 3, p50Ms: null, p99Ms: null }],
        strategyStats: { conflicts: 3 },
      },
      ...base.results.slice(1),
    ],
    skipped: [{ strategy: "redis", reason: "Redis is not running" }],
    interrupted: { signal: "SIGINT" },
    thresholds: [{ expression: "p99<50ms", strategy: "atomic", passed: true, measured: 13, detail: "p99 13.0 ms" }],
  };
}
