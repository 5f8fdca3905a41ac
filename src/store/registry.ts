import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Isolation, Placement, RunSite, ServerLocation, StoreKind, StoreLocation, StoreSettings, StoreSpec } from "./kind.js";
import { withLatency } from "./latency.js";
import { memoryKind } from "./memory.js";
import { DEFAULT_SQLITE_SETTINGS, sqliteKind, SqliteStore } from "./sqlite.js";
import { mysqlDialect } from "./sql/mysql.js";
import { postgresDialect } from "./sql/postgres.js";
import { sqlStoreKind } from "./sql/sqlKind.js";
import type { Store } from "./store.js";

export type { Isolation, Placement, RunSite, StoreLocation, StoreSettings, StoreSpec } from "./kind.js";
export { ISOLATIONS } from "./kind.js";

/**
 * Every kind of store, in the order `--store` is tried. Adding one is one file and one line here: a `StoreKind`, or
 * for a SQL database server a `SqlDialect` (src/store/sql/dialect.ts) under `sqlStoreKind`.
 */
export const STORE_KINDS: readonly StoreKind[] = registered([sqliteKind, memoryKind, sqlStoreKind(postgresDialect), sqlStoreKind(mysqlDialect)]);

/** The registry, frozen; two kinds of one name would make a spec ambiguous, so they fail the import. */
function registered(kinds: StoreKind[]): readonly StoreKind[] {
  const names = kinds.map((k) => k.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new Error(`two store kinds are named ${JSON.stringify(twice)}`);
  return Object.freeze(kinds);
}

/** The default store: a temporary SQLite file per strategy. */
export const DEFAULT_STORE_SPEC: StoreSpec = Object.freeze({ kind: "sqlite", path: undefined });

/** Connections per process of a server store, unless `--pool` says. */
export const DEFAULT_POOL_SIZE = 16;

/** The registered kind of that name; a kind no one registered is a programming error, said as such. */
function kindOf(kind: string): StoreKind {
  const found = STORE_KINDS.find((k) => k.name === kind);
  if (!found) throw new Error(`no store kind ${JSON.stringify(kind)} is registered (known: ${STORE_KINDS.map((k) => k.name).join(", ")})`);
  return found;
}

/** Parses a `--store` value, or returns an error message with the accepted forms. */
export function parseStoreSpec(text: string): StoreSpec | string {
  for (const kind of STORE_KINDS) {
    const parsed = kind.parse(text);
    if (typeof parsed === "string") return parsed;
    if (parsed) return parsed;
  }
  return `expected ${STORE_KINDS.flatMap((k) => k.forms).join(", ")}`;
}

export function describeStoreSpec(spec: StoreSpec): string {
  return kindOf(spec.kind).describe(spec);
}

/** Whether server processes can open it too (HTTP mode, `--instances`, several servers on one database). */
export function isShareable(spec: StoreSpec): boolean {
  return kindOf(spec.kind).shareable(spec);
}

/** Whether `--pool` and `--isolation` apply (a database server). */
export function isServerStore(spec: StoreSpec): boolean {
  return kindOf(spec.kind).server;
}

/** Before anything runs: undefined when the store's backend answers within `timeoutMs`, else why and how to get one. */
export function probeStore(spec: StoreSpec, timeoutMs = 3000): Promise<string | undefined> {
  return kindOf(spec.kind).probe(spec, timeoutMs);
}

/** Where one strategy of a run keeps its rows, and whether the run must remove them afterwards. */
export function placeForRun(spec: StoreSpec, site: RunSite): Placement {
  return kindOf(spec.kind).placeForRun(spec, site);
}

export function placeForServe(spec: StoreSpec, tempDir: string): Placement {
  return kindOf(spec.kind).placeForServe(spec, tempDir);
}

/** Opens a location (creating its namespace and tables if absent), with `dbLatencyMs` awaited before every call. */
export async function openStore(location: StoreLocation, settings: StoreSettings, dbLatencyMs = 0): Promise<Store> {
  return withLatency(await kindOf(location.kind).open(location, settings), dbLatencyMs);
}

/** Removes what a run made at a location; never throws (a server that went away holds nothing to remove). */
export async function removeStore(location: StoreLocation): Promise<void> {
  await kindOf(location.kind)
    .remove(location)
    .catch(() => undefined);
}

/** Whether the store at a location has server connections that `killConnections` can end. */
export function canKillConnections(kind: string): boolean {
  return kindOf(kind).killConnections !== undefined;
}

/** Ends every server session on a location's namespace (see `StoreKind.killConnections`); how many it ended. */
export async function killConnections(location: StoreLocation): Promise<number> {
  const kill = kindOf(location.kind).killConnections;
  if (!kill) throw new Error(`a ${location.kind} store has no server connections to kill`);
  return kill(location);
}

export function describeLocation(location: StoreLocation): string {
  return kindOf(location.kind).describeLocation(location);
}

/**
 * One text per store that every process opening it computes alike, whoever connects: a server store's host, port,
 * database and schema (no user, no password, no options); a SQLite file's real path. Two processes that reach one
 * database under two host names compute two identities: they must be told one `--lock-namespace`.
 */
export function storeIdentity(location: StoreLocation): string {
  if (location.kind === "memory") return "memory";
  if (location.kind === "sqlite" && "path" in location) {
    let path = resolve(location.path);
    try {
      path = realpathSync(path);
    } catch {
      // Not created yet: its resolved path is what every process will open.
    }
    return `sqlite:${path}`;
  }
  const server = location as ServerLocation;
  const url = new URL(server.url);
  return `${server.kind}://${url.hostname.toLowerCase()}:${url.port || kindOf(server.kind).defaultPort}${url.pathname}#${server.schema}`;
}

/** A store that is opened for one strategy's run and disposed of with it. */
export interface OpenedStore {
  readonly store: Store;
  readonly placement: Placement;
  /** Closes the store and removes its location if it was the run's own. */
  dispose(): Promise<void>;
}

/**
 * Places, opens and — on dispose — closes and removes one strategy's store. Without the run's temporary folder (a
 * caller outside a run, such as a test), temporary files go into a private folder of their own.
 */
export async function openForRun(
  spec: StoreSpec,
  site: Omit<RunSite, "tempDir"> & { tempDir?: string },
  settings: StoreSettings,
  dbLatencyMs: number,
): Promise<OpenedStore> {
  const own = site.tempDir === undefined ? mkdtempSync(join(tmpdir(), "regbench-")) : undefined;
  const placement = placeForRun(spec, { ...site, tempDir: site.tempDir ?? own! });
  const cleanUp = async () => {
    if (placement.temporary) await removeStore(placement.location);
    if (own) rmSync(own, { recursive: true, force: true });
  };
  let store: Store;
  try {
    store = await openStore(placement.location, settings, dbLatencyMs);
  } catch (error) {
    await cleanUp();
    throw error;
  }
  return {
    store,
    placement,
    async dispose() {
      await store.close();
      await cleanUp();
    },
  };
}

/** A scratch store in memory, thrown away after use: what a server warms its code paths on before it listens. */
export function scratchStore(constraints: boolean): Store {
  return new SqliteStore({ ...DEFAULT_SQLITE_SETTINGS, path: ":memory:", constraints });
}

/** The settings of a store from a run's choices; isolation only where it means something. */
export function storeSettings(constraints: boolean, pool: number | undefined, isolation: Isolation | undefined): StoreSettings {
  return { constraints, pool: pool ?? DEFAULT_POOL_SIZE, isolation };
}
