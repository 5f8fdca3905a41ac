import { randomBytes } from "node:crypto";
import { mkdtempSync, rmdirSync, rmSync } from "node:fs";
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

/**
 * A private directory for temporary stores (mkdtemp: an unpredictable name, mode 0700), removed by `remove` — and,
 * should the process exit without calling it, on exit. A run makes one and puts every strategy's temporary store in
 * it, so that whatever happens to a measuring process, removing the directory removes its files.
 */
export interface TempDir {
  readonly path: string;
  remove(): void;
}

export function makeTempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), "regbench-"));
  const remove = () => {
    process.off("exit", remove);
    rmSync(path, { recursive: true, force: true });
  };
  process.on("exit", remove);
  return { path, remove };
}

/**
 * Removes a temporary store's files and, if nothing else is left in it, its folder: what a process whose parent
 * has gone does, since the parent can no longer.
 */
export function removeOrphanedStore(dir: string, path?: string): void {
  if (path) for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
  try {
    rmdirSync(dir);
  } catch {
    // not empty (another process's files), or already gone
  }
}

/** A path for a temporary store file in `dir`, with a name no one can guess in advance. */
export function tempStorePath(dir: string, label = "store"): string {
  return join(dir, `${label.replace(/[^A-Za-z0-9_-]+/g, "_")}-${randomBytes(6).toString("hex")}.db`);
}

export interface OpenedStore {
  readonly store: Store;
  /** Closes the store and removes what a temporary store left on disk. */
  dispose(): Promise<void>;
}

/**
 * Opens a fresh store for one strategy. `label` keeps files of several strategies apart when one path is given
 * for a run of several (`runs.db` becomes `runs.sharded.db`). A temporary store goes into `tempDir` when one is given
 * (the run's), else into a private directory of its own; either way its files are removed on dispose.
 */
export function openStore(spec: StoreSpec, constraints: boolean, dbLatencyMs: number, label?: string, tempDir?: string): OpenedStore {
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
      const own = tempDir === undefined ? makeTempDir() : undefined;
      const path = tempStorePath(own?.path ?? tempDir!, label);
      const removeFiles = () => {
        if (own) own.remove();
        else for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
      };
      let store: SqliteStore;
      try {
        store = new SqliteStore({ ...DEFAULT_SQLITE_SETTINGS, path, constraints });
      } catch (error) {
        removeFiles();
        throw error;
      }
      return {
        store: withLatency(store, dbLatencyMs),
        async dispose() {
          await store.close();
          removeFiles();
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
