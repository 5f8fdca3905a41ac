import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { regbench, tempDir } from "../helpers.js";

const dir = tempDir();
const small = ["--strategy", "sharded,atomic", "-c", "50", "-n", "500"];

test("thresholds that hold exit 0; one that fails exits 99 and says which and by how much", () => {
  const ok = regbench(["run", ...small, "--threshold", "violations==0", "--threshold", "atomic:p99<1000ms"], { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /✓ atomic: atomic:p99<1000ms — measured/);
  const bad = regbench(["run", ...small, "--threshold", "violations==0", "--threshold", "tps>1e9"], { cwd: dir });
  assert.equal(bad.code, 99);
  assert.match(bad.stdout, /✗ atomic: tps>1e9 — measured [\d,]+\/s, off by [\d,]+\/s/);
  assert.match(bad.stderr, /threshold failed: sharded: tps>1e9/);
  const none = regbench(["run", "--strategy", "none", "-c", "200", "-n", "2000", "--fail-on-violations"], { cwd: dir });
  assert.equal(none.code, 99);
});

test("a threshold that does not parse is exit 2 with the position", () => {
  const r = regbench(["run", ...small, "--threshold", "p99<<5"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--threshold "p99<<5" does not parse: expected a number at column 5/);
  assert.match(r.stderr, /\n {2}p99<<5\n {6}\^/);
});

test("every run is saved under results/ unless --no-save; exports are written; a bad export path fails first", () => {
  const cwd = tempDir();
  const r = regbench(["run", ...small, "--scenario", "storm", "--export-markdown", "r.md", "--export-csv", "r.csv", "--export-json", "r.json"], { cwd });
  assert.equal(r.code, 0, r.stderr);
  const saved = readdirSync(join(cwd, "results"));
  assert.equal(saved.length, 1);
  assert.match(saved[0]!, /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-storm\.json$/);
  assert.match(readFileSync(join(cwd, "r.md"), "utf8"), /xychart-beta/);
  assert.match(readFileSync(join(cwd, "r.csv"), "utf8"), /^strategy,state,verdict,runs,/);
  assert.equal(JSON.parse(readFileSync(join(cwd, "r.json"), "utf8")).tool, "regbench");
  const quiet = tempDir();
  assert.equal(regbench(["run", ...small, "--no-save"], { cwd: quiet }).code, 0);
  assert.ok(!existsSync(join(quiet, "results")));
  const bad = regbench(["run", "--strategy", "global", "-n", "100000", "--export-markdown", "/nonexistent/dir/r.md"], { cwd: quiet });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--export-markdown cannot write \/nonexistent\/dir\/r\.md \(ENOENT\)/);
  // It failed before running: no progress, no strategy's line, no table.
  assert.doesNotMatch(bad.stderr, /global|succeeded/, "it failed before running");
  assert.equal(bad.stdout, "");
});

test("baselines: saved, refused for another workload, and the gate follows the comparison's verdict", () => {
  // The verdicts themselves are decided on synthetic results (test/gate/baseline.test.ts); here the CLI's wiring is
  // checked against baselines doctored so that the verdict cannot depend on how fast this machine is today.
  const run = ["run", "--no-save", "--strategy", "sharded,atomic", "--scenario", "fleet", "-n", "600", "-c", "60"];
  const base = join(dir, "base.json");
  assert.equal(regbench([...run, "--save-baseline", base], { cwd: dir }).code, 0);
  const saved = JSON.parse(readFileSync(base, "utf8"));
  assert.equal(saved.tool, "regbench");
  const doctored = (tps: number) => {
    const path = join(dir, `base-${tps}.json`);
    const results = saved.results.map((r: { noise: object }) => ({ ...r, tps, noise: { ...r.noise, tpsStderr: 1, basis: "runs" } }));
    writeFileSync(path, JSON.stringify({ ...saved, results }));
    return path;
  };
  const unreachable = regbench([...run, "--baseline", doctored(1e9)], { cwd: dir });
  assert.equal(unreachable.code, 99, unreachable.stdout);
  assert.match(unreachable.stdout, /✗ sharded: regressed/);
  const trivial = regbench([...run, "--baseline", doctored(1)], { cwd: dir });
  assert.equal(trivial.code, 0, trivial.stdout);
  assert.doesNotMatch(trivial.stdout, /regressed ·/);
  const other = regbench([...run, "--db-latency", "2", "--baseline", base], { cwd: dir });
  assert.equal(other.code, 2);
  assert.match(other.stderr, /--baseline was measured on another workload: dbLatencyMs: 0 in the baseline, 2 now/);
});

test("report, compare and merge work on saved files", () => {
  const a = join(dir, "a.json");
  const b = join(dir, "b.json");
  assert.equal(regbench(["run", ...small, "--no-save", "--export-json", a], { cwd: dir }).code, 0);
  assert.equal(regbench(["run", ...small, "--no-save", "--export-json", b], { cwd: dir }).code, 0);
  const md = regbench(["report", a, b, "--format", "md"], { cwd: dir });
  assert.equal(md.code, 0);
  assert.equal((md.stdout.match(/^\| (sharded|atomic) /gm) ?? []).length, 4);
  const cmp = regbench(["compare", a, b], { cwd: dir });
  assert.ok(cmp.code === 0 || cmp.code === 99);
  assert.match(cmp.stdout, /atomic: (unchanged|inconclusive|improved|regressed) · TPS/);
  const merged = regbench(["merge", a, b], { cwd: dir });
  assert.equal(merged.code, 0, merged.stderr);
  const doc = JSON.parse(merged.stdout);
  assert.equal(doc.results.find((r: { strategy: string }) => r.strategy === "atomic").succeeded, 1000);
  assert.equal(regbench(["report", join(dir, "nope.json")], { cwd: dir }).code, 2);
});
