import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { Batcher } from "../../src/sync/batcher.js";
import { SingleFlight } from "../../src/sync/singleflight.js";

test("concurrent calls with one key share one execution; one leader", async () => {
  const group = new SingleFlight<number>();
  let runs = 0;
  const results = await Promise.all(
    Array.from({ length: 10 }, () =>
      group.do("k", async () => {
        runs++;
        await sleep(5);
        return 7;
      }),
    ),
  );
  assert.equal(runs, 1);
  assert.deepEqual(new Set(results.map((r) => r.value)), new Set([7]));
  assert.equal(results.filter((r) => r.leader).length, 1);
  assert.ok(results.every((r) => r.shared));
});

test("a lone call is not shared; a settled flight frees the key", async () => {
  const group = new SingleFlight<number>();
  let runs = 0;
  const a = await group.do("k", async () => ++runs);
  const b = await group.do("k", async () => ++runs);
  assert.deepEqual([a.value, a.shared, a.leader, b.value], [1, false, true, 2]);
  assert.equal(group.size, 0);
});

test("an error reaches every waiter", async () => {
  const group = new SingleFlight<number>();
  const calls = Array.from({ length: 5 }, () =>
    group.do("k", async () => {
      await sleep(2);
      throw new Error("boom");
    }),
  );
  const outcomes = await Promise.allSettled(calls);
  assert.ok(outcomes.every((o) => o.status === "rejected" && /boom/.test(String(o.reason))));
});

test("forget starts a new flight even while one runs; different keys never share", async () => {
  const group = new SingleFlight<string>();
  let runs = 0;
  const first = group.do("k", async () => (await sleep(10), `r${++runs}`));
  group.forget("k");
  const second = group.do("k", async () => `r${++runs}`);
  const other = group.do("j", async () => `r${++runs}`);
  const values = (await Promise.all([first, second, other])).map((r) => r.value);
  assert.equal(runs, 3);
  assert.equal(new Set(values).size, 3);
});

test("the batcher coalesces one turn's calls and keeps results in order", async () => {
  const seen: number[][] = [];
  const batcher = new Batcher<number, number>(async (items) => (seen.push(items), items.map((i) => i * 2)), 4);
  const out = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => batcher.submit(i)));
  assert.deepEqual(out, [2, 4, 6, 8, 10, 12]);
  assert.deepEqual(seen, [
    [1, 2, 3, 4],
    [5, 6],
  ]);
  const failing = new Batcher<number, number>(async () => {
    throw new Error("down");
  });
  const settled = await Promise.allSettled([failing.submit(1), failing.submit(2)]);
  assert.ok(settled.every((s) => s.status === "rejected"));
});
