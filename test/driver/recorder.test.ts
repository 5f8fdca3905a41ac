import { mulberry32 } from "../../src/workload/prng.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RegisterResponse } from "../../src/core/types.js";
import type { LoopWindow } from "../../src/driver/loops.js";
import { Recorder } from "../../src/driver/recorder.js";
import { request } from "../helpers.js";

const OK: RegisterResponse = { machineId: "", ipv4: "10.0.0.2", config: "" };

/** One request of a made-up run: when it was due, sent and completed (performance.now() ms), and whether it succeeded. */
interface Exchange {
  readonly index: number;
  readonly due: number;
  readonly sent: number;
  readonly done: number;
  readonly ok: boolean;
}

const rng = mulberry32;

/** `n` exchanges sent in index order from `t0`, each taking a random time (some far longer than the run's spacing). */
function exchanges(seed: number, n: number, t0: number): Exchange[] {
  const r = rng(seed);
  let at = t0;
  return Array.from({ length: n }, (_, index) => {
    const due = at;
    at += r() * 3;
    const sent = due + (r() < 0.2 ? r() * 20 : 0);
    const done = sent + (r() < 0.1 ? 50 + r() * 400 : r() * 10);
    return { index, due, sent, done, ok: r() < 0.9 };
  });
}

/** Records the exchanges in completion order, as a loop would; `begin` as the loops call it, or not at all. */
function recordAll(recorder: Recorder, xs: readonly Exchange[], begin: boolean, openLoop: boolean): LoopWindow {
  if (openLoop) recorder.measureService();
  const firstSent = Math.min(...xs.map((x) => x.sent));
  if (begin) recorder.begin(firstSent);
  for (const x of [...xs].sort((a, b) => a.done - b.done)) {
    const req = request(x.index);
    recorder.record(
      x.index,
      req,
      x.done - (openLoop ? x.due : x.sent),
      x.ok ? { ...OK, machineId: req.machineId } : undefined,
      { kind: "timeout" },
      x.done,
      x.sent,
    );
  }
  return { firstSent, lastDone: Math.max(...xs.map((x) => x.done)), abandoned: 0 };
}

/** The single-thread path: one recorder. */
function single(xs: readonly Exchange[], begin: boolean, openLoop: boolean) {
  const recorder = new Recorder(undefined);
  return recorder.figures(recordAll(recorder, xs, begin, openLoop));
}

/** The generator threads' path: the exchanges dealt to `threads` recorders at random, each sent as data and merged. */
function merged(xs: readonly Exchange[], begin: boolean, openLoop: boolean, threads: number, seed: number) {
  const r = rng(seed ^ 0x9e3779b9);
  const parts: Exchange[][] = Array.from({ length: threads }, () => []);
  for (const x of xs) parts[Math.floor(r() * threads)]!.push(x);
  const data = parts.map((part) => {
    const rec = new Recorder(undefined);
    if (part.length === 0) return rec.toData({ firstSent: NaN, lastDone: NaN, abandoned: 0 });
    return rec.toData(recordAll(rec, part, begin, openLoop));
  });
  const parent = new Recorder(undefined);
  return parent.figures(parent.mergeAll(data));
}

const paths = [
  { name: "one thread", figures: (xs: readonly Exchange[], begin: boolean, open: boolean, seed: number) => (void seed, single(xs, begin, open)) },
  { name: "merged threads", figures: (xs: readonly Exchange[], begin: boolean, open: boolean, seed: number) => merged(xs, begin, open, 3, seed) },
];

for (const path of paths) {
  test(`${path.name}: the answer that arrives first belongs to a request sent later than the first (the crash of issue 16)`, () => {
    // Request 0 is sent at 1000 and answered last, at 1500; request 1 is sent at 1100 and answered first.
    const xs: Exchange[] = [
      { index: 0, due: 1000, sent: 1000, done: 1500, ok: true },
      { index: 1, due: 1100, sent: 1100, done: 1110, ok: true },
      ...Array.from({ length: 200 }, (_, k) => ({ index: k + 2, due: 1110 + k, sent: 1110 + k, done: 1120 + k, ok: true })),
    ];
    for (const begin of [true, false]) {
      const f = path.figures(xs, begin, false, 1);
      assert.equal(f.succeeded, 202);
      assert.ok(Math.abs(f.durationMs - 500) < 1e-3, `${f.durationMs}`);
      assert.equal(
        f.timeline!.reduce((t, p) => t + p.completed, 0),
        202,
      );
      assert.ok(f.timeline!.every((p) => p.t >= 0));
    }
  });

  test(`${path.name}: over random send and completion orders, every outcome lands in the timeline once, none before its origin`, () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 800);
      const xs = exchanges(seed, n, 5000 + r() * 1000);
      const begin = seed % 3 !== 0;
      const open = seed % 2 === 0;
      const f = path.figures(xs, begin, open, seed);
      const ok = xs.filter((x) => x.ok).length;
      const label = `seed ${seed}, ${n} requests, begin ${begin}, open ${open}`;
      assert.equal(f.succeeded, ok, label);
      assert.equal(f.failed, n - ok, label);
      assert.equal(
        f.timeline!.reduce((t, p) => t + p.completed, 0),
        ok,
        label,
      );
      assert.equal(
        f.timeline!.reduce((t, p) => t + p.errors, 0),
        n - ok,
        label,
      );
      assert.ok(
        f.timeline!.every((p, i) => p.t >= 0 && (i === 0 || p.t > f.timeline![i - 1]!.t)),
        label,
      );
      const firstSent = Math.min(...xs.map((x) => x.sent));
      assert.ok(Math.abs(f.startedAt - (performance.timeOrigin + firstSent)) < 1e-3, label);
      // Both latencies in the open loop: from the due time is never shorter than from the send.
      if (open && ok > 0) {
        assert.ok(f.serviceLatencyMs, label);
        assert.ok(f.latencyMs!.max >= f.serviceLatencyMs.max, label);
        const serviceMax = Math.max(...xs.filter((x) => x.ok).map((x) => x.done - x.sent));
        assert.ok(Math.abs(f.serviceLatencyMs.max - serviceMax) <= serviceMax * 0.002 + 0.002, `${label}: ${f.serviceLatencyMs.max} vs ${serviceMax}`);
      } else {
        assert.equal(f.serviceLatencyMs, undefined, label);
      }
      assert.ok(f.noise !== undefined, label);
    }
  });
}

test("the merged threads' figures equal one thread's on the same exchanges", () => {
  for (let seed = 100; seed < 110; seed++) {
    const xs = exchanges(seed, 500, 2000);
    const one = single(xs, true, true);
    const many = merged(xs, true, true, 4, seed);
    // Within HDR's 3 significant digits (a histogram sent between threads is stored at its bucket's precision).
    for (const [a, b] of [
      [many.latencyMs!, one.latencyMs!],
      [many.serviceLatencyMs!, one.serviceLatencyMs!],
    ] as const) {
      for (const k of ["mean", "p50", "p90", "p99", "max"] as const)
        assert.ok(Math.abs(a[k] - b[k]) <= b[k] * 0.001 + 0.001, `seed ${seed} ${k}: ${a[k]} vs ${b[k]}`);
    }
    assert.ok(Math.abs(many.durationMs - one.durationMs) < 1e-3, `${many.durationMs} vs ${one.durationMs}`);
    // The same seconds, and the same outcomes in them (a thread's bucket lands where its midpoint falls: an outcome
    // within one 10 ms bucket of a second's edge may be counted in the neighbouring second).
    assert.equal(many.timeline!.length, one.timeline!.length);
    const total = (f: typeof one) => f.timeline!.reduce((t, p) => t + p.completed + p.errors, 0);
    assert.equal(total(many), total(one));
  }
});
