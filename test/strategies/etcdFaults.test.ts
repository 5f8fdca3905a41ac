import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runStrategy } from "../../src/driver/inProcess.js";
import { parseFault, type Fault } from "../../src/faults/faults.js";
import { findStrategy } from "../../src/strategies/registry.js";
import type { RunConfig } from "../../src/config/run.js";
import { regbench, runConfig } from "../helpers.js";
import { throwawayEtcd } from "../etcdEnv.js";

const etcd = throwawayEtcd();

function config(faults: Fault[], lock: Partial<RunConfig["locks"]> = {}, requests = 300): RunConfig {
  const base = runConfig("etcd", { requests, concurrency: 150, systems: 4, seed: 5 }, { faults });
  return { ...base, lockServices: { ...base.lockServices, etcd: { urls: etcd.urls(), autoMembers: 1 } }, locks: { ...base.locks, ...lock } };
}

describe("faults against the etcd strategies", { skip: etcd.skip, timeout: 240_000 }, () => {
  test("a holder stalled past its lease without keep-alive: etcd duplicates, etcd-fenced refuses the stale writes", { timeout: 120_000 }, async () => {
    // etcd's shortest lease is about a second (its election timeout); stalls three times that let it expire. The lock
    // is one per project, and a batch runs its registrations in turn: the run lasts about requests × P × 3 s.
    const expired = { ttlMs: 1000, watchdog: false };
    const stall: Fault = { kind: "pause", probability: 0.01, ms: 3000 };
    const plain = await runStrategy(findStrategy("etcd")!, config([stall], expired, 300));
    assert.ok(plain.audit!.violations > 0, `etcd: ${JSON.stringify(plain.audit)}`);
    const fenced = await runStrategy(findStrategy("etcd-fenced")!, config([stall], expired, 300));
    assert.equal(fenced.audit!.violations, 0, JSON.stringify(fenced.audit));
    assert.ok((fenced.errors["stale-fence"] ?? 0) > 0, JSON.stringify(fenced.errors));
  });

  // It hung once in three runs before watches were bounded by the lock's wait: etcd3 creates a watch only once its
  // stream connects, and after the cut it never does.
  test("etcd-down part-way: registrations fail as lock-service-unavailable, the run completes, no violation", { timeout: 60_000 }, async () => {
    const r = await runStrategy(findStrategy("etcd")!, config([parseFault("etcd-down:300") as Fault], {}, 20_000));
    assert.equal(r.succeeded + r.failed, r.requests);
    assert.ok(r.succeeded > 0 && r.failed > 0, `${r.succeeded} ok, ${r.failed} failed`);
    assert.deepEqual(Object.keys(r.errors), ["lock-service-unavailable"]);
    assert.equal(r.audit!.violations, 0);
  });

  test("a run through the CLI: etcd and etcd-fenced on 100 systems, every registration stored once", () => {
    const r = regbench(["run", "--strategy", "etcd,etcd-fenced", "--etcd", etcd.urls().join(","), "--systems", "100", "-c", "200", "-n", "1000", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    for (const res of doc.results) {
      assert.equal(res.succeeded, 1000, `${res.strategy}: ${JSON.stringify(res.errors)}`);
      assert.equal(res.audit.violations, 0, res.strategy);
    }
    assert.equal(doc.config.etcd, etcd.urls().join(","));
  });
});

test("--etcd auto starts a throwaway etcd and removes it", { skip: etcd.skip }, () => {
  const r = regbench(["run", "--strategy", "etcd-fenced", "--etcd", "auto", "-n", "200", "-c", "50", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.results[0].succeeded, 200);
  assert.equal(doc.results[0].audit.violations, 0);
});

test("an unreachable etcd exits 3 within a few seconds, saying how to start one", () => {
  // The spawn's timeout guards against a hang; how fast it fails is a benchmark's matter, not a test's.
  const r = regbench(["run", "--strategy", "etcd", "-n", "10", "--etcd", "http://127.0.0.1:1"], { timeoutMs: 20_000 });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /etcd at http:\/\/127\.0\.0\.1:1/);
  assert.match(r.stderr, /etcd-server/);
  assert.match(r.stderr, /--etcd auto/);
});
