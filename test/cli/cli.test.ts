import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { mysql, MYSQL_URL, postgres, POSTGRES_URL } from "../dbEnv.js";
import { regbench, tempDir } from "../helpers.js";
import { REDIS_URL, skipWithoutRedis } from "../redisEnv.js";
import { cli } from "../inProcessCli.js";

test("run prints the table with every column and the audit, exit 0", () => {
  const r = regbench(["run", "--strategy", "global,none", "-c", "50", "-n", "300", "--seed", "3"]);
  assert.equal(r.code, 0, r.stderr);
  for (const head of [
    "strategy",
    "TPS",
    "rel",
    "mean ms",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "errors",
    "dup sys",
    "dup mach",
    "dup IPs",
    "lost",
    "peak RSS",
  ]) {
    assert.ok(r.stdout.includes(head), head);
  }
  assert.match(r.stdout, /global ✓/);
  assert.match(r.stdout, /none ✗/);
  assert.match(r.stdout, /^regbench \S+ · mode in-process · -n 300 · -c 50 · systems 1/);
  assert.doesNotMatch(r.stdout, /\u001b\[/, "no colour when NO_COLOR is set");
});

test("--json prints exactly one JSON document on stdout", () => {
  const r = regbench(["run", "--strategy", "atomic,sharded", "-c", "20", "-n", "200", "--json", "--systems", "3"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.tool, "regbench");
  assert.equal(doc.schemaVersion, 1);
  assert.equal(doc.config.requests, 200);
  assert.deepEqual(
    doc.results.map((x: { strategy: string }) => x.strategy),
    ["atomic", "sharded"],
  );
  const atomic = doc.results[0];
  for (const field of [
    "strategy",
    "requests",
    "succeeded",
    "failed",
    "errorRate",
    "durationMs",
    "tps",
    "latencyMs",
    "errors",
    "audit",
    "memory",
    "histogram",
  ]) {
    assert.ok(field in atomic, field);
  }
  assert.deepEqual(Object.keys(atomic.latencyMs).sort(), ["max", "mean", "p50", "p90", "p95", "p99", "p999", "stddev"]);
  assert.equal(atomic.verdict, "pass");
  assert.equal(atomic.relativeTps, 1);
  assert.equal(doc.config.maxErrorRate, 0.01);
  assert.deepEqual(Object.keys(atomic.audit).sort(), [
    "duplicateIps",
    "duplicateMachines",
    "duplicateSystems",
    "lostRegistrations",
    "unacknowledgedRows",
    "violations",
  ]);
  assert.equal(atomic.state, "completed");
  assert.equal(atomic.succeeded, 200);
  assert.ok(atomic.memory.peakRssMb > 10);
  assert.match(atomic.histogram, /^[A-Za-z0-9+/=]+$/);
});

test("bad flags exit 2 before anything runs, naming the flag and the fix", async () => {
  const cases: [string[], RegExp][] = [
    [["run", "-c", "abc"], /--concurrency \(-c\) must be a whole number ≥ 1 \(got abc\)\. For example: -c 100/],
    [["run", "-n", "0"], /--requests \(-n\) must be a whole number ≥ 1/],
    [["run", "--strategy", "fastest"], /--strategy names an unknown strategy "fastest"\. Known strategies: none, global/],
    [["run", "--resend", "1.5"], /--resend must be a ratio between 0 and 1/],
    [["run", "--db-latency", "soon"], /--db-latency must be a duration/],
    [["run", "--shards", "12"], /--shards must be a power of two \(got 12\)\. Use 16 or 8/],
    [["run", "--cidr", "10.0.0.1/24"], /--cidr is not an IPv4 network/],
    [["run", "--cidr", "10.0.0.0/24", "-n", "1000"], /--cidr 10\.0\.0\.0\/24 holds 253 devices/],
    [["run", "--projects", "3", "--systems", "2"], /--projects \(3\) is more than --systems \(2\)/],
    [["run", "--store", "oracle://x"], /--store is not understood/],
    [["run", "--store", "postgres://h/db?schema=A-B"], /--store is not understood .*\?schema= must be lowercase/],
    [["run", "--pool", "4"], /--pool applies to database servers only/],
    [["run", "--store", "memory", "--keep-store"], /--keep-store has nothing to keep/],
    [["run", "--scenario", "nope"], /--scenario cannot be used: no scenario file/],
    [["run", "--lock-key", "machine"], /--lock-key/],
    [["run", "--no-such-flag"], /unknown option '--no-such-flag'/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stdout, "", `${args.join(" ")} printed on stdout`);
  }
});

test("a database server that does not answer exits 3 within seconds, naming it and how to start one", () => {
  for (const [store, name] of [
    ["postgres://postgres@127.0.0.1:1/test", "PostgreSQL"],
    ["mysql://root@127.0.0.1:1/test", "MySQL"],
  ] as const) {
    // The spawn's timeout guards against a hang (a connect without a timeout would hit it).
    const r = regbench(["run", "--strategy", "atomic", "-n", "10", "--store", store], { timeoutMs: 20_000 });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot reach ${name} at ${store.split("/test")[0]}`));
    assert.match(r.stderr, /Start one/);
  }
});

/** A URL like `url` with another user, password, database or port. */
function variant(url: string, change: { user?: string; password?: string; database?: string; port?: string }): string {
  const u = new URL(url);
  if (change.user !== undefined) u.username = change.user;
  if (change.password !== undefined) u.password = change.password;
  if (change.database !== undefined) u.pathname = `/${change.database}`;
  if (change.port !== undefined) u.port = change.port;
  return u.toString();
}

test("a database server that refuses the login or lacks the URL's database: exit 3 with its own message and a hint that fits", () => {
  const cases: [string, RegExp][] = [];
  if (!postgres.skip) {
    cases.push([variant(POSTGRES_URL, { database: "regbench_no_such_db" }), /database "regbench_no_such_db" does not exist \(3D000\)\. Create it/]);
    cases.push([
      variant(POSTGRES_URL, { user: "regbench_no_such_user" }),
      /role "regbench_no_such_user" does not exist \(28000\)\. Check the user and password/,
    ]);
  }
  if (!mysql.skip) {
    cases.push([variant(MYSQL_URL, { database: "regbench_no_such_db" }), /Unknown database 'regbench_no_such_db' \(ER_BAD_DB_ERROR\)\. Create it/]);
    cases.push([
      variant(MYSQL_URL, { user: "regbench_no_such_user", password: "x" }),
      /Access denied for user 'regbench_no_such_user'.*Check the user and password/,
    ]);
  }
  if (cases.length === 0) return;
  for (const [store, message] of cases) {
    const r = regbench(["run", "--strategy", "atomic", "-n", "10", "--no-save", "--store", store], { timeoutMs: 30_000 });
    assert.equal(r.code, 3, `${store}: ${r.stderr}`);
    assert.match(r.stderr, message, store);
    assert.doesNotMatch(r.stderr, /cannot reach|Start one/, `${store}: the server answered, so no install hint`);
    assert.doesNotMatch(r.stderr, /:x@/, "the password is not shown");
  }
});

test(
  "a service of another protocol at --redis, --etcd or --store: exit 3, 'does not speak …', no install hint, no client's internals",
  { skip: postgres.skip || skipWithoutRedis },
  () => {
    const redisPort = new URL(REDIS_URL).port || "6379";
    const pgPort = new URL(POSTGRES_URL).port || "5432";
    const cases: [string[], RegExp][] = [
      [["--strategy", "redis", "--redis", `redis://127.0.0.1:${pgPort}`], new RegExp(`the service at redis://127\\.0\\.0\\.1:${pgPort} does not speak Redis`)],
      [["--strategy", "etcd", "--etcd", `http://127.0.0.1:${redisPort}`], new RegExp(`the service at http://127\\.0\\.0\\.1:${redisPort} does not speak etcd`)],
      [["--strategy", "atomic", "--store", variant(POSTGRES_URL, { port: redisPort })], /does not speak PostgreSQL/],
      [["--strategy", "atomic", "--store", variant(MYSQL_URL, { port: redisPort })], /does not speak MySQL/],
    ];
    for (const [args, message] of cases) {
      const r = regbench(["run", ...args, "-n", "10", "--no-save"], { timeoutMs: 30_000 });
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.doesNotMatch(r.stderr, /redis-server --port|Start one|apt-get|Please report|Protocol error, got/, `${args.join(" ")}: ${r.stderr}`);
    }
  },
);

test("a store that cannot be opened exits 3 with the path", () => {
  const r = regbench(["run", "--strategy", "none", "-n", "10", "-c", "1", "--store", "sqlite:/nonexistent-dir/x.db"]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /cannot open the SQLite database at \/nonexistent-dir\/x\.db/);
});

test("a kept store holds the rows, one file per strategy", () => {
  const dir = tempDir();
  const r = regbench(["run", "--strategy", "none,atomic", "-n", "50", "-c", "5", "--store", `sqlite:${join(dir, "runs.db")}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(dir, "runs.none.db")));
  assert.ok(existsSync(join(dir, "runs.atomic.db")));
});

test("scenarios load by name and flags override them", () => {
  const r = regbench(["run", "--scenario", "fleet", "--strategy", "atomic", "-n", "200", "-c", "20", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.config.scenario, "fleet");
  assert.equal(doc.config.systems, 100);
  assert.equal(doc.config.requests, 200);
});

test("strategies and --strategy list describe every strategy", () => {
  for (const args of [["strategies"], ["run", "--strategy", "list"]]) {
    const r = regbench(args);
    assert.equal(r.code, 0);
    for (const name of ["none", "global", "singleflight", "sharded", "db-unique", "sharded-db", "atomic"]) assert.match(r.stdout, new RegExp(`^${name} `, "m"));
    assert.match(r.stdout, /protects:/);
    assert.match(r.stdout, /does not:/);
  }
});

test("--help and --version exit 0", () => {
  assert.equal(regbench(["--version"]).code, 0);
  const help = regbench(["run", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--db-latency/);
});
