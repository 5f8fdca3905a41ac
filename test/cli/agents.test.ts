import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { parseAgent, parseStartAt, resolveAgentIndex, shareOf } from "../../src/cli/agentOptions.js";
import { buildRunConfig, UsageError } from "../../src/cli/options.js";
import { regbenchAsync, tempDir } from "../helpers.js";
import { startServe } from "../serveProcess.js";

const SECRETS = { projects: [{ id: "p", key: "k" }], serverKey: undefined, auditToken: undefined };

describe("agent options", () => {
  test("the shares of N agents add up to the total, and differ by at most one", () => {
    for (const [total, of] of [
      [1001, 4],
      [7, 7],
      [10, 3],
      [100_000, 16],
    ] as const) {
      const shares = Array.from({ length: of }, (_, i) => shareOf(total, i, of));
      assert.equal(
        shares.reduce((t, s) => t + s, 0),
        total,
      );
      assert.ok(Math.max(...shares) - Math.min(...shares) <= 1, String(shares));
    }
  });

  test("an agent's config holds its share of -n, -c and --rate; the run's totals are kept", () => {
    const config = buildRunConfig({ target: "http://127.0.0.1:1", run: "r1", agent: "3/4", requests: "1001", concurrency: "10", rate: "400" }, SECRETS);
    assert.deepEqual(
      { n: config.workload.requests, c: config.workload.concurrency, rate: config.workload.rate },
      { n: shareOf(1001, 3, 4), c: shareOf(10, 3, 4), rate: 100 },
    );
    assert.deepEqual(config.http.agent, { run: "r1", index: 3, of: 4, total: { requests: 1001, concurrency: 10, warmup: 0, rate: 400 } });
    assert.deepEqual(buildRunConfig({ target: "http://127.0.0.1:1", run: "r1" }, SECRETS).http.agent?.of, 1);
  });

  test("--agents N takes its index from JOB_COMPLETION_INDEX, and refuses without one or out of range", () => {
    assert.equal(resolveAgentIndex({ agents: "4" }, { JOB_COMPLETION_INDEX: "2" }).agent, "2/4");
    assert.throws(
      () => resolveAgentIndex({ agents: "4" }, {}),
      (e: UsageError) => e.flag === "--agents" && /JOB_COMPLETION_INDEX/.test(e.message),
    );
    assert.throws(() => resolveAgentIndex({ agents: "4" }, { JOB_COMPLETION_INDEX: "4" }), /from 0 to 3/);
    assert.throws(() => resolveAgentIndex({ agents: "4", agent: "1/4" }, {}), /cannot be combined with --agent/);
  });

  test("bad values exit 2 naming the flag", () => {
    const flagOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as UsageError).flag;
      }
      return "accepted";
    };
    const t = "http://127.0.0.1:1";
    assert.equal(
      flagOf(() => parseAgent("r", "4/4", t)),
      "--agent",
    );
    assert.equal(
      flagOf(() => parseAgent(undefined, "0/2", t)),
      "--agent",
    );
    assert.equal(
      flagOf(() => parseAgent("r-1", "0/2", t)),
      "--run",
    );
    assert.equal(
      flagOf(() => parseAgent("r", "0/2", undefined)),
      "--run",
    );
    assert.equal(
      flagOf(() => buildRunConfig({ target: t, run: "r", agent: "0/4", concurrency: "3" }, SECRETS)),
      "--concurrency (-c)",
    );
    assert.equal(
      flagOf(() => buildRunConfig({ target: t, run: "r", runs: "2" }, SECRETS)),
      "--runs",
    );
    assert.equal(
      flagOf(() => buildRunConfig({ startAt: "2026-12-01T20:00:00Z" })),
      "--start-at",
    );
    assert.equal(
      flagOf(() => parseStartAt("1796155200")),
      "--start-at",
    ); // seconds, not ms
    assert.equal(
      flagOf(() => parseStartAt("tomorrow")),
      "--start-at",
    );
    assert.equal(
      flagOf(() => parseStartAt(String(Date.now() + 2 * 86_400_000))),
      "--start-at",
    );
    assert.equal(parseStartAt("2026-12-01T20:00:00Z", Date.parse("2026-12-01T19:00:00Z")), Date.parse("2026-12-01T20:00:00Z"));
    assert.equal(parseStartAt("1796155200000", 1796155100000), 1796155200000);
  });
});

/**
 * The Kubernetes Indexed Job's protocol, on this machine: four agent processes given JOB_COMPLETION_INDEX 0…3, the
 * same --run, --agents 4 and --start-at, against one `regbench serve`; then `regbench merge --target`. The merged
 * counts are exact, the audit is a recount of the store's tables, and a merge that lacks an agent or mixes runs exits 2.
 */
describe("the Indexed Job protocol: four agents and the merge", () => {
  const dir = tempDir();
  const db = join(dir, "store.db");
  const secrets = join(dir, "secrets.json");
  let server: Awaited<ReturnType<typeof startServe>>;
  const N = 1001;
  before(async () => {
    server = await startServe(["--store", `sqlite:${db}`, "--secrets-file", secrets, "--no-server-warmup"]);
  });
  after(async () => server?.stop());

  test("each agent sends its share; merged succeeded + failed = -n; the audit is the recount; gates apply", { timeout: 180_000 }, async () => {
    const startAt = String(Date.now() + 4000);
    const agents = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        regbenchAsync(
          [
            "run",
            "--target",
            server.url,
            "--secrets-file",
            secrets,
            "--run",
            "job1",
            "--agents",
            "4",
            "--start-at",
            startAt,
            "-n",
            String(N),
            "-c",
            "8",
            "--systems",
            "3",
            "--workers",
            "1",
            "--no-save",
            "--export-json",
            join(dir, `agent-${i}.json`),
          ],
          { cwd: dir, env: { JOB_COMPLETION_INDEX: String(i) } },
        ),
      ),
    );
    for (const a of agents) assert.equal(a.code, 0, a.stderr);
    const parts = [0, 1, 2, 3].map((i) => JSON.parse(readFileSync(join(dir, `agent-${i}.json`), "utf8")));
    parts.forEach((p, i) => {
      assert.deepEqual(p.results[0].agent, { run: "job1", index: i, of: 4 });
      assert.equal(p.results[0].requests, shareOf(N, i, 4));
      assert.equal(p.results[0].run, `job1-a${i}`);
    });
    const files = parts.map((_, i) => join(dir, `agent-${i}.json`));
    const merged = await regbenchAsync(["merge", ...files, "--target", server.url, "--secrets-file", secrets, "--threshold", "violations==0"], { cwd: dir });
    assert.equal(merged.code, 0, merged.stderr);
    const report = JSON.parse(merged.stdout);
    const result = report.results[0];
    assert.equal(result.succeeded + result.failed, N);
    assert.deepEqual(
      { requests: report.config.requests, concurrency: report.config.concurrency, agents: report.config.agents },
      { requests: N, concurrency: 8, agents: 4 },
    );
    // The recount, from the tables themselves.
    const sqlite = new Database(db, { readonly: true, fileMustExist: true });
    const systems = sqlite
      .prepare(
        "SELECT count(*) - count(DISTINCT project_id || '/' || system_uuid) AS dup, count(DISTINCT system_uuid) AS n FROM systems WHERE system_uuid LIKE 'job1-%'",
      )
      .get() as {
      dup: number;
      n: number;
    };
    const machines = sqlite
      .prepare(
        "SELECT count(*) - count(DISTINCT machine_id) AS dm, count(*) - count(DISTINCT project_id || '/' || ipv4) AS di, count(DISTINCT machine_id) AS n FROM machines WHERE machine_id LIKE 'job1-%'",
      )
      .get() as { dm: number; di: number; n: number };
    sqlite.close();
    assert.deepEqual(
      { systems: result.audit.duplicateSystems, machines: result.audit.duplicateMachines, ips: result.audit.duplicateIps },
      { systems: systems.dup, machines: machines.dm, ips: machines.di },
    );
    assert.equal(systems.n, 3, "the agents share the run's three systems");
    assert.equal(machines.n, result.succeeded, "one machine row per acknowledged registration");
    assert.equal(result.audit.violations, 0);
    assert.equal(report.thresholds[0].passed, true);

    // A gate on the merged result exits 99.
    const gated = await regbenchAsync(["merge", ...files, "--threshold", "tps>1000000000"], { cwd: dir });
    assert.equal(gated.code, 99, gated.stderr);
    assert.match(gated.stderr, /threshold failed/);
    // A baseline of the same workload passes against itself; one of another workload is refused.
    writeFileSync(join(dir, "base.json"), merged.stdout);
    assert.equal((await regbenchAsync(["merge", ...files, "--baseline", join(dir, "base.json")], { cwd: dir })).code, 0);

    // A missing agent, or an agent of another run, is refused before anything is merged: exit 2, naming which.
    const missing = await regbenchAsync(["merge", files[0]!, files[1]!, files[3]!], { cwd: dir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing agent 2 of run job1/);
    const other = join(dir, "other.json");
    writeFileSync(other, JSON.stringify({ ...parts[2], results: [{ ...parts[2].results[0], agent: { run: "job2", index: 2, of: 4 } }] }));
    const mixed = await regbenchAsync(["merge", files[0]!, files[1]!, other, files[3]!], { cwd: dir });
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /other\.json is agent 2\/4 of run job2/);
  });
});
