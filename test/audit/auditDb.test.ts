import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import mysql from "mysql2/promise";
import pg from "pg";
import { RowAudit } from "../../src/audit/audit.js";
import { describeAuditDb, parseAuditDb, readAuditDb, type AuditDb, type AuditQueries } from "../../src/audit/auditDb.js";
import { buildRunConfig, describeConfig } from "../../src/cli/options.js";
import { mysql as mysqlEnv, MYSQL_URL, postgres as postgresEnv, POSTGRES_URL } from "../dbEnv.js";
import { tempDir } from "../helpers.js";

const RUN = "rbaudit1";
/** Rows of the run (RUN-…) with known duplicates, and rows of another run that must not be counted. */
const MACHINES = 5000;
function rows(): { systems: [string, string][]; machines: [string, string, string][] } {
  const systems: [string, string][] = [];
  for (let s = 0; s < 10; s++) systems.push(["p0", `${RUN}-s${s}`]);
  systems.push(["p0", `${RUN}-s3`], ["p0", "rbother-s3"], ["p0", "rbother-s3"]);
  const machines: [string, string, string][] = [];
  for (let m = 0; m < MACHINES; m++) machines.push([`${RUN}-m${m}`, "p0", `10.${(m >> 16) & 255}.${(m >> 8) & 255}.${m & 255}`]);
  // Two machineIDs stored twice (each with a fresh address), three addresses given twice.
  machines.push([`${RUN}-m7`, "p0", "10.200.0.1"], [`${RUN}-m8`, "p0", "10.200.0.2"]);
  machines.push([`${RUN}-x1`, "p0", "10.0.0.1"], [`${RUN}-x2`, "p0", "10.0.0.2"], [`${RUN}-x3`, "p0", "10.0.0.3"]);
  machines.push(["rbother-m1", "p0", "10.0.0.1"], ["rbother-m1", "p0", "10.0.0.1"]);
  return { systems, machines };
}
// Every stored row is unacknowledged (no acknowledgement is given): the 5000, the second rows of m7 and m8, x1-x3.
const EXPECTED = { duplicateSystems: 1, duplicateMachines: 2, duplicateIps: 3, lostRegistrations: 0, violations: 6, unacknowledgedRows: MACHINES + 5 };

const queries = (schema: string, timeoutMs = 10_000): AuditQueries => ({
  systems: `SELECT project_id, system_uuid FROM ${schema}systems WHERE system_uuid LIKE CONCAT(:run, '-%')`,
  machines: `SELECT machine_id, project_id, ipv4 FROM ${schema}machines WHERE machine_id LIKE CONCAT(:run, '-%')`,
  timeoutMs,
});

async function audit(db: AuditDb, q: AuditQueries): Promise<{ failed?: string; result?: ReturnType<RowAudit["result"]> }> {
  const a = new RowAudit();
  const failed = await readAuditDb(db, q, RUN, a);
  return failed === undefined ? { result: a.result([]) } : { failed };
}

test("an audit database URL: its password masked wherever it is shown, filled in from the environment when absent", () => {
  // Shown through core/mask.ts's maskSecrets, the one masking function: a password in the query too (pg reads it there).
  assert.equal(describeAuditDb({ kind: "postgres", url: "postgres://svc:hunter2@db:5432/devices" }), "postgres://svc:***@db:5432/devices");
  assert.equal(describeAuditDb({ kind: "postgres", url: "postgres://svc@db:5432/devices?password=hunter2" }), "postgres://svc@db:5432/devices?password=***");
  assert.equal(describeAuditDb({ kind: "mysql", url: "mysql://svc@db/devices?ssl=1&password=hunter2" }), "mysql://svc@db/devices?ssl=1&password=***");
  // A string that is no URL is not shown at all: nothing says where a password in it would end.
  for (const text of ["not a url //svc:hunter2@db", "postgres://svc:hunter2@db:99999/devices", "//svc:hun ter2@db", "svc:hunter2@db/devices"]) {
    const problem = parseAuditDb(text) as string;
    assert.equal(typeof problem, "string", text);
    assert.match(problem, text.startsWith("svc:") ? /^has an unknown scheme "svc:"/ : /^is not a URL/, text);
    assert.ok(!problem.includes("hunter2") && !problem.includes("ter2"), problem);
  }
  const parsed = parseAuditDb("mysql://svc@db:3306/devices", "hunter2") as Extract<AuditDb, { url: string }>;
  assert.equal(new URL(parsed.url).password, "hunter2");
  assert.deepEqual(parseAuditDb("sqlite:/var/lib/x.db"), { kind: "sqlite", path: "/var/lib/x.db" });
  assert.match(parseAuditDb("redis://x/0") as string, /unknown scheme/);
  assert.match(parseAuditDb("postgres://db:5432") as string, /names no database/);

  const config = buildRunConfig(
    { target: "http://127.0.0.1:9", profile: "examples/device-api/profile.yaml" },
    {
      projects: [{ id: "p", key: "k" }],
      serverKey: undefined,
      auditToken: undefined,
      auditDb: "postgres://svc@127.0.0.1:5432/devices",
      auditDbPassword: "hunter2",
    },
  );
  const shown = JSON.stringify(describeConfig(config));
  assert.ok(!shown.includes("hunter2"), shown);
  assert.match(shown, /"auditDb":"postgres:\/\/svc:\*\*\*@127\.0\.0\.1:5432\/devices"/);
});

describe("the audit from a PostgreSQL database", { skip: postgresEnv.skip }, () => {
  const schema = `auditdb_${randomBytes(4).toString("hex")}`;
  const client = new pg.Client(POSTGRES_URL);
  const db: AuditDb = { kind: "postgres", url: POSTGRES_URL };
  after(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });
  before(async () => {
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`CREATE TABLE ${schema}.systems (project_id text, system_uuid text)`);
    await client.query(`CREATE TABLE ${schema}.machines (machine_id text, project_id text, ipv4 inet)`);
    const { systems, machines } = rows();
    await client.query(`INSERT INTO ${schema}.systems SELECT * FROM unnest($1::text[], $2::text[])`, [systems.map((s) => s[0]), systems.map((s) => s[1])]);
    await client.query(`INSERT INTO ${schema}.machines SELECT a, b, c::inet FROM unnest($1::text[], $2::text[], $3::text[]) AS t(a, b, c)`, [
      machines.map((m) => m[0]),
      machines.map((m) => m[1]),
      machines.map((m) => m[2]),
    ]);
    await client.query(
      `CREATE FUNCTION ${schema}.sneaky() RETURNS boolean AS $$ INSERT INTO ${schema}.systems VALUES ('p0', '${RUN}-sneaky'); SELECT true $$ LANGUAGE sql`,
    );
  });

  test("the run's rows, read through a cursor in batches, give the duplicates they hold", async () => {
    assert.deepEqual(await audit(db, queries(`${schema}.`)), { result: EXPECTED });
  });

  test("a query that writes fails with a clear message and changes nothing", async () => {
    const q = {
      ...queries(`${schema}.`),
      systems: `SELECT project_id, system_uuid FROM ${schema}.systems WHERE ${schema}.sneaky() AND system_uuid LIKE CONCAT(:run, '-%')`,
    };
    const { failed } = await audit(db, q);
    assert.match(failed!, /an audit query tried to write, and the audit runs read-only .*read-only transaction/);
    const [{ n }] = (await client.query(`SELECT COUNT(*)::int AS n FROM ${schema}.systems WHERE system_uuid = '${RUN}-sneaky'`)).rows;
    assert.equal(n, 0);
  });

  test("a query past the timeout is cancelled; a password never shows in a message", async () => {
    const slow = { ...queries(`${schema}.`, 200), machines: "SELECT 'm', 'p', '10.0.0.1' FROM pg_sleep(3) WHERE :run <> ''" };
    assert.match((await audit(db, slow)).failed!, /ran past the profile's audit\.timeout/);
    const url = new URL(POSTGRES_URL);
    url.password = "hunter2";
    url.pathname = "/no_such_database_here";
    const { failed } = await audit({ kind: "postgres", url: url.toString() }, queries(`${schema}.`));
    assert.match(failed!, /no_such_database_here/);
    assert.ok(!failed!.includes("hunter2"), failed);
  });
});

describe("the audit from a MySQL/MariaDB database", { skip: mysqlEnv.skip }, () => {
  const name = `auditdb_${randomBytes(4).toString("hex")}`;
  const url = new URL(MYSQL_URL);
  url.pathname = `/${name}`;
  const db: AuditDb = { kind: "mysql", url: url.toString() };
  let conn: mysql.Connection;
  after(async () => {
    await conn.query(`DROP DATABASE IF EXISTS ${name}`);
    await conn.end();
  });
  before(async () => {
    const admin = await mysql.createConnection(MYSQL_URL);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    conn = await mysql.createConnection(url.toString());
    await conn.query("CREATE TABLE systems (project_id VARCHAR(64), system_uuid VARCHAR(64))");
    await conn.query("CREATE TABLE machines (machine_id VARCHAR(64), project_id VARCHAR(64), ipv4 VARCHAR(15))");
    const { systems, machines } = rows();
    await conn.query("INSERT INTO systems VALUES ?", [systems]);
    await conn.query("INSERT INTO machines VALUES ?", [machines]);
  });

  test("the run's rows, read as a row stream, give the duplicates they hold", async () => {
    assert.deepEqual(await audit(db, queries("")), { result: EXPECTED });
  });

  test("a query that writes fails with a clear message and changes nothing", async () => {
    const q = { ...queries(""), machines: "DELETE FROM machines WHERE machine_id LIKE CONCAT(:run, '-%')" };
    assert.match((await audit(db, q)).failed!, /an audit query tried to write, and the audit runs read-only/);
    const [[{ n }]] = (await conn.query("SELECT COUNT(*) AS n FROM machines")) as unknown as [[{ n: number }]];
    assert.equal(Number(n), rows().machines.length);
  });
});

test("a MySQL database that refuses the connection gives a reason (no hang), the password masked", { skip: mysqlEnv.skip }, async () => {
  const url = new URL(MYSQL_URL);
  url.password = "hunter2";
  url.pathname = "/no_such_database_here";
  const { failed } = await audit({ kind: "mysql", url: url.toString() }, queries(""));
  assert.match(failed!, /^reading mysql:\/\/[^:]+:\*\*\*@/);
  assert.ok(!failed!.includes("hunter2"), failed);
});

const sqliteDir = tempDir();
describe("the audit from a SQLite file", () => {
  const path = join(sqliteDir, "svc.db");
  const db: AuditDb = { kind: "sqlite", path };
  before(() => {
    const w = new Database(path);
    w.exec("CREATE TABLE systems (project_id TEXT, system_uuid TEXT); CREATE TABLE machines (machine_id TEXT, project_id TEXT, ipv4 TEXT)");
    const { systems, machines } = rows();
    const s = w.prepare("INSERT INTO systems VALUES (?, ?)");
    const m = w.prepare("INSERT INTO machines VALUES (?, ?, ?)");
    w.transaction(() => {
      systems.forEach((r) => s.run(...r));
      machines.forEach((r) => m.run(...r));
    })();
    w.close();
  });

  test("the run's rows, read with an iterator on a read-only connection, give the duplicates they hold", async () => {
    assert.deepEqual(await audit(db, queries("")), { result: EXPECTED });
  });

  test("a query that writes fails with a clear message and changes nothing; a missing file is not created", async () => {
    for (const machines of [
      "DELETE FROM machines WHERE machine_id LIKE CONCAT(:run, '-%') RETURNING machine_id, project_id, ipv4",
      "DELETE FROM machines WHERE machine_id LIKE CONCAT(:run, '-%')",
    ]) {
      assert.match((await audit(db, { ...queries(""), machines })).failed!, /an audit query tried to write, and the audit runs read-only/);
    }
    const r = new Database(path, { readonly: true });
    assert.equal((r.prepare("SELECT COUNT(*) AS n FROM machines").get() as { n: number }).n, rows().machines.length);
    r.close();
    assert.match((await audit({ kind: "sqlite", path: `${path}.missing` }, queries(""))).failed!, /reading sqlite:.*missing failed/);
  });
});
