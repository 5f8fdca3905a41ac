#!/usr/bin/env node
// `npm run bench`: the standard scenarios, each in its own regbench process, tables and JSON written to results/,
// the database servers' own ceilings measured beside them, then the speed and correctness targets checked against
// what was just measured.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXPORTERS } from "../dist/src/report/exporters/registry.js";
import { insertCeiling } from "../dist/src/store/ceiling.js";
import { parseStoreSpec } from "../dist/src/store/registry.js";
import { loadScenario } from "../dist/src/workload/scenario.js";
import { AGENTS, AGENTS_MERGE_LIMIT, AGENTS_MERGE_N, agentsMergeMarkdown, measureAgentsMerge } from "./agents-merge.js";
import { measureMillion, MILLION_ARGS, MILLION_LIMIT_MB, millionMarkdown } from "./million-memory.js";
import { measureSilentTarget, SILENT_TARGET_LIMIT_S, silentTargetMarkdown } from "./silent-target.js";

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

const scenarios = (
  process.env.BENCH_SCENARIOS ??
  "storm,storm-remote-db,fleet,fleet-remote-db,retry-storm,resend-heavy,storm-postgres,fleet-postgres,storm-mysql,fleet-mysql,seed-table"
).split(",");
// On a database server every strategy runs against a real server: the local strategies (a scenario may name its own),
// since the Redis ones wait on the same locks as on SQLite and the seed-table scenario has the seed's Redis lock.
const SERVER_STRATEGIES = "none,global,singleflight,sharded,db-unique,sharded-db,atomic";
// Where the scenario's point is a few strategies (and every strategy at 1 ms a round trip would take minutes).
const SCENARIO_STRATEGIES = { "resend-heavy": "none,global,sharded,sharded-rw,sharded-db,atomic" };
const reports = {};
const ceilings = {};
let md = `# regbench benchmark — ${stamp}\n\nEach table: \`regbench run --scenario NAME\` (every strategy on SQLite, the local ones on a database server), one process per strategy, a fresh store each.\n`;
for (const scenario of scenarios) {
  process.stderr.write(`bench: ${scenario}…\n`);
  const file = loadScenario(scenario);
  const store = typeof file === "string" ? undefined : file.options.store;
  const onServer = typeof store === "string" && /^(postgres|mysql)/.test(store);
  const strategyArgs =
    typeof file !== "string" && file.options.strategy ? [] : ["--strategy", SCENARIO_STRATEGIES[scenario] ?? (onServer ? SERVER_STRATEGIES : "all")];
  const json = regbench(["run", "--scenario", scenario, ...strategyArgs, "--json", "--seed", "1", "--no-save"]);
  const report = JSON.parse(json.stdout);
  reports[scenario] = report;
  writeFileSync(join(out, `${stamp}-${scenario}.json`), json.stdout);
  let table = EXPORTERS.table.render(report);
  if (onServer) {
    // The database's own ceiling for the work, measured now on the same server and pool size.
    const ceiling = await insertCeiling(parseStoreSpec(store), file.options.requests ?? 10000, file.options.concurrency ?? 1000);
    ceilings[scenario] = ceiling;
    table += `\n  the database's ceiling: ${Math.round(ceiling.rowsPerSecond)} autocommit single-row inserts/s (${ceiling.rows} rows, ${ceiling.concurrency} at once, pool ${ceiling.pool})\n`;
    for (const r of report.results) table += `  ${r.strategy}: ${Math.round(r.tps)}/s = ${(r.tps / ceiling.rowsPerSecond).toFixed(2)} of the ceiling\n`;
  }
  writeFileSync(join(out, `${stamp}-${scenario}.txt`), table);
  md += `\n## ${scenario}\n\n\`\`\`\n${table}\`\`\`\n`;
}

// Named runs: the Redis strategies (the issue's command, then a holder stalled past its TTL with and without the
// watchdog), reentrancy, etcd, and HTTP (regbench serve in its own process, regbench's HTTP client in this one).
const namedRuns = {
  ...(process.env.BENCH_REDIS !== "0" && {
    "redis-fleet": ["run", "--strategy", "redis,redlock,redis-fenced,redis-db", "--systems", "100", "-c", "1000", "-n", "10000", "--redis", "auto"],
    "redis-stall-no-watchdog": [
      "run",
      "--strategy",
      "redis,redis-fenced,redis-db",
      "--systems",
      "10",
      "-c",
      "100",
      "-n",
      "1000",
      "--fault",
      "pause:0.05:500",
      "--lock-ttl",
      "200",
      "--no-watchdog",
    ],
    "redis-stall-watchdog": ["run", "--strategy", "redis", "--systems", "10", "-c", "100", "-n", "1000", "--fault", "pause:0.05:500", "--lock-ttl", "200"],
    "reentrant-fleet": ["run", "--scenario", "fleet", "--strategy", "redis,redis-reentrant"],
    // The registration path nests the pool lock: the plain lock waits on itself until --lock-wait, the reentrant one re-enters.
    "nesting-redis": ["run", "--strategy", "redis", "--lock-nesting", "--lock-wait", "500ms", "--systems", "10", "-c", "100", "-n", "1000"],
    "nesting-redis-reentrant": ["run", "--strategy", "redis-reentrant", "--lock-nesting", "--systems", "10", "-c", "100", "-n", "1000"],
  }),
  ...(process.env.BENCH_ETCD !== "0" &&
    spawnSync("etcd", ["--version"]).error === undefined && {
      "etcd-issue": ["run", "--strategy", "etcd,etcd-fenced", "--etcd", "auto", "--systems", "100", "-c", "500", "-n", "5000"],
      "etcd-fleet": ["run", "--scenario", "fleet", "--strategy", "etcd,etcd-fenced", "--etcd", "auto"],
      "etcd-stall-no-keepalive": [
        "run",
        "--strategy",
        "etcd,etcd-fenced",
        "--etcd",
        "auto",
        "--fault",
        "pause:0.01:3000",
        "--lock-ttl",
        "1s",
        "--no-watchdog",
        "--systems",
        "20",
        "-c",
        "200",
        "-n",
        "1000",
      ],
    }),
  ...(process.env.BENCH_HTTP !== "0" && {
    "http-atomic": ["run", "--mode", "http", "--strategy", "atomic", "-c", "100", "-n", "5000"],
    "http-instances-2-storm": ["run", "--mode", "http", "--instances", "2", "--strategy", "sharded,db-unique,atomic", "--scenario", "storm"],
  }),
};
for (const [name, args] of Object.entries(namedRuns)) {
  process.stderr.write(`bench: ${name}…\n`);
  const json = regbench([...args, "--json", "--seed", "1", "--no-save"]);
  const report = JSON.parse(json.stdout);
  reports[name] = report;
  writeFileSync(join(out, `${stamp}-${name}.json`), json.stdout);
  const table = `$ regbench ${args.join(" ")}\n${EXPORTERS.table.render(report)}`;
  writeFileSync(join(out, `${stamp}-${name}.txt`), table);
  md += `\n## ${name}\n\n\`\`\`\n${table}\`\`\`\n`;
}

// regbench against wrk on the same server and workload (needs Debian's wrk).
let wrk;
if (process.env.BENCH_WRK !== "0" && spawnSync("wrk", ["--version"]).error === undefined) {
  process.stderr.write("bench: wrk comparison…\n");
  const r = spawnSync("bash", [join(root, "scripts", "compare-wrk.sh")], { encoding: "utf8" });
  const w = /^wrk: (\d+) requests in ([\d.]+) s = (\d+) req\/s, non-2xx (\d+), p50 ([\d.]+) ms/m.exec(r.stdout);
  const g = /^regbench: (\d+) requests in ([\d.]+) s = (\d+) req\/s, failed (\d+), p50 ([\d.]+) ms/m.exec(r.stdout);
  if (w && g) wrk = { wrkTps: Number(w[3]), wrkP50: Number(w[5]), rbTps: Number(g[3]), rbP50: Number(g[5]), text: r.stdout };
  md += `\n## regbench vs wrk (scripts/compare-wrk.sh)\n\n\`\`\`\n${r.stdout}${r.stderr}\`\`\`\n`;
}

// The HTTP load generator's ceiling against wrk on a fixed-answer nginx, and the open loop at 80% of it; in the same
// rounds, a request profile's pace against the built-in profile's (what a profile costs the generator) and, with
// BENCH_CEILING_BASE=OTHER/bin/regbench.js (the build before request profiles), this build's against that one's.
let ceiling;
if (process.env.BENCH_WRK !== "0" && spawnSync("wrk", ["--version"]).error === undefined && spawnSync("nginx", ["-v"]).error === undefined) {
  process.stderr.write("bench: generator ceiling (scripts/ceiling.sh)…\n");
  const profileArgs = ["--profile", join(root, "scripts", "ceiling-profile.yaml")];
  const baseArgs = process.env.BENCH_CEILING_BASE ? ["--base", process.env.BENCH_CEILING_BASE] : [];
  const args = [...profileArgs, ...baseArgs, "100", "300000"];
  const r = spawnSync("bash", [join(root, "scripts", "ceiling.sh"), ...args], { encoding: "utf8" });
  const rounds = [...r.stdout.matchAll(/^ceiling round \d+ -c \d+: wrk (\d+) req\/s; regbench --target (\d+) req\/s; ratio ([\d.]+)$/gm)].map((m) => ({
    wrk: Number(m[1]),
    rb: Number(m[2]),
    ratio: Number(m[3]),
  }));
  const profileRounds = [...r.stdout.matchAll(/^profile round \d+ -c \d+: built-in (\d+) req\/s; --profile \S+ (\d+) req\/s; ratio ([\d.]+)$/gm)].map((m) => ({
    builtin: Number(m[1]),
    profile: Number(m[2]),
    ratio: Number(m[3]),
  }));
  const baseRounds = [...r.stdout.matchAll(/^base round \d+ -c \d+: --base (\d+) req\/s; this build (\d+) req\/s; ratio ([\d.]+)$/gm)].map((m) => ({
    base: Number(m[1]),
    build: Number(m[2]),
    ratio: Number(m[3]),
  }));
  const open = /^open loop at 80% of regbench's ceiling: target (\d+)\/s; achieved (\d+)\/s; off by ([\d.]+)%$/m.exec(r.stdout);
  ceiling = { rounds, profileRounds, baseRounds, open: open ? { target: Number(open[1]), achieved: Number(open[2]), offPct: Number(open[3]) } : undefined };
  const shown = args.map((a) => (a.startsWith(`${root}/`) ? a.slice(root.length + 1) : a)).join(" ");
  md += `\n## generator ceiling (scripts/ceiling.sh ${shown})\n\n\`\`\`\n${r.stdout}${r.stderr}\`\`\`\n`;
}

// Long runs in constant memory; a run bounded by time.
const million = process.env.BENCH_MILLION !== "0" ? measureMillion(1)[0] : undefined;
if (million) {
  writeFileSync(join(out, `${stamp}-million.json`), JSON.stringify(million.report));
  md += `\n## regbench ${MILLION_ARGS.join(" ")}\n\n\`\`\`\n${EXPORTERS.table.render(million.report)}\`\`\`\n\n${millionMarkdown([million])}`;
}
// A target that accepts connections and never answers: 10 rounds of --timeout, plus start-up.
const silent = process.env.BENCH_SILENT !== "0" ? await measureSilentTarget(3) : undefined;
if (silent) md += `\n## silent target (scripts/silent-target.js)\n\n${silentTargetMarkdown(silent)}`;
// Agents of one run (issue 19): four agents merged against one agent with the same total -c, on one server.
if (process.env.BENCH_AGENTS !== "0") process.stderr.write(`bench: ${AGENTS} agents merged against one (scripts/agents-merge.js)…\n`);
const agentsMerge =
  process.env.BENCH_AGENTS !== "0" ? await measureAgentsMerge(AGENTS_MERGE_N, 2, (line) => process.stderr.write(`bench: ${line}\n`)) : undefined;
if (agentsMerge) md += `\n## ${AGENTS} agents merged (scripts/agents-merge.js)\n\n${agentsMergeMarkdown(agentsMerge)}`;
const timed = regbench(["run", "--strategy", "atomic", "--duration", "5s", "--json", "--no-save"]);

// The first command every user types, timed as a user would: start-up included.
const first = regbench(["run", "--strategy", "sharded", "-c", "1000", "-n", "10000", "--json", "--no-save"]);
const firstResult = JSON.parse(first.stdout).results[0];

const targets = [];
const check = (name, ok, measured) => targets.push({ name, ok, measured });
const pick = (scenario, strategy) => reports[scenario]?.results.find((r) => r.strategy === strategy);
check(
  "sharded -c 1000 -n 10000: 10000 succeeded, 0 violations, < 3 s wall",
  firstResult.succeeded === 10000 && firstResult.audit.violations === 0 && first.wallMs < 3000,
  `${firstResult.succeeded} succeeded, ${firstResult.audit.violations} violations, ${(first.wallMs / 1000).toFixed(2)} s wall`,
);
if (reports.storm) check("atomic ≥ 15,000 registrations/s on storm", pick("storm", "atomic").tps >= 15_000, `${Math.round(pick("storm", "atomic").tps)} /s`);
// Σ x[a] / Σ x[b] over the rounds (pooled, so that no one lucky round decides), checked ≥ min, listed round by round.
function pooledCheck(name, rounds, a, b, min) {
  const pooled = rounds.reduce((t, x) => t + x[a], 0) / rounds.reduce((t, x) => t + x[b], 0);
  check(name, pooled >= min, `${rounds.map((x) => `${x[a]} vs ${x[b]} req/s = ${x.ratio}`).join("; ")}; pooled ${pooled.toFixed(2)}`);
}
// Issue 16's target.
if (ceiling?.rounds.length) pooledCheck("regbench --target ≥ 0.75 × wrk on the fixed-answer nginx (-c 100)", ceiling.rounds, "rb", "wrk", 0.75);
if (ceiling?.profileRounds.length)
  pooledCheck(
    "a request profile costs ≤ 10% of the generator's pace: --profile scripts/ceiling-profile.yaml ≥ 0.9 × the built-in profile (-c 100)",
    ceiling.profileRounds,
    "profile",
    "builtin",
    0.9,
  );
if (ceiling?.baseRounds.length)
  pooledCheck(
    "the built-in profile costs ≤ 10% of the generator's pace: this build ≥ 0.9 × BENCH_CEILING_BASE (-c 100)",
    ceiling.baseRounds,
    "build",
    "base",
    0.9,
  );
if (ceiling?.open)
  check(
    "--rate at 80% of the ceiling achieved within 2%",
    ceiling.open.offPct <= 2,
    `target ${ceiling.open.target}/s, achieved ${ceiling.open.achieved}/s (${ceiling.open.offPct}% off)`,
  );
if (million) {
  const peaks = [million.toolPeakRssMb, million.timeMaxRssMb].filter((v) => v !== null);
  check(
    `atomic -n 1000000 -c 1000: peak RSS ≤ ${MILLION_LIMIT_MB} MB (regbench's figure and /usr/bin/time's), 0 violations`,
    peaks.every((v) => v <= MILLION_LIMIT_MB) && million.violations === 0 && million.succeeded === 1_000_000,
    `peak RSS ${million.toolPeakRssMb.toFixed(1)} MB (time -v ${million.timeMaxRssMb === null ? "n/a" : `${million.timeMaxRssMb.toFixed(1)} MB`}), ${million.succeeded} succeeded, ${million.violations} violations, ${Math.round(million.tps)} /s`,
  );
}
if (silent) {
  check(
    `silent target --timeout 1s -c 5 -n 50: ≤ ${SILENT_TARGET_LIMIT_S} s wall, 50 timeouts`,
    silent.every((r) => r.wallS <= SILENT_TARGET_LIMIT_S && r.errors.timeout === 50),
    silent.map((r) => `${r.wallS.toFixed(2)} s (window ${r.windowS.toFixed(2)} s)`).join(", "),
  );
}
if (agentsMerge) {
  const audits = (r) => `violations: one agent ${r.single.audit?.violations ?? "no audit"}, merged ${r.merged.audit?.violations ?? "no audit"}`;
  check(
    `${AGENTS} agents of one run, merged: ≥ ${AGENTS_MERGE_LIMIT} × one agent's TPS with the same total -c (serve --instances 2 on PostgreSQL, -n ${AGENTS_MERGE_N}), audits exact`,
    agentsMerge.pooled >= AGENTS_MERGE_LIMIT && agentsMerge.exact,
    `${agentsMerge.rounds
      .map(
        (r) =>
          `${Math.round(r.merged.tps)} vs ${Math.round(r.single.tps)} /s = ${r.ratio.toFixed(2)}, ${audits(r)}, merged counted ${r.merged.succeeded + r.merged.failed}`,
      )
      .join("; ")}; pooled ${agentsMerge.pooled.toFixed(2)}`,
  );
}
{
  const r = JSON.parse(timed.stdout).results[0];
  check(
    "--duration 5s ends within 5–7 s, the window reported",
    timed.wallMs >= 5000 && timed.wallMs <= 7000 && r.durationMs >= 4990,
    `${(timed.wallMs / 1000).toFixed(2)} s wall, window ${(r.durationMs / 1000).toFixed(2)} s, ${r.timeline.length} timeline points`,
  );
}
if (reports["storm-remote-db"]) {
  const a = pick("storm-remote-db", "atomic");
  const g = pick("storm-remote-db", "global");
  check(
    "atomic ≥ 20× global on storm-remote-db, 0 violations",
    a.tps >= 20 * g.tps && a.audit.violations === 0,
    `${Math.round(a.tps)} vs ${Math.round(g.tps)} /s = ${(a.tps / g.tps).toFixed(1)}×`,
  );
}
if (reports["retry-storm"]) {
  for (const s of ["global", "db-unique", "sharded-db", "atomic"]) {
    const r = pick("retry-storm", s);
    check(`${s}: 0 violations, 0 failed on retry-storm`, r.audit.violations === 0 && r.failed === 0, `${r.audit.violations} violations, ${r.failed} failed`);
  }
}
if (reports["redis-fleet"]) {
  for (const r of reports["redis-fleet"].results) {
    check(
      `${r.strategy}: 0 violations, 0 failed on --systems 100 -c 1000 -n 10000`,
      r.audit.violations === 0 && r.failed === 0,
      `${r.audit.violations} violations, ${r.failed} failed, ${Math.round(r.tps)} /s`,
    );
  }
  const r = pick("redis-fleet", "redis");
  check("redis ≥ 5,000 registrations/s in-process", r.tps >= 5000, `${Math.round(r.tps)} /s`);
}
if (reports["redis-stall-no-watchdog"]) {
  const plain = pick("redis-stall-no-watchdog", "redis");
  const fenced = pick("redis-stall-no-watchdog", "redis-fenced");
  check(
    "stall past the TTL, no watchdog: redis shows duplicates",
    plain.audit.duplicateIps + plain.audit.duplicateSystems + plain.audit.duplicateMachines > 0,
    JSON.stringify(plain.audit),
  );
  check(
    "stall past the TTL, no watchdog: redis-fenced 0 violations",
    fenced.audit.violations === 0,
    `${fenced.audit.violations} violations, stale-fence ${fenced.errors["stale-fence"] ?? 0}`,
  );
}
if (reports["reentrant-fleet"]) {
  const r = pick("reentrant-fleet", "redis-reentrant");
  check(
    "redis-reentrant: 0 violations on fleet",
    r.audit.violations === 0 && r.failed === 0,
    `${r.audit.violations} violations, ${r.failed} failed, ${Math.round(r.tps)} /s vs redis ${Math.round(pick("reentrant-fleet", "redis").tps)} /s`,
  );
}
if (reports["nesting-redis"]) {
  const plain = pick("nesting-redis", "redis");
  const re = pick("nesting-redis-reentrant", "redis-reentrant");
  check(
    "--lock-nesting: redis shows lock-timeout errors",
    (plain.errors["lock-timeout"] ?? 0) > 0 && plain.audit.violations === 0,
    `${plain.errors["lock-timeout"] ?? 0} lock-timeout of ${plain.requests}`,
  );
  check(
    "--lock-nesting: redis-reentrant none, 0 violations",
    (re.errors["lock-timeout"] ?? 0) === 0 && re.audit.violations === 0 && re.failed === 0,
    `${re.errors["lock-timeout"] ?? 0} lock-timeout, ${re.failed} failed, ${Math.round(re.tps)} /s`,
  );
}
if (reports["etcd-issue"]) {
  for (const r of reports["etcd-issue"].results) {
    check(
      `${r.strategy} --systems 100 -c 500 -n 5000: 5000 succeeded, 0 violations`,
      r.succeeded === 5000 && r.audit.violations === 0,
      `${r.succeeded} succeeded, ${r.audit.violations} violations, ${Math.round(r.tps)} /s`,
    );
  }
  const r = pick("etcd-fleet", "etcd");
  check(
    "etcd on fleet ≥ 2,000 registrations/s, 0 violations",
    r.tps >= 2000 && r.audit.violations === 0,
    `${Math.round(r.tps)} /s, ${r.audit.violations} violations`,
  );
  const plain = pick("etcd-stall-no-keepalive", "etcd");
  const fenced = pick("etcd-stall-no-keepalive", "etcd-fenced");
  check("stall past the lease, no keep-alive: etcd shows violations", plain.audit.violations > 0, JSON.stringify(plain.audit));
  check(
    "stall past the lease, no keep-alive: etcd-fenced 0 violations",
    fenced.audit.violations === 0,
    `${fenced.audit.violations} violations, stale-fence ${fenced.errors["stale-fence"] ?? 0}, lease granted ${fenced.strategyStats?.grantedTtlS ?? "n/a"} s`,
  );
}
if (reports["resend-heavy"]) {
  const rw = pick("resend-heavy", "sharded-rw");
  const sh = pick("resend-heavy", "sharded");
  check(
    "resend-heavy: sharded-rw 0 violations and faster than sharded",
    rw.audit.violations === 0 && rw.tps > sh.tps,
    `${Math.round(rw.tps)} vs ${Math.round(sh.tps)} /s = ${(rw.tps / sh.tps).toFixed(1)}×`,
  );
}
if (reports["retry-storm"]) {
  const rw = pick("retry-storm", "sharded-rw");
  check("retry-storm: sharded-rw 0 violations", rw.audit.violations === 0, `${rw.audit.violations} violations, ${Math.round(rw.tps)} /s`);
}
if (reports["redis-stall-watchdog"]) {
  const r = pick("redis-stall-watchdog", "redis");
  check("stall past the TTL with the watchdog: redis 0 violations", r.audit.violations === 0, `${r.audit.violations} violations, ${r.failed} failed`);
}
if (reports["http-atomic"]) {
  const r = pick("http-atomic", "atomic");
  check(
    "HTTP atomic -c 100 -n 5000: 5000 succeeded, 0 violations, ≥ 5,000/s",
    r.succeeded === 5000 && r.audit.violations === 0 && r.tps >= 5000,
    `${r.succeeded} succeeded, ${r.audit.violations} violations, ${Math.round(r.tps)} /s`,
  );
}
if (reports["http-instances-2-storm"]) {
  const sh = pick("http-instances-2-storm", "sharded");
  const others = ["db-unique", "atomic"].map((s) => pick("http-instances-2-storm", s));
  check(
    "--instances 2 on storm: sharded shows violations, db-unique and atomic none",
    sh.audit.violations > 0 && others.every((o) => o.audit.violations === 0),
    `sharded ${sh.audit.violations}, db-unique ${others[0].audit.violations}, atomic ${others[1].audit.violations}`,
  );
}
if (wrk) {
  const dt = Math.abs(wrk.rbTps - wrk.wrkTps) / wrk.wrkTps;
  const dp = Math.abs(wrk.rbP50 - wrk.wrkP50) / wrk.wrkP50;
  check(
    "regbench and wrk agree within 10% on TPS and p50",
    dt <= 0.1 && dp <= 0.1,
    `TPS ${wrk.rbTps} vs ${wrk.wrkTps} (${(dt * 100).toFixed(1)}%), p50 ${wrk.rbP50} vs ${wrk.wrkP50} ms (${(dp * 100).toFixed(1)}%)`,
  );
}
for (const [scenario, target, factor] of [
  ["storm-postgres", 8000, 5],
  ["storm-mysql", 6000, 5],
]) {
  if (!reports[scenario]) continue;
  const a = pick(scenario, "atomic");
  const g = pick(scenario, "global");
  check(
    `${scenario}: atomic ≥ ${target.toLocaleString("en-US")}/s, ≥ ${factor}× global, 0 violations`,
    a.tps >= target && a.tps >= factor * g.tps && a.audit.violations === 0,
    `${Math.round(a.tps)} vs ${Math.round(g.tps)} /s = ${(a.tps / g.tps).toFixed(1)}×, ${a.audit.violations} violations`,
  );
}
for (const scenario of ["fleet-postgres", "fleet-mysql"]) {
  if (!reports[scenario]) continue;
  for (const s of ["global", "db-unique", "sharded-db", "atomic"]) {
    const r = pick(scenario, s);
    check(`${scenario}: ${s} 0 violations`, r.audit.violations === 0, `${r.audit.violations} violations, ${r.failed} failed`);
  }
  const none = pick(scenario, "none");
  check(
    `${scenario}: none shows duplicates`,
    none.audit.duplicateIps + none.audit.duplicateSystems + none.audit.duplicateMachines > 0,
    JSON.stringify(none.audit),
  );
}
for (const [scenario, report] of Object.entries(reports)) {
  if (!scenarios.includes(scenario) || scenario === "seed-table") continue;
  // Among the strategies that run in any deployment without an extra service, and among all.
  const correct = report.results.filter((r) => r.audit && r.audit.violations === 0 && r.failed === 0);
  const fastest = correct.sort((a, b) => b.tps - a.tps)[0];
  check(
    `atomic is the fastest correct strategy on ${scenario}`,
    fastest?.strategy === "atomic",
    `fastest correct: ${fastest?.strategy ?? "none"} (${Math.round(fastest?.tps ?? 0)} /s)`,
  );
}
md += `\n## Targets\n\n| target | measured | |\n|---|---|---|\n${targets.map((t) => `| ${t.name} | ${t.measured} | ${t.ok ? "✓" : "✗"} |`).join("\n")}\n`;
writeFileSync(join(out, `${stamp}-bench.md`), md);
process.stdout.write(md);
process.exitCode = targets.every((t) => t.ok) ? 0 : 1;
