import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { LockBusyError, LockTimeoutError } from "../../src/core/errors.js";
import { LockLostError, LockServiceUnavailableError } from "../../src/locks/errors.js";
import { LockBatches } from "../../src/locks/lockBatches.js";
import { DEFAULT_REDIS_LOCK_SETTINGS, RedisLock, type RedisLockSettings } from "../../src/locks/redisLock.js";
import { clients, REDIS_URL, skipWithoutRedis, testPrefix, threeNodes } from "../redisEnv.js";

const prefix = testPrefix();
const settings = (over: Partial<RedisLockSettings> = {}): RedisLockSettings => ({ ...DEFAULT_REDIS_LOCK_SETTINGS, ...over });

describe("redis lock on one node", { skip: skipWithoutRedis }, () => {
  const [node] = clients([REDIS_URL]);

  test("excludes a second holder; fail-fast says busy, waiting times out", async () => {
    const lock = new RedisLock([node!], prefix, settings({ waitMs: 0 }));
    const lease = await lock.acquire("a");
    await assert.rejects(lock.acquire("a"), LockBusyError);
    const waiting = new RedisLock([node!], prefix, settings({ waitMs: 50 }));
    await assert.rejects(waiting.acquire("a"), LockTimeoutError);
    await lease.release();
    await (await lock.acquire("a")).release();
    assert.equal(lock.stats.busy, 1);
    assert.equal(waiting.stats.timeouts, 1);
  });

  test("another holder's token cannot release or extend the lock", async () => {
    const lock = new RedisLock([node!], prefix, settings({ waitMs: 0 }));
    const lease = await lock.acquire("b");
    const deleted = await node!.eval(
      `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`,
      1,
      `${prefix}lock:b`,
      "not-the-token",
    );
    assert.equal(deleted, 0);
    assert.equal(await node!.get(`${prefix}lock:b`), lease.token);
    await lease.release();
    assert.equal(await node!.get(`${prefix}lock:b`), null);
  });

  test("without the watchdog the lock expires, and its release reports it lost", async () => {
    const lock = new RedisLock([node!], prefix, settings({ ttlMs: 80, watchdog: false, waitMs: 0 }));
    const first = await lock.acquire("c");
    await sleep(150);
    const second = await lock.acquire("c");
    await assert.rejects(first.release(), (e) => e instanceof LockLostError && e.when === "release");
    assert.equal(await node!.get(`${prefix}lock:c`), second.token, "the first holder's release left the second's lock alone");
    await second.release();
    assert.equal(lock.stats.lost, 1);
  });

  test("the watchdog extends the lock past its TTL, and aborts the holder when the lock is taken away", async () => {
    const lock = new RedisLock([node!], prefix, settings({ ttlMs: 90, watchdog: true, waitMs: 0 }));
    const lease = await lock.acquire("d");
    await sleep(250);
    await assert.rejects(lock.acquire("d"), LockBusyError);
    assert.ok(lock.stats.extensions >= 3, `extensions ${lock.stats.extensions}`);
    assert.equal(lease.signal.aborted, false);
    await node!.set(`${prefix}lock:d`, "thief");
    await sleep(100);
    assert.equal(lease.signal.aborted, true);
    assert.ok(lease.signal.reason instanceof LockLostError);
    await assert.rejects(lease.release(), LockLostError);
  });

  test("fencing tokens come with the lock and only grow", async () => {
    const lock = new RedisLock([node!], prefix, settings({ fencing: true, waitMs: 0 }));
    const tokens: number[] = [];
    for (let i = 0; i < 3; i++) {
      const lease = await lock.acquire("e");
      tokens.push(lease.fence!);
      await lease.release();
    }
    assert.deepEqual(tokens, [tokens[0], tokens[0]! + 1, tokens[0]! + 2]);
    const held = await lock.acquire("e");
    await assert.rejects(lock.acquire("e"), LockBusyError);
    assert.equal(Number(await node!.get(`${prefix}fence:e`)), held.fence, "a failed acquisition takes no token");
    await held.release();
  });

  test("a batch runs its sections one after another under one acquisition", async () => {
    const lock = new RedisLock([node!], prefix, settings());
    const batches = new LockBatches((key) => lock.acquire(key), 8);
    let inside = 0;
    let most = 0;
    const tokens = new Set<string>();
    await Promise.all(
      Array.from({ length: 20 }, () =>
        batches.run("f", async (lease) => {
          tokens.add(lease.token);
          inside++;
          most = Math.max(most, inside);
          await sleep(1);
          inside--;
        }),
      ),
    );
    assert.equal(most, 1);
    assert.equal(batches.stats.largest, 8);
    assert.equal(tokens.size, batches.stats.batches);
  });
});

describe("quorum lock over three real redis-server processes", () => {
  const nodes = threeNodes();
  test("needs a quorum, survives one node down, fails clearly without a quorum, leaves no partial lock", { skip: skipWithoutRedis || nodes.skip }, async () => {
    const conns = clients(nodes.urls());
    const lock = new RedisLock(conns, prefix, settings({ waitMs: 0 }));
    assert.equal(lock.quorum, 2);
    const lease = await lock.acquire("q");
    assert.deepEqual(await Promise.all(conns.map((c) => c.get(`${prefix}lock:q`))), [lease.token, lease.token, lease.token]);
    await lease.release();

    // Another client holds the key on two nodes: no quorum, and our token is not left on the third.
    await conns[0]!.set(`${prefix}lock:r`, "other");
    await conns[1]!.set(`${prefix}lock:r`, "other");
    await assert.rejects(lock.acquire("r"), LockBusyError);
    assert.equal(await conns[2]!.get(`${prefix}lock:r`), null);

    await nodes.servers()[2]!.stop();
    const degraded = await lock.acquire("s");
    await degraded.release();

    await nodes.servers()[1]!.stop();
    await assert.rejects(lock.acquire("t"), (e) => e instanceof LockServiceUnavailableError && e.service === "redis" && e.kind === "lock-service-unavailable");
  });
});
