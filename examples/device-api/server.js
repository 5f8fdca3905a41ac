#!/usr/bin/env node
// device-api: a small device-registration service that is NOT regbench — its own routes, field names, auth,
// answers, error codes and tables — written to show regbench measuring and auditing a service as it is. It imports
// nothing from regbench's src/: Node's http, pg and mysql2 only. See README.md next to it.
//
//   DEVICE_API_PROJECTS=fleet-a:s3cret node examples/device-api/server.js --db postgres://postgres@127.0.0.1:5432/devices --mode safe
//
// Modes (the bugs are on purpose):
//   naive      check-then-insert without a transaction: concurrent first registrations of a system both insert it,
//              and two devices read the same pool counter and get the same address.
//   safe       one transaction per registration, the project's pool counter row locked FOR UPDATE, unique
//              constraints on (project_id, system_uuid), machine_id and (project_id, address).
//   ack-early  safe's transaction, but the 201 is sent before COMMIT, and 1 registration in 100 is rolled back
//              after it was acknowledged (each one logged to stderr as "rolled back MACHINE_ID ADDRESS").
import { createServer } from "node:http";
import { timingSafeEqual, createHash } from "node:crypto";
import pg from "pg";
import mysql from "mysql2/promise";

const MODES = ["naive", "safe", "ack-early"];
const FIELDS = ["project_id", "system_uuid", "system_name", "machine_id", "peer_id", "hostname", "arch", "distro", "kernel_version"];
const MAX_FIELD = 128;
const MAX_BODY = 16 * 1024;

function usage(problem) {
  process.stderr.write(
    `device-api: ${problem}\nusage: node server.js --db postgres://…|mysql://… [--port 8080] [--host 127.0.0.1] [--mode naive|safe|ack-early] [--cidr 10.64.0.0/10]\n` +
      "projects and their keys come from DEVICE_API_PROJECTS=ID:KEY,ID:KEY\n",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 8080, host: "127.0.0.1", mode: "safe", cidr: "10.64.0.0/10", pool: 20 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!["--db", "--port", "--host", "--mode", "--cidr", "--pool"].includes(flag)) usage(`unknown argument ${flag}`);
    if (value === undefined) usage(`${flag} needs a value`);
    i++;
    if (flag === "--db") opts.db = value;
    else if (flag === "--port") opts.port = Number(value);
    else if (flag === "--host") opts.host = value;
    else if (flag === "--mode") opts.mode = value;
    else if (flag === "--cidr") opts.cidr = value;
    else opts.pool = Number(value);
  }
  if (!opts.db || !/^(postgres|postgresql|mysql):\/\//.test(opts.db)) usage("--db must be a postgres:// or mysql:// URL");
  if (!MODES.includes(opts.mode)) usage(`--mode must be one of ${MODES.join(", ")}`);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage("--port must be a port number (0: any free one)");
  if (!Number.isInteger(opts.pool) || opts.pool < 1) usage("--pool must be a whole number ≥ 1");
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(opts.cidr);
  if (!m || Number(m[5]) < 8 || Number(m[5]) > 30) usage("--cidr must be an IPv4 network from /8 to /30");
  opts.network = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  opts.prefixLength = Number(m[5]);
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const projects = new Map();
for (const entry of (process.env.DEVICE_API_PROJECTS ?? "").split(",").filter(Boolean)) {
  const colon = entry.indexOf(":");
  if (colon <= 0) usage("DEVICE_API_PROJECTS must be ID:KEY,ID:KEY");
  projects.set(
    entry.slice(0, colon),
    createHash("sha256")
      .update(entry.slice(colon + 1))
      .digest(),
  );
}
if (projects.size === 0) usage("DEVICE_API_PROJECTS names no project");

const postgres = opts.db.startsWith("postgres");

/** One dialect seam: `?` placeholders, numbered for PostgreSQL; a connection that can hold a transaction. */
const db = postgres ? postgresDb(opts.db, opts.pool) : mysqlDb(opts.db, opts.pool);

function postgresDb(url, max) {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on("error", () => {});
  const number = (sql) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  const wrap = (client) => ({ query: async (sql, params = []) => (await client.query(number(sql), params)).rows });
  return {
    ...wrap(pool),
    async connection() {
      const client = await pool.connect();
      return { ...wrap(client), release: (error) => client.release(error) };
    },
    insertIgnore: "INSERT INTO edge_systems (project_id, system_uuid, name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    uniqueViolation: (e) => e?.code === "23505",
    end: () => pool.end(),
  };
}

function mysqlDb(url, connectionLimit) {
  const pool = mysql.createPool({ uri: url, connectionLimit });
  const wrap = (conn) => ({ query: async (sql, params = []) => (await conn.query(sql, params))[0] });
  return {
    ...wrap(pool),
    async connection() {
      const conn = await pool.getConnection();
      return { ...wrap(conn), release: (error) => (error ? conn.destroy() : conn.release()) };
    },
    insertIgnore: "INSERT IGNORE INTO edge_systems (project_id, system_uuid, name) VALUES (?, ?, ?)",
    uniqueViolation: (e) => e?.code === "ER_DUP_ENTRY",
    end: () => pool.end(),
  };
}

/** The tables, created if absent: unique constraints in safe and ack-early modes only (naive shows what they prevent). */
async function createTables() {
  const id = postgres ? "id BIGSERIAL PRIMARY KEY" : "id BIGINT AUTO_INCREMENT PRIMARY KEY";
  const now = postgres ? "created_at TIMESTAMPTZ NOT NULL DEFAULT now()" : "created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)";
  const constrained = opts.mode !== "naive";
  await db.query(
    `CREATE TABLE IF NOT EXISTS edge_systems (${id}, project_id VARCHAR(128) NOT NULL, system_uuid VARCHAR(128) NOT NULL, name VARCHAR(128) NOT NULL, ${now}` +
      `${constrained ? ", CONSTRAINT edge_systems_uuid UNIQUE (project_id, system_uuid)" : ""})`,
  );
  await db.query(
    `CREATE TABLE IF NOT EXISTS devices (${id}, machine_id VARCHAR(128) NOT NULL, project_id VARCHAR(128) NOT NULL, system_uuid VARCHAR(128) NOT NULL, ` +
      `address VARCHAR(15) NOT NULL, peer_id VARCHAR(128) NOT NULL, hostname VARCHAR(128) NOT NULL, arch VARCHAR(128) NOT NULL, distro VARCHAR(128) NOT NULL, ` +
      `kernel_version VARCHAR(128) NOT NULL, ${now}` +
      `${constrained ? ", CONSTRAINT devices_machine UNIQUE (machine_id), CONSTRAINT devices_address UNIQUE (project_id, address)" : ""})`,
  );
  await db.query("CREATE TABLE IF NOT EXISTS address_pools (project_id VARCHAR(128) PRIMARY KEY, next_host BIGINT NOT NULL)");
  for (const project of projects.keys()) {
    await db.query(
      postgres
        ? "INSERT INTO address_pools (project_id, next_host) VALUES (?, 1) ON CONFLICT DO NOTHING"
        : "INSERT IGNORE INTO address_pools (project_id, next_host) VALUES (?, 1)",
      [project],
    );
  }
}

class HttpError extends Error {
  constructor(status, code) {
    super(code);
    this.status = status;
    this.code = code;
  }
}

function address(host) {
  const size = 2 ** (32 - opts.prefixLength) - 2;
  if (host < 1 || host > size) throw new HttpError(503, "pool_exhausted");
  const n = (opts.network + host) >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function configOf(device, addr) {
  // Plain YAML: the device's own interface, in clear (device-api does not seal its configs).
  return `device: ${JSON.stringify(device.machine_id)}\ninterface:\n  name: wg0\n  address: ${addr}/${opts.prefixLength}\nhostname: ${JSON.stringify(device.hostname)}\n`;
}

function authorize(header, projectId) {
  const digest = projects.get(projectId);
  const m = /^Bearer (.+)$/.exec(header ?? "");
  if (!digest || !m) throw new HttpError(401, "unauthorized");
  if (!timingSafeEqual(digest, createHash("sha256").update(m[1]).digest())) throw new HttpError(401, "unauthorized");
}

function validate(body) {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(422, "invalid_body");
  for (const f of FIELDS) {
    const v = body[f];
    if (typeof v !== "string" || v.length === 0 || v.length > MAX_FIELD) throw new HttpError(422, `invalid_${f}`);
  }
  return body;
}

let rolledBackEvery = 0;

/** naive: every step its own statement, decided on what an earlier statement read. */
async function registerNaive(d) {
  const systems = await db.query("SELECT id FROM edge_systems WHERE project_id = ? AND system_uuid = ?", [d.project_id, d.system_uuid]);
  if (systems.length === 0)
    await db.query("INSERT INTO edge_systems (project_id, system_uuid, name) VALUES (?, ?, ?)", [d.project_id, d.system_uuid, d.system_name]);
  const existing = await db.query("SELECT id, address FROM devices WHERE machine_id = ?", [d.machine_id]);
  if (existing.length > 0) return { id: existing[0].id, address: existing[0].address };
  const [pool] = await db.query("SELECT next_host FROM address_pools WHERE project_id = ?", [d.project_id]);
  const host = Number(pool.next_host);
  const addr = address(host);
  await db.query("UPDATE address_pools SET next_host = ? WHERE project_id = ?", [host + 1, d.project_id]);
  return { id: await insertDevice(db, d, addr), address: addr };
}

async function insertDevice(conn, d, addr) {
  const sql =
    "INSERT INTO devices (machine_id, project_id, system_uuid, address, peer_id, hostname, arch, distro, kernel_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
  const params = [d.machine_id, d.project_id, d.system_uuid, addr, d.peer_id, d.hostname, d.arch, d.distro, d.kernel_version];
  if (postgres) return (await conn.query(`${sql} RETURNING id`, params))[0].id;
  return (await conn.query(sql, params)).insertId;
}

/** safe and ack-early: one transaction, serialized per project on its pool counter row. `answer` is called before COMMIT in ack-early. */
async function registerInTransaction(d, answer) {
  const conn = await db.connection();
  let broken;
  try {
    await conn.query(postgres ? "BEGIN" : "START TRANSACTION");
    try {
      const [pool] = await conn.query("SELECT next_host FROM address_pools WHERE project_id = ? FOR UPDATE", [d.project_id]);
      await conn.query(db.insertIgnore, [d.project_id, d.system_uuid, d.system_name]);
      const existing = await conn.query("SELECT id, address FROM devices WHERE machine_id = ?", [d.machine_id]);
      let device;
      if (existing.length > 0) {
        device = { id: existing[0].id, address: existing[0].address };
      } else {
        const host = Number(pool.next_host);
        const addr = address(host);
        await conn.query("UPDATE address_pools SET next_host = ? WHERE project_id = ?", [host + 1, d.project_id]);
        device = { id: await insertDevice(conn, d, addr), address: addr, created: true };
      }
      if (opts.mode === "ack-early") {
        answer(device);
        if (device.created && ++rolledBackEvery % 100 === 0) {
          await conn.query("ROLLBACK");
          process.stderr.write(`rolled back ${d.machine_id} ${device.address}\n`);
          return undefined;
        }
      }
      await conn.query("COMMIT");
      return device;
    } catch (error) {
      await conn.query("ROLLBACK").catch((e) => (broken = e));
      throw error;
    }
  } finally {
    conn.release(broken);
  }
}

function send(res, status, body) {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
}

async function handle(req, res, text) {
  if (req.url !== "/api/v2/devices") return send(res, 404, { code: "not_found" });
  if (req.method !== "POST") return send(res, 405, { code: "method_not_allowed" });
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(422, "invalid_json");
  }
  const d = validate(body);
  authorize(req.headers.authorization, d.project_id);
  const answer = (device) => send(res, 201, { device: { id: `dev_${device.id}`, address: device.address, config: configOf(d, device.address) } });
  if (opts.mode === "naive") answer(await registerNaive(d));
  else {
    const device = await registerInTransaction(d, answer);
    if (device) answer(device);
  }
}

const server = createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size <= MAX_BODY) chunks.push(c);
  });
  req.on("end", () => {
    if (size > MAX_BODY) return send(res, 422, { code: "body_too_large" });
    handle(req, res, Buffer.concat(chunks).toString("utf8")).catch((error) => {
      if (error instanceof HttpError) return send(res, error.status, { code: error.code });
      if (db.uniqueViolation(error)) return send(res, 409, { code: "conflict" });
      process.stderr.write(`device-api: ${error?.message ?? error}\n`);
      send(res, 503, { code: "unavailable" });
    });
  });
});
server.keepAliveTimeout = 65_000;

try {
  await createTables();
} catch (error) {
  process.stderr.write(`device-api: cannot prepare the database: ${error.message}\n`);
  await db.end().catch(() => {});
  process.exit(3);
}
server.listen(opts.port, opts.host, () => {
  const { port } = server.address();
  process.stdout.write(
    `device-api listening on http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${port} (mode ${opts.mode}, ${postgres ? "postgres" : "mysql"})\n`,
  );
});

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    db.end().finally(() => process.exit(0));
  });
}
