import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeHistogram } from "../../src/stats/histogram.js";
import { regbench, regbenchAsync } from "../helpers.js";
import { cli } from "../inProcessCli.js";

interface Point {
  t: number;
  spanS: number;
  completed: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

test("--workers: generator threads share one schedule and their measurements merge exactly", () => {
  const r = regbench(["run", "--mode", "http", "--strategy", "atomic", "--workers", "2", "-c", "40", "-n", "3000", "--json", "--no-save"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  const res = doc.results[0];
  assert.equal(doc.config.workers, 2);
  assert.equal(res.succeeded, 3000);
  assert.equal(decodeHistogram(res.histogram).totalCount, 3000);
  assert.equal(
    (res.timeline as Point[]).reduce((t, p) => t + p.completed, 0),
    3000,
  );
  assert.equal(res.audit.violations, 0);
  assert.equal(res.audit.lostRegistrations, 0);
});

test("--duration bounds the window by time; the per-second timeline accounts for every outcome", async () => {
  const r = await regbenchAsync(["run", "--strategy", "atomic", "--duration", "2s", "-c", "50", "--json", "--no-save"]);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout).results[0];
  // How exactly the loop keeps the deadline is checked in virtual time (test/driver/openLoop.test.ts); here, the
  // flag's wiring: the window lasted the duration, at least.
  assert.ok(res.durationMs >= 1990, `window ${res.durationMs} ms`);
  assert.equal(res.requests, res.succeeded + res.failed);
  const points = res.timeline as Point[];
  assert.ok(points.length >= 2 && points.length <= 3, JSON.stringify(points.map((p) => p.t)));
  assert.equal(
    points.reduce((t, p) => t + p.completed + p.errors, 0),
    res.requests,
  );
  assert.ok(points[0]!.p99Ms! >= points[0]!.p50Ms!);
  assert.equal(res.audit.violations, 0);
  assert.equal(JSON.parse(r.stdout).config.requests, null);
});

test("a timed warmup runs before the window, is audited, and is not counted", () => {
  const r = regbench(["run", "--strategy", "atomic", "--warmup", "300ms", "-n", "500", "-c", "20", "--json", "--no-save"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  const res = doc.results[0];
  assert.equal(res.requests, 500);
  assert.equal(res.succeeded, 500);
  assert.equal(doc.config.warmupMs, 300);
  assert.equal(res.audit.violations, 0);
});

test("--stages ramps the concurrency, then the rate, and ends with the last stage", () => {
  const c = regbench(["run", "--strategy", "atomic", "--stages", "500ms:20,500ms:0", "--json", "--no-save"]);
  assert.equal(c.code, 0, c.stderr);
  const closed = JSON.parse(c.stdout).results[0];
  assert.ok(closed.succeeded > 0, `${closed.succeeded} succeeded`);
  const o = regbench(["run", "--strategy", "atomic", "--stages", "1s:400/s,1s:400/s", "-c", "50", "--json", "--no-save"]);
  assert.equal(o.code, 0, o.stderr);
  const open = JSON.parse(o.stdout).results[0];
  // Ramping from 0 to 400/s over a second, then 400/s for a second: about 200 + 400 requests.
  assert.ok(open.succeeded > 450 && open.succeeded < 750, `${open.succeeded}`);
  assert.equal(open.audit.violations, 0);
});

test("not on a terminal, a progress line every 5 s names the last second's TPS, errors and p99", async () => {
  const r = await regbenchAsync(["run", "--strategy", "atomic", "--duration", "6s", "-c", "20", "--no-save"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.includes("last 1 s:"));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^regbench: atomic \(1\/1\): [\d,]+ done · [\d.]+\/6 s · last 1 s: [\d,]+\/s, \d+ err, p99 [\d.]+ ms · failed 0$/);
});

test("bad load flags exit 2 before anything runs, naming the flag", async () => {
  const cases: [string[], RegExp][] = [
    [["--duration", "5s", "-n", "100"], /--duration cannot be combined with -n/],
    [["--duration", "soon"], /--duration must be a duration/],
    [["--stages", "30s"], /--stages has a stage that is not DURATION:TARGET/],
    [["--stages", "1s:10,1s:5/s"], /--stages mixes concurrencies and rates/],
    [["--stages", "1s:10", "--duration", "1s"], /--stages cannot be combined/],
    [["--workers", "2"], /--workers needs --mode http or --target/],
    [["--mode", "http", "--workers", "0"], /--workers/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(["run", "--strategy", "atomic", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
