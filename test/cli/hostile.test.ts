import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { regbench, tempDir } from "../helpers.js";
import { skipWithoutRedis } from "../redisEnv.js";

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
