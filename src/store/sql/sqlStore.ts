import { RegbenchError, StoreError, TransactionConflictError, UniqueViolationError } from "../../core/errors.js";
import { StaleFenceError } from "../errors.js";
import type { MachineRecord, Project } from "../../core/types.js";
import { toAuditPage } from "../auditPages.js";
import { claimBatch, retryAborted } from "../claims.js";
import type { ServerLocation, StoreSettings } from "../kind.js";
import { PoolStats } from "../poolStats.js";
import { toProject, toRecord, type MachineColumns, type ProjectColumns } from "../rows.js";
import { checkMeta, constraintNamed, safeUrl, SERVER_SCHEMA_VERSION } from "../serverSchema.js";
import type { AuditPage, AuditRows, AuditTable, AuditTableRow, Claim, ClaimResult, Fence, NewMachine, NewProject, NewSystem, Store } from "../store.js";
import { schemaStatements } from "./ddl.js";
import type { Row, SqlConnection, SqlDialect, SqlPool, SqlResult, Statement } from "./dialect.js";

/** How long connecting may take before the store counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 3000;

/** Rethrows a database error as the core's typed errors through the dialect's code table: a unique violation, a transaction conflict, or a store failure. */
export function translate(dialect: SqlDialect, error: unknown, what: string): never {
  if (error instanceof RegbenchError) throw error;
  const code = dialect.errorCode(error);
  const meaning = code === undefined ? undefined : dialect.errorCodes[code];
  if (meaning === "unique") {
    const constraint = constraintNamed(dialect.violatedConstraint(error));
    if (constraint) throw new UniqueViolationError(constraint, error);
  } else if (meaning) throw new TransactionConflictError(meaning, error);
  throw new StoreError(`${dialect.name} ${what} failed: ${dialect.errorMessage(error)}`, error);
}

/**
 * Whether an error means the connection it came from is gone or unusable. A translated error (a unique violation, a
 * deadlock) is judged by its cause and keeps its connection; one of regbench's own (a stale fence) is no loss.
 */
function connectionLost(dialect: SqlDialect, error: unknown): boolean {
  const cause = error instanceof RegbenchError ? error.cause : error;
  if (cause === undefined) return false;
  return dialect.connectionLost(cause);
}

/** The statements every dialect shares, their placeholders rewritten once per dialect. */
interface SharedSql {
  readonly createProject: string;
  readonly getProject: string;
  readonly updateProjectKey: string;
  readonly hasSystem: string;
  readonly insertSystem: string;
  readonly insertSystemIfAbsent: string;
  readonly findMachine: string;
  readonly nextFreeIp: string;
  readonly firstGap: string;
  readonly insertMachine: string;
  readonly fence: string;
  readonly fenceToken: string;
  readonly auditSystems: string;
  readonly auditMachines: string;
}

const SHARED = new WeakMap<SqlDialect, SharedSql>();

function sharedSql(d: SqlDialect): SharedSql {
  let sql = SHARED.get(d);
  if (sql) return sql;
  const p = (text: string) => d.placeholders(text);
  const insertSystem = "INSERT INTO systems (project_id, system_uuid, system_name, created_at) VALUES (?, ?, ?, ?)";
  sql = Object.freeze({
    createProject: p("INSERT INTO projects (id, name, cidr, key_sha256, relay_nodes, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
    getProject: p("SELECT id, name, cidr, key_sha256, relay_nodes FROM projects WHERE id = ?"),
    updateProjectKey: p("UPDATE projects SET key_sha256 = ? WHERE id = ?"),
    hasSystem: p("SELECT 1 AS present FROM systems WHERE project_id = ? AND system_uuid = ? LIMIT 1"),
    insertSystem: p(insertSystem),
    insertSystemIfAbsent: p(`${insertSystem} ${d.insertIgnore}`),
    findMachine: p("SELECT machine_id, project_id, system_uuid, ipv4, config FROM machines WHERE machine_id = ? ORDER BY id LIMIT 1"),
    nextFreeIp: p(`SELECT MAX(ip_num) AS max, ${d.anyTrue("ip_num = ?")} AS first_used FROM machines WHERE project_id = ?`),
    firstGap: p(
      `SELECT a.ip_num + 1 AS gap FROM machines a
       WHERE a.project_id = ? AND a.ip_num >= ? AND a.ip_num < ?
         AND NOT EXISTS (SELECT 1 FROM machines b WHERE b.project_id = a.project_id AND b.ip_num = a.ip_num + 1)
       ORDER BY a.ip_num LIMIT 1`,
    ),
    insertMachine: p(
      `INSERT INTO machines (machine_id, project_id, system_uuid, ipv4, ip_num, peer_id, hostname, arch, distro, kernel_version, config, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'online', ?)`,
    ),
    fence: p(`INSERT INTO fences (resource, token) VALUES (?, ?) ${d.fenceUpsert}`),
    fenceToken: p("SELECT token FROM fences WHERE resource = ?"),
    auditSystems: p(
      `SELECT project_id AS ${d.quote("projectId")}, system_uuid AS ${d.quote("systemUuid")} FROM systems WHERE ${d.startsWith("system_uuid")} ORDER BY id`,
    ),
    auditMachines: p(
      `SELECT machine_id AS ${d.quote("machineId")}, project_id AS ${d.quote("projectId")}, ipv4 FROM machines WHERE ${d.startsWith("machine_id")} ORDER BY id`,
    ),
  });
  SHARED.set(d, sql);
  return sql;
}

/** The SQL of one audit page (see Store.auditPage): by the primary key, so a page starts where the last ended. */
export function auditPageSql(d: SqlDialect, table: AuditTable, limit: number): string {
  // The limit is a validated integer, written into the text: MySQL's prepared LIMIT ? refuses a number sent as a double.
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`an audit page of ${limit} rows`);
  const q = (alias: string) => d.quote(alias);
  const match = (column: string) => `${d.startsWith(column)} AND id > ?`;
  return d.placeholders(
    table === "systems"
      ? `SELECT id, project_id AS ${q("projectId")}, system_uuid AS ${q("systemUuid")} FROM systems WHERE ${match("system_uuid")} ORDER BY id LIMIT ${limit}`
      : `SELECT id, machine_id AS ${q("machineId")}, project_id AS ${q("projectId")}, ipv4 FROM machines WHERE ${match("machine_id")} ORDER BY id LIMIT ${limit}`,
  );
}

/** The pool, its counters and the dialect's statements, shared by a store and the transaction views made from it. */
interface SqlDatabase {
  readonly dialect: SqlDialect;
  readonly pool: SqlPool;
  readonly waits: PoolStats;
  readonly sql: SharedSql;
}

/**
 * Connects, creates the namespace and its tables if absent (under a server-side lock: several servers may start at
 * once), or checks the `meta` rows of one that exists.
 */
async function prepareNamespace(d: SqlDialect, location: ServerLocation, settings: StoreSettings): Promise<void> {
  let admin;
  try {
    admin = await d.connectAdmin(location.url, CONNECT_TIMEOUT_MS);
  } catch (error) {
    throw new StoreError(await d.problem(location.url, error), error);
  }
  const lock = `regbench:${location.schema}`;
  const run = (text: string, values: readonly unknown[] = []) => admin.run({ text, values });
  try {
    await admin.run(d.lock(lock));
    for (const statement of d.createNamespace(location.schema)) await run(statement);
    const meta = d.qualify(location.schema, "meta");
    const { rows } = await admin.run(d.tableExists(location.schema, "meta"));
    if (Number(rows[0]!.present) > 0) {
      const values = new Map((await run(`SELECT name, value FROM ${meta}`)).rows.map((r) => [String(r.name), String(r.value)]));
      checkMeta(values, `${d.namespaceWord} ${location.schema}`, settings.constraints);
    } else {
      for (const statement of schemaStatements(d.ddl, settings.constraints, (table) => d.qualify(location.schema, table))) await run(statement);
      await run(d.placeholders(`INSERT INTO ${meta} (name, value) VALUES ('schema_version', ?), ('constraints', ?)`), [
        SERVER_SCHEMA_VERSION,
        settings.constraints ? "1" : "0",
      ]);
    }
  } catch (error) {
    if (error instanceof StoreError) throw error;
    translate(d, error, "schema setup");
  } finally {
    await admin.run(d.unlock(lock)).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}

/** Where a server store's rows are, for the report and `describeLocation`. */
export function describeServerLocation(d: SqlDialect, location: ServerLocation): string {
  return `${safeUrl(location.url)} · ${d.namespaceWord} ${location.schema}`;
}

/**
 * The store of every SQL database server, over its dialect: every store call is one or a few statements on a pooled
 * connection, in the namespace of the run (or of `serve`). Writes carrying a fencing token check it in the same
 * transaction as the write; `transaction` runs several calls in one transaction on one connection; `claimMachines`
 * is claims.ts's atomic claim over the dialect's three statements. The isolation is the database's default unless
 * `--isolation` says.
 */
export class SqlStore implements Store {
  readonly claimConcurrency = 1;

  /** `bound`: the connection of the transaction this store is a view of; calls run on it, inside it. */
  protected constructor(
    readonly location: string,
    readonly constraints: boolean,
    private readonly db: SqlDatabase,
    private readonly bound?: SqlConnection,
  ) {}

  /** Connects, creates the namespace and its tables if absent, and opens the pool. */
  static async openWith(dialect: SqlDialect, location: ServerLocation, settings: StoreSettings): Promise<SqlStore> {
    await prepareNamespace(dialect, location, settings);
    const waits = new PoolStats(settings.pool);
    const pool = dialect.openPool(location, settings, waits);
    return new this(describeServerLocation(dialect, location), settings.constraints, { dialect, pool, waits, sql: sharedSql(dialect) });
  }

  private get dialect(): SqlDialect {
    return this.db.dialect;
  }

  /** A pooled connection, the time waited for it counted. */
  private async connection(): Promise<SqlConnection> {
    const { pool, waits } = this.db;
    const started = performance.now();
    const busy = pool.busy(waits.size);
    try {
      return await pool.connect();
    } catch (error) {
      throw new StoreError(`cannot get a ${this.dialect.title} connection: ${(error as Error).message}`, error);
    } finally {
      waits.record(performance.now() - started, busy);
    }
  }

  /**
   * `fn` on a pooled connection. A connection the server ends while it is checked out (pg_terminate_backend, KILL
   * CONNECTION, a failover, the idle-in-transaction timeout) fails the call that was using it (a `store` error), and
   * goes back to the pool as broken, so that the pool closes it and opens another; one that met a conflict goes back
   * as healthy. The dialect's `watch` keeps a driver's 'error' on a checked-out connection from ending the process.
   */
  private async withConnection<T>(fn: (c: SqlConnection, lose: (error: unknown) => void) => Promise<T>): Promise<T> {
    const c = await this.connection();
    let lost: Error | undefined;
    const lose = (error: unknown) => {
      lost ??= error instanceof Error ? error : new Error(String(error));
    };
    const unwatch = c.watch(lose);
    try {
      return await fn(c, lose);
    } catch (error) {
      if (connectionLost(this.dialect, error)) lose(error);
      throw error;
    } finally {
      unwatch();
      if (lost) this.db.waits.connectionLost();
      c.release(lost);
    }
  }

  private async run(what: string, statement: Statement): Promise<SqlResult> {
    try {
      return await (this.bound ? this.bound.run(statement) : this.withConnection((c) => c.run(statement)));
    } catch (error) {
      translate(this.dialect, error, what);
    }
  }

  /** `fn` in one transaction (the bound one, if this is a transaction's view); a failure rolls it back. */
  private async inTransaction<T>(what: string, fn: (c: SqlConnection) => Promise<T>): Promise<T> {
    if (this.bound) {
      try {
        return await fn(this.bound);
      } catch (error) {
        translate(this.dialect, error, what);
      }
    }
    try {
      return await this.withConnection(async (c, lose) => {
        await c.begin();
        try {
          const result = await fn(c);
          await c.commit();
          return result;
        } catch (error) {
          // A connection that cannot even roll back is not handed to the next registration.
          await c.rollback().catch(lose);
          throw error;
        }
      });
    } catch (error) {
      translate(this.dialect, error, what);
    }
  }

  /** Runs `fn` with a view of this store whose every call is part of one transaction, committed if `fn` resolves. */
  async transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.bound) return fn(this);
    const View = this.constructor as new (location: string, constraints: boolean, db: SqlDatabase, bound?: SqlConnection) => SqlStore;
    return this.inTransaction("transaction", (c) => fn(new View(this.location, this.constraints, this.db, c)));
  }

  /** Inside a transaction: accepts the token (and locks its row until commit) unless a newer one was accepted. */
  private async fence(c: SqlConnection, fence: Fence): Promise<void> {
    const { sql } = this.db;
    const accepted = await c.run({ name: "fence", text: sql.fence, values: [fence.resource, fence.token] });
    if (this.dialect.fenceReturns && accepted.rows.length > 0) return;
    const { rows } = await c.run({ text: sql.fenceToken, values: [fence.resource] });
    const newest = Number(rows[0]?.token);
    if (this.dialect.fenceReturns || newest !== fence.token) throw new StaleFenceError(fence.resource, fence.token, newest);
  }

  private async write(what: string, statement: Statement, fence: Fence | undefined): Promise<void> {
    if (!fence) {
      await this.run(what, statement);
      return;
    }
    await this.inTransaction(what, async (c) => {
      await this.fence(c, fence);
      await c.run(statement);
    });
  }

  async createProject(p: NewProject): Promise<void> {
    await this.run("createProject", {
      text: this.db.sql.createProject,
      values: [p.id, p.name, p.cidr, p.keyDigest, JSON.stringify(p.relayNodes), Date.now()],
    });
  }

  async getProject(id: string): Promise<Project | undefined> {
    const { rows } = await this.run("getProject", { name: "getProject", text: this.db.sql.getProject, values: [id] });
    const row = rows[0];
    return row && toProject(row as unknown as ProjectColumns);
  }

  async updateProjectKey(id: string, keyDigest: Buffer): Promise<void> {
    await this.run("updateProjectKey", { text: this.db.sql.updateProjectKey, values: [keyDigest, id] });
  }

  async hasSystem(projectId: string, systemUuid: string): Promise<boolean> {
    const { rows } = await this.run("hasSystem", { name: "hasSystem", text: this.db.sql.hasSystem, values: [projectId, systemUuid] });
    return rows.length > 0;
  }

  async insertSystem(system: NewSystem, fence?: Fence): Promise<void> {
    await this.write(
      "insertSystem",
      { name: "insertSystem", text: this.db.sql.insertSystem, values: [system.projectId, system.systemUuid, system.systemName, Date.now()] },
      fence,
    );
  }

  async insertSystemIfAbsent(system: NewSystem): Promise<boolean> {
    this.requireConstraints("insertSystemIfAbsent");
    const { affected } = await this.run("insertSystemIfAbsent", {
      name: "insertSystemIfAbsent",
      text: this.db.sql.insertSystemIfAbsent,
      values: [system.projectId, system.systemUuid, system.systemName, Date.now()],
    });
    return affected === 1;
  }

  async findMachine(machineId: string): Promise<MachineRecord | undefined> {
    const { rows } = await this.run("findMachine", { name: "findMachine", text: this.db.sql.findMachine, values: [machineId] });
    return rows[0] && toRecord(rows[0] as unknown as MachineColumns);
  }

  async nextFreeIp(projectId: string, firstHost: number, lastHost: number): Promise<number | undefined> {
    // The seed's read: the address after the highest in use; the lowest gap only once the pool's end is reached.
    const { rows } = await this.run("nextFreeIp", { name: "nextFreeIp", text: this.db.sql.nextFreeIp, values: [firstHost, projectId] });
    const row = rows[0];
    const max = row?.max === null || row?.max === undefined ? null : Number(row.max);
    if (max === null || max < firstHost) return firstHost;
    if (max < lastHost) return max + 1;
    // 1 or true: the first host is in use.
    if (Number(row!.first_used) !== 1) return firstHost;
    const gap = await this.run("nextFreeIp", { text: this.db.sql.firstGap, values: [projectId, firstHost, lastHost] });
    return gap.rows[0] ? Number(gap.rows[0].gap) : undefined;
  }

  async insertMachine(m: NewMachine, fence?: Fence): Promise<void> {
    await this.write(
      "insertMachine",
      {
        name: "insertMachine",
        text: this.db.sql.insertMachine,
        values: [m.machineId, m.projectId, m.systemUuid, m.ipv4, m.ipNum, m.peerId, m.hostname, m.arch, m.distro, m.kernelVersion, m.config, Date.now()],
      },
      fence,
    );
  }

  async advanceFence(fence: Fence): Promise<void> {
    await this.inTransaction("advanceFence", (c) => this.fence(c, fence));
  }

  async claimMachines(claims: readonly Claim[]): Promise<ClaimResult[]> {
    this.requireConstraints("claimMachines");
    const statements = this.dialect.claims;
    return retryAborted(
      () =>
        this.inTransaction("claimMachines", (c) =>
          claimBatch(claims, {
            existing: async (ids) => {
              const { rows } = await c.run(statements.existing(ids));
              const found = new Map<string, MachineRecord>();
              for (const row of rows) {
                const id = String(row.machine_id);
                if (!found.has(id)) found.set(id, toRecord(row as unknown as MachineColumns));
              }
              return found;
            },
            // The one atomic statement: create the counter past the first host, or move it on; either way answer
            // where it stood. Its row stays locked until commit, so batches of other processes queue behind it.
            reserve: async (projectId, firstHost, count) => statements.reserved(await c.run(statements.reserve(projectId, firstHost, count)), count),
            insert: async (machines) => statements.inserted(await c.run(statements.insert(machines, Date.now()))),
          }),
        ),
      !this.bound,
    );
  }

  async auditRows(run: string): Promise<AuditRows> {
    const prefix = [this.dialect.prefixValue(`${run}-`)];
    const systems = await this.run("auditRows", { text: this.db.sql.auditSystems, values: prefix });
    const machines = await this.run("auditRows", { text: this.db.sql.auditMachines, values: prefix });
    return { systems: systems.rows as unknown as AuditRows["systems"], machines: machines.rows as unknown as AuditRows["machines"] };
  }

  async auditPage<T extends AuditTable>(run: string, table: T, after: number, limit: number): Promise<AuditPage<AuditTableRow[T]>> {
    const { rows } = await this.run("auditRows", { text: auditPageSql(this.dialect, table, limit), values: [this.dialect.prefixValue(`${run}-`), after] });
    return toAuditPage(table, rows as Row[], after);
  }

  stats(): Readonly<Record<string, unknown>> {
    return this.db.waits.summary();
  }

  async close(): Promise<void> {
    if (!this.bound) await this.db.pool.end().catch(() => undefined);
  }

  private requireConstraints(what: string): void {
    if (!this.constraints) throw new StoreError(`${what} needs a store created with unique constraints`);
  }
}
