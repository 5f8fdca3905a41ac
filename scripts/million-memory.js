#!/usr/bin/env node
// `node scripts/million-memory.js [RUNS]`: `regbench run --strategy atomic -n 1000000 -c 1000` (in-process, SQLite)
// RUNS times (2), one at a time, each under /usr/bin/time -v when it is installed. Its peak RSS is read twice: the
// tool's own figure (the measuring process's maxRSS, in the result) and time's "Maximum resident set size" (the
// largest process of the run's tree). The figures go to results/STAMP-million-memory.{md,json}. The issue's
// target: ≤ 300 MB. Each run takes a couple of minutes: run nothing heavy beside it. Also used by scripts/bench.js.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "bin", "regbench.js");
export const MILLION_ARGS = ["run", "--strategy", "atomic", "-n", "1000000", "-c", "1000"];
export const MILLION_LIMIT_MB = 300;
const TIME = "/usr/bin/time";

/** Runs the million `runs` times, one after the other; returns each run's figures and its JSON report. */
export function measureMillion(runs = 2) {
  const results = [];
  for (let k = 0; k < runs; k++) {
    const args = [bin, ...MILLION_ARGS, "--json", "--no-save"];
    const timed = existsSync(TIME);
    const started = performance.now();
    const r = timed
      ? spawnSync(TIME, ["-v", process.execPath, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 64 << 20 })
      : spawnSync(process.execPath, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 64 << 20 });
    const wallS = (performance.now() - started) / 1000;
    if (r.status !== 0) throw new Error(`regbench ${MILLION_ARGS.join(" ")} exited ${r.status}: ${r.stderr}`);
    const report = JSON.parse(r.stdout);
    const result = report.results[0];
    const maxRss = timed ? /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr) : null;
    results.push({
      toolPeakRssMb: result.memory.peakRssMb,
      // n/a without GNU time, never 0.
      timeMaxRssMb: maxRss ? Number(maxRss[1]) / 1024 : null,
      succeeded: result.succeeded,
      violations: result.audit?.violations ?? null,
      tps: result.tps,
      wallS,
      report,
    });
  }
  return results;
}

/** The runs as a Markdown section. */
export function millionMarkdown(results) {
  const mb = (v) => (v === null ? "n/a" : v.toFixed(1));
  const rows = results.map(
    (r, k) =>
      `| ${k + 1} | ${mb(r.toolPeakRssMb)} | ${mb(r.timeMaxRssMb)} | ${r.succeeded} | ${r.violations ?? "n/a"} | ${Math.round(r.tps)} | ${r.wallS.toFixed(0)} |`,
  );
  const peaks = results.flatMap((r) => [r.toolPeakRssMb, r.timeMaxRssMb]).filter((v) => v !== null);
  const worst = peaks.length ? Math.max(...peaks) : null;
  return `$ regbench ${MILLION_ARGS.join(" ")}   (one run at a time)

| run | peak RSS MB (regbench) | max RSS MB (/usr/bin/time -v) | stored | violations | /s | wall s |
|---|---|---|---|---|---|---|
${rows.join("\n")}

target: ≤ ${MILLION_LIMIT_MB} MB peak RSS — worst ${worst === null ? "n/a" : `${worst.toFixed(1)} MB ${worst <= MILLION_LIMIT_MB ? "✓" : "✗"}`}
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const runs = Number(process.argv[2] ?? 2);
  const results = measureMillion(runs);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const out = join(root, "results");
  mkdirSync(out, { recursive: true });
  const md = `# 1,000,000 registrations in-process: peak memory — ${stamp}\n\n${millionMarkdown(results)}`;
  writeFileSync(join(out, `${stamp}-million-memory.md`), md);
  writeFileSync(
    join(out, `${stamp}-million-memory.json`),
    `${JSON.stringify(
      results.map(({ report: _report, ...r }) => r),
      null,
      2,
    )}\n`,
  );
  process.stdout.write(md);
  const ok = results.every(
    (r) => r.violations === 0 && r.succeeded === 1_000_000 && [r.toolPeakRssMb, r.timeMaxRssMb].every((v) => v === null || v <= MILLION_LIMIT_MB),
  );
  process.exitCode = ok ? 0 : 1;
}
