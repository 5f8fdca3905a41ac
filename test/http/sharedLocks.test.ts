import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import pg from "pg";
import { removeStore } from "../../src/store/registry.js";
import { postgres, POSTGRES_URL } from "../dbEnv.js";
import { throwawayEtcd } from "../etcdEnv.js";
import { regbenchAsync, tempDir } from "../helpers.js";
import { startServe } from "../serveProcess.js";
import { REDIS_URL, skipWithoutRedis } from "../redisEnv.js";

/** The violations counted again here, straight from the schema's tables: surplus rows per identity. */
async function recount(schema: string, runs: readonly string[]): Promise<{ systems: number; machines: number; ips: number; rows: number }> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const like = runs.map((r) => `${r}-%`);
    const systems = await client.query<{ n: string }>(
      `SELECT count(*) - count(DISTINCT (project_id, system_uuid)) AS n FROM ${schema}.systems WHERE system_uuid LIKE ANY($1)`,
      [like],
    );
    const machines = await client.query<{ dm: string; di: string; rows: string }>(
      `SELECT count(*) - count(DISTINCT machine_id) AS dm, count(*) - count(DISTINCT (project_id, ipv4)) AS di, count(DISTINCT machine_id) AS rows
       FROM ${schema}.machines WHERE machine_id LIKE ANY($1)`,
      [like],
    );
    const m = machines.rows[0]!;
    return { systems: Number(systems.rows[0]!.n), machines: Number(m.dm), ips: Number(m.di), rows: Number(m.rows) };
  } finally {
    await client.end();
  }
}

const LOCKED = ["redis", "redlock", "redis-fenced", "redis-db", "redis-reentrant", "etcd", "etcd-fenced"] as const;

/**
 * Issue 19's bug: each `serve` built its lock prefix from its PID, so two servers on one store never waited on each
 * other's locks (55 duplicate IPs for redis). Two servers on one PostgreSQL schema and one Redis / etcd, each driven
 * by its own agent on the same project, then merged with the audit over both: no violation for any lock strategy,
 * and the merged audit is what the tables say.
 */
// Each strategy on a schema of its own (so a namespace of its own): two at a time.
describe("two serve processes, one store, one lock service: they share a lock namespace", { skip: postgres.skip || skipWithoutRedis, concurrency: 2 }, () => {
  const etcd = throwawayEtcd();
  for (const strategy of LOCKED) {
    const isEtcd = strategy.startsWith("etcd");
    test(
      `${strategy}: both servers print one namespace; merged audit 0 violations, equal to a recount`,
      { skip: isEtcd && etcd.skip, timeout: 180_000 },
      async () => {
        const schema = `rbtest_${randomBytes(4).toString("hex")}`;
        const run = `locks_${randomBytes(3).toString("hex")}`;
        after(() => removeStore({ kind: "postgres", url: POSTGRES_URL, schema }));
        const dir = tempDir();
        const secrets = join(dir, "secrets.json");
        const lockService = isEtcd ? ["--etcd", etcd.urls().join(",")] : ["--redis", REDIS_URL];
        const args = ["--strategy", strategy, "--store", `${POSTGRES_URL}?schema=${schema}`, "--secrets-file", secrets, "--no-server-warmup", ...lockService];
        const first = await startServe(args);
        const second = await startServe(args);
        try {
          assert.match(first.namespace, /^store-[0-9a-f]{16}$/);
          assert.equal(second.namespace, first.namespace, "servers on one store derive one lock namespace");
          const agents = await Promise.all(
            [first, second].map((s, i) =>
              regbenchAsync(
                // Two agents of one run: they share its systems, so the system rows race across the servers too.
                [
                  ...["run", "--target", s.url, "--secrets-file", secrets, "--run", run, "--agent", `${i}/2`, "-n", "200", "-c", "12", "--systems", "2"],
                  ...["--workers", "1", "--no-save", "--export-json", join(dir, `a${i}.json`)],
                ],
                { cwd: dir },
              ),
            ),
          );
          for (const a of agents) assert.equal(a.code, 0, a.stderr);
          const merged = await regbenchAsync(["merge", join(dir, "a0.json"), join(dir, "a1.json"), "--target", first.url, "--secrets-file", secrets], {
            cwd: dir,
          });
          assert.equal(merged.code, 0, merged.stderr);
          const report = JSON.parse(merged.stdout);
          const result = report.results[0];
          assert.ok(result.audit, JSON.stringify(report.notes));
          const counted = await recount(schema, [run]);
          assert.deepEqual(
            { systems: result.audit.duplicateSystems, machines: result.audit.duplicateMachines, ips: result.audit.duplicateIps },
            { systems: counted.systems, machines: counted.machines, ips: counted.ips },
            "the merged audit is the recount",
          );
          assert.equal(result.audit.violations, 0, JSON.stringify(result.audit));
          assert.equal(result.succeeded + result.failed, 200);
          assert.equal(counted.rows, result.succeeded, "one machine row per acknowledged registration");
        } finally {
          await Promise.all([first.stop(), second.stop()]);
        }
      },
    );
  }
});

describe("serve --lock-namespace", () => {
  test("a namespace that is not a key-safe name exits 2 naming the flag, before anything starts", async () => {
    const bad = await regbenchAsync(["serve", "--port", "0", "--lock-namespace", "a:b"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--lock-namespace must be 1 to 63 letters/);
    const badEnv = await regbenchAsync(["serve", "--port", "0"], { env: { REGBENCH_LOCK_NAMESPACE: "x/y" } });
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.stderr, /REGBENCH_LOCK_NAMESPACE must be/);
  });

  test("given in the environment, it is the one used, and two stores derive two namespaces", { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const given = await startServe(["--store", `sqlite:${join(dir, "a.db")}`, "--no-server-warmup"], { REGBENCH_LOCK_NAMESPACE: "fleet-prod" });
    const a = await startServe(["--store", `sqlite:${join(dir, "a.db")}`, "--no-server-warmup"]);
    const b = await startServe(["--store", `sqlite:${join(dir, "b.db")}`, "--no-server-warmup"]);
    await Promise.all([given.stop(), a.stop(), b.stop()]);
    assert.equal(given.namespace, "fleet-prod");
    assert.match(a.namespace, /^store-[0-9a-f]{16}$/);
    assert.notEqual(a.namespace, b.namespace);
  });
});
