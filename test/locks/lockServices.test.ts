import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { prepareLockServices } from "../../src/driver/preflight.js";
import { runStrategy } from "../../src/driver/inProcess.js";
import { lockServiceFault } from "../../src/faults/faults.js";
import { describeFault, parseFault } from "../../src/faults/faults.js";
import { LockServiceUnavailableError } from "../../src/locks/errors.js";
import type { DistributedLock, Lease } from "../../src/locks/lease.js";
import { findLockService, lockServices, registerLockService } from "../../src/locks/services/registry.js";
import { isLocationProblem, parseUrlList, type LockService } from "../../src/locks/services/service.js";
import { findStrategy } from "../../src/strategies/registry.js";
import { lockedStrategy } from "../../src/strategies/locked.js";
import { lockServiceOf, type StrategyDefinition } from "../../src/strategies/strategy.js";
import { Mutex } from "../../src/sync/mutex.js";
import { runConfig } from "../helpers.js";

/**
 * A third lock service, as a plug-in would add one: this one object, and one line (here `registerLockService`, in
 * `src/locks/services/registry.ts` for a real one). It locks in this process (a mutex per key) at `fake://` URLs;
 * a URL whose host is `down` does not answer. Nothing else of regbench is told about it.
 */
const log = { prepared: 0, stopped: 0, keys: new Set<string>() };
const fakeService: LockService = {
  name: "fake",
  title: "Fake",
  flag: "fake",
  optionHelp: "a fake service's URL(s)",
  defaultUrls: ["fake://up"],
  faultName: "fake-down",
  cutDescription: "the fake lock service is cut off",
  parse: (text) =>
    parseUrlList(
      text,
      (url) => (url.startsWith("fake://") ? undefined : `${JSON.stringify(url)}, not a fake:// URL`),
      { problem: "is empty", fix: "Pass fake://up." },
      "Pass fake://up.",
    ),
  show: (location) => (location.urls === "auto" ? "auto" : location.urls.join(",")),
  async prepare(location) {
    log.prepared++;
    const urls = location.urls === "auto" ? this.defaultUrls : location.urls;
    const stop = async () => void log.stopped++;
    const down = urls.find((u) => u === "fake://down");
    if (down) return { problem: `nothing answers on ${down}: start one with fake-server`, notes: [], stop };
    return { urls, notes: [`fake: using ${urls.join(", ")}`], stop };
  },
  keyPrefix: (runPrefix) => `fake/${runPrefix}/`,
  namespacePrefix: (namespace) => `fake/ns/${namespace}/`,
  // Its locks live in this process: nothing outlives a run.
  removeKeys: async () => {},
  createLock(where, settings, request): DistributedLock {
    const mutexes = new Map<string, Mutex>();
    let acquired = 0;
    let fence = 0;
    let cut = false;
    return {
      async acquire(key) {
        if (cut) throw new LockServiceUnavailableError("fake", `the fake lock service is cut off (locking ${key})`);
        const full = `${where.keyPrefix}${key}`;
        log.keys.add(full);
        let mutex = mutexes.get(full);
        if (!mutex) mutexes.set(full, (mutex = new Mutex(full)));
        const release = await mutex.acquire(settings.waitMs);
        acquired++;
        const lease: Lease = {
          key,
          token: String(acquired),
          fence: request.fencing ? ++fence : undefined,
          signal: new AbortController().signal,
          validUntil: () => Infinity,
          release: async () => release(),
        };
        return lease;
      },
      reenter: (held) => Promise.reject(new Error(`the fake lock is not reentrant (${held.key})`)),
      reentrant: false,
      quorum: 1,
      nodes: where.urls.length,
      stats: () => ({ acquired }),
      cut: () => void (cut = true),
      close: async () => {},
    };
  },
};

const unregister = registerLockService(fakeService);
after(unregister);

/** A strategy locking in the fake service: the shape of the Redis and etcd ones, declared by name. */
const fakeLocked: StrategyDefinition = lockedStrategy({
  name: "fake-locked",
  protects: "every invariant, in this process",
  exposes: "nothing beyond this process",
  lockService: { name: "fake" },
  fencing: true,
  constraints: false,
});
const lookup = (name: string) => (name === fakeLocked.name ? fakeLocked : findStrategy(name));

describe("a third lock service is one object and one registry line", () => {
  test("the registry lists it after Redis and etcd, by name", () => {
    assert.deepEqual(
      lockServices().map((s) => s.name),
      ["redis", "etcd", "fake"],
    );
    assert.equal(findLockService("fake"), fakeService);
    assert.equal(lockServiceOf(fakeLocked), "fake");
    assert.throws(() => registerLockService(fakeService), /already registered/);
  });

  test("its flag's value is parsed by its own parser; its fault is parsed and described from it", () => {
    assert.deepEqual(fakeService.parse("fake://a, fake://b"), { urls: ["fake://a", "fake://b"], autoMembers: 1 });
    const bad = fakeService.parse("redis://x");
    assert.ok(isLocationProblem(bad) && /not a fake:\/\/ URL/.test(bad.problem));
    const fault = parseFault("fake-down:250");
    assert.deepEqual(fault, { kind: "lock-service-down", service: "fake", name: "fake-down", atMs: 250 });
    assert.equal(describeFault(fault as Exclude<typeof fault, string>), "fake-down: the fake lock service is cut off 250 ms into the measured window");
    assert.match(parseFault("consul-down:1") as string, /redis-down:AT_MS or etcd-down:AT_MS or fake-down:AT_MS/);
    const config = runConfig("fake-locked", {}, { faults: [fault as Exclude<typeof fault, string>] });
    assert.equal(lockServiceFault(config.faults, lockServiceOf(fakeLocked))?.atMs, 250);
    assert.equal(lockServiceFault(config.faults, lockServiceOf(findStrategy("redis"))), undefined);
  });

  test("the pre-flight prepares it for a strategy that locks in it, and stops it after", async () => {
    const before = { ...log };
    const config = runConfig("fake-locked", {}, { lockServices: { fake: { urls: "auto", autoMembers: 1 } } });
    const preflight = await prepareLockServices(config, lookup);
    assert.equal(preflight.unavailable, undefined);
    assert.deepEqual(preflight.config.lockServices["fake"]?.urls, ["fake://up"]);
    assert.deepEqual(preflight.notes, ["fake: using fake://up"]);
    assert.equal(log.prepared, before.prepared + 1);
    await preflight.stop();
    assert.equal(log.stopped, before.stopped + 1);
    // A run without a strategy locking in it never asks for it.
    await (await prepareLockServices(runConfig("none"), lookup)).stop();
    assert.equal(log.prepared, before.prepared + 1);
  });

  test("down: asked for by name it is unavailable (lock-service-unavailable, exit 3); under --strategy all it is skipped with a note", async () => {
    const down = { lockServices: { fake: { urls: ["fake://down"], autoMembers: 1 } } };
    const named = await prepareLockServices(runConfig("fake-locked", {}, down), lookup);
    assert.deepEqual(named.unavailable, {
      strategy: "fake-locked",
      message: "nothing answers on fake://down: start one with fake-server",
      kind: "lock-service-unavailable",
    });
    await named.stop();
    const all = await prepareLockServices(runConfig("none", {}, { ...down, strategies: ["none", "fake-locked"], selection: "all" }), lookup);
    assert.equal(all.unavailable, undefined);
    assert.deepEqual(all.config.strategies, ["none"]);
    assert.deepEqual(all.skipped, [{ strategy: "fake-locked", reason: "nothing answers on fake://down: start one with fake-server" }]);
    assert.deepEqual(all.notes, ["skipped fake-locked: nothing answers on fake://down: start one with fake-server"]);
    await all.stop();
  });

  test("a strategy locking in it runs on the lock the service makes, under the run's key prefix, with the shared lock settings", async () => {
    const config = runConfig("fake-locked", { requests: 200, concurrency: 20, systems: 3 }, { store: { kind: "memory" } });
    const result = await runStrategy(fakeLocked, config, {}, { prefix: "rbfake1" });
    assert.equal(result.succeeded, 200, JSON.stringify(result.errors));
    assert.equal(result.audit!.violations, 0);
    assert.ok((result.strategyStats as { acquired: number }).acquired >= 1);
    assert.ok(
      [...log.keys].every((k) => k.startsWith("fake/rbfake1/")),
      [...log.keys].join(", "),
    );
  });
});
