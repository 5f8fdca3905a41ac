import { createRequire } from "node:module";
import Database from "better-sqlite3";
import type mysql from "mysql2";
import type pg from "pg";
import { maskSecrets } from "../core/mask.js";
import type { RowSink } from "./audit.js";

// Loaded by the first connection made, not by every command that imports this file (start-up time).
const require = createRequire(import.meta.url);
const loadPg = () => require("pg") as typeof pg;
const loadMysql = () => require("mysql2") as typeof mysql;

/** The queries that list a run's rows in the service's own database (`--audit-db`). `:run` stands for the run's prefix. */
export interface AuditQueries {
  /** Rows `(project_id, system_uuid)`, one per stored system row. */
  readonly systems: string;
  /** Rows `(machine_id, project_id, ipv4)`, one per stored device row. */
  readonly machines: string;
  /** A statement running longer is cancelled (and the audit is n/a). */
  readonly timeoutMs: number;
}

/** The service's own database, as `--audit-db` names it. */
export type AuditDb =
  { readonly kind: "postgres"; readonly url: string } | { readonly kind: "mysql"; readonly url: string } | { readonly kind: "sqlite"; readonly path: string };

/** Rows fetched per round trip from a PostgreSQL cursor; a MySQL stream buffers about as many. */
const BATCH = 2000;

/**
 * Parses `postgres://…`, `postgresql://…`, `mysql://…` or `sqlite:PATH`; `password` (from the environment or the
 * secrets file) fills in a URL that has none. A string says what is wrong, without the password.
 */
export function parseAuditDb(text: string, password?: string): AuditDb | string {
  if (text.startsWith("sqlite:")) {
    const path = text.slice("sqlite:".length).replace(/^\/\//, "");
    return path === "" || path === ":memory:" ? "sqlite: needs the path of the service's database file" : { kind: "sqlite", path };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not shown: in a string that is no URL, nothing says where a password in it ends, so none could be masked.
    return "is not a URL (it is not shown, as it may hold a password); the forms are postgres://USER@HOST:PORT/DB, mysql://USER@HOST:PORT/DB and sqlite:PATH";
  }
  const kind = url.protocol === "postgres:" || url.protocol === "postgresql:" ? "postgres" : url.protocol === "mysql:" ? "mysql" : undefined;
  if (!kind) return `has an unknown scheme ${JSON.stringify(url.protocol)} (postgres://, mysql:// or sqlite:PATH)`;
  if (url.pathname.length <= 1) return "names no database (…/DBNAME)";
  if (!url.password && password) url.password = password;
  return { kind, url: url.toString() };
}

/** An audit database as it is shown: its password masked by the one masking function (core/mask.ts), `?password=` too. */
export function describeAuditDb(db: AuditDb): string {
  return db.kind === "sqlite" ? `sqlite:${db.path}` : maskSecrets(db.url);
}

/** A row as the queries return it, by position: `(project_id, system_uuid)` or `(machine_id, project_id, ipv4)`. */
type Row = readonly unknown[];

const text = (v: unknown) => (v instanceof Buffer ? v.toString("utf8") : String(v));
/** An address column may be `inet` (PostgreSQL prints a host as `10.0.0.2`, a network with its prefix). */
const address = (v: unknown) => text(v).replace(/\/32$/, "");

function feeder(audit: RowSink, which: "systems" | "machines"): (row: Row) => void {
  const need = which === "systems" ? 2 : 3;
  return (row) => {
    if (row.length < need || row.slice(0, need).some((v) => v === null || v === undefined))
      throw new Error(
        `the ${which} query must return ${which === "systems" ? "(project_id, system_uuid)" : "(machine_id, project_id, ipv4)"}, none of them null (got ${row.length} column(s))`,
      );
    if (which === "systems") audit.system(text(row[0]), text(row[1]));
    else audit.machine({ machineId: text(row[0]), projectId: text(row[1]), ipv4: address(row[2]) });
  };
}

/**
 * Reads the run's rows from the service's own database into `audit`, one batch at a time (a PostgreSQL cursor,
 * a MySQL row stream, a SQLite iterator): never the whole run at once. Read-only by construction: the queries run
 * in a read-only transaction (SQLite: a connection opened read-only) that is rolled back, each statement under
 * the profile's timeout. Returns undefined when every row was read, else why not (the audit is then n/a).
 */
export async function readAuditDb(db: AuditDb, queries: AuditQueries, run: string, audit: RowSink): Promise<string | undefined> {
  try {
    if (db.kind === "postgres") await readPostgres(db.url, queries, run, audit);
    else if (db.kind === "mysql") await readMysql(db.url, queries, run, audit);
    else readSqlite(db.path, queries, run, audit);
    return undefined;
  } catch (error) {
    return `reading ${describeAuditDb(db)} failed: ${explain(error)}`;
  }
}

/** A database error as a sentence a user can act on; a refused write says that the audit is read-only. */
function explain(error: unknown): string {
  const e = error as Error & { code?: string | number; errno?: number };
  const readOnly =
    e.code === "25006" ||
    e.errno === 1792 ||
    e.code === "ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION" ||
    e.code === "SQLITE_READONLY" ||
    /does not return data/.test(e.message);
  if (readOnly) return `an audit query tried to write, and the audit runs read-only (${e.message}): the audit queries must be SELECTs`;
  if (e.code === "57014" || e.errno === 1969 || e.errno === 3024) return `an audit query ran past the profile's audit.timeout (${e.message})`;
  return e.message || String(error);
}

async function readPostgres(url: string, queries: AuditQueries, run: string, audit: RowSink): Promise<void> {
  const client = new (loadPg().Client)({ connectionString: url, connectionTimeoutMillis: Math.min(queries.timeoutMs, 10_000) });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query("SET TRANSACTION READ ONLY");
    await client.query(`SET LOCAL statement_timeout = ${Math.ceil(queries.timeoutMs)}`);
    for (const which of ["systems", "machines"] as const) {
      const feed = feeder(audit, which);
      const cursor = `regbench_audit_${which}`;
      await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${queries[which].replace(/:run\b/g, "$1::text")}`, [run]);
      for (;;) {
        const batch = await client.query<unknown[]>({ text: `FETCH ${BATCH} FROM ${cursor}`, rowMode: "array" });
        for (const row of batch.rows) feed(row);
        if (batch.rows.length < BATCH) break;
      }
      await client.query(`CLOSE ${cursor}`);
    }
  } finally {
    await client.query("ROLLBACK").catch(() => {});
    await client.end().catch(() => {});
  }
}

async function readMysql(url: string, queries: AuditQueries, run: string, audit: RowSink): Promise<void> {
  const conn = loadMysql().createConnection({ uri: url, namedPlaceholders: true, connectTimeout: Math.min(queries.timeoutMs, 10_000) });
  conn.on("error", () => {});
  const q = (sql: string) =>
    new Promise<unknown[]>((resolve, reject) => conn.query({ sql, rowsAsArray: true }, (e, rows) => (e ? reject(e) : resolve(rows as unknown[]))));
  try {
    const [[version]] = (await q("SELECT VERSION()")) as [[string]];
    // MariaDB counts seconds, MySQL milliseconds (SELECTs only).
    if (/mariadb/i.test(version)) await q(`SET SESSION max_statement_time = ${queries.timeoutMs / 1000}`);
    else await q(`SET SESSION max_execution_time = ${Math.ceil(queries.timeoutMs)}`);
    await q("START TRANSACTION READ ONLY");
    for (const which of ["systems", "machines"] as const) {
      const feed = feeder(audit, which);
      // The row stream pauses the connection when its buffer is full: rows come as fast as the audit takes them.
      const stream = conn.query({ sql: queries[which], rowsAsArray: true }, { run }).stream({ highWaterMark: BATCH });
      for await (const row of stream) feed(row as Row);
    }
    await q("ROLLBACK");
  } finally {
    // After a failure the connection may answer nothing more, not even a callback: it is closed, which ends the
    // transaction on the server (rolled back) all the same.
    conn.destroy();
  }
}

function readSqlite(path: string, queries: AuditQueries, run: string, audit: RowSink): void {
  // Read-only and never created: a wrong path is an error, not an empty new database.
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: queries.timeoutMs });
  try {
    for (const which of ["systems", "machines"] as const) {
      const feed = feeder(audit, which);
      const statement = db.prepare(queries[which]);
      if (!statement.reader) throw Object.assign(new Error(`the ${which} query does not return data`), { code: "SQLITE_READONLY" });
      for (const row of statement.raw(true).iterate({ run })) feed(row as Row);
    }
  } finally {
    db.close();
  }
}
