import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeEach, describe, test } from "node:test";
import { LockTimeoutError } from "../../src/core/errors.js";
import { LockLostError } from "../../src/locks/errors.js";
import { etcdLock } from "../../src/locks/etcdLock.js";
import { exclusive } from "../../src/locks/exclusive.js";
import { distributedKeyedLock, globalLock, shardedLock, shardedRwLock, type KeyedLock } from "../../src/locks/keyedLock.js";
import type { DistributedLock, Lease } from "../../src/locks/lease.js";
import { redisDistributedLock } from "../../src/locks/redisDistributedLock.js";
import { DEFAULT_REDIS_LOCK_SETTINGS } from "../../src/locks/redisLock.js";
import { DEFAULT_REDIS_CLIENT_SETTINGS } from "../../src/redis/client.js";
import { Mutex } from "../../src/sync/mutex.js";
import { ShardedMutex } from "../../src/sync/shardedMutex.js";
import { ShardedRwMutex } from "../../src/sync/shardedRwMutex.js";
import { throwawayEtcd } from "../etcdEnv.js";
import { REDIS_URL, skipWithoutRedis, testPrefix, threeNodes } from "../redisEnv.js";

/** How a lock under test is made: how long it waits, how long it lives, whether it is kept alive. */
interface Timing {
  readonly waitMs: number;
  readonly ttlMs: number;
  readonly watchdog: boolean;
}

const redisPrefix = testPrefix();
const quorum = threeNodes();
const etcdServer = throwawayEtcd();

/**
 * A world one test's locks share: the same in-process mutex, or the same key prefix on the same service. Each
 * `make` is one client of it (with its own wait and TTL), as several processes would be: the lock as a strategy
 * holds it, cut off and closed through the lock itself.
 */
type World = (t: Timing) => KeyedLock;

function distributed(make: (t: Timing, prefix: string) => DistributedLock): () => World {
  return () => {
    const prefix = `${redisPrefix}${randomBytes(3).toString("hex")}:`;
    return (t) => distributedKeyedLock(make(t, prefix));
  };
}

const redisSettings = (t: Timing, reentrant = false) => ({ ...DEFAULT_REDIS_LOCK_SETTINGS, waitMs: t.waitMs, ttlMs: t.ttlMs, watchdog: t.watchdog, reentrant });

/** Every lock regbench has, and what skips it when its backend is missing. */
const LOCKS: { name: string; skip: string | false; world: () => World; distinctKeys: [string, string] }[] = [
  {
    name: "global (in-process mutex)",
    skip: false,
    world: () => {
      const m = new Mutex("global");
      return (t) => globalLock(m, t.waitMs);
    },
    distinctKeys: ["a", "b"],
  },
  {
    name: "sharded",
    skip: false,
    world: () => {
      const m = new ShardedMutex(16);
      return (t) => shardedLock(m, t.waitMs);
    },
    distinctKeys: distinctShards(new ShardedMutex(16)),
  },
  {
    name: "sharded read-write",
    skip: false,
    world: () => {
      const m = new ShardedRwMutex(16);
      return (t) => shardedRwLock(m, t.waitMs);
    },
    distinctKeys: distinctShards(new ShardedMutex(16)),
  },
  {
    name: "redis",
    skip: skipWithoutRedis,
    world: distributed((t, p) => redisDistributedLock([REDIS_URL], p, redisSettings(t), DEFAULT_REDIS_CLIENT_SETTINGS, Math.random)),
    distinctKeys: ["a", "b"],
  },
  {
    name: "redis reentrant",
    skip: skipWithoutRedis,
    world: distributed((t, p) => redisDistributedLock([REDIS_URL], p, redisSettings(t, true), DEFAULT_REDIS_CLIENT_SETTINGS, Math.random)),
    distinctKeys: ["a", "b"],
  },
  {
    name: "redis quorum (three nodes)",
    skip: quorum.skip,
    world: distributed((t, p) => redisDistributedLock(quorum.urls(), p, redisSettings(t), DEFAULT_REDIS_CLIENT_SETTINGS, Math.random)),
    distinctKeys: ["a", "b"],
  },
  {
    name: "etcd",
    skip: etcdServer.skip,
    world: distributed((t, p) => etcdLock(etcdServer.urls(), p.replace(/:/g, "/"), { ttlMs: t.ttlMs, waitMs: t.waitMs, watchdog: t.watchdog, fencing: true })),
    distinctKeys: ["a", "b"],
  },
];

/** Two keys the sharded mutexes put on different shards. */
function distinctShards(m: ShardedMutex): [string, string] {
  for (let i = 1; ; i++) if (m.shardOf(`k${i}`) !== m.shardOf("k0")) return ["k0", `k${i}`];
}

const patient: Timing = { waitMs: 10_000, ttlMs: 10_000, watchdog: true };
const impatient: Timing = { waitMs: 200, ttlMs: 10_000, watchdog: true };

async function using<T>(lock: KeyedLock, fn: (lock: KeyedLock) => Promise<T>): Promise<T> {
  try {
    return await fn(lock);
  } finally {
    await lock.close();
  }
}

/** Every count named `field` in a lock's stats, however they nest (one mutex, per-shard rows, a distributed lock's counters). */
function counted(stats: unknown, field: string): number {
  if (Array.isArray(stats)) return stats.reduce((sum: number, s) => sum + counted(s, field), 0);
  if (typeof stats !== "object" || stats === null) return 0;
  return Object.entries(stats).reduce((sum, [k, v]) => sum + (k === field && typeof v === "number" ? v : counted(v, field)), 0);
}

// Node warns (on stderr, in a user's run) when an event target takes more than 10 listeners: a lock whose waiters each
// listen on one signal must lift the limit. Twelve sections on one key below make twelve waiters.
const listenerWarnings: string[] = [];
process.on("warning", (warning) => {
  if (warning.name === "MaxListenersExceededWarning") listenerWarnings.push(warning.message);
});

// The locks side by side (each world its own mutex or key prefix); the tests of one lock in turn, as they share its world.
describe("the lock contract, every lock", { concurrency: true }, () => {
  for (const { name, skip, world, distinctKeys } of LOCKS) {
    describe(`lock contract: ${name}`, { skip, concurrency: 1 }, () => {
      let make: World = () => {
        throw new Error("no world");
      };
      beforeEach(() => {
        make = world();
      });
      test("mutual exclusion: sections on one key never overlap", async () => {
        await using(make(patient), async (lock) => {
          let inside = 0;
          let most = 0;
          await Promise.all(
            Array.from({ length: 12 }, async () => {
              const lease = await lock.acquire("k");
              inside++;
              most = Math.max(most, inside);
              await sleep(2);
              inside--;
              await lease.release();
            }),
          );
          assert.equal(most, 1);
        });
      });

      test("an acquisition gives up with LockTimeoutError after its wait, and never enters afterwards", async () => {
        const holder = make(patient);
        const waiter = make(impatient);
        try {
          const held = await holder.acquire("k");
          const started = performance.now();
          const before = counted(waiter.stats(), "timeouts");
          await assert.rejects(waiter.acquire("k"), LockTimeoutError);
          assert.ok(performance.now() - started >= 150, `gave up after ${(performance.now() - started).toFixed(0)} ms`);
          assert.equal(counted(waiter.stats(), "timeouts"), before + 1, "the timeout is counted in the lock's stats");
          await held.release();
          // The lock is free: nobody who gave up holds it.
          await (await holder.acquire("k")).release();
        } finally {
          await holder.close();
          await waiter.close();
        }
      });

      for (const batch of [undefined, 4]) {
        test(`exclusive(lock${batch ? `, batches of ${batch}` : ""}): sections never overlap, hand back their result, and release the lock however they end`, async () => {
          await using(make(patient), async (lock) => {
            const sections = exclusive(lock, batch === undefined ? {} : { batch });
            let inside = 0;
            let most = 0;
            const outcomes = await Promise.allSettled(
              Array.from({ length: 8 }, (_, i) =>
                sections.run("k", async (lease) => {
                  assert.equal(lease.key, "k");
                  inside++;
                  most = Math.max(most, inside);
                  await sleep(2);
                  inside--;
                  if (i % 3 === 0) throw new Error(`section ${i} failed`);
                  return i;
                }),
              ),
            );
            assert.equal(most, 1);
            assert.deepEqual(
              outcomes.map((o) => (o.status === "fulfilled" ? o.value : (o.reason as Error).message)),
              ["section 0 failed", 1, 2, "section 3 failed", 4, 5, "section 6 failed", 7],
            );
            // Nothing is left holding the lock: another client takes it without waiting out its wait.
            const other = make(impatient);
            try {
              await (await other.acquire("k")).release();
            } finally {
              await other.close();
            }
            if (batch !== undefined) assert.ok((sections.stats().lockBatches as number) >= 1);
          });
        });
      }

      test("a release is its owner's only: releasing twice does not free the next holder's lock", async () => {
        const a = make(patient);
        const b = make(impatient);
        try {
          const first = await a.acquire("k");
          await first.release();
          const second = await a.acquire("k");
          await first.release();
          await assert.rejects(b.acquire("k"), LockTimeoutError, "the second holder still holds it");
          await second.release();
        } finally {
          await a.close();
          await b.close();
        }
      });

      test("different keys never wait for each other, unless the lock is one for all keys (global)", async () => {
        await using(make(impatient), async (lock) => {
          const one = await lock.acquire(distinctKeys[0]);
          if (lock.promises.keyed) {
            const two = await lock.acquire(distinctKeys[1]);
            await two.release();
          } else {
            await assert.rejects(lock.acquire(distinctKeys[1]), LockTimeoutError);
          }
          await one.release();
        });
      });

      test("reentrancy only where promised: a reentrant lock grants its holder the lock again, a plain one waits for itself", async () => {
        await using(make(impatient), async (lock) => {
          const outer = await lock.acquire("k");
          // As a strategy nests (the system row's creation inside the registration's section): through exclusive().
          let ranNested = false;
          const nested = exclusive(lock).nested(outer, async () => {
            ranNested = true;
          });
          if (lock.promises.reentrant) {
            await nested;
            assert.ok(ranNested);
            const other = make(impatient);
            await assert.rejects(other.acquire("k"), LockTimeoutError, "still held after the inner release");
            await outer.release();
            await other.close();
            return;
          } else {
            await assert.rejects(nested, LockTimeoutError);
            assert.equal(ranNested, false, "the nested section never ran without the lock");
          }
          await outer.release();
        });
      });

      test("readers share where promised; a writer waits for them", async () => {
        await using(make(impatient), async (lock) => {
          if (!lock.promises.shared) return;
          const r1 = await lock.acquire("k", "shared");
          const r2 = await lock.acquire("k", "shared");
          await assert.rejects(lock.acquire("k", "exclusive"), LockTimeoutError);
          await r1.release();
          await r2.release();
          await (await lock.acquire("k", "exclusive")).release();
        });
      });

      test(
        "a lock that expires: lost without its keep-alive (released late: LockLostError); kept with it; the signal fires once it cannot be kept",
        { timeout: 30_000 },
        async (t) => {
          const probe = make(impatient);
          const expires = probe.promises.expires;
          await probe.close();
          if (!expires) return t.skip("an in-process lock is never lost");
          // Without the keep-alive the lock is gone after its TTL: another holder gets it; the first one's release says so.
          const lapsing = make({ waitMs: 200, ttlMs: 1000, watchdog: false });
          const other = make({ waitMs: 3000, ttlMs: 10_000, watchdog: true });
          try {
            const stale = await lapsing.acquire("k");
            const next = await other.acquire("k");
            await assert.rejects(stale.release(), LockLostError);
            await next.release();
          } finally {
            await lapsing.close();
            await other.close();
          }
          // With it, the lock outlives its TTL.
          const kept = make({ waitMs: 200, ttlMs: 1000, watchdog: true });
          const rival = make(impatient);
          try {
            const lease = await kept.acquire("k2");
            await sleep(2500);
            await assert.rejects(rival.acquire("k2"), LockTimeoutError);
            assert.equal(lease.signal.aborted, false);
            // Cut off from its service, the holder learns it through the signal (a quorum survives one node: not cut here).
            if (name.includes("quorum")) return await lease.release();
            kept.cut!();
            const lost = await waitForAbort(lease, 5000);
            assert.ok(lost, "the lost-lock signal fired");
            assert.ok(lease.signal.reason instanceof LockLostError);
          } finally {
            await kept.close();
            await rival.close();
          }
        },
      );
    });
  }
});

async function waitForAbort(lease: Lease, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!lease.signal.aborted && performance.now() < deadline) await sleep(50);
  return lease.signal.aborted;
}

test("no lock makes Node warn of a listener leak, however many wait", () => {
  assert.deepEqual(listenerWarnings, []);
});
