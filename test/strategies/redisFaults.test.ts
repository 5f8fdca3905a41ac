import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { newRunPrefix, runStrategy } from "../../src/driver/inProcess.js";
import { parseFault, type Fault } from "../../src/faults/faults.js";
import { createRedisClient } from "../../src/redis/client.js";
import { findStrategy } from "../../src/strategies/registry.js";
import type { RunConfig } from "../../src/config/run.js";
import { regbench, runConfig } from "../helpers.js";
import { REDIS_URL, skipWithoutRedis } from "../redisEnv.js";

function config(faults: Fault[], lock: Partial<RunConfig["locks"]> = {}, requests = 300): RunConfig {
  const base = runConfig("redis", { requests, concurrency: 150, systems: 4, seed: 5 }, { faults });
  return { ...base, lockServices: { ...base.lockServices, redis: { urls: [REDIS_URL], autoMembers: 1 } }, locks: { ...base.locks, ...lock } };
}

const stall: Fault = { kind: "pause", probability: 0.1, ms: 250 };

describe("faults against the Redis strategies", { skip: skipWithoutRedis }, () => {
  test("a holder stalled past its TTL without a watchdog: redis duplicates, redis-fenced refuses the stale writes", async () => {
    const expired = { ttlMs: 60, watchdog: false };
    const plain = await runStrategy(findStrategy("redis")!, config([stall], expired));
    assert.ok(plain.audit!.duplicateIps > 0, `redis: ${JSON.stringify(plain.audit)}`);
    const fenced = await runStrategy(findStrategy("redis-fenced")!, config([stall], expired));
    assert.equal(fenced.audit!.violations, 0, JSON.stringify(fenced.audit));
    assert.ok((fenced.errors["stale-fence"] ?? 0) > 0, JSON.stringify(fenced.errors));
  });

  test("with the watchdog on, the same stalls cause no violation", async () => {
    // Stalls three times the TTL; the TTL itself long enough that the watchdog's extensions (every third of it) still
    // come in time when the event loop lags on a busy machine (a 60 ms TTL lost 5 locks here while other work ran).
    const longStall: Fault = { kind: "pause", probability: 0.05, ms: 750 };
    const r = await runStrategy(findStrategy("redis")!, config([longStall], { ttlMs: 250, watchdog: true }, 120));
    assert.equal(r.audit!.violations, 0, JSON.stringify(r.audit));
    assert.equal(r.failed, 0, JSON.stringify(r.errors));
    assert.ok((r.strategyStats as { extensions: number }).extensions > 0);
  });

  test("redis-down part-way: registrations fail as lock-service-unavailable, the run completes, nothing is left half-written", async () => {
    const r = await runStrategy(findStrategy("redis")!, { ...config([parseFault("redis-down:300") as Fault], {}, 20_000) });
    assert.equal(r.succeeded + r.failed, r.requests);
    assert.ok(r.succeeded > 0 && r.failed > 0, `${r.succeeded} ok, ${r.failed} failed`);
    assert.deepEqual(Object.keys(r.errors), ["lock-service-unavailable"]);
    assert.equal(r.audit!.violations, 0);
  });

  test("a run cleans up its own Redis keys and nothing else", async () => {
    // Its own run prefix: other runs on this Redis (another test file, a user's run) may have keys of their own.
    const prefix = newRunPrefix();
    const bystander = `regbench:${newRunPrefix()}:bystander`;
    const client = createRedisClient(REDIS_URL);
    await client.set(bystander, "1", "PX", 60_000);
    await runStrategy(findStrategy("redis-fenced")!, config([], {}, 50), {}, { prefix });
    const left = await client.keys(`regbench:${prefix}:*`);
    assert.equal(await client.get(bystander), "1");
    await client.del(bystander);
    client.disconnect();
    assert.deepEqual(left, []);
  });
});

test("an unreachable Redis exits 3 within a few seconds, saying how to start one", () => {
  // The spawn's timeout guards against a hang; how fast it fails is a benchmark's matter, not a test's.
  const r = regbench(["run", "--strategy", "redis", "-n", "10", "--redis", "redis://127.0.0.1:1"], { timeoutMs: 20_000 });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  assert.match(r.stderr, /redis-server --port 1 --save "" --appendonly no/);
  assert.match(r.stderr, /--redis auto/);
});

test("--strategy all without a Redis skips the Redis strategies with a note", () => {
  const r = regbench(["run", "-n", "50", "-c", "5", "--redis", "redis://127.0.0.1:1", "--etcd", "http://127.0.0.1:1", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(
    doc.skipped.map((s: { strategy: string }) => s.strategy),
    ["redis", "redlock", "redis-fenced", "redis-db", "redis-reentrant", "etcd", "etcd-fenced"],
  );
  assert.ok(!doc.results.some((x: { strategy: string }) => x.strategy.startsWith("red") || x.strategy.startsWith("etcd")));
  assert.match(doc.notes[0], /skipped redis, redlock, redis-fenced, redis-db, redis-reentrant: cannot reach Redis/);
  assert.match(doc.notes[1], /skipped etcd, etcd-fenced: cannot reach etcd at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
});
