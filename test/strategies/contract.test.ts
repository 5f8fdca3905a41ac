import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { newServerKey, open } from "../../src/core/crypto.js";
import { LockTimeoutError, MachineConflictError, PoolExhaustedError, UnknownProjectError, ValidationError, WrongKeyError } from "../../src/core/errors.js";
import { keyDigest } from "../../src/core/crypto.js";
import { defaultServiceSettings, RegistrationService } from "../../src/core/registration.js";
import { interfaceIpv4 as configIpv4 } from "../../src/audit/configAddress.js";
import { runStrategy } from "../../src/driver/inProcess.js";
import { withLatency } from "../../src/store/latency.js";
import { SqliteStore } from "../../src/store/sqlite.js";
import type { Store } from "../../src/store/store.js";
import { STRATEGIES } from "../../src/strategies/registry.js";
import { DEFAULT_STRATEGY_SETTINGS, lockServiceOf, type StrategyDefinition } from "../../src/strategies/strategy.js";
import { etcdService } from "../../src/locks/services/etcd.js";
import type { RunConfig, WorkloadConfig } from "../../src/config/run.js";
import { project, request, runConfig, tempDir } from "../helpers.js";
import { mysql, postgres } from "../dbEnv.js";
import { throwawayEtcd } from "../etcdEnv.js";
import { REDIS_URL, skipWithoutRedis, testPrefix, threeNodes } from "../redisEnv.js";

const prefix = testPrefix();
const nodes = threeNodes();
const urlsFor = (definition: StrategyDefinition) => (definition.name === "redlock" && !nodes.skip ? nodes.urls() : [REDIS_URL]);
const etcdServer = throwawayEtcd();
const skipFor = (definition: StrategyDefinition) =>
  lockServiceOf(definition) === "redis"
    ? skipWithoutRedis || (definition.name === "redlock" && nodes.skip)
    : lockServiceOf(definition) === "etcd"
      ? etcdServer.skip
      : false;

const dir = tempDir();
let files = 0;

async function setup(definition: StrategyDefinition, opts: { cidr?: string; latencyMs?: number; lockTimeoutMs?: number; lockBatch?: number } = {}) {
  // One number per setup, taken before any await: tests run side by side, and each needs keys of its own.
  const id = files++;
  const raw = new SqliteStore({ path: `${dir}/s${id}.db`, constraints: definition.constraints, busyTimeoutMs: 1000 });
  await raw.createProject(project("t-p0", opts.cidr ?? "10.1.0.0/24"));
  const store: Store = withLatency(raw, opts.latencyMs ?? 0);
  const key = newServerKey();
  const service = new RegistrationService(store, defaultServiceSettings(key));
  const strategy = definition.create(service, {
    ...DEFAULT_STRATEGY_SETTINGS,
    lockKey: definition.defaultLockKey,
    lockTimeoutMs: opts.lockTimeoutMs ?? 5000,
    locks: { ...DEFAULT_STRATEGY_SETTINGS.locks, waitMs: opts.lockTimeoutMs ?? 5000, batch: opts.lockBatch ?? DEFAULT_STRATEGY_SETTINGS.locks.batch },
    lockServices: {
      redis: { urls: urlsFor(definition), keyPrefix: `${prefix}${id}:` },
      etcd: {
        urls: lockServiceOf(definition) === "etcd" ? etcdServer.urls() : etcdService.defaultUrls,
        keyPrefix: `regbench-test/${process.pid}/${id}/`,
      },
    },
  });
  after(() => strategy.close());
  return { raw, strategy, key };
}

function config(strategy: string, workload: Partial<WorkloadConfig>, lockKey?: "system" | "project"): RunConfig {
  const definition = STRATEGIES.find((s) => s.name === strategy)!;
  const base = runConfig(strategy, { dbLatencyMs: 1, ...workload });
  return {
    ...base,
    strategy: { ...base.strategy, lockKey },
    lockServices: {
      ...base.lockServices,
      redis: { urls: urlsFor(definition), autoMembers: 1 },
      ...(lockServiceOf(definition) === "etcd" ? { etcd: { urls: etcdServer.urls(), autoMembers: 1 } } : {}),
    },
  };
}

/** Workloads in one process, and which guarantees must hold 0 violations on each. */
const WORKLOADS: { name: string; workload: Partial<WorkloadConfig>; safe: readonly string[] }[] = [
  { name: "one system", workload: { systems: 1 }, safe: ["per-key", "process", "global"] },
  { name: "ten systems sharing a pool", workload: { systems: 10, projects: 1 }, safe: ["process", "global"] },
  { name: "re-sends over five systems", workload: { systems: 5, resend: 0.3 }, safe: ["process", "global"] },
  { name: "two projects, four systems", workload: { systems: 4, projects: 2, requests: 300 }, safe: ["process", "global"] },
];

for (const definition of STRATEGIES) {
  // Each test has a store and a run prefix of its own: they run side by side, so that strategies which serialise every
  // registration spend their store's delays once for all four workloads, not four times.
  describe(`strategy contract: ${definition.name}`, { skip: skipFor(definition), concurrency: true }, () => {
    test("registers a device: the sealed config opens and names the IP in clear, and the row is stored", async () => {
      const { raw, strategy, key } = await setup(definition);
      const response = await strategy.register(request(1));
      assert.equal(response.machineId, "t-m1");
      assert.equal(response.ipv4, "10.1.0.2");
      assert.equal(configIpv4(open(response.config, key)!), "10.1.0.2");
      assert.deepEqual((await raw.auditRows("t")).machines, [{ machineId: "t-m1", projectId: "t-p0", ipv4: "10.1.0.2" }]);
      await raw.close();
    });

    test("a device that re-sends gets the same IP and no second row", async () => {
      const { raw, strategy } = await setup(definition);
      const first = await strategy.register(request(1));
      await strategy.register(request(2));
      const again = await strategy.register(request(1));
      assert.equal(again.ipv4, first.ipv4);
      assert.equal((await raw.auditRows("t")).machines.length, 2);
      await raw.close();
    });

    test("bad key, unknown project, malformed request and an exhausted pool are typed errors that write nothing", async () => {
      const { raw, strategy } = await setup(definition, { cidr: "10.1.0.0/29" });
      await assert.rejects(strategy.register(request(1, { key: "wrong" })), WrongKeyError);
      await assert.rejects(strategy.register(request(1, { projectId: "t-nope" })), UnknownProjectError);
      await assert.rejects(strategy.register({ ...request(1), machineId: 5 } as never), ValidationError);
      assert.equal((await raw.auditRows("t")).machines.length, 0);
      for (let i = 0; i < 5; i++) await strategy.register(request(i));
      await assert.rejects(strategy.register(request(9)), PoolExhaustedError);
      assert.equal((await raw.auditRows("t")).machines.length, 5);
      await raw.close();
    });

    test("a wrong key sent while a registration of the same system is in flight is refused and learns nothing", async () => {
      const { raw, strategy } = await setup(definition, { latencyMs: 20 });
      const victim = strategy.register(request(1));
      const attacker = strategy.register(request(2, { key: "wrong" }));
      const [v, a] = await Promise.allSettled([victim, attacker]);
      assert.equal(v.status, "fulfilled");
      assert.equal(a.status, "rejected", `a wrong key was answered: ${JSON.stringify((a as PromiseFulfilledResult<unknown>).value)}`);
      assert.ok((a as PromiseRejectedResult).reason instanceof WrongKeyError, String((a as PromiseRejectedResult).reason));
      await raw.close();
    });

    test("a machineID registered under another project is refused, and nothing of that row is told", async () => {
      const { raw, strategy } = await setup(definition);
      await raw.createProject({ ...project("t-p1", "10.2.0.0/24"), keyDigest: keyDigest("project B's own key") });
      const a = await strategy.register(request(1));
      const asB = { projectId: "t-p1", key: "project B's own key" };
      await assert.rejects(
        strategy.register(request(1, asB)),
        (e) => e instanceof MachineConflictError && !e.message.includes(a.ipv4) && !e.message.includes("t-p0"),
      );
      // The other way round: B's device registered first is not handed to A either.
      await strategy.register(request(2, asB));
      await assert.rejects(strategy.register(request(2)), MachineConflictError);
      assert.deepEqual(
        (await raw.auditRows("t")).machines.map((m) => [m.machineId, m.projectId]).sort(),
        [
          ["t-m1", "t-p0"],
          ["t-m2", "t-p1"],
        ],
        "one row each, in its own project",
      );
      await raw.close();
    });

    for (const { name, workload, safe } of WORKLOADS) {
      const promised = safe.includes(definition.guarantee);
      test(`${promised ? "keeps every invariant" : "is run and audited"} under concurrency: ${name}`, async () => {
        const result = await runStrategy(definition, config(definition.name, workload));
        assert.equal(result.succeeded + result.failed, result.requests);
        assert.ok(result.audit);
        if (promised) {
          // Optimistic strategies may run out of retries under contention: an honest failure, never a violation.
          if (definition.kind === "optimistic")
            assert.deepEqual(
              Object.keys(result.errors).filter((k) => k !== "conflict"),
              [],
            );
          else assert.equal(result.failed, 0, JSON.stringify(result.errors));
          assert.deepEqual(result.audit, {
            duplicateSystems: 0,
            duplicateMachines: 0,
            duplicateIps: 0,
            lostRegistrations: 0,
            violations: 0,
            unacknowledgedRows: 0,
          });
        }
      });
    }
  });
}

describe("the races are real and the audit sees them", () => {
  const find = (name: string) => STRATEGIES.find((s) => s.name === name)!;

  test("none duplicates the system row and IPs", async () => {
    const r = await runStrategy(find("none"), config("none", { systems: 1, concurrency: 200, requests: 2000, dbLatencyMs: 1 }));
    assert.ok(r.audit!.duplicateSystems > 0);
    assert.ok(r.audit!.duplicateIps > 0);
  });

  test("singleflight loses the coalesced devices", async () => {
    const r = await runStrategy(find("singleflight"), config("singleflight", { systems: 1 }));
    assert.equal(r.failed, 0);
    assert.ok(r.audit!.lostRegistrations > 0);
    assert.equal(r.audit!.lostRegistrations, (r.strategyStats as { coalesced: number }).coalesced);
  });

  test("sharded keyed by system duplicates IPs across systems; keyed by project it does not", async () => {
    const bySystem = await runStrategy(find("sharded"), config("sharded", { systems: 10 }));
    assert.ok(bySystem.audit!.duplicateIps > 0);
    const byProject = await runStrategy(find("sharded"), config("sharded", { systems: 10 }, "project"));
    assert.equal(byProject.audit!.violations, 0);
  });
});

describe("lock timeouts", () => {
  for (const name of ["global", "sharded", "sharded-db", "redis"]) {
    test(`${name}: waiters time out with LockTimeoutError and never write`, { skip: name === "redis" && skipWithoutRedis }, async () => {
      const definition = STRATEGIES.find((s) => s.name === name)!;
      // One acquisition per registration, so that each of them waits for the lock on its own.
      const { raw, strategy } = await setup(definition, { latencyMs: 15, lockTimeoutMs: 40, lockBatch: 1 });
      const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => strategy.register(request(i))));
      const ok = outcomes.filter((o) => o.status === "fulfilled").length;
      const timedOut = outcomes.filter((o) => o.status === "rejected" && o.reason instanceof LockTimeoutError).length;
      assert.ok(ok >= 1 && timedOut >= 1, `ok ${ok}, timed out ${timedOut}`);
      assert.equal(ok + timedOut, 6);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await raw.auditRows("t")).machines.length, ok);
      await raw.close();
    });
  }
});

test("every strategy is registered with a unique name and says what it protects", () => {
  assert.equal(new Set(STRATEGIES.map((s) => s.name)).size, STRATEGIES.length);
  for (const s of STRATEGIES) assert.ok(s.protects.length > 10 && s.exposes.length > 10, s.name);
});

test("the memory store gives the same verdicts as SQLite", async () => {
  for (const name of ["none", "global", "atomic"]) {
    const definition = STRATEGIES.find((s) => s.name === name)!;
    const result = await runStrategy(definition, { ...config(name, { systems: 1 }), store: { kind: "memory" } });
    assert.equal(result.audit!.violations === 0, name !== "none", name);
  }
});

for (const [name, db] of [
  ["postgres", postgres],
  ["mysql", mysql],
] as const) {
  // A schema (PostgreSQL) or database (MySQL) per run: three strategies at a time.
  describe(
    `every strategy on ${name}: its promise holds on a real database, and the races of none are real there too`,
    { skip: db.skip, concurrency: 3 },
    () => {
      for (const definition of STRATEGIES) {
        test(definition.name, { skip: skipFor(definition) }, async () => {
          const base = config(definition.name, { systems: 10, requests: 300, concurrency: 60, dbLatencyMs: 0 });
          const result = await runStrategy(definition, { ...base, store: db.spec });
          assert.equal(result.succeeded + result.failed, result.requests);
          if (definition.name === "none") assert.ok(result.audit!.violations > 0, JSON.stringify(result.audit));
          if (definition.guarantee === "process" || definition.guarantee === "global") {
            // Strategies that retry conflicts may run out of attempts: an honest failure, never a violation.
            assert.deepEqual(
              Object.keys(result.errors).filter((k) => k !== "conflict"),
              [],
              JSON.stringify(result.errors),
            );
            assert.equal(result.audit!.violations, 0, JSON.stringify(result.audit));
          }
          assert.match(result.store, new RegExp(`schema|database`));
        });
      }
    },
  );
}
