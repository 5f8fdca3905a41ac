import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withLatency } from "./latency.js";
import { MemoryStore } from "./memory.js";
import { DEFAULT_SQLITE_SETTINGS, SqliteStore } from "./sqlite.js";
import type { Store } from "./store.js";

/** Where a run keeps its rows; parsed once from `--store`. */
export type StoreSpec =
  | { readonly kind: "sqlite-temp" }
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "memory" };

/** Parses a `--store` value, or returns an error message with the accepted forms. */
export function parseStoreSpec(text: string): StoreSpec | string {
  if (text === "sqlite") return { kind: "sqlite-temp" };
  if (text === "memory") return { kind: "memory" };
  if (text.startsWith("sqlite:") && text.length > "sqlite:".length) return { kind: "sqlite", path: text.slice("sqlite:".length) };
  return `expected sqlite (a fresh temporary file), sqlite:PATH, sqlite::memory: or memory`;
}

export function describeStoreSpec(spec: StoreSpec): string {
  switch (spec.kind) {
    case "sqlite-temp":
      return "sqlite (temporary file)";
    case "sqlite":
      return `sqlite:${spec.path}`;
    case "memory":
      return "memory";
  }
}

export interface OpenedStore {
  readonly store: Store;
  /** Closes the store and removes what a temporary store left on disk. */
  dispose(): Promise<void>;
}

/**
 * Opens a fresh store for one strategy. `label` keeps files of several strategies apart when one path is given
 * for a run of several (`runs.db` becomes `runs.sharded.db`).
 */
export function openStore(spec: StoreSpec, constraints: boolean, dbLatencyMs: number, label?: string): OpenedStore {
  switch (spec.kind) {
    case "memory": {
      const store = new MemoryStore(constraints);
      return { store: withLatency(store, dbLatencyMs), dispose: () => store.close() };
    }
    case "sqlite": {
      const path = label && spec.path !== ":memory:" ? labelled(spec.path, label) : spec.path;
      const store = new SqliteStore({ ...DEFAULT_SQLITE_SETTINGS, path, constraints });
      return { store: withLatency(store, dbLatencyMs), dispose: () => store.close() };
    }
    case "sqlite-temp": {
      const path = join(tmpdir(), `regbench-${process.pid}-${randomBytes(4).toString("hex")}.db`);
      const store = new SqliteStore({ ...DEFAULT_SQLITE_SETTINGS, path, constraints });
      return {
        store: withLatency(store, dbLatencyMs),
        async dispose() {
          await store.close();
          for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
        },
      };
    }
  }
}

function labelled(path: string, label: string): string {
  const dot = path.lastIndexOf(".");
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return dot > slash + 1 ? `${path.slice(0, dot)}.${label}${path.slice(dot)}` : `${path}.${label}`;
}
