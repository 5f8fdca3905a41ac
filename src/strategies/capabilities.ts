import { describeStoreSpec, isServerStore, isShareable, type StoreSpec } from "../store/registry.js";
import type { StrategyDefinition } from "./strategy.js";

/** A store capability a strategy may declare it needs (`needs.storeCapabilities`), by name. */
export interface StoreCapability {
  readonly name: string;
  /** What a store without it lacks, for the note and the message: "… has no <lacks>". */
  readonly lacks: string;
  /** Whether a store, as `--store` gave it, has it; told from the store registry, so a new store kind answers for itself. */
  has(spec: StoreSpec): boolean;
}

/**
 * Every store capability a strategy can ask for. Adding one is one entry here (and the stores' registry telling who
 * has it); a strategy then declares its name, and `--strategy all` skips it, with a note, on a store without it.
 */
export const STORE_CAPABILITIES: readonly StoreCapability[] = Object.freeze([
  {
    name: "shared",
    lacks: "database that other processes can open at the same time (use a SQLite file or a database server)",
    has: isShareable,
  },
  {
    name: "transactions",
    lacks: "transaction held open across a registration's calls (only the database servers, PostgreSQL and MySQL, hold one)",
    has: isServerStore,
  },
]);

/**
 * Why `definition` cannot run on the store `spec`, or undefined when the store has every capability it declares. A
 * capability nobody knows is missing everywhere (a typo in a definition must not pass for a capability).
 */
export function missingCapability(definition: StrategyDefinition, spec: StoreSpec): string | undefined {
  for (const name of definition.needs.storeCapabilities ?? []) {
    const capability = STORE_CAPABILITIES.find((c) => c.name === name);
    if (!capability) return `it needs the store capability ${JSON.stringify(name)}, which no store is known to have`;
    if (!capability.has(spec)) return `it needs a store with ${name}, and the store ${describeStoreSpec(spec)} has no ${capability.lacks}`;
  }
  return undefined;
}
