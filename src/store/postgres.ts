import { createRequire } from "node:module";
import type pg from "pg";
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
const loadPg = () => require("pg") as typeof pg;

/** How long connecting may take before the store counts as unreachable. */
const CONNECT_TIMEOUT_MS = 3000;

/** The documented schema, in one namespace. With constraints the three UNIQUE clauses are named; without, plain indexes. */
function schemaSql(schema: string, constraints: boolean): string {
  const u = (name: string, columns: string) => (constraints ? `,\n  CONSTRAINT ${name} UNIQUE (${columns})` : "");
  return `
CREATE TABLE IF NOT EXISTS ${schema}.meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS ${schema}.projects (
  id text PRIMARY KEY, name text NOT NULL, cidr text NOT NULL, key_sha256 bytea NOT NULL, relay_nodes text NOT NULL, created_at bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS ${schema}.systems (
  id bigserial PRIMARY KEY, project_id text NOT NULL, system_uuid text NOT NULL, system_name text NOT NULL, created_at bigint NOT NULL${u(CONSTRAINT_NAMES.system, "project_id, system_uuid")}
);
CREATE TABLE IF NOT EXISTS ${schema}.machines (
  id bigserial PRIMARY KEY, machine_id text NOT NULL, project_id text NOT NULL, system_uuid text NOT NULL, ipv4 text NOT NULL,
  ip_num bigint NOT NULL, peer_id text NOT NULL, hostname text NOT NULL, arch text NOT NULL, distro text NOT NULL,
  kernel_version text NOT NULL, config text NOT NULL, status text NOT NULL, created_at bigint NOT NULL${u(CONSTRAINT_NAMES.machine, "machine_id")}${u(CONSTRAINT_NAMES.ip, "project_id, ipv4")}
);
CREATE TABLE IF NOT EXISTS ${schema}.ip_pools (project_id text PRIMARY KEY, next_ip bigint NOT NULL);
CREATE TABLE IF NOT EXISTS ${schema}.fences (resource text PRIMARY KEY, token bigint NOT NULL);
${constraints ? "" : `CREATE INDEX IF NOT EXISTS ix_systems_project_uuid ON ${schema}.systems (project_id, system_uuid);\nCREATE INDEX IF NOT EXISTS ix_machines_machine_id ON ${schema}.machines (machine_id);\n`}CREATE INDEX IF NOT EXISTS ix_machines_project_ip ON ${schema}.machines (project_id, ip_num);
`;
}

const ISOLATION_SQL: Readonly<Record<Isolation, string>> = Object.freeze({
  "read-committed": "read\\ committed",
  "repeatable-read": "repeatable\\ read",
  serializable: "serializable",
});

/** Rethrows a database error as the core's typed errors: a unique violation, a transaction conflict, or a store failure. */
function translate(error: unknown, what: string): never {
  if (error instanceof RegbenchError) throw error;
  const e = error as { code?: string; constraint?: string; message?: string };
  if (e?.code === "23505") {
    const constraint = constraintNamed(e.constraint);
    if (constraint) throw new UniqueViolationError(constraint, error);
  }
  if (e?.code === "40P01") throw new TransactionConflictError("deadlock", error);
  if (e?.code === "40001") throw new TransactionConflictError("serialization", error);
  if (e?.code === "55P03") throw new TransactionConflictError("lock-wait-timeout", error);
  throw new StoreError(`postgres ${what} failed: ${e?.message ?? String(error)}`, error);
}

/**
 * Whether an error means the connection it came from is gone or unusable: the server ended the session (SQLSTATE
 * class 57P: pg_terminate_backend, a shutdown or failover; 25P03: the idle-in-transaction timeout), a connection
 * exception (class 08), or an error with no SQLSTATE at all (the socket closed, "Connection terminated
 * unexpectedly"). A translated error is judged by its cause; one of regbench's own (a stale fence) is no loss.
 */
function connectionLost(error: unknown): boolean {
  const cause = error instanceof RegbenchError ? error.cause : error;
  if (cause === undefined) return false;
  const code = (cause as { code?: unknown })?.code;
  if (typeof code !== "string") return true;
  return code.startsWith("08") || code.startsWith("57P") || code === "25P03";
}

/** The pool and its counters, shared by a store and the transaction views made from it. */
interface PgDatabase {
  readonly pool: pg.Pool;
  readonly waits: PoolStats;
}

/**
 * A PostgreSQL store through node-postgres and its pool: every store call is one or a few statements on a pooled
 * connection, in the schema of the run (or of `serve`). Writes carrying a fencing token check it in the same
 * transaction as the write; `transaction` runs several calls in one transaction on one connection. The default
 * isolation is the database's (READ COMMITTED) unless `--isolation` says.
 */
export class PostgresStore implements Store {
  readonly claimConcurrency = 1;

  /** `bound`: the connection of the transaction this store is a view of; calls run on it, inside it. */
  private constructor(
    readonly location: string,
    readonly constraints: boolean,
    private readonly db: PgDatabase,
    private readonly bound?: pg.PoolClient,
  ) {}

  /** Connects, creates the schema and its tables if absent (under an advisory lock: several servers may start at once). */
  static async open(location: ServerLocation, settings: StoreSettings): Promise<PostgresStore> {
    const client = new (loadPg().Client)({ connectionString: location.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on("error", () => {});
    try {
      await client.connect();
    } catch (error) {
      throw new StoreError(await postgresProblem(location.url, error), error);
    }
    try {
      await client.query("SELECT pg_advisory_lock(hashtext($1))", [`regbench:${location.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${location.schema}`);
      const existing = await client.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [`${location.schema}.meta`]);
      if (existing.rows[0]!.present) {
        const rows = (await client.query<{ name: string; value: string }>(`SELECT name, value FROM ${location.schema}.meta`)).rows;
        const values = new Map(rows.map((r) => [r.name, r.value]));
        checkMeta(values, `schema ${location.schema}`, settings.constraints);
      } else {
        await client.query(schemaSql(location.schema, settings.constraints));
        await client.query(`INSERT INTO ${location.schema}.meta (name, value) VALUES ('schema_version', $1), ('constraints', $2)`, [
          SERVER_SCHEMA_VERSION,
          settings.constraints ? "1" : "0",
        ]);
      }
    } catch (error) {
      if (error instanceof StoreError) throw error;
      translate(error, "schema setup");
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [`regbench:${location.schema}`]).catch(() => undefined);
      await client.end().catch(() => undefined);
    }
    const options = [
      `-c search_path=${location.schema}`,
      ...(settings.isolation ? [`-c default_transaction_isolation=${ISOLATION_SQL[settings.isolation]}`] : []),
    ].join(" ");
    const pool = new (loadPg().Pool)({
      connectionString: location.url,
      max: settings.pool,
      options,
      // Names the run's (or serve's) sessions in pg_stat_activity: an operator, and kill-connections:store, find
      // this namespace's connections and no one else's.
      application_name: applicationName(location.schema),
      connectionTimeoutMillis: 30_000,
      idleTimeoutMillis: 30_000,
    });
    const waits = new PoolStats(settings.pool);
    pool.on("connect", (client) => {
      waits.connectionOpened();
      // A last resort under the listeners of withClient (checked out) and pg-pool (idle): an 'error' that finds
      // neither, in the instant a client changes hands, must not end the process. The client is then no longer
      // queryable, and its next query fails as a lost connection.
      client.on("error", () => {});
    });
    // An idle client that loses its connection must not take the process down; the next query reports it.
    pool.on("error", () => {});
    return new PostgresStore(`${safeUrl(location.url)} · schema ${location.schema}`, settings.constraints, { pool, waits });
  }

  /** A pooled connection, the time waited for it counted. */
  private async client(): Promise<pg.PoolClient> {
    const { pool, waits } = this.db;
    const started = performance.now();
    const busy = pool.idleCount === 0 && pool.totalCount >= waits.size;
    try {
      return await pool.connect();
    } catch (error) {
      throw new StoreError(`cannot get a PostgreSQL connection: ${(error as Error).message}`, error);
    } finally {
      waits.record(performance.now() - started, busy);
    }
  }

  /**
   * `fn` on a pooled connection. A connection the server ends while it is checked out (pg_terminate_backend, a
   * failover, the idle-in-transaction timeout) emits 'error' on its client, which pg-pool listens to only while the
   * client is idle: without a listener here the process would die. The call that was using it fails instead (a
   * `store` error), and the client goes back to the pool as broken, so that the pool closes it and opens another.
   */
  private async withClient<T>(fn: (client: pg.PoolClient, lose: (error: Error) => void) => Promise<T>): Promise<T> {
    const client = await this.client();
    let lost: Error | undefined;
    const lose = (error: Error) => {
      lost ??= error;
    };
    client.on("error", lose);
    try {
      return await fn(client, lose);
    } catch (error) {
      if (connectionLost(error)) lose(error as Error);
      throw error;
    } finally {
      client.removeListener("error", lose);
      if (lost) this.db.waits.connectionLost();
      client.release(lost);
    }
  }

  private async query<R extends pg.QueryResultRow>(what: string, text: string, values: unknown[], name?: string): Promise<pg.QueryResult<R>> {
    const config = name ? { name, text, values } : { text, values };
    try {
      return await (this.bound ? this.bound.query<R>(config) : this.withClient((client) => client.query<R>(config)));
    } catch (error) {
      translate(error, what);
    }
  }

  /** `fn` in one transaction (the bound one, if this is a transaction's view); a failure rolls it back. */
  private async inTransaction<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.bound) {
      try {
        return await fn(this.bound);
      } catch (error) {
        translate(error, what);
      }
    }
    try {
      return await this.withClient(async (client, lose) => {
        await client.query("BEGIN");
        try {
          const result = await fn(client);
          await client.query("COMMIT");
          return result;
        } catch (error) {
          // A connection that cannot even roll back is not handed to the next registration.
          await client.query("ROLLBACK").catch(lose);
          throw error;
        }
      });
    } catch (error) {
      translate(error, what);
    }
  }

  /** Runs `fn` with a view of this store whose every call is part of one transaction, committed if `fn` resolves. */
  async transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.bound) return fn(this);
    return this.inTransaction("transaction", (client) => fn(new PostgresStore(this.location, this.constraints, this.db, client)));
  }

  /** Inside a transaction: accepts the token (and locks its row until commit) unless a newer one was accepted. */
  private async fence(client: pg.PoolClient, fence: Fence): Promise<void> {
    const accepted = await client.query({
      name: "fence",
      text: "INSERT INTO fences (resource, token) VALUES ($1, $2) ON CONFLICT (resource) DO UPDATE SET token = EXCLUDED.token WHERE fences.token <= EXCLUDED.token RETURNING token",
      values: [fence.resource, fence.token],
    });
    if (accepted.rowCount === 0) {
      const newest = await client.query<{ token: string }>("SELECT token FROM fences WHERE resource = $1", [fence.resource]);
      throw new StaleFenceError(fence.resource, fence.token, Number(newest.rows[0]?.token));
    }
  }

  private async write(what: string, text: string, values: unknown[], fence: Fence | undefined, name: string): Promise<void> {
    if (!fence) {
      await this.query(what, text, values, name);
      return;
    }
    await this.inTransaction(what, async (client) => {
      await this.fence(client, fence);
      await client.query({ name, text, values });
    });
  }

  async createProject(p: NewProject): Promise<void> {
    await this.query("createProject", "INSERT INTO projects (id, name, cidr, key_sha256, relay_nodes, created_at) VALUES ($1, $2, $3, $4, $5, $6)", [
      p.id,
      p.name,
      p.cidr,
      p.keyDigest,
      JSON.stringify(p.relayNodes),
      Date.now(),
    ]);
  }

  async getProject(id: string): Promise<Project | undefined> {
    const { rows } = await this.query<ProjectColumns>(
      "getProject",
      "SELECT id, name, cidr, key_sha256, relay_nodes FROM projects WHERE id = $1",
      [id],
      "getProject",
    );
    const row = rows[0];
    return row && toProject(row);
  }

  async updateProjectKey(id: string, keyDigest: Buffer): Promise<void> {
    await this.query("updateProjectKey", "UPDATE projects SET key_sha256 = $1 WHERE id = $2", [keyDigest, id]);
  }

  async hasSystem(projectId: string, systemUuid: string): Promise<boolean> {
    const { rowCount } = await this.query(
      "hasSystem",
      "SELECT 1 FROM systems WHERE project_id = $1 AND system_uuid = $2 LIMIT 1",
      [projectId, systemUuid],
      "hasSystem",
    );
    return (rowCount ?? 0) > 0;
  }

  async insertSystem(system: NewSystem, fence?: Fence): Promise<void> {
    await this.write(
      "insertSystem",
      "INSERT INTO systems (project_id, system_uuid, system_name, created_at) VALUES ($1, $2, $3, $4)",
      [system.projectId, system.systemUuid, system.systemName, Date.now()],
      fence,
      "insertSystem",
    );
  }

  async insertSystemIfAbsent(system: NewSystem): Promise<boolean> {
    this.requireConstraints("insertSystemIfAbsent");
    const { rowCount } = await this.query(
      "insertSystemIfAbsent",
      "INSERT INTO systems (project_id, system_uuid, system_name, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      [system.projectId, system.systemUuid, system.systemName, Date.now()],
      "insertSystemIfAbsent",
    );
    return rowCount === 1;
  }

  async findMachine(machineId: string): Promise<MachineRecord | undefined> {
    const { rows } = await this.query<MachineColumns>(
      "findMachine",
      "SELECT machine_id, project_id, system_uuid, ipv4, config FROM machines WHERE machine_id = $1 ORDER BY id LIMIT 1",
      [machineId],
      "findMachine",
    );
    return rows[0] && toRecord(rows[0]);
  }

  async nextFreeIp(projectId: string, firstHost: number, lastHost: number): Promise<number | undefined> {
    // The seed's read: the address after the highest in use; the lowest gap only once the pool's end is reached.
    const { rows } = await this.query<{ max: string | null; first_used: boolean }>(
      "nextFreeIp",
      "SELECT MAX(ip_num) AS max, bool_or(ip_num = $2) AS first_used FROM machines WHERE project_id = $1",
      [projectId, firstHost],
      "nextFreeIp",
    );
    const max = rows[0]?.max === null || rows[0]?.max === undefined ? null : Number(rows[0].max);
    if (max === null || max < firstHost) return firstHost;
    if (max < lastHost) return max + 1;
    if (!rows[0]!.first_used) return firstHost;
    const gap = await this.query<{ gap: string }>(
      "nextFreeIp",
      `SELECT a.ip_num + 1 AS gap FROM machines a
       WHERE a.project_id = $1 AND a.ip_num >= $2 AND a.ip_num < $3
         AND NOT EXISTS (SELECT 1 FROM machines b WHERE b.project_id = a.project_id AND b.ip_num = a.ip_num + 1)
       ORDER BY a.ip_num LIMIT 1`,
      [projectId, firstHost, lastHost],
    );
    return gap.rows[0] ? Number(gap.rows[0].gap) : undefined;
  }

  async insertMachine(m: NewMachine, fence?: Fence): Promise<void> {
    await this.write(
      "insertMachine",
      `INSERT INTO machines (machine_id, project_id, system_uuid, ipv4, ip_num, peer_id, hostname, arch, distro, kernel_version, config, status, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'online', $12)`,
      [m.machineId, m.projectId, m.systemUuid, m.ipv4, m.ipNum, m.peerId, m.hostname, m.arch, m.distro, m.kernelVersion, m.config, Date.now()],
      fence,
      "insertMachine",
    );
  }

  async advanceFence(fence: Fence): Promise<void> {
    await this.inTransaction("advanceFence", (client) => this.fence(client, fence));
  }

  async claimMachines(claims: readonly Claim[]): Promise<ClaimResult[]> {
    this.requireConstraints("claimMachines");
    return retryAborted(
      () =>
        this.inTransaction("claimMachines", (client) =>
          claimBatch(claims, {
            existing: async (ids) => {
              const { rows } = await client.query<MachineColumns>({
                name: "claimExisting",
                text: "SELECT machine_id, project_id, system_uuid, ipv4, config FROM machines WHERE machine_id = ANY($1::text[]) ORDER BY id",
                values: [ids],
              });
              const found = new Map<string, MachineRecord>();
              for (const row of rows) if (!found.has(row.machine_id)) found.set(row.machine_id, toRecord(row));
              return found;
            },
            // The one atomic statement: create the counter past the first host, or move it on; either way return
            // where it stood. Its row stays locked until commit, so batches of other processes queue behind it.
            reserve: async (projectId, firstHost, count) => {
              const { rows } = await client.query<{ start: string }>({
                name: "claimReserve",
                text: "INSERT INTO ip_pools (project_id, next_ip) VALUES ($1, $2::bigint + $3::bigint) ON CONFLICT (project_id) DO UPDATE SET next_ip = ip_pools.next_ip + $3::bigint RETURNING next_ip - $3::bigint AS start",
                values: [projectId, firstHost, count],
              });
              return Number(rows[0]!.start);
            },
            insert: async (machines) => {
              const column = <K extends keyof NewMachine>(key: K) => machines.map((m) => m[key]);
              const { rows } = await client.query<{ machine_id: string }>({
                name: "claimInsert",
                text: `INSERT INTO machines (machine_id, project_id, system_uuid, ipv4, ip_num, peer_id, hostname, arch, distro, kernel_version, config, status, created_at)
                       SELECT m, p, s, i, n, pe, h, a, d, k, c, 'online', $12
                       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
                         AS t(m, p, s, i, n, pe, h, a, d, k, c)
                       ON CONFLICT DO NOTHING RETURNING machine_id`,
                values: [
                  column("machineId"),
                  column("projectId"),
                  column("systemUuid"),
                  column("ipv4"),
                  column("ipNum"),
                  column("peerId"),
                  column("hostname"),
                  column("arch"),
                  column("distro"),
                  column("kernelVersion"),
                  column("config"),
                  Date.now(),
                ],
              });
              return new Set(rows.map((r) => r.machine_id));
            },
          }),
        ),
      !this.bound,
    );
  }

  async auditRows(run: string): Promise<AuditRows> {
    const prefix = `${run}-`;
    const systems = await this.query<{ projectId: string; systemUuid: string }>(
      "auditRows",
      `SELECT project_id AS "projectId", system_uuid AS "systemUuid" FROM systems WHERE starts_with(system_uuid, $1) ORDER BY id`,
      [prefix],
    );
    const machines = await this.query<{ machineId: string; projectId: string; ipv4: string }>(
      "auditRows",
      `SELECT machine_id AS "machineId", project_id AS "projectId", ipv4 FROM machines WHERE starts_with(machine_id, $1) ORDER BY id`,
      [prefix],
    );
    return { systems: systems.rows, machines: machines.rows };
  }

  async auditPage<T extends AuditTable>(run: string, table: T, after: number, limit: number): Promise<AuditPage<AuditTableRow[T]>> {
    const { rows } = await this.query("auditRows", auditPageSql("postgres", table, limit), [`${run}-`, after]);
    return toAuditPage(table, rows, after);
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

/** The application_name of a namespace's sessions (PostgreSQL keeps 63 bytes of it). */
export function applicationName(schema: string): string {
  return `regbench ${schema}`.slice(0, 63);
}

/** Said wherever a PostgreSQL does not answer. */
export const POSTGRES_HINT =
  "Start one (Debian: apt-get install postgresql, then pg_ctlcluster 15 main start; or docker run -e POSTGRES_HOST_AUTH_METHOD=trust -p 5432:5432 postgres:16), or pass another --store";

/** PostgreSQL's answer to an SSLRequest (RFC-less, but documented: protocol-flow.html#PROTOCOL-FLOW-SSL) is one byte. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Why connecting failed, in one sentence: the server's own message when PostgreSQL answered (with a hint for a
 * refused login or a missing database), "does not speak PostgreSQL" when another service answers there, else
 * unreachable with how to start one.
 */
async function postgresProblem(url: string, error: unknown): Promise<string> {
  const e = error as { code?: string; severity?: string; message?: string };
  const shown = safeUrl(url);
  if (e.severity !== undefined && typeof e.code === "string") {
    let hint = "";
    if (e.code === "28P01" || e.code === "28000")
      hint = " Check the user and password in the URL (postgres://USER:PASSWORD@HOST:PORT/DB) and that pg_hba.conf admits this user from here.";
    else if (e.code === "3D000") {
      const db = decodeURIComponent(new URL(url).pathname.slice(1)) || "(the user's name)";
      hint = ` Create it (createdb ${db}) or name an existing database in the URL.`;
    } else if (e.code === "53300") hint = " The server is at max_connections: lower --pool, or retry when it has room.";
    else if (e.code === "57P03") hint = " The server is starting or stopping: retry in a moment.";
    return `PostgreSQL at ${shown} refused the connection: ${e.message} (${e.code}).${hint}`;
  }
  const reason = e.code ?? e.message ?? String(error);
  if (!unreachableCode(e.code)) {
    const answer = await firstBytes(url, 5432, SSL_REQUEST);
    if (answer !== undefined && !(answer.length === 1 && (answer[0] === 0x53 || answer[0] === 0x4e))) return `${notSpeaking(shown, "PostgreSQL")} (${reason})`;
    if (answer !== undefined) return `PostgreSQL at ${shown} accepted the connection but did not complete it (${reason})`;
  }
  return `cannot reach PostgreSQL at ${shown} (${reason}): ${POSTGRES_HINT}`;
}

const locationOf = (location: StoreLocation) => location as ServerLocation;
const specOf = (spec: Parameters<StoreKind["describe"]>[0]) => spec as ServerSpec;

/** `--store postgres://…` (or `postgresql://…`): a schema per strategy of a run, `regbench` (or `?schema=`) for serve. */
export const postgresKind: StoreKind = {
  name: "postgres",
  forms: ["postgres://USER@HOST:PORT/DATABASE (postgresql:// too; ?schema=NAME for serve)"],
  server: true,
  parse(text) {
    if (!/^postgres(ql)?:\/\//.test(text)) return undefined;
    return parseServerSpec("postgres", text.replace(/^postgresql:/, "postgres:"));
  },
  describe: (spec) => safeUrl(specOf(spec).url),
  shareable: () => true,
  async probe(spec, timeoutMs) {
    const client = new (loadPg().Client)({ connectionString: specOf(spec).url, connectionTimeoutMillis: timeoutMs });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
      return undefined;
    } catch (error) {
      return postgresProblem(specOf(spec).url, error);
    } finally {
      await client.end().catch(() => undefined);
    }
  },
  placeForRun: (spec, site) => ({ location: { kind: "postgres", url: specOf(spec).url, schema: runNamespace(site.prefix) }, temporary: !site.keep }),
  placeForServe: (spec) => ({ location: { kind: "postgres", url: specOf(spec).url, schema: specOf(spec).schema ?? SERVE_NAMESPACE }, temporary: false }),
  open: (location, settings) => PostgresStore.open(locationOf(location), settings),
  async remove(location) {
    const client = new (loadPg().Client)({ connectionString: locationOf(location).url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${locationOf(location).schema} CASCADE`);
    } finally {
      await client.end().catch(() => undefined);
    }
  },
  describeLocation: (location) => `${safeUrl(locationOf(location).url)} · schema ${locationOf(location).schema}`,
  async killConnections(location) {
    const client = new (loadPg().Client)({ connectionString: locationOf(location).url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on("error", () => {});
    try {
      await client.connect();
      // The namespace's sessions carry its application_name; this session (and anyone else's) does not.
      const { rows } = await client.query<{ ended: boolean }>(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
        [applicationName(locationOf(location).schema)],
      );
      return rows.filter((r) => r.ended).length;
    } finally {
      await client.end().catch(() => undefined);
    }
  },
};
