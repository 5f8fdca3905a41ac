import assert from "node:assert/strict";
import { test } from "node:test";
import { aggregateRuns, mergeAgents, mergeHistograms } from "../../src/report/aggregate.js";
import { decodeHistogram } from "../../src/stats/histogram.js";
import { fixtureReport, histogramOf } from "./fixture.js";

test("merging two real histograms equals the histogram of the union", () => {
  const a = [1.2, 3.4, 5.6, 100, 250.5];
  const b = [0.7, 3.4, 9.9, 1000];
  const merged = decodeHistogram(mergeHistograms([histogramOf(a).histogram, histogramOf(b).histogram]));
  const union = decodeHistogram(histogramOf([...a, ...b]).histogram);
  assert.equal(merged.totalCount, union.totalCount);
  for (const p of [0, 10, 50, 90, 99, 100]) assert.equal(merged.getValueAtPercentile(p), union.getValueAtPercentile(p), `p${p}`);
  assert.equal(merged.mean, union.mean);
});

test("agents' results merge: counts add, TPS over the combined window", () => {
  const [atomic] = fixtureReport().results;
  const a = { ...atomic!, succeeded: 1000, requests: 1000, startedAt: 1000, endedAt: 2000 };
  const b = { ...atomic!, succeeded: 500, requests: 600, failed: 100, startedAt: 1500, endedAt: 3000, errors: { conflict: 100 } };
  const m = mergeAgents([a, b]);
  assert.equal(m.succeeded, 1500);
  assert.equal(m.failed, 100);
  assert.equal(m.durationMs, 2000);
  assert.equal(m.tps, 750);
  assert.deepEqual(m.errors, { conflict: 100 });
  assert.equal(decodeHistogram(m.histogram).totalCount, 14);
});

test("repeated runs: mean TPS with its standard error, the runs' spread as the basis", () => {
  const [atomic] = fixtureReport().results;
  const runs = [2000, 2100, 1900].map((tps) => ({ ...atomic!, tps }));
  const r = aggregateRuns(runs);
  assert.equal(r.runs, 3);
  assert.equal(r.tps, 2000);
  assert.equal(r.noise?.basis, "runs");
  assert.ok(Math.abs(r.noise!.tpsStderr! - 100 / Math.sqrt(3)) < 1e-9);
  assert.equal(r.requests, 3000);
});
