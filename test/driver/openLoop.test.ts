import assert from "node:assert/strict";
import { test } from "node:test";
import { VirtualClock } from "../../src/driver/clock.js";
import type { RegisterResponse } from "../../src/core/types.js";
import { runStrategy } from "../../src/driver/inProcess.js";
import { closedLoop, openLoop, type Outcome, type Register, type Send } from "../../src/driver/loops.js";
import { findStrategy } from "../../src/strategies/registry.js";
import { Workload } from "../../src/workload/generator.js";
import { runConfig } from "../helpers.js";
import { fixtureReport } from "../report/fixture.js";
import { BOTH_LATENCIES_LEGEND, renderNotes, renderTable } from "../../src/report/table.js";
import { fmtMs } from "../../src/report/format.js";
import { EXPORTERS } from "../../src/report/exporters/registry.js";

const fakeResponse: RegisterResponse = { machineId: "m", ipv4: "10.0.0.2", config: "" };

test("the open loop keeps its rate while the system keeps up (virtual time)", async () => {
  const workload = new Workload(runConfig("none", { requests: 300 }).workload);
  const clock = new VirtualClock(1000);
  // Every registration takes 5 ms: 1,000/s with up to 100 in flight keeps up.
  const register: Register = async () => (await clock.sleep(5), fakeResponse);
  const latencies: number[] = [];
  const sentAt: number[] = [];
  const pacing = await openLoop(
    register,
    (i) => workload.request(i),
    { from: 0, to: 300 },
    1000,
    100,
    (_i, _r, ms, _res, _err, _done, sent) => void (latencies.push(ms), sentAt.push(sent)),
    { clock },
  );
  assert.equal(latencies.length, 300);
  assert.equal(pacing.late, 0);
  // Request k is sent at start + k ms (timers wake on whole milliseconds, at most 1 ms early).
  sentAt.sort((a, b) => a - b);
  sentAt.forEach((t, k) => assert.ok(Math.abs(t - (1000 + k)) <= 1, `request ${k} sent at ${t}`));
  assert.ok(Math.abs(pacing.achievedRate - 1000) < 5, `achieved ${pacing.achievedRate}`);
  assert.ok(
    latencies.every((ms) => ms >= 5 && ms <= 6),
    `latencies ${Math.min(...latencies)}…${Math.max(...latencies)}`,
  );
});

test("a stall is charged to every request that was due during it (coordinated omission corrected, virtual time)", async () => {
  const workload = new Workload(runConfig("none", { requests: 200 }).workload);
  const clock = new VirtualClock();
  let stalled = false;
  // The first request stalls the whole system for 200 ms; the rest take 1 ms.
  let gate: Promise<void> = Promise.resolve();
  const register: Register = async () => {
    if (!stalled) {
      stalled = true;
      gate = clock.sleep(200);
    }
    await gate;
    await clock.sleep(1);
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
    { clock },
  );
  latencies.sort((a, b) => a - b);
  // At 1,000/s about 200 requests were due during the stall; with one in flight they queued and were sent late,
  // and their latency counts from when they were due, so the median is far above the 1 ms service time.
  assert.equal(latencies.length, 200);
  assert.ok(pacing.late > 100, `late ${pacing.late}`);
  assert.ok(latencies[100]! > 50, `median ${latencies[100]} ms`);
  assert.ok(latencies.at(-1)! >= 200, `the first request waited out the stall: ${latencies.at(-1)} ms`);
});

test("--duration and concurrency stages in virtual time: no request starts after the deadline, the ramp is followed", async () => {
  const workload = new Workload(runConfig("none", { requests: 1 }).workload);
  const clock = new VirtualClock();
  const sends: number[] = [];
  const register: Register = async () => (await clock.sleep(7), fakeResponse);
  const timed = await closedLoop(
    register,
    (i) => workload.request(i),
    { from: 0, to: Infinity },
    3,
    (_i, _r, _ms, _res, _err, _done, sent) => void sends.push(sent),
    { clock, durationMs: 2000 },
  );
  // Three senders, 7 ms each, for 2 s: each sends at 0, 7, …, 1995 (286 requests), none at or after 2,000.
  assert.equal(sends.length, 3 * 286);
  assert.ok(Math.max(...sends) < 2000);
  assert.equal(timed.lastDone, 1995 + 7);

  // 500 ms ramping to 20 senders, then 500 ms down to 0: the loop ends with the last stage, at 1 s.
  const ramp = new VirtualClock();
  const active: number[] = [];
  let inFlight = 0;
  const slow: Register = async () => {
    active.push(++inFlight);
    await ramp.sleep(20);
    inFlight--;
    return fakeResponse;
  };
  const staged = await closedLoop(
    slow,
    (i) => workload.request(i),
    { from: 0, to: Infinity },
    1,
    () => {},
    { clock: ramp },
    [
      { durationMs: 500, target: 20 },
      { durationMs: 500, target: 0 },
    ],
  );
  assert.ok(staged.lastDone <= 1000 + 20, `last done at ${staged.lastDone}`);
  assert.ok(Math.max(...active) <= 20 && Math.max(...active) >= 19, `most in flight ${Math.max(...active)}`);
});

test("a driver's send mark moves the send: latency from the request's write, not from the call (closed and open loop, virtual time)", async () => {
  const workload = new Workload(runConfig("none", { requests: 20 }).workload);
  // The driver holds each request 2 ms before writing it, and the answer takes 3 ms after the write.
  const held = (clock: VirtualClock, markOnly = Infinity): Register => {
    let calls = 0;
    return async (_request, mark) => {
      if (++calls > markOnly) return (await clock.sleep(5), fakeResponse);
      await clock.sleep(2);
      mark!.at = clock.now();
      await clock.sleep(3);
      return fakeResponse;
    };
  };
  const closed = new VirtualClock(100);
  const seen: { ms: number; sent: number; done: number }[] = [];
  await closedLoop(
    held(closed),
    (i) => workload.request(i),
    { from: 0, to: 20 },
    2,
    (_i, _r, ms, _res, _err, done, sent) => void seen.push({ ms, sent, done }),
    { clock: closed },
  );
  assert.equal(seen.length, 20);
  for (const o of seen) {
    assert.equal(o.ms, 3, "the closed loop's latency counts from the write");
    assert.equal(o.done - o.sent, 3, "and so does the send it reports");
  }

  // A driver that marks the first request only: the later ones are not taken from the first's mark, but from the call.
  const stale = new VirtualClock(100);
  const staleMs: number[] = [];
  await closedLoop(
    held(stale, 1),
    (i) => workload.request(i),
    { from: 0, to: 4 },
    1,
    (_i, _r, ms) => void staleMs.push(ms),
    { clock: stale },
  );
  assert.deepEqual(staleMs, [3, 5, 5, 5]);

  // The open loop: the service latency from the write (3 ms), the corrected one from the due time, which the
  // call met (5 ms).
  const open = new VirtualClock(100);
  const paced: { ms: number; service: number }[] = [];
  await openLoop(
    held(open),
    (i) => workload.request(i),
    { from: 0, to: 20 },
    100,
    10,
    (_i, _r, ms, _res, _err, done, sent) => void paced.push({ ms, service: done - sent }),
    { clock: open },
  );
  assert.equal(paced.length, 20);
  for (const o of paced) {
    assert.equal(o.service, 3);
    assert.equal(o.ms, 5);
  }
});

test("a driver in callback form: each request settled once, at once or later; a driver that throws gives an error outcome; an outcome that cannot be recorded fails the loop (closed and open loop)", async () => {
  const workload = new Workload(runConfig("none", { requests: 1 }).workload);
  const boom = new Error("the driver threw");
  // Every request but each 25,000th settles during its own call: the loop must take them up without recursing (on a
  // virtual clock, whose time stands still, no pause breaks the chain: 100,000 calls deep would overflow the stack).
  const send: Send = (request, _mark, settle) => {
    const i = Number(request.machineId.slice(request.machineId.lastIndexOf("m") + 1));
    if (i === 3) throw boom;
    if (i % 25_000 === 24_999) setImmediate(() => settle(fakeResponse, undefined));
    else settle(fakeResponse, undefined);
  };
  const outcomes = new Map<number, unknown>();
  const window = await closedLoop(
    { send },
    (i) => workload.request(i),
    { from: 0, to: 100_000 },
    1,
    (i, _r, _ms, res, err) => {
      assert.ok(!outcomes.has(i), `request ${i} settled once`);
      outcomes.set(i, res ? "ok" : err);
    },
    { clock: new VirtualClock() },
  );
  assert.equal(outcomes.size, 100_000);
  assert.equal(outcomes.get(3), boom);
  assert.equal([...outcomes.values()].filter((o) => o === "ok").length, 99_999);
  assert.equal(window.abandoned, 0);

  const broken = new Error("the recorder broke");
  const recordFails: Outcome = (i) => {
    if (i === 7) throw broken;
  };
  await assert.rejects(
    closedLoop({ send }, (i) => workload.request(i), { from: 0, to: 100 }, 2, recordFails),
    broken,
  );

  // The open loop, with a driver that settles 2 ms (virtual) after the call, and with the one that settles at once.
  const later =
    (clock: VirtualClock): Send =>
    (request, _mark, settle) =>
      void clock.sleep(2).then(() => (request.machineId.endsWith("-m3") ? settle(undefined, boom) : settle(fakeResponse, undefined)));
  const clock = new VirtualClock();
  const paced = new Map<number, unknown>();
  await openLoop(
    { send: later(clock) },
    (i) => workload.request(i),
    { from: 0, to: 200 },
    1000,
    10,
    (i, _r, _ms, res, err) => void paced.set(i, res ? "ok" : err),
    {
      clock,
    },
  );
  assert.equal(paced.size, 200);
  assert.equal(paced.get(3), boom);
  const other = new VirtualClock();
  await assert.rejects(
    openLoop({ send: later(other) }, (i) => workload.request(i), { from: 0, to: 200 }, 1000, 10, recordFails, { clock: other }),
    broken,
  );
  await assert.rejects(
    openLoop({ send }, (i) => workload.request(i), { from: 0, to: 100 }, 100_000, 10, recordFails),
    broken,
  );
});

test("--rate through the runner reports the achieved rate beside the target", async () => {
  const r = await runStrategy(findStrategy("atomic")!, runConfig("atomic", { requests: 400, rate: 2000, concurrency: 50 }));
  assert.equal(r.succeeded, 400);
  assert.equal(r.pacing?.targetRate, 2000);
  // Requests are never sent before they are due (at most a timer tick, 1 ms, early): the achieved rate cannot
  // exceed the target; how close it comes on a busy machine is a benchmark's matter.
  assert.ok(r.pacing!.achievedRate > 0 && r.pacing!.achievedRate <= 2000 * (199.5 / 198.5), `achieved ${r.pacing!.achievedRate}`);
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
