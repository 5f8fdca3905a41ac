#!/usr/bin/env node
// `npm run bench`: the standard scenarios with --strategy all, each in its own regbench process, tables and JSON
// written to results/, then the speed and correctness targets checked against what was just measured.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { conditionsLine, renderNotes, renderTable } from "../dist/src/report/table.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "bin", "regbench.js");
const out = join(root, "results");
mkdirSync(out, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);

function regbench(args) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`regbench ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr, wallMs: performance.now() - started };
}

const scenarios = (process.env.BENCH_SCENARIOS ?? "storm,storm-remote-db,fleet,fleet-remote-db,retry-storm").split(",");
const reports = {};
let md = `# regbench benchmark — ${stamp}\n\nEach table: \`regbench run --scenario NAME --strategy all\`, one process per strategy, a fresh SQLite file each.\n`;
for (const scenario of scenarios) {
  process.stderr.write(`bench: ${scenario}…\n`);
  const json = regbench(["run", "--scenario", scenario, "--strategy", "all", "--json", "--seed", "1"]);
  const report = JSON.parse(json.stdout);
  reports[scenario] = report;
  writeFileSync(join(out, `${stamp}-${scenario}.json`), json.stdout);
  const table = `${conditionsLine(report.config)}\n${renderTable(report, { color: false })}\n${renderNotes(report, { color: false })}\n`;
  writeFileSync(join(out, `${stamp}-${scenario}.txt`), table);
  md += `\n## ${scenario}\n\n\`\`\`\n${table}\`\`\`\n`;
}

// The first command every user types, timed as a user would: start-up included.
const first = regbench(["run", "--strategy", "sharded", "-c", "1000", "-n", "10000", "--json"]);
const firstResult = JSON.parse(first.stdout).results[0];

const targets = [];
const check = (name, ok, measured) => targets.push({ name, ok, measured });
const pick = (scenario, strategy) => reports[scenario]?.results.find((r) => r.strategy === strategy);
check("sharded -c 1000 -n 10000: 10000 succeeded, 0 violations, < 3 s wall", firstResult.succeeded === 10000 && firstResult.audit.violations === 0 && first.wallMs < 3000, `${firstResult.succeeded} succeeded, ${firstResult.audit.violations} violations, ${(first.wallMs / 1000).toFixed(2)} s wall`);
if (reports.storm) check("atomic ≥ 10,000 registrations/s on storm", pick("storm", "atomic").tps >= 10_000, `${Math.round(pick("storm", "atomic").tps)} /s`);
if (reports["storm-remote-db"]) {
  const a = pick("storm-remote-db", "atomic");
  const g = pick("storm-remote-db", "global");
  check("atomic ≥ 20× global on storm-remote-db, 0 violations", a.tps >= 20 * g.tps && a.audit.violations === 0, `${Math.round(a.tps)} vs ${Math.round(g.tps)} /s = ${(a.tps / g.tps).toFixed(1)}×`);
}
if (reports["retry-storm"]) {
  for (const s of ["global", "db-unique", "sharded-db", "atomic"]) {
    const r = pick("retry-storm", s);
    check(`${s}: 0 violations, 0 failed on retry-storm`, r.audit.violations === 0 && r.failed === 0, `${r.audit.violations} violations, ${r.failed} failed`);
  }
}
for (const [scenario, report] of Object.entries(reports)) {
  const correct = report.results.filter((r) => r.audit && r.audit.violations === 0 && r.failed === 0);
  const fastest = correct.sort((a, b) => b.tps - a.tps)[0];
  check(`atomic is the fastest correct strategy on ${scenario}`, fastest?.strategy === "atomic", `fastest correct: ${fastest?.strategy ?? "none"} (${Math.round(fastest?.tps ?? 0)} /s)`);
}
md += `\n## Targets\n\n| target | measured | |\n|---|---|---|\n${targets.map((t) => `| ${t.name} | ${t.measured} | ${t.ok ? "✓" : "✗"} |`).join("\n")}\n`;
writeFileSync(join(out, `${stamp}-bench.md`), md);
process.stdout.write(md);
process.exitCode = targets.every((t) => t.ok) ? 0 : 1;

