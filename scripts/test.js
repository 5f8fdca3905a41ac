#!/usr/bin/env node
// The test suite in tiers (see test/tiers.ts). `node scripts/test.js unit`: the unit tier, files in parallel.
// `node scripts/test.js` (npm test): every file of both tiers in one pool, four at a time by default (they isolate by
// key prefix, schema, database and temporary folder, and most of a service-tier file's time is spent waiting on
// servers and processes; REGBENCH_TEST_CONCURRENCY=N changes it, 1 runs one at a time). Run after `tsc`; exits
// non-zero when a file fails.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist", "test");
const { UNIT_TIER } = await import(join(dist, "tiers.js"));

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".test.js") ? [join(dir, e.name)] : [],
  );
}

const tier = process.argv[2] ?? "all";
if (tier !== "unit" && tier !== "all") {
  console.error(`usage: node scripts/test.js [unit|all] (got ${JSON.stringify(tier)})`);
  process.exit(2);
}
const all = files(dist).sort();
const unitSet = new Set(UNIT_TIER.map((name) => join(dist, `${name}.test.js`)));
const unit = all.filter((f) => unitSet.has(f));
const service = all.filter((f) => !unitSet.has(f));
const concurrency = process.env.REGBENCH_TEST_CONCURRENCY ?? "4";

function runTier(name, list, parallel) {
  const started = performance.now();
  const r = spawnSync(process.execPath, ["--test", `--test-concurrency=${parallel}`, ...list], { stdio: "inherit", cwd: root });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(`# tier ${name}: ${list.length} files, ${seconds} s, ${r.status === 0 ? "passed" : `failed (exit ${r.status ?? r.signal})`}`);
  return r.status === 0;
}

// npm test: both tiers in one pool, so that the unit tier's CPU-bound files (the fuzz tests) run while service-tier
// files wait on their servers and processes, instead of before them.
const ok = tier === "unit" ? runTier("unit", unit, 2) : runTier("unit + service", [...unit, ...service], concurrency);
process.exit(ok ? 0 : 1);
