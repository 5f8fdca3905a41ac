import type { NemesisWindow } from "../faults/nemesis.js";
import { Chalk } from "chalk";
import Table from "cli-table3";
import type { RunConditions, RunReport } from "./result.js";
import { visibleDeep } from "../core/mask.js";
import { fmtInt, fmtMb, fmtMs, fmtPct, fmtRatio, NA } from "./format.js";
import { resultPercentile, servicePercentile } from "../stats/histogram.js";
import type { StrategyResult } from "./result.js";
import { DEFAULT_MAX_ERROR_RATE, ranked, rankedFirst, VERDICT_MARK, withReportVerdicts, type StrategyVerdict } from "./verdict.js";
import { maxOf } from "../stats/extent.js";

export interface TableOptions {
  readonly color: boolean;
  /** The latency percentiles shown as columns (`--percentiles`). */
  readonly percentiles?: readonly number[];
}

export const DEFAULT_PERCENTILES: readonly number[] = Object.freeze([50, 95, 99, 99.9]);

/** A percentile's column label: p50, p99.9. */
export function percentileLabel(p: number): string {
  return `p${p}`;
}

/** One nemesis's window in words: "pause:instance:3s@1s 1.07–4.10 s: instance #1 … froze itself …". */
export function nemesisLine(w: NemesisWindow): string {
  const s = (ms: number | null) => (ms === null ? "n/a" : (ms / 1000).toFixed(2));
  return `${w.spec} ${w.applied ? `${s(w.startMs)}–${s(w.endMs)} s` : "not applied"}: ${w.detail}`;
}

/** The one-line legend of an open loop's two latencies, wherever they are shown side by side. */
export const BOTH_LATENCIES_LEGEND =
  "with --rate, latency reads due / sent: from each request's due time (coordinated omission corrected, as wrk2 reports) / from its send (the service time, as oha and autocannon report)";

/** Whether a report shows both latencies (an open loop's result carries its service times). */
export const showsBothLatencies = (results: readonly StrategyResult[]): boolean => results.some((r) => r.serviceLatencyMs !== undefined);

/** A latency cell: the figure, or with both latencies "due / sent" (the sent one n/a in a closed loop's row). */
export function latencyCell(r: StrategyResult, both: boolean, corrected: number | null | undefined, service: number | null | undefined): string {
  return both ? `${fmtMs(corrected)} / ${r.serviceLatencyMs !== undefined ? fmtMs(service) : NA}` : fmtMs(corrected);
}

/** What stands above the table: the tool, the conditions, the faults, the nemeses, the notes. */
export function renderHeader(input: RunReport, version: string): string {
  const report = visibleDeep(input);
  const faults = (report.config.faults as string[] | undefined) ?? [];
  const lines = [`regbench ${version} · ${conditionsLine(report.config)}`];
  if (report.interrupted) lines.push(`interrupted · ${report.interrupted.signal}: the figures are what was measured until then`);
  for (const fault of faults) lines.push(`fault · ${fault}`);
  for (const nemesis of (report.config.nemeses as string[] | undefined) ?? []) lines.push(`nemesis · ${nemesis}`);
  for (const note of report.notes) lines.push(`note · ${note}`);
  for (const r of report.results) for (const note of r.notes ?? []) lines.push(`note · ${r.strategy}: ${note}`);
  for (const r of report.results) for (const w of r.nemeses ?? []) lines.push(`nemesis · ${r.strategy}: ${nemesisLine(w)}`);
  return lines.join("\n");
}

const seconds = (ms: unknown) => `${Number(ms) / 1000} s`;

function describeStages(stages: unknown, of: unknown): string {
  if (!Array.isArray(stages)) return "?";
  return stages.map((s: { durationMs: number; target: number }) => `${s.durationMs / 1000}s:${s.target}${of === "rate" ? "/s" : ""}`).join(",");
}

/** How much load and how it was sent: requests, a duration or stages; closed loop or open. */
export function loadParts(c: RunConditions): string[] {
  const size =
    c.durationMs !== undefined ? `--duration ${seconds(c.durationMs)}` : c.stages ? `--stages ${describeStages(c.stages, c.stagesOf)}` : `-n ${c.requests}`;
  const loop =
    c.rate !== undefined
      ? `open loop ${c.rate}/s, at most ${c.concurrency} in flight`
      : c.stagesOf === "rate"
        ? `open loop, at most ${c.concurrency} in flight`
        : c.stagesOf === "concurrency"
          ? undefined
          : `-c ${c.concurrency}`;
  return loop ? [size, loop] : [size];
}

/** The headline line of the conditions, so that a table is never read without them. */
export function conditionsLine(config: RunReport["config"]): string {
  const c = config;
  const parts = [
    `mode ${c.mode}`,
    c.mode === "http" ? `target ${c.target}` : undefined,
    c.mode === "http" && Number(c.instances) > 1 ? `${c.instances} instances` : undefined,
    c.scenario ? `scenario ${c.scenario}` : undefined,
    ...loadParts(c),
    c.mode === "http" && c.workers !== undefined ? `${c.workers} generator thread(s)` : undefined,
    `systems ${c.systems}`,
    `projects ${c.projects}`,
    Number(c.resend) > 0 ? `resend ${c.resend}` : undefined,
    `db latency ${c.dbLatencyMs} ms`,
    Number(c.warmup) > 0 ? `warmup ${c.warmup}` : c.warmupMs !== undefined ? `warmup ${seconds(c.warmupMs)}` : undefined,
    `lock key ${c.lockKey}`,
    c.redis ? `redis ${c.redis}` : undefined,
    c.etcd ? `etcd ${c.etcd}` : undefined,
    c.lockTtlMs !== undefined
      ? `lock ttl ${c.lockTtlMs} ms · lock wait ${c.lockWaitMs} ms · watchdog ${c.watchdog ? "on" : "off"} · lock batch ${c.lockBatch}`
      : undefined,
    c.lockNesting ? "lock nesting" : undefined,
    `store ${c.store}`,
    `seed ${c.seed}`,
  ];
  return parts.filter(Boolean).join(" · ");
}

/**
 * The comparison table: one row per strategy, ranked ones (✓ pass, ⚠ correct but failing more than allowed) first
 * with their speed relative to the fastest ✓, then — set apart under a rule, dimmed — the broken (✗) and unaudited
 * (?) ones, whose TPS is shown but not ranked. Violations in red.
 */
export function renderTable(input: RunReport, options: TableOptions): string {
  const report = withReportVerdicts(visibleDeep(input));
  const chalk = new Chalk({ level: options.color ? 1 : 0 });
  const percentiles = options.percentiles ?? DEFAULT_PERCENTILES;
  const spread = report.results.some((r) => (r.runs ?? 1) > 1 && r.noise?.tpsStderr != null);
  const both = showsBothLatencies(report.results);
  const head = [
    "strategy",
    spread ? "TPS ± SE" : "TPS",
    "rel",
    "mean ms",
    ...percentiles.map((p) => `${percentileLabel(p)} ms`),
    "max ms",
    "errors",
    "dup sys",
    "dup mach",
    "dup IPs",
    "lost",
    "unacked",
    "peak RSS",
  ];
  const table = new Table({
    head,
    colAligns: ["left", ...Array(head.length - 1).fill("right")] as ("left" | "right")[],
    style: options.color ? { head: ["cyan"], border: ["grey"] } : { head: [], border: [] },
  });
  const colour: Record<StrategyVerdict, (s: string) => string> = { pass: chalk.green, warn: chalk.yellow, fail: chalk.red, unknown: (s) => s };
  const ordered = rankedFirst(report.results);
  let apart = false;
  for (const r of ordered) {
    const verdict = r.verdict ?? "unknown";
    if (!ranked(r) && !apart) {
      apart = true;
      if (ordered.some(ranked)) table.push([{ colSpan: head.length, content: chalk.dim("not ranked by speed: ✗ the audit found violations · ? no audit") }]);
    }
    const dim = ranked(r) ? (s: string) => s : chalk.dim;
    const a = r.audit;
    const count = (n: number | undefined) => (a === null || n === undefined ? NA : n > 0 ? chalk.red.bold(fmtInt(n)) : dim(fmtInt(n)));
    const mark = colour[verdict](`${r.strategy} ${VERDICT_MARK[verdict]}`);
    const name = r.state === "interrupted" ? `${mark} ${chalk.yellow("(interrupted)")}` : mark;
    const se = r.noise?.tpsStderr;
    table.push([
      name,
      dim(spread && se != null ? `${fmtInt(r.tps)} ± ${fmtInt(se)}` : fmtInt(r.tps)),
      ranked(r) && r.relativeTps != null ? fmtRatio(r.relativeTps) : dim("–"),
      dim(latencyCell(r, both, r.latencyMs?.mean, r.serviceLatencyMs?.mean)),
      ...percentiles.map((p) => dim(latencyCell(r, both, resultPercentile(r, p), servicePercentile(r, p)))),
      dim(latencyCell(r, both, r.latencyMs?.max, r.serviceLatencyMs?.max)),
      verdict === "warn" ? chalk.yellow.bold(fmtPct(r.errorRate)) : r.failed > 0 ? chalk.yellow(fmtPct(r.errorRate)) : dim(fmtPct(r.errorRate)),
      count(a?.duplicateSystems),
      count(a?.duplicateMachines),
      count(a?.duplicateIps),
      count(a?.lostRegistrations),
      a === null
        ? NA
        : a.unacknowledgedRows !== undefined && a.unacknowledgedRows > 0
          ? chalk.yellow(fmtInt(a.unacknowledgedRows))
          : dim(fmtInt(a.unacknowledgedRows)),
      dim(fmtMb(r.memory.peakRssMb)),
    ]);
  }
  return table.toString();
}

/** Lines under the table: errors by kind, and what strategies counted about themselves. */
export function renderNotes(input: RunReport, options: TableOptions): string {
  const report = visibleDeep(input);
  const chalk = new Chalk({ level: options.color ? 1 : 0 });
  const lines: string[] = [];
  for (const r of report.results) {
    const errors = Object.entries(r.errors)
      .map(([kind, n]) => `${kind} ${fmtInt(n)}`)
      .join(", ");
    const stats = summariseStats(r.strategyStats);
    const bits = [
      `${fmtInt(r.succeeded)}/${fmtInt(r.requests)} succeeded in ${(r.durationMs / 1000).toFixed(2)} s`,
      r.pacing ? `rate ${fmtInt(r.pacing.achievedRate)}/s of ${fmtInt(r.pacing.targetRate)}/s asked, ${fmtInt(r.pacing.late)} started late` : undefined,
      errors ? chalk.yellow(`errors: ${errors}`) : undefined,
      stats || undefined,
    ].filter(Boolean);
    lines.push(`  ${r.strategy}: ${bits.join(" · ")}`);
  }
  for (const f of report.failed ?? []) lines.push(chalk.red(`  ${f.strategy}: failed — ${f.reason}`));
  const bound = typeof report.config.maxErrorRate === "number" ? report.config.maxErrorRate : DEFAULT_MAX_ERROR_RATE;
  const spread = report.results.some((r) => (r.runs ?? 1) > 1 && r.noise?.tpsStderr != null);
  if (showsBothLatencies(report.results)) lines.push(`  ${BOTH_LATENCIES_LEGEND}`);
  lines.push(
    `  ✓ no duplicate or lost row in the store, at most ${fmtPct(bound)} failed · ⚠ correct, but more failed · ✗ the audit found violations · rel = TPS / the fastest ✓ · unacked = stored rows whose every request was reported failed · TPS = successful registrations per second${spread ? " · ± = standard error between runs" : ""}`,
  );
  return lines.join("\n");
}

function summariseStats(stats: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(stats)) {
    if (typeof value === "number") parts.push(`${key} ${fmtInt(value)}`);
    else if (key === "shards" && Array.isArray(value)) {
      const shards = value as { contended: number; timeouts: number; longestQueue: number }[];
      const sum = (f: (s: (typeof shards)[number]) => number) => shards.reduce((t, s) => t + f(s), 0);
      parts.push(
        `shards used ${shards.length}, contended ${fmtInt(sum((s) => s.contended))}, lock timeouts ${fmtInt(sum((s) => s.timeouts))}, longest queue ${fmtInt(Math.max(0, maxOf(shards.map((s) => s.longestQueue))))}`,
      );
    } else if (key === "rwShards" && Array.isArray(value)) {
      const shards = value as { readAcquisitions: number; writeAcquisitions: number; readContended: number; writeContended: number; timeouts: number }[];
      const sum = (f: (s: (typeof shards)[number]) => number) => fmtInt(shards.reduce((t, s) => t + f(s), 0));
      parts.push(
        `shards used ${shards.length}, reads ${sum((s) => s.readAcquisitions)} (waited ${sum((s) => s.readContended)}), writes ${sum((s) => s.writeAcquisitions)} (waited ${sum((s) => s.writeContended)}), lock timeouts ${sum((s) => s.timeouts)}`,
      );
    } else if (key === "byCause" && typeof value === "object" && value !== null) {
      const causes = Object.entries(value as Record<string, number>).filter(([, n]) => n > 0);
      if (causes.length) parts.push(`by cause: ${causes.map(([cause, n]) => `${cause} ${fmtInt(n)}`).join(", ")}`);
    } else if (key === "lock" && typeof value === "object" && value !== null) {
      const l = value as { contended: number; timeouts: number; longestQueue: number };
      parts.push(`contended ${fmtInt(l.contended)}, lock timeouts ${fmtInt(l.timeouts)}, longest queue ${fmtInt(l.longestQueue)}`);
    }
  }
  return parts.join(", ");
}
