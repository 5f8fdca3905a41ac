import { createRequire } from "node:module";
import type mysql from "mysql2/promise";
import type { Isolation, ServerLocation, StoreSettings } from "../kind.js";
import { firstBytes, notSpeaking, unreachableCode } from "../../net/service.js";
import type { PoolStats } from "../poolStats.js";
import { safeUrl } from "../serverSchema.js";
import type { ColumnType } from "./ddl.js";
import type { Row, SqlAdmin, SqlConnection, SqlDialect, SqlPool, SqlResult, Statement } from "./dialect.js";
import { CONNECT_TIMEOUT_MS, SqlStore } from "./sqlStore.js";

// Loaded by the first connection made, not by every command that imports this file (start-up time).
const require = createRequire(import.meta.url);
const loadMysql = () => require("mysql2/promise") as typeof mysql;

const ISOLATION_SQL: Readonly<Record<Isolation, string>> = Object.freeze({
  "read-committed": "READ COMMITTED",
  "repeatable-read": "REPEATABLE READ",
  serializable: "SERIALIZABLE",
});

/** mysql2's answer (rows, or a header for a write) as the shared store reads it. */
function result([answer]: [unknown, unknown]): SqlResult {
  if (Array.isArray(answer)) return { rows: answer as Row[], affected: 0, insertId: undefined };
  const header = answer as mysql.ResultSetHeader;
  return { rows: [], affected: header.affectedRows, insertId: Number(header.insertId) };
}

/** A statement prepared (mysql2 caches it per connection), or sent as text where arrays expand in place. */
async function send(c: mysql.Connection, s: Statement): Promise<SqlResult> {
  return result((s.inline ? await c.query(s.text, s.values as never) : await c.execute(s.text, s.values as never)) as [unknown, unknown]);
}

/** A checked-out mysql2 connection. */
function pooled(c: mysql.PoolConnection): SqlConnection {
  return {
    run: (s) => send(c, s),
    begin: () => c.beginTransaction(),
    commit: () => c.commit(),
    rollback: () => c.rollback(),
    // The pool's listener (below) already keeps a connection's 'error' from ending the process.
    watch: () => () => {},
    // A connection that broke is destroyed, so that the pool opens another; one that met a conflict is healthy.
    release: (lost) => (lost ? c.destroy() : c.release()),
  };
}

/** The URL without its database: a run's store lives in a database of its own on the same server. */
function withoutDatabase(url: string): string {
  const u = new URL(url);
  u.pathname = "/";
  return u.toString();
}

/** Escapes LIKE's wildcards, so that a run prefix matches itself only. */
const likePrefix = (text: string) => `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

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

function openPool(location: ServerLocation, settings: StoreSettings, waits: PoolStats): SqlPool {
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
  pool.pool.on("connection", (connection) => {
    waits.connectionOpened();
    // mysql2 listens once per connection; a second 'error' must not end the process.
    connection.on("error", () => {});
  });
  if (settings.isolation) {
    const level = ISOLATION_SQL[settings.isolation];
    pool.pool.on("connection", (connection) => connection.query(`SET SESSION TRANSACTION ISOLATION LEVEL ${level}`));
  }
  const inner = pool.pool as unknown as { _freeConnections?: { length: number }; _allConnections?: { length: number } };
  return {
    connect: async () => pooled(await pool.getConnection()),
    busy: (size) => (inner._freeConnections?.length ?? 1) === 0 && (inner._allConnections?.length ?? 0) >= size,
    end: () => pool.end(),
  };
}

const COLUMN = (type: ColumnType): string => {
  switch (type.kind) {
    case "id":
      return "BIGINT AUTO_INCREMENT PRIMARY KEY";
    case "string":
      return `VARCHAR(${type.max})`;
    case "text":
      return "TEXT";
    case "bytes":
      return `VARBINARY(${type.max})`;
    case "int":
      return "BIGINT";
  }
};

/**
 * MySQL through mysql2's promise pool (tested on MariaDB 10.11; see the README for MySQL 8): one database per run's
 * strategy, utf8mb4 with a binary collation (IDs compare exactly, as everywhere else). The counter of the atomic
 * strategy moves with `LAST_INSERT_ID(expr)`, which both MySQL and MariaDB return in the statement's own answer. The
 * default isolation is InnoDB's (REPEATABLE READ: the seed's reality) unless `--isolation` says.
 */
export const mysqlDialect: SqlDialect = {
  name: "mysql",
  aliases: [],
  title: "MySQL",
  forms: ["mysql://USER@HOST:PORT/DATABASE (?schema=NAME for serve)"],
  exampleUrl: "mysql://root@127.0.0.1:3306/test",
  defaultPort: "3306",
  namespaceWord: "database",

  placeholders: (sql) => sql,
  quote: (identifier) => `\`${identifier}\``,
  startsWith: (column) => `${column} LIKE ?`,
  prefixValue: likePrefix,
  anyTrue: (condition) => `MAX(${condition})`,
  // A no-op update on a duplicate: affectedRows is 1 for an insert, 0 when the row was there.
  insertIgnore: "ON DUPLICATE KEY UPDATE id = id",
  fenceUpsert: "ON DUPLICATE KEY UPDATE token = IF(token <= VALUES(token), VALUES(token), token)",
  fenceReturns: false,
  claims: {
    existing: (ids) => ({
      text: "SELECT machine_id, project_id, system_uuid, ipv4, config FROM machines WHERE machine_id IN (?) ORDER BY id",
      values: [ids],
      inline: true,
    }),
    // LAST_INSERT_ID(expr) hands back the counter's new value in the answer to the statement itself (MySQL 8 has no
    // RETURNING, MariaDB none on UPDATE).
    reserve: (projectId, firstHost, count) => ({
      text: "INSERT INTO ip_pools (project_id, next_ip) VALUES (?, LAST_INSERT_ID(? + ?)) ON DUPLICATE KEY UPDATE next_ip = LAST_INSERT_ID(next_ip + ?)",
      values: [projectId, firstHost, count, count],
    }),
    reserved: (r, count) => r.insertId! - count,
    // A duplicate is skipped by a no-op update; which rows went in is read back by the caller.
    insert: (machines, now) => ({
      text: `INSERT INTO machines (machine_id, project_id, system_uuid, ipv4, ip_num, peer_id, hostname, arch, distro, kernel_version, config, status, created_at)
             VALUES ? ON DUPLICATE KEY UPDATE id = id`,
      values: [
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
      inline: true,
    }),
    inserted: () => undefined,
  },

  errorCodes: Object.freeze({ "1062": "unique", "1213": "deadlock", "1205": "lock-wait-timeout" }),
  errorCode(error) {
    const errno = (error as { errno?: unknown } | undefined)?.errno;
    return typeof errno === "number" ? String(errno) : undefined;
  },
  violatedConstraint: (error) => /for key '([^']+)'/.exec((error as { sqlMessage?: string }).sqlMessage ?? "")?.[1],
  errorMessage(error) {
    const e = error as { sqlMessage?: string; message?: string } | undefined;
    return e?.sqlMessage ?? e?.message ?? String(error);
  },
  /**
   * mysql2 marks a lost socket `fatal`; the server says ER_CONNECTION_KILLED (1927, KILL CONNECTION),
   * ER_SERVER_SHUTDOWN (1053) or CR_SERVER_LOST (2013); an error with no errno at all is not the database's answer.
   */
  connectionLost(error) {
    const e = error as { errno?: unknown; fatal?: unknown };
    if (e?.fatal === true) return true;
    return typeof e?.errno !== "number" || e.errno === 1927 || e.errno === 1053 || e.errno === 2013;
  },

  ddl: { column: COLUMN, inlineIndexes: true, tableOptions: " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin" },
  // The admin connection switches to the database (createNamespace), so its tables are named bare.
  qualify: (_schema, table) => table,
  createNamespace: (schema) => [`CREATE DATABASE IF NOT EXISTS \`${schema}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`, `USE \`${schema}\``],
  dropNamespace: (schema) => `DROP DATABASE IF EXISTS \`${schema}\``,
  tableExists: (schema, table) => ({
    text: "SELECT COUNT(*) AS present FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
    values: [schema, table],
  }),
  lock: (name) => ({ text: "SELECT GET_LOCK(?, 30)", values: [name] }),
  unlock: (name) => ({ text: "SELECT RELEASE_LOCK(?)", values: [name] }),

  async connectAdmin(url, timeoutMs): Promise<SqlAdmin> {
    const c = await loadMysql().createConnection({ uri: url, connectTimeout: timeoutMs, charset: "UTF8MB4_BIN" });
    // Setup statements go as text: the server prepares only some statements (not CREATE DATABASE, not USE).
    return { run: async (s) => result((await c.query(s.text, s.values as never)) as [unknown, unknown]), end: () => c.end() };
  },
  problem: mysqlProblem,
  openPool,
  async killConnections(location) {
    const c = await loadMysql().createConnection({ uri: withoutDatabase(location.url), connectTimeout: CONNECT_TIMEOUT_MS });
    try {
      // The namespace's sessions are the ones whose default database is its database; this one has none.
      const [rows] = (await c.query("SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", [location.schema])) as [
        Row[],
        unknown,
      ];
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

/** The MySQL store (the shared SQL store over the MySQL dialect), for library users who open one directly. */
export class MysqlStore extends SqlStore {
  static open(location: ServerLocation, settings: StoreSettings): Promise<MysqlStore> {
    return this.openWith(mysqlDialect, location, settings) as Promise<MysqlStore>;
  }
}
