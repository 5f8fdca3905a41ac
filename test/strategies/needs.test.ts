import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { prepareStrategyNeeds } from "../../src/driver/preflight.js";
import { parseStoreSpec, type StoreSpec } from "../../src/store/registry.js";
import { missingCapability, STORE_CAPABILITIES } from "../../src/strategies/capabilities.js";
import { findStrategy, STRATEGIES, strategyNames } from "../../src/strategies/registry.js";
import { global } from "../../src/strategies/global.js";
import type { StrategyDefinition, StrategyNeeds } from "../../src/strategies/strategy.js";
import { runConfig } from "../helpers.js";

const MEMORY: StoreSpec = { kind: "memory" };
const POSTGRES = parseStoreSpec("postgres://postgres@127.0.0.1:5432/test") as StoreSpec;

/** A strategy as a plug-in would declare one: global's behaviour, with needs of its own. */
const needing = (name: string, needs: StrategyNeeds): StrategyDefinition => ({ ...global, name, needs });
const lookup =
  (...extra: StrategyDefinition[]) =>
  (name: string) =>
    extra.find((d) => d.name === name) ?? findStrategy(name);

describe("what a strategy needs is declared by name and checked before the run", () => {
  test("every strategy regbench ships runs on every kind of store: nothing of theirs is skipped for a store capability", () => {
    for (const store of [MEMORY, { kind: "sqlite", path: undefined }, { kind: "sqlite", path: ":memory:" }, POSTGRES] as StoreSpec[]) {
      const all = runConfig("none", {}, { strategies: strategyNames(), selection: "all", store });
      const checked = prepareStrategyNeeds(all);
      assert.deepEqual(checked.skipped, [], JSON.stringify(store));
      assert.deepEqual(checked.config.strategies, strategyNames());
      for (const definition of STRATEGIES) assert.equal(missingCapability(definition, store), undefined, definition.name);
    }
  });

  test("--strategy all skips a strategy whose store capability the store lacks, with a note; the others still run", () => {
    const advisory = needing("advisory", { storeCapabilities: ["transactions"] });
    const config = runConfig("none", {}, { strategies: ["none", "advisory", "global"], selection: "all", store: MEMORY });
    const checked = prepareStrategyNeeds(config, lookup(advisory));
    assert.deepEqual(checked.config.strategies, ["none", "global"]);
    assert.deepEqual(
      checked.skipped.map((s) => s.strategy),
      ["advisory"],
    );
    assert.match(checked.notes.join("\n"), /^skipped advisory: it needs a store with transactions, and the store memory has no transaction held open/);
    assert.equal(checked.unavailable, undefined);
    // On a database server it has them: nothing is skipped (told from the store's kind, without connecting).
    const onServer = prepareStrategyNeeds({ ...config, store: POSTGRES }, lookup(advisory));
    assert.deepEqual(onServer.config.strategies, ["none", "advisory", "global"]);
    assert.deepEqual(onServer.skipped, []);
  });

  test("asked for by name, a strategy the store cannot serve is unavailable, counted as a store failure", () => {
    const shared = needing("shared-only", { storeCapabilities: ["shared"] });
    const checked = prepareStrategyNeeds(runConfig("shared-only", {}, { store: { kind: "sqlite", path: ":memory:" } }), lookup(shared));
    assert.equal(checked.unavailable?.strategy, "shared-only");
    assert.equal(checked.unavailable?.kind, "store");
    assert.match(checked.unavailable!.message, /needs a store with shared, and the store sqlite::memory: has no database that other processes can open/);
    // A --target's store is its own: nothing to check here.
    const remote = runConfig("shared-only", {}, { store: { kind: "sqlite", path: ":memory:" } });
    assert.equal(prepareStrategyNeeds({ ...remote, http: { ...remote.http, target: "http://127.0.0.1:1" } }, lookup(shared)).unavailable, undefined);
  });

  test("a capability or a lock service nobody knows never passes for one", () => {
    const typo = needing("typo", { storeCapabilities: ["transactoins"] });
    assert.match(missingCapability(typo, POSTGRES) ?? "", /"transactoins", which no store is known to have/);
    const consul = needing("consul", { lockService: { name: "consul" } });
    const checked = prepareStrategyNeeds(runConfig("consul", {}, { strategies: ["consul", "none"], selection: "all" }), lookup(consul));
    assert.deepEqual(checked.config.strategies, ["none"]);
    assert.match(checked.notes[0]!, /skipped consul: it locks in "consul"/);
  });

  test("every capability has a name of its own", () => {
    assert.equal(new Set(STORE_CAPABILITIES.map((c) => c.name)).size, STORE_CAPABILITIES.length);
  });
});
