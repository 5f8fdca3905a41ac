import { createRequire } from "node:module";
import type pg from "pg";
import type { Isolation, ServerLocation, StoreSettings } from "../kind.js";
import { firstBytes, notSpeaking, unreachableCode } from "../../net/service.js";
import type { PoolStats } from "../poolStats.js";
import { safeUrl } from "../serverSchema.js";
import type { NewMachine } from "../store.js";
import type { ColumnType } from "./ddl.js";
import type { Row, SqlAdmin, SqlConnection, SqlDialect, SqlPool, SqlResult, Statement } from "./dialect.js";
import { CONNECT_TIMEOUT_MS, SqlStore } from "./sqlStore.js";

// Loaded by the first connection made, not by every command that imports this file (start-up time).
const require = createRequire(import.meta.url);
const loadPg = () => require("pg") as typeof pg;

const ISOLATION_SQL: Readonly<Record<Isolation, string>> = Object.freeze({
  "read-committed": "read\\ committed",
  "repeatable-read": "repeatable\\ read",
  serializable: "serializable",
});

function result(r: pg.QueryResult<Row>): SqlResult {
  return { rows: r.rows, affected: r.rowCount ?? 0, insertId: undefined };
}

function send(client: pg.ClientBase, s: Statement): Promise<SqlResult> {
  const values = s.values as unknown[];
  return client.query<Row>(s.name ? { name: s.name, text: s.text, values } : { text: s.text, values }).then(result);
}

/** A checked-out node-postgres client. */
function pooled(client: pg.PoolClient): SqlConnection {
  return {
    run: (s) => send(client, s),
    begin: async () => void (await client.query("BEGIN")),
    commit: async () => void (await client.query("COMMIT")),
    rollback: async () => void (await client.query("ROLLBACK")),
    // pg-pool listens to a client's 'error' only while it is idle: a checked-out client the server ends would emit
    // 'error' with no listener and take the process down.
    watch(onError) {
      client.on("error", onError);
      return () => client.removeListener("error", onError);
    },
    release: (lost) => client.release(lost),
  };
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

/** A client of its own (setup, probe, removal), whose 'error' after a failure must not end the process. */
async function connectClient(url: string, timeoutMs: number): Promise<pg.Client> {
  const client = new (loadPg().Client)({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

function openPool(location: ServerLocation, settings: StoreSettings, waits: PoolStats): SqlPool {
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
  pool.on("connect", (client) => {
    waits.connectionOpened();
    // A last resort under the listeners of `watch` (checked out) and pg-pool (idle): an 'error' that finds neither,
    // in the instant a client changes hands, must not end the process. The client is then no longer queryable, and
    // its next query fails as a lost connection.
    client.on("error", () => {});
  });
  // An idle client that loses its connection must not take the process down; the next query reports it.
  pool.on("error", () => {});
  return {
    connect: async () => pooled(await pool.connect()),
    busy: (size) => pool.idleCount === 0 && pool.totalCount >= size,
    end: () => pool.end(),
  };
}

const COLUMN: Readonly<Record<ColumnType["kind"], string>> = Object.freeze({
  id: "bigserial PRIMARY KEY",
  string: "text",
  text: "text",
  bytes: "bytea",
  int: "bigint",
});

/** Machine rows as columns of arrays, for one `unnest` insert. */
const column = <K extends keyof NewMachine>(machines: readonly NewMachine[], key: K) => machines.map((m) => m[key]);

/**
 * PostgreSQL through node-postgres and its pool, one schema per run's strategy. The default isolation is the
 * database's (READ COMMITTED) unless `--isolation` says.
 */
export const postgresDialect: SqlDialect = {
  name: "postgres",
  aliases: ["postgresql"],
  title: "PostgreSQL",
  forms: ["postgres://USER@HOST:PORT/DATABASE (postgresql:// too; ?schema=NAME for serve)"],
  exampleUrl: "postgres://postgres@127.0.0.1:5432/test",
  defaultPort: "5432",
  namespaceWord: "schema",

  placeholders(sql) {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  },
  quote: (identifier) => `"${identifier}"`,
  startsWith: (column) => `starts_with(${column}, ?)`,
  prefixValue: (prefix) => prefix,
  anyTrue: (condition) => `bool_or(${condition})`,
  insertIgnore: "ON CONFLICT DO NOTHING",
  fenceUpsert: "ON CONFLICT (resource) DO UPDATE SET token = EXCLUDED.token WHERE fences.token <= EXCLUDED.token RETURNING token",
  fenceReturns: true,
  claims: {
    existing: (ids) => ({
      name: "claimExisting",
      text: "SELECT machine_id, project_id, system_uuid, ipv4, config FROM machines WHERE machine_id = ANY($1::text[]) ORDER BY id",
      values: [ids],
    }),
    reserve: (projectId, firstHost, count) => ({
      name: "claimReserve",
      text: "INSERT INTO ip_pools (project_id, next_ip) VALUES ($1, $2::bigint + $3::bigint) ON CONFLICT (project_id) DO UPDATE SET next_ip = ip_pools.next_ip + $3::bigint RETURNING next_ip - $3::bigint AS start",
      values: [projectId, firstHost, count],
    }),
    reserved: (r) => Number(r.rows[0]!.start),
    insert: (machines, now) => ({
      name: "claimInsert",
      text: `INSERT INTO machines (machine_id, project_id, system_uuid, ipv4, ip_num, peer_id, hostname, arch, distro, kernel_version, config, status, created_at)
             SELECT m, p, s, i, n, pe, h, a, d, k, c, 'online', $12
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
               AS t(m, p, s, i, n, pe, h, a, d, k, c)
             ON CONFLICT DO NOTHING RETURNING machine_id`,
      values: [
        column(machines, "machineId"),
        column(machines, "projectId"),
        column(machines, "systemUuid"),
        column(machines, "ipv4"),
        column(machines, "ipNum"),
        column(machines, "peerId"),
        column(machines, "hostname"),
        column(machines, "arch"),
        column(machines, "distro"),
        column(machines, "kernelVersion"),
        column(machines, "config"),
        now,
      ],
    }),
    inserted: (r) => new Set(r.rows.map((row) => String(row.machine_id))),
  },

  errorCodes: Object.freeze({ "23505": "unique", "40P01": "deadlock", "40001": "serialization", "55P03": "lock-wait-timeout" }),
  errorCode: (error) => (error as { code?: string } | undefined)?.code,
  violatedConstraint: (error) => (error as { constraint?: string }).constraint,
  errorMessage: (error) => (error as { message?: string } | undefined)?.message ?? String(error),
  /**
   * The server ended the session (SQLSTATE class 57P: pg_terminate_backend, a shutdown or failover; 25P03: the
   * idle-in-transaction timeout), a connection exception (class 08), or an error with no SQLSTATE at all (the socket
   * closed, "Connection terminated unexpectedly").
   */
  connectionLost(error) {
    const code = (error as { code?: unknown })?.code;
    if (typeof code !== "string") return true;
    return code.startsWith("08") || code.startsWith("57P") || code === "25P03";
  },

  ddl: { column: (type) => COLUMN[type.kind], inlineIndexes: false, tableOptions: "" },
  qualify: (schema, table) => `${schema}.${table}`,
  createNamespace: (schema) => [`CREATE SCHEMA IF NOT EXISTS ${schema}`],
  dropNamespace: (schema) => `DROP SCHEMA IF EXISTS ${schema} CASCADE`,
  tableExists: (schema, table) => ({ text: "SELECT to_regclass($1) IS NOT NULL AS present", values: [`${schema}.${table}`] }),
  lock: (name) => ({ text: "SELECT pg_advisory_lock(hashtext($1))", values: [name] }),
  unlock: (name) => ({ text: "SELECT pg_advisory_unlock(hashtext($1))", values: [name] }),

  async connectAdmin(url, timeoutMs): Promise<SqlAdmin> {
    const client = await connectClient(url, timeoutMs);
    return { run: (s) => send(client, s), end: () => client.end() };
  },
  problem: postgresProblem,
  openPool,
  async killConnections(location) {
    const client = await connectClient(location.url, CONNECT_TIMEOUT_MS);
    try {
      // The namespace's sessions carry its application_name; this session (and anyone else's) does not.
      const { rows } = await client.query<{ ended: boolean }>(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
        [applicationName(location.schema)],
      );
      return rows.filter((r) => r.ended).length;
    } finally {
      await client.end().catch(() => undefined);
    }
  },
};

/** The PostgreSQL store (the shared SQL store over the PostgreSQL dialect), for library users who open one directly. */
export class PostgresStore extends SqlStore {
  static open(location: ServerLocation, settings: StoreSettings): Promise<PostgresStore> {
    return this.openWith(postgresDialect, location, settings) as Promise<PostgresStore>;
  }
}
