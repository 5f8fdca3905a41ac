import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { StoreError } from "../../src/core/errors.js";
import { withLatency } from "../../src/store/latency.js";
import { MemoryStore } from "../../src/store/memory.js";
import { randomBytes } from "node:crypto";
import { after } from "node:test";
import {
  openForRun,
  openStore,
  parseStoreSpec,
  placeForRun,
  removeStore,
  storeSettings,
  type StoreLocation,
  type StoreSpec,
} from "../../src/store/registry.js";
import { SqliteStore } from "../../src/store/sqlite.js";
import type { Store } from "../../src/store/store.js";
import { servers } from "../dbEnv.js";
import { project, tempDir } from "../helpers.js";
import { storeContract } from "./storeContract.js";

/** Opens a fresh namespace of this test file's own on a database server; every one it made is dropped at the end. */
function onServer(spec: StoreSpec | undefined, isolation?: "serializable"): (constraints: boolean) => Promise<Store> {
  const made: StoreLocation[] = [];
  after(async () => {
    for (const location of made) await removeStore(location);
  });
  return async (constraints) => {
    if (!spec) throw new Error("no database to test on (the suite is skipped)");
    const { location } = placeForRun(spec, { prefix: `t${randomBytes(4).toString("hex")}`, label: undefined, tempDir: "", keep: false });
    made.push(location);
    return openStore(location, storeSettings(constraints, 4, isolation));
  };
}

const dir = tempDir();
let n = 0;
storeContract("sqlite file", async (constraints) => new SqliteStore({ path: join(dir, `c${n++}.db`), constraints, busyTimeoutMs: 1000 }));
storeContract("sqlite :memory:", async (constraints) => new SqliteStore({ path: ":memory:", constraints, busyTimeoutMs: 1000 }));
storeContract("memory", async (constraints) => new MemoryStore(constraints));
storeContract("sqlite file behind 1 ms latency", async (constraints) =>
  withLatency(new SqliteStore({ path: join(dir, `l${n++}.db`), constraints, busyTimeoutMs: 1000 }), 1),
);
// Every registered database server (each SQL dialect), at its default isolation and at serializable.
for (const server of servers) {
  storeContract(server.name, onServer(server.spec), server.skip);
  storeContract(`${server.name}, serializable`, onServer(server.spec, "serializable"), server.skip);
}

test("the SQLite file is WAL, keeps its rows, and shows the unique constraints to sqlite3", async () => {
  const path = join(dir, "kept.db");
  const store = new SqliteStore({ path, constraints: true, busyTimeoutMs: 1000 });
  await store.createProject(project());
  await store.close();
  const db = new Database(path, { readonly: true });
  assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
  const machinesSql = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'machines'").pluck().get() as string;
  assert.match(machinesSql, /UNIQUE \(machine_id\)/);
  assert.match(machinesSql, /UNIQUE \(project_id, ipv4\)/);
  assert.equal(db.prepare("SELECT count(*) FROM projects").pluck().get(), 1);
  db.close();
});

test("reopening a file with the other constraint setting is refused, with the fix", async () => {
  const path = join(dir, "mixed.db");
  await new SqliteStore({ path, constraints: false, busyTimeoutMs: 1000 }).close();
  assert.throws(
    () => new SqliteStore({ path, constraints: true, busyTimeoutMs: 1000 }),
    (e) => e instanceof StoreError && /separate file per strategy/.test(e.message),
  );
});

test("a path that cannot be opened is a StoreError naming it", () => {
  assert.throws(
    () => new SqliteStore({ path: join(dir, "no/such/dir/x.db"), constraints: false, busyTimeoutMs: 1000 }),
    (e) => e instanceof StoreError && /no\/such\/dir/.test(e.message),
  );
});

test("store specs parse, and a temporary store removes its files", async () => {
  assert.deepEqual(parseStoreSpec("sqlite"), { kind: "sqlite", path: undefined });
  assert.deepEqual(parseStoreSpec("sqlite::memory:"), { kind: "sqlite", path: ":memory:" });
  assert.deepEqual(parseStoreSpec("sqlite:/tmp/x.db"), { kind: "sqlite", path: "/tmp/x.db" });
  assert.deepEqual(parseStoreSpec("memory"), { kind: "memory" });
  assert.deepEqual(parseStoreSpec("postgresql://u@h:5432/db?schema=fleet"), { kind: "postgres", url: "postgres://u@h:5432/db", schema: "fleet" });
  assert.deepEqual(parseStoreSpec("mysql://root@127.0.0.1:3306/test"), { kind: "mysql", url: "mysql://root@127.0.0.1:3306/test", schema: undefined });
  assert.match(String(parseStoreSpec("postgres://h/db?schema=Bad-Name")), /\?schema= must be lowercase/);
  assert.match(String(parseStoreSpec("oracle://x")), /^expected sqlite/);
  const settings = storeSettings(true, undefined, undefined);
  const opened = await openForRun({ kind: "sqlite", path: undefined }, { prefix: "rbtest", label: undefined, keep: false }, settings, 0);
  const location = opened.store.location;
  assert.ok(existsSync(location));
  await opened.dispose();
  assert.ok(!existsSync(location));
  const labelled = await openForRun({ kind: "sqlite", path: join(dir, "runs.db") }, { prefix: "rbtest", label: "sharded", keep: false }, settings, 0);
  assert.equal(labelled.store.location, join(dir, "runs.sharded.db"));
  await labelled.dispose();
  assert.ok(existsSync(join(dir, "runs.sharded.db")), "a path given is kept");
});

test("latency is awaited before every call", async () => {
  const store = withLatency(new MemoryStore(false), 20);
  const started = performance.now();
  await store.getProject("x");
  await store.hasSystem("x", "y");
  assert.ok(performance.now() - started >= 38, "two calls, 20 ms each");
});
