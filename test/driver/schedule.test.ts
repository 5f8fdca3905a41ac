import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import type { RegisterResponse } from "../../src/core/types.js";
import { VirtualClock } from "../../src/driver/clock.js";
import { closedLoop, DueTimes, openLoop, type Register } from "../../src/driver/loops.js";
import { sharePart } from "../../src/driver/measure.js";
import { SharedSchedule } from "../../src/driver/schedule.js";
import { request } from "../helpers.js";

const fake: RegisterResponse = { machineId: "m", ipv4: "10.0.0.2", config: "" };
const after =
  (ms: number): Register =>
  async () => (await sleep(ms), fake);

test("-c is split exactly over the threads: 5 over 3 is 2/2/1, and the parts add up", () => {
  assert.deepEqual(
    [0, 1, 2].map((index) => sharePart(5, { index, of: 3 })),
    [2, 2, 1],
  );
  for (let c = 1; c <= 40; c++) {
    for (let of = 1; of <= Math.min(c, 8); of++) {
      const parts = Array.from({ length: of }, (_, index) => sharePart(c, { index, of }));
      assert.equal(
        parts.reduce((t, p) => t + p, 0),
        c,
        `${c} over ${of}`,
      );
      assert.ok(Math.max(...parts) - Math.min(...parts) <= 1);
    }
  }
});

test("every thread's take() gets a different index, across real worker threads", async () => {
  const sab = SharedSchedule.buffer();
  const code = `const { workerData, parentPort } = require("node:worker_threads");
    const c = new Int32Array(workerData, 0, 1); const got = [];
    for (let i = 0; i < 5000; i++) got.push(Atomics.add(c, 0, 1));
    parentPort.postMessage(got);`;
  const lists = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise<number[]>((resolve, reject) => {
          const w = new Worker(code, { eval: true, workerData: sab });
          w.once("message", (m: number[]) => (resolve(m), void w.terminate()));
          w.once("error", reject);
        }),
    ),
  );
  const mine = new SharedSchedule(sab);
  const all = [...lists.flat(), mine.take()].sort((a, b) => a - b);
  assert.deepEqual(
    all,
    Array.from({ length: 15001 }, (_, i) => i),
  );
});

test("the closed loop over one shared schedule: a fast share takes the requests a slow one cannot, each sent once, the tail sent with the whole concurrency", async () => {
  const shared = new SharedSchedule(SharedSchedule.buffer());
  const seen: number[] = [];
  const byThread = [0, 0];
  // Virtual time: the shares' speeds are exact, whatever else runs on the machine.
  const clock = new VirtualClock();
  const takes =
    (ms: number): Register =>
    async () => (await clock.sleep(ms), fake);
  // Share 0: one sender, 40 ms a request. Share 1: four senders, 2 ms each. 200 requests.
  const windows = await Promise.all(
    [
      { c: 1, ms: 40 },
      { c: 4, ms: 2 },
    ].map(({ c, ms }, t) =>
      closedLoop(
        takes(ms),
        (i) => request(i),
        { from: 0, to: 200, shared },
        c,
        (i) => {
          seen.push(i);
          byThread[t]!++;
        },
        { clock },
      ),
    ),
  );
  const took = clock.now();
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    Array.from({ length: 200 }, (_, i) => i),
  );
  // Static halves would leave share 0 with 100 requests (4 s); from one schedule it sends only what it has time for.
  assert.ok(byThread[0]! < 50, `slow share sent ${byThread[0]}`);
  // Share 1 sends 2 a millisecond: about 100 ms for the lot, plus share 0's last 40 ms request (static: 4 s).
  assert.ok(took <= 160, `${took} ms of virtual time`);
  assert.ok(windows.every((w) => w.abandoned === 0));
});

test("the open loop over one shared schedule: two shares send every index once, on one clock, at the whole rate", async () => {
  const shared = new SharedSchedule(SharedSchedule.buffer());
  const seen: number[] = [];
  const lateBy: number[] = [];
  const paced = await Promise.all(
    [0, 1].map(() =>
      openLoop(
        after(1),
        (i) => request(i),
        { from: 0, to: 300, shared },
        1000,
        50,
        (i, _r, latencyMs, _resp, _err, doneAt, sentAt) => {
          seen.push(i);
          lateBy.push(latencyMs - (doneAt - sentAt));
        },
      ),
    ),
  );
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    Array.from({ length: 300 }, (_, i) => i),
  );
  // Together they sent 300 at ~1,000/s (one schedule), not 300 at 2,000/s (two schedules of the whole rate).
  const first = Math.min(...paced.map((p) => p.firstSent));
  const last = Math.max(...paced.map((p) => p.lastSent));
  const rate = (299 * 1000) / (last - first);
  assert.ok(rate > 700 && rate < 1300, `${rate.toFixed(0)}/s`);
  // The latency from the due time is never below the one from the send.
  assert.ok(lateBy.every((d) => d >= -0.001));
});

test("due times: k/rate from the start at a constant rate; with stages, the rate's integral, and none in a stage at rate 0", () => {
  const d = new DueTimes(1000, 200, undefined, Infinity);
  assert.equal(d.of(0), 1000);
  assert.equal(d.of(10), 1050);
  assert.equal(d.of(1_000_000), 1000 + 5_000_000);
  // 2 s at 0/s, a ramp to 100/s over 1 s, 1 s at 100/s: nothing is due before the ramp.
  const s = new DueTimes(
    0,
    0,
    [
      { durationMs: 1000, target: 0 },
      { durationMs: 1000, target: 0 },
      { durationMs: 1000, target: 100 },
      { durationMs: 1000, target: 100 },
    ],
    4000,
  );
  const first = s.of(0);
  assert.ok(first >= 2000 && first < 2100, `first ${first}`);
  let k = 0;
  while (s.of(k) < 4000) k++;
  // The ramp's first interval is taken at its low rate (one request's wait), then 100/s for the last second.
  assert.ok(k > 90 && k < 165, `${k} requests`);
  assert.throws(() => s.of(1), /in order/);
});
