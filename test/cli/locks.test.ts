import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { regbench } from "../helpers.js";
import { REDIS_URL, skipWithoutRedis } from "../redisEnv.js";

interface Res {
  strategy: string;
  succeeded: number;
  failed: number;
  errors: Record<string, number>;
  audit: { violations: number };
  strategyStats?: Record<string, unknown>;
}

describe("reentrancy: the nested acquisition of the registration path", { skip: skipWithoutRedis }, () => {
  test("--lock-nesting deadlocks the plain redis lock until its wait; redis-reentrant re-enters and stores every device", () => {
    const r = regbench([
      "run",
      "--strategy",
      "redis,redis-reentrant",
      "--redis",
      REDIS_URL,
      "--lock-nesting",
      "--lock-wait",
      "300ms",
      "-c",
      "4",
      "-n",
      "40",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [plain, reentrant] = JSON.parse(r.stdout).results as Res[];
    assert.equal(plain!.succeeded, 0, JSON.stringify(plain!.errors));
    assert.deepEqual(Object.keys(plain!.errors), ["lock-timeout"]);
    assert.equal(plain!.audit.violations, 0);
    assert.equal(reentrant!.succeeded, 40, JSON.stringify(reentrant!.errors));
    assert.equal(reentrant!.audit.violations, 0);
    assert.ok((reentrant!.strategyStats!.reentered as number) >= 40, JSON.stringify(reentrant!.strategyStats));
  });
});

describe("the seed's sharded read-write lock", () => {
  test("resend-heavy: re-sends are looked up under the read lock, the devices created once under the write lock", () => {
    const r = regbench(["run", "--scenario", "resend-heavy", "--strategy", "sharded,sharded-rw", "-n", "2000", "-c", "200", "--db-latency", "0", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const [sharded, rw] = JSON.parse(r.stdout).results as Res[];
    for (const res of [sharded!, rw!]) {
      assert.equal(res.succeeded, 2000, `${res.strategy}: ${JSON.stringify(res.errors)}`);
      assert.equal(res.audit.violations, 0, res.strategy);
    }
    const shards = rw!.strategyStats!.rwShards as { readAcquisitions: number; writeAcquisitions: number }[];
    const reads = shards.reduce((s, x) => s + x.readAcquisitions, 0);
    const writes = shards.reduce((s, x) => s + x.writeAcquisitions, 0);
    // 80% re-sends: every request reads first; only devices not yet stored (about a fifth) take the write lock.
    assert.equal(reads, 2000);
    assert.ok(writes > 0 && writes < 1000, `writes ${writes}`);
  });

  test("retry-storm: sharded-rw stays correct where the per-system sharded lock shares a project's pool across shards", () => {
    const r = regbench(["run", "--scenario", "retry-storm", "--strategy", "sharded-rw", "-n", "2000", "-c", "300", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const [rw] = JSON.parse(r.stdout).results as Res[];
    assert.equal(rw!.succeeded, 2000);
    assert.equal(rw!.audit.violations, 0);
  });
});
