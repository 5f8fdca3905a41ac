import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { SqliteStore } from "../../src/store/sqlite.js";
import { regbench, tempDir } from "../helpers.js";
import { skipWithoutRedis } from "../redisEnv.js";
import { cli } from "../inProcessCli.js";

const dir = tempDir();

/** Every file under `folder`, read as text. */
function filesIn(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), "utf8"));
}

test("a --redis URL's password is masked in the table, stderr, every export and the saved JSON", { skip: skipWithoutRedis }, () => {
  const out = join(dir, "masked");
  mkdirSync(out);
  const redis = `${process.env.REGBENCH_TEST_REDIS ?? "redis://127.0.0.1:6379"}`.replace("redis://", "redis://:SECRETPW1@");
  const args = ["run", "--strategy", "redis", "--redis", redis, "-n", "100", "-c", "10", "--out", out];
  const exports = ["md", "html", "csv", "json"].flatMap((f) => [`--export-${f === "md" ? "markdown" : f}`, join(out, `x.${f}`)]);
  const r = regbench([...args, ...exports], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /redis redis:\/\/:\*\*\*@127\.0\.0\.1/);
  const saved = filesIn(out);
  assert.equal(saved.length, 5);
  for (const text of [r.stdout, r.stderr, ...saved]) assert.ok(!text.includes("SECRETPW1"), text.slice(0, 300));
  const json = regbench([...args, "--json", "--no-save"], { cwd: dir });
  assert.ok(!json.stdout.includes("SECRETPW1") && JSON.parse(json.stdout).config.redis.includes(":***@"));
});

test("an --etcd URL's password is masked in the message that it cannot be reached", () => {
  const r = regbench(["run", "--strategy", "etcd", "--etcd", "http://root:SECRETPW2@127.0.0.1:1", "-n", "10", "--no-save"]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /root:\*\*\*@127\.0\.0\.1:1/);
  assert.ok(!r.stderr.includes("SECRETPW2") && !r.stdout.includes("SECRETPW2"), r.stderr);
});

test("report re-renders an older results file holding passwords with every password masked, in every format", () => {
  const run = regbench(["run", "--strategy", "atomic", "-n", "50", "--json", "--no-save"]);
  const report = JSON.parse(run.stdout);
  report.config.redis = "redis://:SECRETPW3@127.0.0.1:6379";
  report.config.etcd = "http://u:SECRETPW3@127.0.0.1:2379";
  report.notes = ["cannot reach Redis at redis://:SECRETPW3@h:1"];
  const file = join(dir, "old.json");
  writeFileSync(file, JSON.stringify(report));
  for (const format of ["table", "md", "html", "csv", "json"]) {
    const r = regbench(["report", file, "--format", format]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes("SECRETPW3"), `${format}: ${r.stdout.slice(0, 400)}`);
  }
  assert.ok(existsSync(file));
});

test("a file that is not what it should be is named with its problem, never its content", async () => {
  const secret = join(dir, "not-json.txt");
  writeFileSync(secret, "root:$6$SECRETHASH$abcdef:19000:0:99999:7:::\n");
  const binary = join(dir, "binary.json");
  writeFileSync(binary, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]));
  const almost = join(dir, "almost.json");
  writeFileSync(almost, '{"name": "x", "options": {"SECRETKEY": 1,}}');
  const files = [secret, binary, almost, ...(existsSync("/etc/shadow") ? ["/etc/shadow"] : [])];
  const shadow = existsSync("/etc/shadow")
    ? (() => {
        try {
          return readFileSync("/etc/shadow", "utf8").slice(0, 12);
        } catch {
          return undefined;
        }
      })()
    : undefined;
  for (const file of files) {
    const every = file === secret || file === "/etc/shadow";
    for (const args of [
      ["run", "--scenario", file, "--no-save"],
      ["report", file],
      ...(every
        ? [
            ["compare", file, file],
            ["merge", file],
            ["run", "--strategy", "atomic", "-n", "10", "--baseline", file, "--no-save"],
            ["run", "--target", "http://127.0.0.1:1", "--secrets-file", file, "-n", "10", "--no-save"],
          ]
        : []),
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.includes(file), `${args.join(" ")}: ${r.stderr}`);
      for (const leak of ["SECRETHASH", "SECRETKEY", "\ufffd", ...(shadow ? [shadow] : [])])
        assert.ok(!r.stderr.includes(leak), `${args.join(" ")}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
  }
});

test("--profile FILE that is not a profile, for run and profile check: exit 2 naming the flag, the file and the line, never its content", async () => {
  const shadowLike = join(dir, "shadow-like");
  writeFileSync(shadowLike, "root:$6$SECRETHASH$abcdef:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n");
  const env = join(dir, "app.env.yaml");
  writeFileSync(env, "DB_HOST: db\nDB_PASSWORD: SECRETPW4\n");
  const template = join(dir, "template.yaml");
  writeFileSync(template, "request:\n  path: /r\n  body: '{{ lookup(\"SECRETTPL\") }}'\nanswer:\n  address: /ip\n");
  let shadow: string | undefined;
  try {
    shadow = readFileSync("/etc/shadow", "utf8").split("\n")[0]!.split(":").slice(0, 2).join(":");
  } catch {
    shadow = undefined; // not root: /etc/shadow cannot be read, and says so
  }
  const asUser = { REGBENCH_PROJECTS: "p:k" };
  for (const file of [shadowLike, env, template, ...(existsSync("/etc/shadow") ? ["/etc/shadow"] : [])]) {
    for (const args of [
      ["run", "--target", "http://127.0.0.1:1", "--profile", file, "-n", "10", "--no-save"],
      ["profile", "check", "--target", "http://127.0.0.1:1", "--profile", file],
    ]) {
      const r = await cli(args, asUser);
      const what = `${args.join(" ")}: ${r.stderr}`;
      assert.equal(r.code, 2, what);
      assert.ok(r.stderr.includes("--profile") && r.stderr.includes(file), what);
      for (const leak of ["SECRET", "root:", "daemon", "DB_", ...(shadow ? [shadow] : [])]) assert.ok(!`${r.stdout}${r.stderr}`.includes(leak), what);
    }
  }
});

test("malformed results files are exit 2 naming the file and the first bad path, for report, compare, merge and --baseline", async () => {
  const run = regbench(["run", "--strategy", "atomic", "-n", "50", "--json", "--no-save"]);
  const good = JSON.parse(run.stdout);
  const deep = join(dir, "deep.json");
  writeFileSync(deep, `{"tool":"regbench","schemaVersion":1,"config":{"strategies":[],"x":${"[".repeat(200_000)}${"]".repeat(200_000)}},"results":[]}`);
  const cases: [string, unknown, RegExp][] = [
    ["null-result.json", { ...good, results: [null] }, /\$\.results\[0\]: must be an object, not null/],
    ["signal.json", { ...good, interrupted: { signal: 15 } }, /\$\.interrupted\.signal: must be a string, not a number/],
    ["strategies.json", { ...good, config: { ...good.config, strategies: 3 } }, /\$\.config\.strategies: must be an array/],
    ["tps.json", { ...good, results: [{ ...good.results[0], tps: "fast" }] }, /\$\.results\[0\]\.tps: must be a number/],
  ];
  const paths: [string, RegExp][] = [[deep, /\$\.config\.x: nested more than 32 levels deep/]];
  for (const [name, doc, why] of cases) {
    writeFileSync(join(dir, name), JSON.stringify(doc));
    paths.push([join(dir, name), why]);
  }
  const ok = join(dir, "good.json");
  writeFileSync(ok, JSON.stringify(good));
  for (const [file, why] of paths) {
    // Every reader on the two the issue names; report alone on the others (the readers share one loader).
    const every = file === deep || file.endsWith("null-result.json");
    for (const args of [
      ["report", file, "--format", "html"],
      ...(every
        ? [
            ["compare", ok, file],
            ["merge", ok, file],
            ["run", "--strategy", "atomic", "-n", "50", "--baseline", file, "--no-save"],
          ]
        : []),
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.includes(file), r.stderr);
      assert.match(r.stderr, why);
      assert.doesNotMatch(r.stderr, /\n\s+at |RangeError|TypeError/, "no stack trace");
    }
  }
  assert.equal(regbench(["report", ok]).code, 0, "a valid file still renders");
});

test("control characters in a scenario name or a results strategy are escaped in the table and every text export; <script> stays text", () => {
  const hostile = "x\u001b]0;pwned\u0007\u001b[31m<script>alert(1)</script>**[link](http://evil)**";
  const scenario = join(dir, "hostile-scenario.json");
  writeFileSync(scenario, JSON.stringify({ name: hostile, options: { strategy: "atomic", requests: 50 } }));
  const md = join(dir, "h.md");
  const html = join(dir, "h.html");
  const csv = join(dir, "h.csv");
  const json = join(dir, "h.json");
  const r = regbench(["run", "--scenario", scenario, "--no-save", "--export-markdown", md, "--export-html", html, "--export-csv", csv, "--export-json", json]);
  assert.equal(r.code, 0, r.stderr);
  const raw = /[\u0007\u001b]/;
  assert.doesNotMatch(r.stdout, raw);
  assert.doesNotMatch(r.stderr, raw);
  assert.match(r.stdout, /scenario x\\x1b\]0;pwned\\x07\\x1b\[31m<script>/);
  const markdown = readFileSync(md, "utf8");
  assert.doesNotMatch(markdown, raw);
  assert.ok(!markdown.includes("<script>") && markdown.includes("&lt;script&gt;"), markdown.slice(0, 400));
  assert.ok(!markdown.includes("[link](http://evil)") && markdown.includes("\\[link\\]"), "a link is text");
  assert.ok(!readFileSync(html, "utf8").includes("<script>alert"));
  assert.doesNotMatch(readFileSync(html, "utf8"), raw);
  // The results file keeps the name as given (JSON escapes control characters itself); report escapes it again.
  const doc = JSON.parse(readFileSync(json, "utf8"));
  doc.results[0].strategy = hostile;
  doc.results[0].notes = [hostile];
  writeFileSync(json, JSON.stringify(doc));
  for (const format of ["table", "md", "html", "csv"]) {
    const out = regbench(["report", json, "--format", format]);
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stdout, raw, format);
    if (format !== "csv") assert.ok(!out.stdout.includes("<script>alert") || format === "table", format);
  }
});

test("an SQLite file of another application is never written: exit 2 naming it, its bytes unchanged, no WAL", () => {
  const other = join(dir, "other-app.db");
  const db = new Database(other);
  db.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO accounts (name) VALUES ('alice');");
  db.close();
  const withMeta = join(dir, "other-meta.db");
  const db2 = new Database(withMeta);
  db2.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema_version', '1');");
  db2.close();
  const text = join(dir, "notes.txt");
  writeFileSync(text, "not a database\n");
  const scenario = join(dir, "store-scenario.json");
  for (const file of [other, withMeta, text]) {
    const before = readFileSync(file);
    writeFileSync(scenario, JSON.stringify({ name: "s", options: { strategy: "atomic", requests: 20, store: `sqlite:${file}` } }));
    for (const [args, flag] of [
      [["run", "--strategy", "atomic", "-n", "20", "--store", `sqlite:${file}`, "--no-save"], "--store"],
      [["run", "--scenario", scenario, "--no-save"], "--scenario"],
      [["serve", "--port", "0", "--store", `sqlite:${file}`], "--store"],
    ] as const) {
      const r = regbench(args, { timeoutMs: 30_000 });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.includes(flag) && r.stderr.includes(file), r.stderr);
    }
    assert.ok(readFileSync(file).equals(before), `${file} was modified`);
    assert.ok(!existsSync(`${file}-wal`) && !existsSync(`${file}-shm`), "no WAL switch");
  }
  // The store's own layer refuses too (a labelled per-strategy file, a caller that skips the CLI).
  assert.throws(() => new SqliteStore({ path: other, constraints: true, busyTimeoutMs: 100 }), /another application/);
  // A regbench store, and a new path, are opened as before.
  const kept = join(dir, "kept.db");
  assert.equal(regbench(["run", "--strategy", "atomic", "-n", "20", "--store", `sqlite:${kept}`, "--no-save"]).code, 0);
  assert.equal(regbench(["run", "--strategy", "atomic", "-n", "20", "--store", `sqlite:${kept}`, "--no-save"]).code, 0, "a regbench store is reopened");
});
