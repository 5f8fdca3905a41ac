import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import type { RegisterResponse } from "../../src/core/types.js";
import { runStrategy } from "../../src/driver/inProcess.js";
import { openLoop, type Register } from "../../src/driver/loops.js";
import { findStrategy } from "../../src/strategies/registry.js";
import { Workload } from "../../src/workload/generator.js";
import { runConfig } from "../helpers.js";
import { fixtureReport } from "../report/fixture.js";
import { BOTH_LATENCIES_LEGEND, renderNotes, renderTable } from "../../src/report/table.js";
import { fmtMs } from "../../src/report/format.js";
import { EXPORTERS } from "../../src/report/exporters/registry.js";

const fakeResponse: RegisterResponse = { machineId: "m", ipv4: "10.0.0.2", config: "" };

test("the open loop keeps its rate while the system keeps up", async () => {
  const workload = new Workload(runConfig("none", { requests: 300 }).workload);
  const register: Register = async () => fakeResponse;
  const latencies: number[] = [];
  const pacing = await openLoop(
    register,
    (i) => workload.request(i),
    { from: 0, to: 300 },
    1000,
    100,
    (_i, _r, ms) => void latencies.push(ms),
  );
  assert.equal(latencies.length, 300);
  assert.ok(pacing.achievedRate > 800 && pacing.achievedRate < 1200, `achieved ${pacing.achievedRate}`);
});

test("a stall is charged to every request that was due during it (coordinated omission corrected)", async () => {
  const workload = new Workload(runConfig("none", { requests: 200 }).workload);
  let stalled = false;
  // The first request stalls the whole system for 200 ms; the rest are quick.
  let gate: Promise<void> = Promise.resolve();
  const register: Register = async () => {
    if (!stalled) {
      stalled = true;
      gate = sleep(200);
    }
    await gate;
    return fakeResponse;
  };
  const latencies: number[] = [];
  const pacing = await openLoop(
    register,
    (i) => workload.request(i),
    { from: 0, to: 200 },
    1000,
    1,
    (_i, _r, ms) => void latencies.push(ms),
  );
  latencies.sort((a, b) => a - b);
  // At 1,000/s about 200 requests were due during the stall; with one in flight they queued and were sent late,
  // and their latency counts from when they were due, so the median is far above the service time.
  assert.ok(pacing.late > 100, `late ${pacing.late}`);
  assert.ok(latencies[100]! > 50, `median ${latencies[100]} ms`);
});

test("--rate through the runner reports the achieved rate beside the target", async () => {
  const r = await runStrategy(findStrategy("atomic")!, runConfig("atomic", { requests: 400, rate: 2000, concurrency: 50 }));
  assert.equal(r.succeeded, 400);
  assert.equal(r.pacing?.targetRate, 2000);
  assert.ok(r.pacing!.achievedRate > 1500 && r.pacing!.achievedRate < 2500, `achieved ${r.pacing!.achievedRate}`);
  assert.ok(r.durationMs > 150, "400 requests at 2,000/s take about 200 ms");
});

test("--rate reports both latencies: from the due time (latencyMs) and from the send (serviceLatencyMs), side by side in the table, JSON and HTML", async () => {
  const r = await runStrategy(findStrategy("atomic")!, runConfig("atomic", { requests: 400, rate: 2000, concurrency: 50 }));
  assert.ok(r.latencyMs && r.serviceLatencyMs, "both latencies");
  // Measured per request from the earlier of its due time and its send: never below its service time.
  for (const k of ["p50", "p99", "max"] as const) assert.ok(r.latencyMs[k] >= r.serviceLatencyMs[k], `${k}: ${r.latencyMs[k]} vs ${r.serviceLatencyMs[k]}`);
  assert.ok(JSON.parse(JSON.stringify(r)).serviceLatencyMs.p99 === r.serviceLatencyMs.p99);
  const report = { ...fixtureReport(), results: [r] };
  const table = renderTable(report, { color: false });
  assert.ok(table.includes(`${fmtMs(r.latencyMs.p99)} / ${fmtMs(r.serviceLatencyMs.p99)}`), table);
  assert.ok(renderNotes(report, { color: false }).includes(BOTH_LATENCIES_LEGEND));
  const html = EXPORTERS.html!.render(report);
  assert.ok(html.includes(`<td>${fmtMs(r.latencyMs.p99)} / ${fmtMs(r.serviceLatencyMs.p99)}</td>`));
  assert.ok(html.includes("coordinated omission corrected"));
  // A closed loop's report shows one latency, without the legend.
  const closed = { ...fixtureReport() };
  assert.ok(!renderNotes(closed, { color: false }).includes(BOTH_LATENCIES_LEGEND));
  assert.ok(!renderTable(closed, { color: false }).includes(" / "));
});
