import Database from "better-sqlite3";
import type { Database as Db, Statement, Transaction } from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { RegbenchError, StoreError, UniqueViolationError, type Constraint } from "../core/errors.js";
import { StaleFenceError } from "./errors.js";
import { formatIpv4 } from "../core/ipv4.js";
import type { MachineRecord, Project } from "../core/types.js";
import type { StoreKind, StoreLocation } from "./kind.js";
import { toProject, toRecord, type MachineColumns, type ProjectColumns } from "./rows.js";
import type {
  AuditInput,
  AuditPage,
  AuditRows,
  AuditTable,
  AuditTableRow,
  Claim,
  ClaimResult,
  Fence,
  MachineRow,
  NewMachine,
  NewProject,
  NewSystem,
  Store,
} from "./store.js";
import { toAuditPage } from "./auditPages.js";
import { schemaStatements, type DdlTypes } from "./sql/ddl.js";

export interface SqliteSettings {
  /** File path, or `:memory:`. */
  readonly path: string;
  readonly constraints: boolean;
  /** How long a writer waits for another process's write lock before SQLITE_BUSY. */
  readonly busyTimeoutMs: number;
}

export const DEFAULT_SQLITE_SETTINGS: Omit<SqliteSettings, "path" | "constraints"> = Object.freeze({ busyTimeoutMs: 5000 });

const SCHEMA_VERSION = "1";

/** SQLite's words for the shared schema (src/store/sql/ddl.ts): an `INTEGER PRIMARY KEY` is the rowid. */
const SQLITE_DDL: DdlTypes = {
  column: (type) => ({ id: "INTEGER PRIMARY KEY", string: "TEXT", text: "TEXT", bytes: "BLOB", int: "INTEGER" })[type.kind],
  inlineIndexes: false,
  tableOptions: "",
};

/**
 * The documented schema (the one every SQL store shares), meta's key column named `key` as SQLite files always had
 * it. With constraints the three UNIQUE clauses are part of the tables; without, plain indexes.
 */
export function schemaSql(constraints: boolean): string {
  return `${schemaStatements(SQLITE_DDL, constraints, undefined, "key").join(";\n")};\n`;
}

function constraintOf(error: unknown): Constraint | undefined {
  const e = error as { code?: string; message?: string };
  if (e?.code !== "SQLITE_CONSTRAINT_UNIQUE" && e?.code !== "SQLITE_CONSTRAINT_PRIMARYKEY") return undefined;
  const message = e.message ?? "";
  if (message.includes("machines.machine_id")) return "machine";
  if (message.includes("machines.project_id")) return "ip";
  if (message.includes("systems.")) return "system";
  return undefined;
}

/** Rethrows a constraint failure as `UniqueViolationError` and anything else as `StoreError`. */
function translate(error: unknown, what: string): never {
  const constraint = constraintOf(error);
  if (constraint) throw new UniqueViolationError(constraint, error);
  if (error instanceof RegbenchError) throw error;
  throw new StoreError(`sqlite ${what} failed: ${(error as Error)?.message ?? String(error)}`, error);
}

/**
 * The embedded default store on better-sqlite3. A file database in WAL mode with a busy timeout, so that several
 * processes can share it; statements are prepared once. better-sqlite3 is synchronous, so each method does its
 * work at once and resolves on the next microtask: concurrent registrations interleave between store calls,
 * exactly where a networked database would let them.
 */
export class SqliteStore implements Store {
  readonly constraints: boolean;
  readonly location: string;
  // Synchronous: a batch runs at once, so any number may be started.
  readonly claimConcurrency = Infinity;
  private readonly db: Db;
  private readonly s: Record<string, Statement>;
  private readonly claimTx: Transaction<(claims: readonly Claim[]) => ClaimResult[]>;
  private readonly fenced: Transaction<(fence: Fence, write: () => void) => void>;

  constructor(settings: SqliteSettings) {
    this.constraints = settings.constraints;
    this.location = settings.path;
    const foreign = foreignSqliteFile(settings.path);
    if (foreign) throw new StoreError(foreign);
    try {
      this.db = new Database(settings.path);
    } catch (error) {
      throw new StoreError(`cannot open the SQLite database at ${settings.path}: ${(error as Error).message}`, error);
    }
    try {
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(settings.busyTimeoutMs))}`);
      if (settings.path !== ":memory:") this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.initSchema();
    } catch (error) {
      this.db.close();
      if (error instanceof StoreError) throw error;
      throw new StoreError(`cannot prepare the SQLite database at ${settings.path}: ${(error as Error).message}`, error);
    }
    const db = this.db;
    this.s = {
      insertProject: db.prepare("INSERT INTO projects (id, name, cidr, key_sha256, relay_nodes, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
      getProject: db.prepare("SELECT id, name, cidr, key_sha256, relay_nodes FROM projects WHERE id = ?"),
      updateProjectKey: db.prepare("UPDATE projects SET key_sha256 = ? WHERE id = ?"),
      hasSystem: db.prepare("SELECT 1 FROM systems WHERE project_id = ? AND system_uuid = ? LIMIT 1").pluck(),
      insertSystem: db.prepare("INSERT INTO systems (project_id, system_uuid, system_name, created_at) VALUES (?, ?, ?, ?)"),
      insertSystemIfAbsent: db.prepare("INSERT INTO systems (project_id, system_uuid, system_name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"),
      findMachine: db.prepare("SELECT machine_id, project_id, system_uuid, ipv4, config FROM machines WHERE machine_id = ? ORDER BY id LIMIT 1"),
      maxIp: db.prepare("SELECT MAX(ip_num) FROM machines WHERE project_id = ?").pluck(),
      ipUsed: db.prepare("SELECT 1 FROM machines WHERE project_id = ? AND ip_num = ? LIMIT 1").pluck(),
      firstGap: db
        .prepare(
          `SELECT a.ip_num + 1 FROM machines a
           WHERE a.project_id = ? AND a.ip_num >= ? AND a.ip_num < ?
             AND NOT EXISTS (SELECT 1 FROM machines b WHERE b.project_id = a.project_id AND b.ip_num = a.ip_num + 1)
           ORDER BY a.ip_num LIMIT 1`,
        )
        .pluck(),
      insertMachine: db.prepare(
        `INSERT INTO machines (machine_id, project_id, system_uuid, ipv4, ip_num, peer_id, hostname, arch, distro, kernel_version, config, status, created_at)
         VALUES (@machineId, @projectId, @systemUuid, @ipv4, @ipNum, @peerId, @hostname, @arch, @distro, @kernelVersion, @config, 'online', @createdAt)`,
      ),
      // The one atomic statement of the `atomic` strategy: create the counter at the first host or bump it,
      // and hand back the address it stood at.
      bumpPool: db
        .prepare(
          `INSERT INTO ip_pools (project_id, next_ip) VALUES (?, ? + 1)
           ON CONFLICT (project_id) DO UPDATE SET next_ip = next_ip + 1
           RETURNING next_ip - 1`,
        )
        .pluck(),
      fenceGet: db.prepare("SELECT token FROM fences WHERE resource = ?").pluck(),
      fenceSet: db.prepare("INSERT INTO fences (resource, token) VALUES (?, ?) ON CONFLICT (resource) DO UPDATE SET token = excluded.token"),
      auditSystems: db.prepare("SELECT project_id AS projectId, system_uuid AS systemUuid FROM systems WHERE substr(system_uuid, 1, ?) = ?"),
      auditMachines: db.prepare("SELECT machine_id AS machineId, project_id AS projectId, ipv4 FROM machines WHERE substr(machine_id, 1, ?) = ?"),
      auditSystemsPage: db.prepare(
        "SELECT id, project_id AS projectId, system_uuid AS systemUuid FROM systems WHERE substr(system_uuid, 1, ?) = ? AND id > ? ORDER BY id LIMIT ?",
      ),
      auditMachinesPage: db.prepare(
        "SELECT id, machine_id AS machineId, project_id AS projectId, ipv4 FROM machines WHERE substr(machine_id, 1, ?) = ? AND id > ? ORDER BY id LIMIT ?",
      ),
    };
    this.claimTx = db.transaction((claims: readonly Claim[]): ClaimResult[] => claims.map((claim) => this.claimOne(claim)));
    // A fenced write checks and records the token in the same transaction as the write itself.
    this.fenced = db.transaction((fence: Fence, write: () => void) => {
      const newest = this.s.fenceGet!.get(fence.resource) as number | undefined;
      if (newest !== undefined && fence.token < newest) throw new StaleFenceError(fence.resource, fence.token, newest);
      if (newest === undefined || fence.token > newest) this.s.fenceSet!.run(fence.resource, fence.token);
      write();
    });
  }

  // Inside the claim transaction: an earlier claim of the same batch is visible to a later one, so a device that
  // appears twice in one batch gets its first row back.
  private claimOne({ fields, firstHost, lastHost, render }: Claim): ClaimResult {
    const existing = this.s.findMachine!.get(fields.machineId) as MachineColumns | undefined;
    if (existing) return { outcome: "existing", record: toRecord(existing) };
    for (;;) {
      const ipNum = this.s.bumpPool!.get(fields.projectId, firstHost) as number;
      if (ipNum > lastHost) return { outcome: "exhausted" };
      const ipv4 = formatIpv4(ipNum);
      const machine: NewMachine = { ...fields, ipv4, ipNum, config: render(ipv4) };
      try {
        this.s.insertMachine!.run({ ...machine, createdAt: Date.now() });
        return { outcome: "created", record: machine };
      } catch (error) {
        // An address taken outside the counter (a kept store shared with another strategy): skip it.
        if (constraintOf(error) === "ip") continue;
        throw error;
      }
    }
  }

  private initSchema(): void {
    const existing = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (existing) {
      const rows = this.db.prepare("SELECT key, value FROM meta").all() as { key: string; value: string }[];
      const meta = new Map(rows.map((r) => [r.key, r.value]));
      if (meta.get("schema_version") !== SCHEMA_VERSION) {
        throw new StoreError(
          `${this.location} has regbench schema version ${meta.get("schema_version") ?? "unknown"}, expected ${SCHEMA_VERSION}: use a new file`,
        );
      }
      const had = meta.get("constraints") === "1";
      if (had !== this.constraints) {
        throw new StoreError(
          `${this.location} was created ${had ? "with" : "without"} unique constraints, but this strategy needs a store ${this.constraints ? "with" : "without"}: use a separate file per strategy`,
        );
      }
      return;
    }
    this.db.exec(schemaSql(this.constraints));
    const put = this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
    put.run("tool", "regbench");
    put.run("schema_version", SCHEMA_VERSION);
    put.run("constraints", this.constraints ? "1" : "0");
  }

  async createProject(p: NewProject): Promise<void> {
    try {
      this.s.insertProject!.run(p.id, p.name, p.cidr, p.keyDigest, JSON.stringify(p.relayNodes), Date.now());
    } catch (error) {
      translate(error, "createProject");
    }
  }

  async getProject(id: string): Promise<Project | undefined> {
    const row = this.run("getProject", () => this.s.getProject!.get(id)) as ProjectColumns | undefined;
    return row && toProject(row);
  }

  async updateProjectKey(id: string, keyDigest: Buffer): Promise<void> {
    this.run("updateProjectKey", () => this.s.updateProjectKey!.run(keyDigest, id));
  }

  async hasSystem(projectId: string, systemUuid: string): Promise<boolean> {
    return this.run("hasSystem", () => this.s.hasSystem!.get(projectId, systemUuid)) !== undefined;
  }

  async insertSystem(system: NewSystem, fence?: Fence): Promise<void> {
    this.run("insertSystem", () => {
      const write = () => void this.s.insertSystem!.run(system.projectId, system.systemUuid, system.systemName, Date.now());
      if (fence) this.fenced.immediate(fence, write);
      else write();
    });
  }

  async insertSystemIfAbsent(system: NewSystem): Promise<boolean> {
    this.requireConstraints("insertSystemIfAbsent");
    const info = this.run("insertSystemIfAbsent", () => this.s.insertSystemIfAbsent!.run(system.projectId, system.systemUuid, system.systemName, Date.now()));
    return info.changes === 1;
  }

  async findMachine(machineId: string): Promise<MachineRecord | undefined> {
    const row = this.run("findMachine", () => this.s.findMachine!.get(machineId)) as MachineColumns | undefined;
    return row && toRecord(row);
  }

  async nextFreeIp(projectId: string, firstHost: number, lastHost: number): Promise<number | undefined> {
    return this.run("nextFreeIp", () => {
      const max = this.s.maxIp!.get(projectId) as number | null;
      if (max === null || max < firstHost) return firstHost;
      if (max < lastHost) return max + 1;
      if (this.s.ipUsed!.get(projectId, firstHost) === undefined) return firstHost;
      const gap = this.s.firstGap!.get(projectId, firstHost, lastHost) as number | undefined;
      return gap;
    });
  }

  async insertMachine(machine: NewMachine, fence?: Fence): Promise<void> {
    this.run("insertMachine", () => {
      const write = () => void this.s.insertMachine!.run({ ...machine, createdAt: Date.now() });
      if (fence) this.fenced.immediate(fence, write);
      else write();
    });
  }

  async advanceFence(fence: Fence): Promise<void> {
    this.run("advanceFence", () => this.fenced.immediate(fence, () => {}));
  }

  async claimMachines(claims: readonly Claim[]): Promise<ClaimResult[]> {
    this.requireConstraints("claimMachines");
    // IMMEDIATE takes the write lock up front, so two processes never both read "no row" and then collide.
    return this.run("claimMachines", () => this.claimTx.immediate(claims));
  }

  async auditRows(run: string): Promise<AuditRows> {
    const prefix = `${run}-`;
    return this.run("auditRows", () => ({
      systems: this.s.auditSystems!.all(prefix.length, prefix) as AuditRows["systems"],
      machines: this.s.auditMachines!.all(prefix.length, prefix) as AuditRows["machines"],
    }));
  }

  async auditPage<T extends AuditTable>(run: string, table: T, after: number, limit: number): Promise<AuditPage<AuditTableRow[T]>> {
    const prefix = `${run}-`;
    const statement = table === "systems" ? this.s.auditSystemsPage! : this.s.auditMachinesPage!;
    return this.run("auditRows", () => toAuditPage(table, statement.all(prefix.length, prefix, after, limit) as Record<string, unknown>[], after));
  }

  async auditRowsLazily(run: string): Promise<AuditInput> {
    const prefix = `${run}-`;
    return this.run("auditRows", () => ({
      systems: this.s.auditSystems!.all(prefix.length, prefix) as AuditRows["systems"],
      machines: { [Symbol.iterator]: () => this.s.auditMachines!.iterate(prefix.length, prefix) as IterableIterator<MachineRow> },
    }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      translate(error, what);
    }
  }

  private requireConstraints(what: string): void {
    if (!this.constraints) throw new StoreError(`${what} needs a store created with unique constraints`);
  }
}

/** The tables of a regbench store: a file made by an older regbench, without the `tool` row, is known by them. */
const REGBENCH_TABLES = ["meta", "projects", "systems", "machines", "ip_pools", "fences"];

/**
 * Why regbench must not open the SQLite file at `path`, or undefined when it may: a file that does not exist or is
 * empty (a new store), or a regbench store — its `meta` table says `tool = regbench` (or, for a store of an older
 * regbench, it has regbench's tables and schema version). Anything else is another application's database (or not a
 * database at all), which opening it for writing would change: tables added, the journal switched to WAL. It is
 * looked at read-only, and left byte for byte as it was.
 */
export function foreignSqliteFile(path: string): string | undefined {
  if (path === ":memory:" || path === "") return undefined;
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return `${path} is not a regular file, so not a regbench store`;
    size = stat.size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? undefined : `cannot look at ${path} (${code ?? "error"})`;
  }
  if (size === 0) return undefined;
  let db: Db | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).map(String));
    if (!tables.has("meta")) return `${path} is an SQLite database of another application (it has no regbench meta table): regbench leaves it alone`;
    const meta = new Map((db.prepare("SELECT key, value FROM meta").raw().all() as [unknown, unknown][]).map(([k, v]) => [String(k), String(v)]));
    if (meta.get("tool") === "regbench") return undefined;
    if (!meta.has("tool") && meta.has("schema_version") && REGBENCH_TABLES.every((t) => tables.has(t))) return undefined;
    return `${path} is an SQLite database of another application (its meta table does not name regbench): regbench leaves it alone`;
  } catch {
    return `${path} is not a regbench store (it cannot be read as an SQLite database with a regbench meta table)`;
  } finally {
    db?.close();
  }
}

/** `runs.db` with label `sharded` becomes `runs.sharded.db`: several strategies of one run never share a file. */
function labelled(path: string, label: string): string {
  const dot = path.lastIndexOf(".");
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return dot > slash + 1 ? `${path.slice(0, dot)}.${label}${path.slice(dot)}` : `${path}.${label}`;
}

const pathOf = (location: StoreLocation) => (location as Extract<StoreLocation, { kind: "sqlite" }>).path;

/**
 * The embedded default: a SQLite file per strategy, temporary (in the run's private folder, removed after it) unless
 * a path is given; `sqlite::memory:` for a database in the measuring process only.
 */
export const sqliteKind: StoreKind = {
  name: "sqlite",
  forms: ["sqlite (a temporary file)", "sqlite:PATH (kept)", "sqlite::memory:"],
  server: false,
  parse(text) {
    if (text === "sqlite") return { kind: "sqlite", path: undefined };
    if (!text.startsWith("sqlite:")) return undefined;
    const path = text.slice("sqlite:".length);
    return path ? { kind: "sqlite", path } : "sqlite: needs a path, as in sqlite:runs.db";
  },
  describe(spec) {
    const { path } = spec as Extract<typeof spec, { kind: "sqlite" }>;
    return path === undefined ? "sqlite (temporary file)" : `sqlite:${path}`;
  },
  shareable: (spec) => (spec as { path?: string }).path !== ":memory:",
  probe: async () => undefined,
  placeForRun(spec, site) {
    const { path } = spec as Extract<typeof spec, { kind: "sqlite" }>;
    const suffix = site.label ? `-${site.label}` : "";
    if (path === undefined) {
      return site.keep
        ? { location: { kind: "sqlite", path: resolve(`regbench-${site.prefix}${suffix}.db`) }, temporary: false }
        : { location: { kind: "sqlite", path: join(site.tempDir, `${site.prefix}${suffix}.db`) }, temporary: true };
    }
    return { location: { kind: "sqlite", path: site.label && path !== ":memory:" ? labelled(path, site.label) : path }, temporary: false };
  },
  placeForServe(spec, tempDir) {
    const { path } = spec as Extract<typeof spec, { kind: "sqlite" }>;
    return path === undefined
      ? { location: { kind: "sqlite", path: join(tempDir, `serve-${randomBytes(6).toString("hex")}.db`) }, temporary: true }
      : { location: { kind: "sqlite", path }, temporary: false };
  },
  async open(location, settings) {
    return new SqliteStore({ ...DEFAULT_SQLITE_SETTINGS, path: pathOf(location), constraints: settings.constraints });
  },
  async remove(location) {
    const path = pathOf(location);
    if (path !== ":memory:") for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
  },
  describeLocation: (location) => pathOf(location),
};
