#!/usr/bin/env node
// The test suite in tiers (see test/tiers.ts). `node scripts/test.js unit`: the unit tier, two files at a time.
// `node scripts/test.js` (npm test): every file of both tiers in one pool, four at a time by default (they isolate by
// key prefix, schema, database and temporary folder, and most of a service-tier file's time is spent waiting on
// servers and processes; REGBENCH_TEST_CONCURRENCY=N changes it, 1 runs one at a time), the longest files first
// (test/tiers.ts LONGEST_FIRST). Run after `tsc`; exits non-zero when a test fails.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { run } from "node:test";
import { tap } from "node:test/reporters";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist", "test");
const { LONGEST_FIRST, UNIT_TIER } = await import(join(dist, "tiers.js"));

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

/**
 * Runs `list` through node:test's run() (each file in a process of its own, `parallel` at a time, TAP on stdout), in
 * the order given — `node --test FILES` sorts them by name. Resolves true when no test failed.
 */
function runTier(name, list, parallel) {
  const started = performance.now();
  let failed = false;
  const stream = run({ files: list, concurrency: Number(parallel) });
  stream.on("test:fail", () => (failed = true));
  const out = stream.compose(tap);
  out.pipe(process.stdout, { end: false });
  return new Promise((resolve) =>
    out.once("end", () => {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.error(`# tier ${name}: ${list.length} files, ${seconds} s, ${failed ? "failed" : "passed"}`);
      resolve(!failed);
    }),
  );
}

// npm test: both tiers in one pool, so that the unit tier's CPU-bound files (the fuzz tests) run while service-tier
// files wait on their servers and processes, instead of before them.
const rank = new Map(LONGEST_FIRST.map((name, i) => [join(dist, `${name}.test.js`), i]));
const longestFirst = (list) => [...list].sort((a, b) => (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity) || a.localeCompare(b));
process.chdir(root);
const ok = await (tier === "unit" ? runTier("unit", longestFirst(unit), 2) : runTier("unit + service", longestFirst([...unit, ...service]), concurrency));
process.exitCode = ok ? 0 : 1;
