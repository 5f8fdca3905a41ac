import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { regbench, tempDir } from "../helpers.js";

const dir = tempDir();

test("verdicts: ✓ / ⚠ / ✗ by the audit and --max-error-rate; rel against the fastest ✓; --fail-on-verdict gates", () => {
  // 150 registrations queued on one mutex, each holding it for a few 1 ms round trips, waiting at most 20 ms: most
  // fail with lock-timeout, none is stored twice.
  const args = ["run", "--strategy", "none,global", "-n", "300", "-c", "150", "--lock-timeout", "20ms", "--db-latency", "1", "--json", "--no-save"];
  const r = regbench(args);
  assert.equal(r.code, 0, r.stderr);
  const [none, global] = JSON.parse(r.stdout).results;
  assert.equal(global.verdict, "warn", JSON.stringify(global.errors));
  assert.ok(global.errorRate > 0.5 && global.errors["lock-timeout"] > 150, JSON.stringify(global.errors));
  assert.equal(none.verdict, "fail");
  assert.equal(global.relativeTps, null, "nothing passes: no speed to be relative to");
  const lenient = JSON.parse(regbench([...args, "--max-error-rate", "100%"]).stdout).results[1];
  assert.equal(lenient.verdict, "pass");
  assert.equal(lenient.relativeTps, 1);
  const gated = regbench([...args, "--fail-on-verdict", "warn"]);
  assert.equal(gated.code, 99);
  assert.match(gated.stderr, /global is ⚠ warn \(--fail-on-verdict warn\): correct, but fails \d+\.\d% of registrations/);
  assert.match(gated.stderr, /none is ✗ fail/);
  assert.equal(regbench([...args, "--fail-on-verdict", "fail", "--strategy", "global"]).code, 0);
  assert.equal(regbench(["run", "--strategy", "atomic", "-n", "50", "--fail-on-verdict", "maybe"]).code, 2);
  assert.equal(regbench(["run", "--strategy", "atomic", "-n", "50", "--max-error-rate", "200%"]).code, 2);
});

test("--percentiles chooses the table's columns; --db-latency takes µs", () => {
  const r = regbench(["run", "--strategy", "atomic", "-n", "200", "-c", "20", "--percentiles", "95,99.9", "--db-latency", "250us", "--no-save"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /│ p95 ms │ p99\.9 ms │ max ms │/);
  assert.doesNotMatch(r.stdout, /p50 ms/);
  assert.match(r.stdout, /db latency 0\.25 ms/);
  assert.equal(regbench(["run", "--strategy", "atomic", "-n", "50", "--percentiles", "50,100"]).code, 2);
});

test("report refuses results of different workloads unless --allow-mixed, which labels each row", () => {
  const a = join(dir, "a.json");
  const b = join(dir, "b.json");
  assert.equal(regbench(["run", "--strategy", "sharded", "-n", "200", "-c", "20", "--export-json", a, "--no-save"]).code, 0);
  assert.equal(regbench(["run", "--strategy", "sharded", "-n", "300", "-c", "20", "--export-json", b, "--no-save"]).code, 0);
  const refused = regbench(["report", a, b]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /requests 200 in .*a\.json, 300 in .*b\.json/);
  const mixed = regbench(["report", a, b, "--allow-mixed"]);
  assert.equal(mixed.code, 0, mixed.stderr);
  assert.match(mixed.stdout, /sharded \[n 200, c 20, systems 1\] ✓/);
  assert.match(mixed.stdout, /sharded \[n 300, c 20, systems 1\] ✓/);
  assert.match(regbench(["report", a, "--format", "html"]).stdout, /^<!doctype html>/);
});

test("--export-html writes the page atomically beside the other exports; an older result without verdicts is judged on report", () => {
  const html = join(dir, "r.html");
  const json = join(dir, "r.json");
  const r = regbench(["run", "--strategy", "none,atomic", "-n", "300", "-c", "30", "--export-html", html, "--export-json", json, "--no-save"]);
  assert.equal(r.code, 0, r.stderr);
  const page = readFileSync(html, "utf8");
  assert.match(page, /<td class="pass">atomic ✓<\/td>/);
  assert.match(page, /<td class="fail">none ✗<\/td>/);
  const old = JSON.parse(readFileSync(json, "utf8"));
  for (const x of old.results) {
    delete x.verdict;
    delete x.relativeTps;
  }
  delete old.config.maxErrorRate;
  writeFileSync(json, JSON.stringify(old));
  const again = regbench(["report", json, "--format", "json"]);
  assert.deepEqual(
    JSON.parse(again.stdout).results.map((x: { verdict: string }) => x.verdict),
    ["fail", "pass"],
  );
});

test("a scenario file carries thresholds; the command line's are added; a gate about a strategy not in the run does not apply", () => {
  const file = join(dir, "gated.json");
  writeFileSync(
    file,
    JSON.stringify({
      name: "gated",
      description: "a gated scenario",
      options: { requests: 200, concurrency: 20 },
      thresholds: ["violations==0", "sharded:tps>=1"],
    }),
  );
  const none = regbench(["run", "--scenario", file, "--strategy", "none", "--no-save"]);
  assert.equal(none.code, 99, none.stderr);
  assert.match(none.stdout, /✗ none: violations==0/);
  const atomic = regbench(["run", "--scenario", file, "--strategy", "atomic", "--threshold", "p99.9<1ms", "--no-save"]);
  assert.match(atomic.stdout, /✓ atomic: violations==0/);
  assert.match(atomic.stdout, /atomic: p99\.9<1ms/);
  writeFileSync(file, JSON.stringify({ name: "bad", options: {}, thresholds: "p99<1" }));
  assert.equal(regbench(["run", "--scenario", file, "--strategy", "atomic"]).code, 2);
});

test("regbench scenarios lists every shipped scenario with its description; --version names the commit when known", () => {
  const r = regbench(["scenarios"]);
  assert.equal(r.code, 0);
  for (const name of ["storm", "fleet", "retry-storm", "resend-heavy", "seed-table"]) assert.match(r.stdout, new RegExp(`^${name} +\\S`, "m"));
  assert.match(regbench(["--version"]).stdout, /^regbench \d+\.\d+\.\d+( \(commit [0-9a-f]{12}(\+dirty)?\))? · Node v\d+/);
  assert.match(regbench(["run", "--help"]).stdout, /Exit codes:\n {2}0 .*\n {2}2 .*\n {2}3 .*\n {2}99 /);
});
