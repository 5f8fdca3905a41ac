import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import mysql from "mysql2/promise";
import pg from "pg";
import { mysql as mysqlEnv, MYSQL_URL, postgres as postgresEnv, POSTGRES_URL } from "../dbEnv.js";
import { regbenchAsync, stillAlive, tempDir } from "../helpers.js";

const SERVER = fileURLToPath(new URL("../../../examples/device-api/server.js", import.meta.url));
const PROFILE = fileURLToPath(new URL("../../../examples/device-api/profile.yaml", import.meta.url));
const PROJECTS = "fleet-a:key-a";

/** A database of the test's own on one server, dropped after the file, and SQL run on it with the test's own client. */
interface Backend {
  readonly name: string;
  readonly skip: string | false;
  create(): Promise<{ url: string; sql: (text: string) => Promise<Record<string, unknown>[]> }>;
}

function withDatabase(base: string, db: string): string {
  const url = new URL(base);
  url.pathname = `/${db}`;
  return url.toString();
}

const backends: Backend[] = [
  {
    name: "PostgreSQL",
    skip: postgresEnv.skip,
    async create() {
      const db = `devapi_${randomBytes(4).toString("hex")}`;
      const admin = new pg.Client(POSTGRES_URL);
      await admin.connect();
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.end();
      const url = withDatabase(POSTGRES_URL, db);
      const client = new pg.Client(url);
      await client.connect();
      after(async () => {
        await client.end();
        const a = new pg.Client(POSTGRES_URL);
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await a.end();
      });
      return { url, sql: async (text) => (await client.query(text)).rows };
    },
  },
  {
    name: "MariaDB",
    skip: mysqlEnv.skip,
    async create() {
      const db = `devapi_${randomBytes(4).toString("hex")}`;
      const admin = await mysql.createConnection(MYSQL_URL);
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.end();
      const url = withDatabase(MYSQL_URL, db);
      const conn = await mysql.createConnection(url);
      after(async () => {
        await conn.end();
        const a = await mysql.createConnection(MYSQL_URL);
        await a.query(`DROP DATABASE IF EXISTS ${db}`);
        await a.end();
      });
      return { url, sql: async (text) => (await conn.query(text))[0] as Record<string, unknown>[] };
    },
  },
];

/** device-api in its own process, stopped by PID after the file; its URL from the line it prints, its stderr kept. */
async function startDeviceApi(db: string, mode: string): Promise<{ url: string; child: ChildProcess; log: () => string }> {
  const child = spawn(process.execPath, [SERVER, "--db", db, "--port", "0", "--mode", mode], {
    env: { ...process.env, DEVICE_API_PROJECTS: PROJECTS },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  after(async () => {
    if (child.exitCode === null) {
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await gone;
    }
    assert.deepEqual(stillAlive([child.pid!]), []);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`device-api exited (${code}): ${err}`)));
  });
  return { url, child, log: () => err };
}

async function run(url: string, auditDb: string, extra: string[] = []) {
  const r = await regbenchAsync(
    ["run", "--target", url, "--profile", PROFILE, "--audit-db", auditDb, "-c", "40", "-n", "600", "--workers", "1", "--json", "--no-save", ...extra],
    { env: { REGBENCH_PROJECTS: PROJECTS } },
  );
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { results: { audit: Record<string, number> | null; succeeded: number; notes: string[]; run: string }[] };
  return report.results[0]!;
}

for (const backend of backends) {
  describe(`device-api on ${backend.name}`, { skip: backend.skip }, () => {
    test("naive: regbench's duplicates are the ones a recount with the test's own SQL finds, and there are some", async () => {
      const { url: db, sql } = await backend.create();
      const { url } = await startDeviceApi(db, "naive");
      const r = await run(url, db);
      assert.ok(r.audit, r.notes.join("; "));
      const like = `'${r.run}-%'`;
      // COUNT(DISTINCT a, b) on MariaDB, COUNT(DISTINCT (a, b)) on PostgreSQL.
      const pair = (cols: string) => (backend.name === "PostgreSQL" ? `(${cols})` : cols);
      const [sys] = await sql(`SELECT COUNT(*) - COUNT(DISTINCT ${pair("project_id, system_uuid")}) AS d FROM edge_systems WHERE system_uuid LIKE ${like}`);
      const [ips] = await sql(`SELECT COUNT(*) - COUNT(DISTINCT ${pair("project_id, address")}) AS d FROM devices WHERE machine_id LIKE ${like}`);
      const [machines] = await sql(`SELECT COUNT(*) - COUNT(DISTINCT machine_id) AS d FROM devices WHERE machine_id LIKE ${like}`);
      assert.equal(r.audit.duplicateSystems, Number(sys!.d));
      assert.equal(r.audit.duplicateIps, Number(ips!.d));
      assert.equal(r.audit.duplicateMachines, Number(machines!.d));
      assert.ok(r.audit.violations! > 0, "40 registrations at once on a check-then-insert service duplicate rows");
      assert.equal(r.audit.lostRegistrations, 0);
    });

    test("safe: every registration acknowledged and stored once, 0 violations", async () => {
      const { url: db } = await backend.create();
      const { url } = await startDeviceApi(db, "safe");
      const r = await run(url, db, ["--resend", "0.05"]);
      assert.ok(r.audit, r.notes.join("; "));
      assert.equal(r.succeeded, 600);
      assert.equal(r.audit.violations, 0);
      assert.equal(r.audit.unacknowledgedRows, 0);
    });

    test("profile check sends one registration and shows the request (key masked), the answer and what was read", async () => {
      const { url: db } = await backend.create();
      const { url } = await startDeviceApi(db, "safe");
      const ok = await regbenchAsync(["profile", "check", "--target", url, "--profile", PROFILE], { env: { REGBENCH_PROJECTS: PROJECTS } });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^request\n {2}POST http:\/\/127\.0\.0\.1:\d+\/api\/v2\/devices\n/);
      assert.match(ok.stdout, /\n {2}authorization: Bearer \*\*\*\n/);
      assert.match(ok.stdout, /\n {2}body: \{"project_id":"fleet-a","system_uuid":"rb[0-9a-f]{8}-s0",/);
      assert.match(ok.stdout, /\nanswer\n {2}201 in [\d.]+ ms\n/);
      assert.match(ok.stdout, /\nextracted\n {2}outcome: acknowledged \(counted as a success\)\n {2}id: dev_1\n {2}address: (10\.64\.0\.1)\n/);
      assert.match(ok.stdout, /\n {2}config: plain, address 10\.64\.0\.1 \(agrees\)\n/);
      assert.ok(!ok.stdout.includes("key-a"), "the project key is masked");
      const refused = await regbenchAsync(["profile", "check", "--target", url, "--profile", PROFILE], { env: { REGBENCH_PROJECTS: "fleet-a:wrong" } });
      assert.equal(refused.code, 1);
      assert.match(refused.stdout, /\n {2}outcome: failed, counted as wrong-key\n {2}why: 401: \{"code":"unauthorized"\}\n/);
    });

    test("without a usable source the audit is n/a, never 0, and the note names every source tried", async () => {
      const { url: db } = await backend.create();
      const { url } = await startDeviceApi(db, "safe");
      const broken = new URL(db);
      broken.password = "hunter2";
      broken.pathname = "/no_such_database_here";
      for (const [extra, expected] of [
        [[], /audit n\/a: the target answered 404 on GET \/v1\/audit\/rows; no --audit-db given/],
        [
          ["--audit-db", broken.toString()],
          /audit n\/a: --audit-db \S+:\*\*\*@\S+\/no_such_database_here: reading .* failed: .*; the target answered 404 on GET \/v1\/audit\/rows/,
        ],
      ] as const) {
        const r = await regbenchAsync(
          ["run", "--target", url, "--profile", PROFILE, "-c", "5", "-n", "20", "--workers", "1", "--json", "--no-save", ...extra],
          { env: { REGBENCH_PROJECTS: PROJECTS } },
        );
        assert.equal(r.code, 0, r.stderr);
        const result = (JSON.parse(r.stdout) as { results: { audit: unknown; notes: string[]; succeeded: number }[] }).results[0]!;
        assert.equal(result.succeeded, 20);
        assert.equal(result.audit, null);
        assert.match(result.notes.join("\n"), expected);
        assert.ok(!r.stdout.includes("hunter2") && !r.stderr.includes("hunter2"), "the password is never shown");
      }
    });

    test(
      "merge --audit-db: two agents of one run, audited once from the service's own tables — the merged audit is the recount",
      { skip: backend.name !== "PostgreSQL" && "merge's --audit-db is tested on PostgreSQL; run's on both" },
      async () => {
        const { url: db, sql } = await backend.create();
        const { url } = await startDeviceApi(db, "naive");
        const dir = tempDir();
        const files = [0, 1].map((i) => join(dir, `agent-${i}.json`));
        const agents = await Promise.all(
          files.map((file, i) =>
            regbenchAsync(
              ["run", "--target", url, "--profile", PROFILE, "--audit-db", db, "--run", "mrg1", "--agent", `${i}/2`, "-c", "40", "-n", "600"].concat([
                "--workers",
                "1",
                "--no-save",
                "--export-json",
                file,
              ]),
              { env: { REGBENCH_PROJECTS: PROJECTS } },
            ),
          ),
        );
        for (const a of agents) assert.equal(a.code, 0, a.stderr);
        const parts = files.map((f) => (JSON.parse(readFileSync(f, "utf8")) as { results: { audit: Record<string, number> }[] }).results[0]!);

        const merged = await regbenchAsync(["merge", ...files, "--profile", PROFILE], { env: { REGBENCH_AUDIT_DB: db } });
        assert.equal(merged.code, 0, merged.stderr);
        const report = JSON.parse(merged.stdout) as { config: { auditDb?: string }; notes: string[]; results: { audit: Record<string, number> | null }[] };
        const audit = report.results[0]!.audit;
        assert.ok(audit, report.notes.join("; "));
        const [sys] = await sql("SELECT COUNT(*) - COUNT(DISTINCT (project_id, system_uuid)) AS d FROM edge_systems WHERE system_uuid LIKE 'mrg1-%'");
        const [devices] = await sql(
          "SELECT COUNT(*) - COUNT(DISTINCT (project_id, address)) AS ips, COUNT(*) - COUNT(DISTINCT machine_id) AS machines FROM devices WHERE machine_id LIKE 'mrg1-%'",
        );
        assert.deepEqual(
          { systems: audit.duplicateSystems, ips: audit.duplicateIps, machines: audit.duplicateMachines },
          { systems: Number(sys!.d), ips: Number(devices!.ips), machines: Number(devices!.machines) },
        );
        assert.ok(audit.duplicateIps! > 0, "two agents on a check-then-insert service share addresses");
        assert.equal(audit.lostRegistrations, parts[0]!.audit.lostRegistrations! + parts[1]!.audit.lostRegistrations!);
        assert.equal(report.config.auditDb, db, "the merged result names the database its audit read");
        assert.ok(!report.notes.some((n) => /audits added|audit n\/a|duplicate systems counted/.test(n)), report.notes.join("; "));

        // A database that cannot be read leaves the merged audit n/a, never the agents' sum, and its password unshown.
        const broken = new URL(db);
        broken.password = "hunter2";
        broken.pathname = "/no_such_database_here";
        const unread = await regbenchAsync(["merge", ...files, "--profile", PROFILE, "--audit-db", broken.toString()]);
        assert.equal(unread.code, 0, unread.stderr);
        const unreadReport = JSON.parse(unread.stdout) as { notes: string[]; results: { audit: unknown }[] };
        assert.equal(unreadReport.results[0]!.audit, null);
        assert.match(unreadReport.notes.join("\n"), /audit n\/a: reading \S+:\*\*\*@\S+\/no_such_database_here failed: /);
        assert.ok(!unread.stdout.includes("hunter2") && !unread.stderr.includes("hunter2"), "the password is never shown");
        assert.match(unread.stderr, /--audit-db \(its password\) puts a secret on the command line/);

        // --audit-db goes with the profile's queries, and --profile with an --audit-db: exit 2 naming the flag.
        const noProfile = await regbenchAsync(["merge", ...files, "--audit-db", db]);
        assert.equal(noProfile.code, 2);
        assert.match(noProfile.stderr, /--audit-db needs the queries that list a run's rows, and the built-in profile has no audit section/);
        const noDb = await regbenchAsync(["merge", ...files, "--profile", PROFILE], { env: { REGBENCH_AUDIT_DB: "" } });
        assert.equal(noDb.code, 2);
        assert.match(noDb.stderr, /--profile gives merge the audit queries for --audit-db, and no --audit-db is given/);
      },
    );

    test("ack-early: the lost registrations are exactly the ones the service rolled back after answering", async () => {
      const { url: db } = await backend.create();
      const { url, log } = await startDeviceApi(db, "ack-early");
      const r = await run(url, db);
      assert.ok(r.audit, r.notes.join("; "));
      const rolledBack = log()
        .split("\n")
        .filter((l) => l.startsWith("rolled back "));
      assert.equal(rolledBack.length, 6, log());
      assert.equal(r.audit.lostRegistrations, rolledBack.length);
      assert.equal(r.audit.violations, rolledBack.length);
    });
  });
}
