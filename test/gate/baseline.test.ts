import assert from "node:assert/strict";
import { test } from "node:test";
import { compareReports, parseBound, workloadDifferences } from "../../src/gate/baseline.js";
import type { RunReport, StrategyResult } from "../../src/report/result.js";
import { compareMetric } from "../../src/stats/noise.js";
import { fixtureReport } from "../report/fixture.js";

function withAtomic(over: Partial<StrategyResult>): RunReport {
  const report = fixtureReport();
  return { ...report, results: report.results.map((r) => (r.strategy === "atomic" ? { ...r, ...over } : r)) };
}

test("a big drop beyond the noise is regressed; a big gain is improved", () => {
  const base = fixtureReport();
  const slower = compareReports(base, withAtomic({ tps: 10000 }), 0.1).find((c) => c.strategy === "atomic")!;
  assert.equal(slower.tps.verdict, "regressed");
  assert.equal(slower.verdict, "regressed");
  const faster = compareReports(base, withAtomic({ tps: 40000 }), 0.1).find((c) => c.strategy === "atomic")!;
  assert.equal(faster.verdict, "improved");
});

test("a change beyond the bound but inside two standard errors is inconclusive; within the bound, unchanged", () => {
  const noisy = { tpsStderr: 3000, p99StderrMs: 1, basis: "runs" as const };
  const base = withAtomic({ noise: noisy });
  const c = compareReports(base, withAtomic({ tps: 17000, noise: noisy }), 0.1).find((x) => x.strategy === "atomic")!;
  assert.equal(c.tps.verdict, "inconclusive");
  const same = compareReports(fixtureReport(), withAtomic({ tps: 19500 }), 0.1).find((x) => x.strategy === "atomic")!;
  assert.equal(same.tps.verdict, "unchanged");
});

test("p99 of single runs is never judged regressed, only with the spread between runs", () => {
  const single = compareReports(fixtureReport(), withAtomic({ latencyMs: { mean: 1, stddev: 1, p50: 1, p90: 1, p99: 100, max: 100 } }), 0.1);
  assert.equal(single.find((c) => c.strategy === "atomic")!.p99!.verdict, "inconclusive");
  const runs = { tpsStderr: 10, p99StderrMs: 0.5, basis: "runs" as const };
  const multi = compareReports(
    withAtomic({ noise: runs }),
    withAtomic({ noise: runs, latencyMs: { mean: 1, stddev: 1, p50: 1, p90: 1, p99: 100, max: 100 } }),
    0.1,
  );
  assert.equal(multi.find((c) => c.strategy === "atomic")!.p99!.verdict, "regressed");
});

test("different workloads are refused with what differs; strategy settings may differ", () => {
  const base = fixtureReport();
  const other = { ...base, config: { ...base.config, dbLatencyMs: 2, concurrency: 50, shards: 1 } };
  const diffs = workloadDifferences(base, other);
  assert.equal(diffs.length, 2);
  assert.match(diffs.join(";"), /dbLatencyMs: 1 in the baseline, 2 now/);
  assert.match(diffs.join(";"), /concurrency: 100 in the baseline, 50 now/);
  const fewer = { ...base, results: base.results.slice(0, 2) };
  assert.match(workloadDifferences(base, fewer)[0]!, /^strategies:/);
});

test("the propagated error and the bound parser", () => {
  const c = compareMetric(100, 5, 80, 4, 0.1, true);
  assert.ok(Math.abs(c.ratioError! - 0.8 * Math.sqrt(0.05 ** 2 + 0.05 ** 2)) < 1e-12);
  assert.equal(c.verdict, "regressed");
  assert.equal(parseBound("10%"), 0.1);
  assert.equal(parseBound("0.25"), 0.25);
  assert.equal(parseBound("ten"), undefined);
});
