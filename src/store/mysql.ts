import { createRequire } from "node:module";
import type mysql from "mysql2/promise";
import { RegbenchError, StaleFenceError, StoreError, TransactionConflictError, UniqueViolationError } from "../core/errors.js";
import type { MachineRecord, Project } from "../core/types.js";
import { claimBatch, retryAborted } from "./claims.js";
import type { Isolation, ServerLocation, ServerSpec, StoreKind, StoreLocation, StoreSettings } from "./kind.js";
import { PoolStats } from "./poolStats.js";
import {
  checkMeta,
  CONSTRAINT_NAMES,
  constraintNamed,
  parseServerSpec,
  runNamespace,
  safeUrl,
  SERVE_NAMESPACE,
  SERVER_SCHEMA_VERSION,
} from "./serverSchema.js";
import { firstBytes, notSpeaking, unreachableCode } from "../net/service.js";
import { toProject, toRecord, type MachineColumns, type ProjectColumns } from "./rows.js";
import type { AuditPage, AuditRows, AuditTable, AuditTableRow, Claim, ClaimResult, Fence, NewMachine, NewProject, NewSystem, Store } from "./store.js";
import { auditPageSql, toAuditPage } from "./auditPages.js";

// Loaded by the first connection made, not by every command that imports this file (start-up time).
const require = createRequire(import.meta.url);
const loadMysql = () => require("mysql2/promise") as typeof mysql;

const CONNECT_TIMEOUT_MS = 3000;

/**
 * The documented schema in one database (utf8mb4 with a binary collation: IDs compare exactly, as everywhere else).
 * Column sizes follow the request's field limits.
 */
function schemaSql(constraints: boolean): string[] {
  const u = (name: string, columns: string) => (constraints ? `,\n  CONSTRAINT ${name} UNIQUE (${columns})` : "");
  const table = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
  return [
    `CREATE TABLE IF NOT EXISTS meta (name VARCHAR(64) PRIMARY KEY, value VARCHAR(64) NOT NULL) ${table}`,
    `CREATE TABLE IF NOT EXISTS projects (
      id VARCHAR(64) PRIMARY KEY, name VARCHAR(255) NOT NULL, cidr VARCHAR(32) NOT NULL, key_sha256 VARBINARY(32) NOT NULL,
      relay_nodes TEXT NOT NULL, created_at BIGINT NOT NULL) ${table}`,
    `CREATE TABLE IF NOT EXISTS systems (
      id BIGINT AUTO_INCREMENT PRIMARY KEY, project_id VARCHAR(64) NOT NULL, system_uuid VARCHAR(64) NOT NULL,
      system_name VARCHAR(128) NOT NULL, created_at BIGINT NOT NULL${u(CONSTRAINT_NAMES.system, "project_id, system_uuid")}
      ${constraints ? "" : ", INDEX ix_systems_project_uuid (project_id, system_uuid)"}) ${table}`,
    `CREATE TABLE IF NOT EXISTS machines (
      id BIGINT AUTO_INCREMENT PRIMARY KEY, machine_id VARCHAR(64) NOT NULL, project_id VARCHAR(64) NOT NULL,
      system_uuid VARCHAR(64) NOT NULL, ipv4 VARCHAR(15) NOT NULL, ip_num BIGINT NOT NULL, peer_id VARCHAR(128) NOT NULL,
      hostname VARCHAR(253) NOT NULL, arch VARCHAR(32) NOT NULL, distro VARCHAR(128) NOT NULL, kernel_version VARCHAR(128) NOT NULL,
      config TEXT NOT NULL, status VARCHAR(16) NOT NULL, created_at BIGINT NOT NULL${u(CONSTRAINT_NAMES.machine, "machine_id")}${u(CONSTRAINT_NAMES.ip, "project_id, ipv4")}
      ${constraints ? "" : ", INDEX ix_machines_machine_id (machine_id)"}, INDEX ix_machines_project_ip (project_id, ip_num)) ${table}`,
    `CREATE TABLE IF NOT EXISTS ip_pools (project_id VARCHAR(64) PRIMARY KEY, next_ip BIGINT NOT NULL) ${table}`,
    `CREATE TABLE IF NOT EXISTS fences (resource VARCHAR(200) PRIMARY KEY, token BIGINT NOT NULL) ${table}`,
  ];
}

const ISOLATION_SQL: Readonly<Record<Isolation, string>> = Object.freeze({
  "read-committed": "READ COMMITTED",
  "repeatable-read": "REPEATABLE READ",
  serializable: "SERIALIZABLE",
});

/** Rethrows a database error as the core's typed errors: a unique violation, a transaction conflict, or a store failure. */
function translate(error: unknown, what: string): never {
  if (error instanceof RegbenchError) throw error;
  const e = error as { errno?: number; sqlMessage?: string; message?: string };
  if (e?.errno === 1062) {
    const constraint = constraintNamed(/for key '([^']+)'/.exec(e.sqlMessage ?? "")?.[1]);
    if (constraint) throw new UniqueViolationError(constraint, error);
  }
  if (e?.errno === 1213) throw new TransactionConflictError("deadlock", error);
  if (e?.errno === 1205) throw new TransactionConflictError("lock-wait-timeout", error);
  throw new StoreError(`mysql ${what} failed: ${e?.sqlMessage ?? e?.message ?? String(error)}`, error);
}

/**
 * Whether an error means the connection it came from is gone or unusable: mysql2 marks a lost socket `fatal`; the
 * server says ER_CONNECTION_KILLED (1927, KILL CONNECTION), ER_SERVER_SHUTDOWN (1053) or CR_SERVER_LOST (2013);
 * an error with no errno at all is not the database's answer. A translated error (a unique violation, a deadlock) is
 * judged by its cause and keeps its connection; one of regbench's own (a stale fence) is no loss.
 */
function connectionLost(error: unknown): boolean {
  const cause = error instanceof RegbenchError ? error.cause : error;
  if (cause === undefined) return false;
  const e = cause as { errno?: unknown; fatal?: unknown };
  if (e?.fatal === true) return true;
  return typeof e?.errno !== "number" || e.errno === 1927 || e.errno === 1053 || e.errno === 2013;
}

/** Escapes LIKE's wildcards, so that a run prefix matches itself only. */
const likePrefix = (text: string) => `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

type Row = Record<string, unknown>;

/**
 * A MySQL store through mysql2's promise pool (tested on MariaDB 10.11; see the README for MySQL 8): one database per
 * run's strategy. The counter of the atomic strategy moves with `LAST_INSERT_ID(expr)`, which both MySQL and MariaDB
 * return in the statement's own answer; writes carrying a fencing token check it in the same transaction. The
 * default isolation is InnoDB's (REPEATABLE READ: the seed's reality) unless `--isolation` says.
 */
export class MysqlStore implements Store {
  readonly claimConcurrency = 1;

  /** `bound`: the connection of the transaction this store is a view of; calls run on it, inside it. */
  private constructor(
    readonly location: string,
    readonly constraints: boolean,
    private readonly pool: mysql.Pool,
    private readonly waits: PoolStats,
    private readonly bound?: mysql.PoolConnection,
  ) {}

  static async open(location: ServerLocation, settings: StoreSettings): Promise<MysqlStore> {
    let admin: mysql.Connection;
    try {
      admin = await loadMysql().createConnection({ uri: location.url, connectTimeout: CONNECT_TIMEOUT_MS, charset: "UTF8MB4_BIN" });
    } catch (error) {
      throw new StoreError(await mysqlProblem(location.url, error), error);
    }
    const lock = `regbench:${location.schema}`;
    try {
      await admin.query("SELECT GET_LOCK(?, 30)", [lock]);
      await admin.query(`CREATE DATABASE IF NOT EXISTS \`${location.schema}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      await admin.query(`USE \`${location.schema}\``);
      const [present] = (await admin.query("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = 'meta'", [
        location.schema,
      ])) as [Row[], unknown];
      if (Number(present[0]!.n) > 0) {
        const [rows] = (await admin.query("SELECT name, value FROM meta")) as [Row[], unknown];
        const values = new Map(rows.map((r) => [String(r.name), String(r.value)]));
        checkMeta(values, `database ${location.schema}`, settings.constraints);
      } else {
        for (const statement of schemaSql(settings.constraints)) await admin.query(statement);
        await admin.query("INSERT INTO meta (name, value) VALUES ('schema_version', ?), ('constraints', ?)", [
          SERVER_SCHEMA_VERSION,
          settings.constraints ? "1" : "0",
        ]);
      }
    } catch (error) {
      if (error instanceof StoreError) throw error;
      translate(error, "schema setup");
    } finally {
      await admin.query("SELECT RELEASE_LOCK(?)", [lock]).catch(() => undefined);
      await admin.end().catch(() => undefined);
    }
    const pool = loadMysql().createPool({
      uri: withoutDatabase(location.url),
      database: location.schema,
      connectionLimit: settings.pool,
      waitForConnections: true,
      queueLimit: 0,
      connectTimeout: 10_000,
      charset: "UTF8MB4_BIN",
      supportBigNumbers: true,
      // affectedRows counts rows changed, not rows found: an insert that met its duplicate (a no-op update) is 0.
      flags: ["-FOUND_ROWS"],
    });
    const waits = new PoolStats(settings.pool);
    pool.pool.on("connection", (connection) => {
      waits.connectionOpened();
      // mysql2 listens once per connection; a second 'error' must not end the process.
      connection.on("error", () => {});
    });
    if (settings.isolation) {
      const level = ISOLATION_SQL[settings.isolation];
      pool.pool.on("connection", (connection) => connection.query(`SET SESSION TRANSACTION ISOLATION LEVEL ${level}`));
    }
    return new MysqlStore(`${safeUrl(location.url)} · database ${location.schema}`, settings.constraints, pool, waits);
  }

  /** A pooled connection, the time waited for it counted. */
  private async connection(): Promise<mysql.PoolConnection> {
    const started = performance.now();
    const inner = this.pool.pool as unknown as { _freeConnections?: { length: number }; _allConnections?: { length: number } };
    const busy = (inner._freeConnections?.length ?? 1) === 0 && (inner._allConnections?.length ?? 0) >= this.waits.size;
    try {
      return await this.pool.getConnection();
    } catch (error) {
      throw new StoreError(`cannot get a MySQL connection: ${(error as Error).message}`, error);
    } finally {
      this.waits.record(performance.now() - started, busy);
    }
  }

  /**
   * `fn` on a pooled connection (the bound one in a transaction's view). A connection that broke under it is
   * destroyed, so that the pool opens another; one that met a conflict goes back to the pool: it is healthy.
   */
  private async run<T>(what: string, fn: (c: mysql.PoolConnection, lose: () => void) => Promise<T>): Promise<T> {
    if (this.bound) {
      try {
        return await fn(this.bound, () => {});
      } catch (error) {
        translate(error, what);
      }
    }
    const c = await this.connection();
    let lost = false;
    const lose = () => {
      lost = true;
    };
    try {
      return await fn(c, lose);
    } catch (error) {
      if (connectionLost(error)) lost = true;
      return translate(error, what);
    } finally {
      if (lost) {
        this.waits.connectionLost();
        c.destroy();
      } else c.release();
    }
  }

  private rows(what: string, sql: string, values: unknown[]): Promise<Row[]> {
    return this.run(what, async (c) => (await c.execute(sql, values as never))[0] as Row[]);
  }

  /** `fn` in one transaction (the bound one, if this is a transaction's view); a failure rolls it back. */
  private inTransaction<T>(what: string, fn: (c: mysql.PoolConnection) => Promise<T>): Promise<T> {
    if (this.bound) return this.run(what, fn);
    return this.run(what, async (c, lose) => {
      await c.beginTransaction();
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
  }

  /** Runs `fn` with a view of this store whose every call is part of one transaction, committed if `fn` resolves. */
  async transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.bound) return fn(this);
    return this.inTransaction("transaction", (c) => fn(new MysqlStore(this.location, this.constraints, this.pool, this.waits, c)));
  }

  /** Inside a transaction: accepts the token (its row locked until commit) unless a newer one was accepted. */
  private async fence(c: mysql.PoolConnection, fence: Fence): Promise<void> {
    await c.execute("INSERT INTO fences (resource, token) VALUES (?, ?) ON DUPLICATE KEY UPDATE token = IF(token <= VALUES(token), VALUES(token), token)", [
      fence.resource,
      fence.token,
    ]);
    const [rows] = (await c.execute("SELECT token FROM fences WHERE resource = ?", [fence.resource])) as [Row[], unknown];
    const newest = Number(rows[0]!.token);
    if (newest !== fence.token) throw new StaleFenceError(fence.resource, fence.token, newest);
  }

  private async write(what: string, sql: string, values: unknown[], fence: Fence | undefined): Promise<void> {
    if (!fence) {
      await this.run(what, (c) => c.execute(sql, values as never));
      return;
    }
    await this.inTransaction(what, async (c) => {
      await this.fence(c, fence);
      await c.execute(sql, values as never);
    });
  }

  async createProject(p: NewProject): Promise<void> {
    await this.write(
      "createProject",
      "INSERT INTO projects (id, name, cidr, key_sha256, relay_nodes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      [p.id, p.name, p.cidr, p.keyDigest, JSON.stringify(p.relayNodes), Date.now()],
      undefined,
    );
  }

  async getProject(id: string): Promise<Project | undefined> {
    const [row] = await this.rows("getProject", "SELECT id, name, cidr, key_sha256, relay_nodes FROM projects WHERE id = ?", [id]);
    return row && toProject(row as unknown as ProjectColumns);
  }

  async updateProjectKey(id: string, keyDigest: Buffer): Promise<void> {
    await this.write("updateProjectKey", "UPDATE projects SET key_sha256 = ? WHERE id = ?", [keyDigest, id], undefined);
  }

  async hasSystem(projectId: string, systemUuid: string): Promise<boolean> {
    return (
      (await this.rows("hasSystem", "SELECT 1 AS present FROM systems WHERE project_id = ? AND system_uuid = ? LIMIT 1", [projectId, systemUuid])).length > 0
    );
  }

  async insertSystem(system: NewSystem, fence?: Fence): Promise<void> {
    await this.write(
      "insertSystem",
      "INSERT INTO systems (project_id, system_uuid, system_name, created_at) VALUES (?, ?, ?, ?)",
      [system.projectId, system.systemUuid, system.systemName, Date.now()],
      fence,
    );
  }

  async insertSystemIfAbsent(system: NewSystem): Promise<boolean> {
    this.requireConstraints("insertSystemIfAbsent");
    // A no-op update on a duplicate: affectedRows is 1 for an insert, 0 when the row was there.
    const result = await this.run(
      "insertSystemIfAbsent",
      async (c) =>
        (
          await c.execute("INSERT INTO systems (project_id, system_uuid, system_name, created_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id", [
            system.projectId,
            system.systemUuid,
            system.systemName,
            Date.now(),
          ])
        )[0] as mysql.ResultSetHeader,
    );
    return result.affectedRows === 1;
  }

  async findMachine(machineId: string): Promise<MachineRecord | undefined> {
    const [row] = await this.rows(
      "findMachine",
      "SELECT machine_id, project_id, system_uuid, ipv4, config FROM machines WHERE machine_id = ? ORDER BY id LIMIT 1",
      [machineId],
    );
    return row && toRecord(row as unknown as MachineColumns);
  }

  async nextFreeIp(projectId: string, firstHost: number, lastHost: number): Promise<number | undefined> {
    const [row] = await this.rows("nextFreeIp", "SELECT MAX(ip_num) AS max, MAX(ip_num = ?) AS first_used FROM machines WHERE project_id = ?", [
      firstHost,
      projectId,
    ]);
    const max = row?.max === null || row?.max === undefined ? null : Number(row.max);
    if (max === null || max < firstHost) return firstHost;
    if (max < lastHost) return max + 1;
    if (Number(row!.first_used) !== 1) return firstHost;
    const [gap] = await this.rows(
      "nextFreeIp",
      `SELECT a.ip_num + 1 AS gap FROM machines a
       WHERE a.project_id = ? AND a.ip_num >= ? AND a.ip_num < ?
         AND NOT EXISTS (SELECT 1 FROM machines b WHERE b.project_id = a.project_id AND b.ip_num = a.ip_num + 1)
       ORDER BY a.ip_num LIMIT 1`,
      [projectId, firstHost, lastHost],
    );
    return gap ? Number(gap.gap) : undefined;
  }

  async insertMachine(m: NewMachine, fence?: Fence): Promise<void> {
    await this.write(
      "insertMachine",
      `INSERT INTO machines (machine_id, project_id, system_uuid, ipv4, ip_num, peer_id, hostname, arch, distro, kernel_version, config, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'online', ?)`,
      [m.machineId, m.projectId, m.systemUuid, m.ipv4, m.ipNum, m.peerId, m.hostname, m.arch, m.distro, m.kernelVersion, m.config, Date.now()],
      fence,
    );
  }

  async advanceFence(fence: Fence): Promise<void> {
    await this.inTransaction("advanceFence", (c) => this.fence(c, fence));
  }

  async claimMachines(claims: readonly Claim[]): Promise<ClaimResult[]> {
    this.requireConstraints("claimMachines");
    return retryAborted(
      () =>
        this.inTransaction("claimMachines", (c) =>
          claimBatch(claims, {
            existing: async (ids) => {
              const [rows] = (await c.query("SELECT machine_id, project_id, system_uuid, ipv4, config FROM machines WHERE machine_id IN (?) ORDER BY id", [
                ids,
              ])) as [Row[], unknown];
              const found = new Map<string, MachineRecord>();
              for (const row of rows) if (!found.has(String(row.machine_id))) found.set(String(row.machine_id), toRecord(row as unknown as MachineColumns));
              return found;
            },
            // The one atomic statement: LAST_INSERT_ID(expr) hands back the counter's new value in the answer to the
            // statement itself (MySQL 8 has no RETURNING, MariaDB none on UPDATE); the row stays locked until commit.
            reserve: async (projectId, firstHost, count) => {
              const [result] = (await c.execute(
                "INSERT INTO ip_pools (project_id, next_ip) VALUES (?, LAST_INSERT_ID(? + ?)) ON DUPLICATE KEY UPDATE next_ip = LAST_INSERT_ID(next_ip + ?)",
                [projectId, firstHost, count, count],
              )) as [mysql.ResultSetHeader, unknown];
              return Number(result.insertId) - count;
            },
            // A duplicate is skipped by a no-op update; which rows went in is read back by the caller.
            insert: async (machines) => {
              const now = Date.now();
              await c.query(
                `INSERT INTO machines (machine_id, project_id, system_uuid, ipv4, ip_num, peer_id, hostname, arch, distro, kernel_version, config, status, created_at)
                 VALUES ? ON DUPLICATE KEY UPDATE id = id`,
                [
                  machines.map((m) => [
                    m.machineId,
                    m.projectId,
                    m.systemUuid,
                    m.ipv4,
                    m.ipNum,
                    m.peerId,
                    m.hostname,
                    m.arch,
                    m.distro,
                    m.kernelVersion,
                    m.config,
                    "online",
                    now,
                  ]),
                ],
              );
              return undefined;
            },
          }),
        ),
      !this.bound,
    );
  }

  async auditRows(run: string): Promise<AuditRows> {
    const pattern = likePrefix(`${run}-`);
    const systems = await this.rows(
      "auditRows",
      "SELECT project_id AS projectId, system_uuid AS systemUuid FROM systems WHERE system_uuid LIKE ? ORDER BY id",
      [pattern],
    );
    const machines = await this.rows(
      "auditRows",
      "SELECT machine_id AS machineId, project_id AS projectId, ipv4 FROM machines WHERE machine_id LIKE ? ORDER BY id",
      [pattern],
    );
    return { systems: systems as unknown as AuditRows["systems"], machines: machines as unknown as AuditRows["machines"] };
  }

  async auditPage<T extends AuditTable>(run: string, table: T, after: number, limit: number): Promise<AuditPage<AuditTableRow[T]>> {
    const rows = await this.rows("auditRows", auditPageSql("mysql", table, limit), [likePrefix(`${run}-`), after]);
    return toAuditPage(table, rows as unknown as Record<string, unknown>[], after);
  }

  stats(): Readonly<Record<string, unknown>> {
    return this.waits.summary();
  }

  async close(): Promise<void> {
    if (!this.bound) await this.pool.end().catch(() => undefined);
  }

  private requireConstraints(what: string): void {
    if (!this.constraints) throw new StoreError(`${what} needs a store created with unique constraints`);
  }
}

/** The URL without its database: a run's store lives in a database of its own on the same server. */
function withoutDatabase(url: string): string {
  const u = new URL(url);
  u.pathname = "/";
  return u.toString();
}

/** Said wherever a MySQL does not answer. */
export const MYSQL_HINT =
  "Start one (Debian: apt-get install mariadb-server, then start-stop-daemon --start --background --exec /usr/sbin/mariadbd; or docker run -e MYSQL_ALLOW_EMPTY_PASSWORD=1 -p 3306:3306 mysql:8), or pass another --store";

/**
 * Why connecting failed, in one sentence: the server's own message when MySQL answered (with a hint for a refused
 * login or a missing database), "does not speak MySQL" when another service answers there, else unreachable with
 * how to start one.
 */
async function mysqlProblem(url: string, error: unknown): Promise<string> {
  const e = error as { code?: string; sqlMessage?: string; message?: string };
  const shown = safeUrl(url);
  if (e.sqlMessage !== undefined) {
    let hint = "";
    if (e.code === "ER_ACCESS_DENIED_ERROR" || e.code === "ER_DBACCESS_DENIED_ERROR" || e.code === "ER_HOST_NOT_PRIVILEGED")
      hint = " Check the user and password in the URL (mysql://USER:PASSWORD@HOST:PORT/DB) and that this user may connect from here.";
    else if (e.code === "ER_BAD_DB_ERROR") {
      const db = decodeURIComponent(new URL(url).pathname.slice(1));
      hint = ` Create it (CREATE DATABASE \`${db}\`) or name an existing database in the URL.`;
    } else if (e.code === "ER_CON_COUNT_ERROR") hint = " The server is at max_connections: lower --pool, or retry when it has room.";
    return `MySQL at ${shown} refused the connection: ${e.sqlMessage} (${e.code}).${hint}`;
  }
  const reason = e.code ?? e.message ?? String(error);
  if (!unreachableCode(e.code)) {
    // A MySQL server speaks first: a handshake packet (protocol 10) or an error packet (0xff).
    const answer = await firstBytes(url, 3306);
    if (answer !== undefined && !(answer.length > 4 && (answer[4] === 10 || answer[4] === 0xff))) return `${notSpeaking(shown, "MySQL")} (${reason})`;
    if (answer !== undefined) return `MySQL at ${shown} accepted the connection but did not complete it (${reason})`;
  }
  return `cannot reach MySQL at ${shown} (${reason}): ${MYSQL_HINT}`;
}

const locationOf = (location: StoreLocation) => location as ServerLocation;
const specOf = (spec: Parameters<StoreKind["describe"]>[0]) => spec as ServerSpec;

/** `--store mysql://…`: a database per strategy of a run, `regbench` (or `?schema=`) for serve. */
export const mysqlKind: StoreKind = {
  name: "mysql",
  forms: ["mysql://USER@HOST:PORT/DATABASE (?schema=NAME for serve)"],
  server: true,
  parse: (text) => (text.startsWith("mysql://") ? parseServerSpec("mysql", text) : undefined),
  describe: (spec) => safeUrl(specOf(spec).url),
  shareable: () => true,
  async probe(spec, timeoutMs) {
    try {
      // With the URL's database: a database that does not exist is refused here, before anything runs.
      const c = await loadMysql().createConnection({ uri: specOf(spec).url, connectTimeout: timeoutMs });
      await c.query("SELECT 1");
      await c.end();
      return undefined;
    } catch (error) {
      return mysqlProblem(specOf(spec).url, error);
    }
  },
  placeForRun: (spec, site) => ({ location: { kind: "mysql", url: specOf(spec).url, schema: runNamespace(site.prefix) }, temporary: !site.keep }),
  placeForServe: (spec) => ({ location: { kind: "mysql", url: specOf(spec).url, schema: specOf(spec).schema ?? SERVE_NAMESPACE }, temporary: false }),
  open: (location, settings) => MysqlStore.open(locationOf(location), settings),
  async remove(location) {
    const c = await loadMysql().createConnection({ uri: locationOf(location).url, connectTimeout: CONNECT_TIMEOUT_MS });
    try {
      await c.query(`DROP DATABASE IF EXISTS \`${locationOf(location).schema}\``);
    } finally {
      await c.end().catch(() => undefined);
    }
  },
  describeLocation: (location) => `${safeUrl(locationOf(location).url)} · database ${locationOf(location).schema}`,
  async killConnections(location) {
    const c = await loadMysql().createConnection({ uri: withoutDatabase(locationOf(location).url), connectTimeout: CONNECT_TIMEOUT_MS });
    try {
      // The namespace's sessions are the ones whose default database is its database; this one has none.
      const [rows] = (await c.query("SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", [
        locationOf(location).schema,
      ])) as [Row[], unknown];
      let ended = 0;
      for (const row of rows) {
        // A session that ended meanwhile is no error: ER_NO_SUCH_THREAD (1094).
        await c.query(`KILL CONNECTION ${Number(row.id)}`).then(
          () => ended++,
          (error: { errno?: number }) => {
            if (error.errno !== 1094) throw error;
          },
        );
      }
      return ended;
    } finally {
      await c.end().catch(() => undefined);
    }
  },
};
