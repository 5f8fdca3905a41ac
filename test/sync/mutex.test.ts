import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { LockTimeoutError } from "../../src/core/errors.js";
import { Mutex } from "../../src/sync/mutex.js";
import { ShardedMutex } from "../../src/sync/shardedMutex.js";

/** The behaviour every mutex-like lock must have, keyed or not. */
function mutexSuite(name: string, make: () => { run: <T>(fn: () => Promise<T>, timeoutMs?: number) => Promise<T> }) {
  describe(`mutex contract: ${name}`, () => {
    test("never lets two holders in at once", async () => {
      const lock = make();
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          lock.run(async () => {
            inside++;
            most = Math.max(most, inside);
            await (i % 2 ? sleep(1) : Promise.resolve());
            inside--;
          }),
        ),
      );
      assert.equal(most, 1);
    });

    test("grants in arrival order", async () => {
      const lock = make();
      const order: number[] = [];
      await Promise.all(Array.from({ length: 20 }, (_, i) => lock.run(async () => void order.push(i))));
      assert.deepEqual(
        order,
        Array.from({ length: 20 }, (_, i) => i),
      );
    });

    test("a waiter that timed out never enters later, and the lock still works", async () => {
      const lock = make();
      const entered: string[] = [];
      const holder = lock.run(async () => {
        entered.push("holder");
        await sleep(60);
      });
      const late = lock.run(async () => void entered.push("late"), 10);
      await assert.rejects(late, (e) => e instanceof LockTimeoutError && e.waitedMs >= 9);
      await holder;
      await lock.run(async () => void entered.push("after"));
      assert.deepEqual(entered, ["holder", "after"]);
    });

    test("an error inside releases the lock", async () => {
      const lock = make();
      await assert.rejects(
        lock.run(async () => {
          throw new Error("boom");
        }),
        /boom/,
      );
      assert.equal(await lock.run(async () => 42, 50), 42);
    });
  });
}

mutexSuite("Mutex", () => {
  const m = new Mutex();
  return { run: (fn, t) => m.runExclusive(fn, t) };
});
mutexSuite("ShardedMutex, one key", () => {
  const m = new ShardedMutex(16);
  return { run: (fn, t) => m.runExclusive("system:a", fn, t) };
});

test("mutex stats count acquisitions, contention, timeouts and the longest queue", async () => {
  const m = new Mutex();
  const release = await m.acquire();
  const waiters = [m.acquire(), m.acquire(), m.acquire(5)];
  await assert.rejects(waiters[2]!, LockTimeoutError);
  release();
  (await waiters[0]!)();
  (await waiters[1]!)();
  assert.deepEqual(m.stats, { acquisitions: 3, contended: 3, timeouts: 1, longestQueue: 3 });
  assert.equal(m.isLocked, false);
});

test("a release function works once", async () => {
  const m = new Mutex();
  const release = await m.acquire();
  const next = m.acquire();
  release();
  release();
  const r2 = await next;
  assert.equal(m.isLocked, true);
  r2();
  assert.equal(m.isLocked, false);
});

test("keys on different shards do not wait for each other; the timeout error names the key", async () => {
  const m = new ShardedMutex(64);
  const a = "k0";
  let b = "k1";
  for (let i = 1; m.shardOf(a) === m.shardOf(b); i++) b = `k${i}`;
  // a is held until it is released by hand: b gets its own shard while a is still held.
  let releaseA!: () => void;
  const held = new Promise<void>((resolve) => (releaseA = resolve));
  const slow = m.runExclusive(a, () => held);
  let aDone = false;
  void slow.then(() => (aDone = true));
  let bRan = false;
  await m.runExclusive(b, async () => void (bRan = true), 20);
  assert.ok(bRan && !aDone, "b ran while a was held");
  await assert.rejects(
    m.runExclusive(a, async () => {}, 5),
    (e) => e instanceof LockTimeoutError && e.key === a,
  );
  releaseA();
  await slow;
  const stats = m.stats();
  assert.equal(stats.find((s) => s.shard === m.shardOf(a))?.timeouts, 1);
});

test("shard counts round up to a power of two", () => {
  assert.equal(new ShardedMutex(20).shardCount, 32);
  assert.equal(new ShardedMutex(1).shardCount, 1);
});
