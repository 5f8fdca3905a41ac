import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeHistogram } from "../../src/stats/histogram.js";
import { runStrategy } from "../../src/driver/inProcess.js";
import type { RunEvent } from "../../src/model/events.js";
import { runAll } from "../../src/driver/orchestrator.js";
import { findStrategy } from "../../src/strategies/registry.js";
import type { RunConfig } from "../../src/config/run.js";
import { Workload } from "../../src/workload/generator.js";
import { runConfig } from "../helpers.js";

const base: RunConfig = runConfig(
  "atomic",
  { requests: 300, concurrency: 30, warmup: 100, systems: 3, seed: 11 },
  { strategy: { lockKey: "system", lockTimeoutMs: 5000, shards: 16, retries: 30, lockNesting: false } },
);

test("warmup is excluded from the counts and the histogram, but audited", async () => {
  const events: RunEvent[] = [];
  const r = await runStrategy(findStrategy("atomic")!, base, { onEvent: (e) => events.push(e) });
  assert.equal(r.requests, 300);
  assert.equal(r.succeeded, 300);
  assert.equal(decodeHistogram(r.histogram).totalCount, 300);
  assert.deepEqual(
    events.filter((e) => e.type === "phase").map((e) => (e as { phase: string }).phase),
    ["setup", "warmup", "measure", "audit"],
  );
  const last = events.at(-2) as Extract<RunEvent, { type: "progress" }>;
  assert.equal(last.type, "progress");
  assert.equal(last.done, 300);
  assert.equal(last.total, 300);
  assert.equal(last.failed, 0);
  assert.ok(last.recent.tps > 0 && last.recent.p99Ms! > 0, JSON.stringify(last.recent));
  // The timeline: every success of the window in some second, none of the warmup's.
  assert.equal(
    r.timeline!.reduce((t, p) => t + p.completed, 0),
    300,
  );
  assert.ok(r.tps > 0 && r.durationMs > 0);
  assert.equal(r.audit!.violations, 0);
});

test("errors are counted by kind and unknown latency stays null", async () => {
  const r = await runStrategy(findStrategy("atomic")!, { ...base, workload: { ...base.workload, warmup: 0, requests: 20, cidr: "10.0.0.0/29" } });
  assert.equal(r.succeeded, 5);
  assert.equal(r.failed, 15);
  assert.deepEqual(r.errors, { "pool-exhausted": 15 });
  assert.equal(r.errorRate, 0.75);
  const none = await runStrategy(findStrategy("global")!, { ...base, workload: { ...base.workload, warmup: 5, requests: 3, cidr: "10.0.0.0/29" } });
  assert.equal(none.succeeded, 0);
  assert.equal(none.latencyMs, null);
  assert.equal(none.tps, 0);
});

test("each strategy runs in a process of its own and reports its own peak RSS", async () => {
  const { results } = await runAll({ ...base, strategies: ["none", "atomic"] });
  assert.deepEqual(
    results.map((r) => r.strategy),
    ["none", "atomic"],
  );
  for (const r of results) assert.ok(r.memory.peakRssMb! > 10);
});

test("the workload: fresh prefixes, a seed that fixes the shape, re-sends of earlier requests", () => {
  const cfg = { ...base.workload, warmup: 0, requests: 1000, resend: 0.2, systems: 7 };
  const a = new Workload(cfg);
  const b = new Workload(cfg);
  assert.notEqual(a.prefix, b.prefix);
  const strip = (w: Workload, i: number) => ({
    ...w.request(i),
    projectId: "",
    key: "",
    systemUuid: w.request(i).systemUuid.slice(w.prefix.length),
    machineId: w.request(i).machineId.slice(w.prefix.length),
  });
  for (let i = 0; i < 1000; i += 37) assert.deepEqual(strip(a, i), strip(b, i));
  assert.ok(a.resends > 120 && a.resends < 280, String(a.resends));
  const ids = new Set(Array.from({ length: 1000 }, (_, i) => a.request(i).machineId));
  assert.equal(ids.size, 1000 - a.resends);
  assert.equal(new Set(Array.from({ length: 1000 }, (_, i) => a.request(i).systemUuid)).size, 7);
});
