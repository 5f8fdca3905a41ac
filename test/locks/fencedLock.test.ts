import assert from "node:assert/strict";
import { test } from "node:test";
import { LockTimeoutError } from "../../src/core/errors.js";
import { fencedLock, globalLock, type KeyedLock } from "../../src/locks/keyedLock.js";
import type { Lease } from "../../src/locks/lease.js";
import { Mutex } from "../../src/sync/mutex.js";

/** The in-process global lock, its leases carrying fencing tokens 1, 2, 3… as a fencing distributed lock's do. */
function fencing(): KeyedLock {
  const inner = globalLock(new Mutex("fenced"), 50);
  let next = 0;
  const withFence = (lease: Lease): Lease => ({ ...lease, fence: ++next });
  return { ...inner, acquire: async (key, mode) => withFence(await inner.acquire(key, mode)) };
}

test("fencedLock advances the fence to each acquisition's token before handing the lease over", async () => {
  const advanced: [string, number][] = [];
  const lock = fencedLock(fencing(), async (key, token) => void advanced.push([key, token]));
  await (await lock.acquire("k")).release();
  await (await lock.acquire("j")).release();
  assert.deepEqual(advanced, [
    ["k", 1],
    ["j", 2],
  ]);
});

test("fencedLock: when the fence cannot be advanced, the lock is released and the acquisition fails with that error", async () => {
  let fail = true;
  const lock = fencedLock(fencing(), async () => {
    if (fail) throw new Error("the store is down");
  });
  await assert.rejects(lock.acquire("k"), /the store is down/);
  fail = false;
  // Released: the next acquisition does not wait out its 50 ms and time out.
  const lease = await lock.acquire("k");
  await assert.rejects(lock.acquire("k"), LockTimeoutError);
  await lease.release();
});

test("fencedLock leaves a lock without fencing tokens alone", async () => {
  let calls = 0;
  const lock = fencedLock(globalLock(new Mutex(), 50), async () => void calls++);
  await (await lock.acquire("k")).release();
  assert.equal(calls, 0);
  assert.deepEqual(lock.stats(), { lock: { acquisitions: 1, contended: 0, timeouts: 0, longestQueue: 0 } });
});
