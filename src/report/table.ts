import type { NemesisWindow } from "../faults/nemesis.js";
import { Chalk } from "chalk";
import Table from "cli-table3";
import stringWidth from "string-width";
import type { RunConditions, RunReport } from "./result.js";
import { visibleDeep } from "../core/mask.js";
import { fmtInt, fmtMb, fmtMs, fmtPct, fmtRatio, NA } from "./format.js";
import { resultPercentile, servicePercentile } from "../stats/histogram.js";
import type { StrategyResult } from "./result.js";
import { DEFAULT_MAX_ERROR_RATE, ranked, rankedFirst, VERDICT_MARK, withReportVerdicts, type StrategyVerdict } from "./verdict.js";
import { maxOf, minOf } from "../stats/extent.js";

export interface TableOptions {
  readonly color: boolean;
  /** The latency percentiles shown as columns (`--percentiles`). */
  readonly percentiles?: readonly number[];
  /**
   * The terminal's width in columns: columns are left out, by a fixed priority, until the table fits. Absent: every
   * column (`--wide`, output that is not a terminal, the exports).
   */
  readonly width?: number;
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

/** One column of the comparison table: its key in a row's cells, its heading, and its name where it is left out. */
interface Column {
  readonly key: string;
  readonly head: string;
  /** `p95`, `peak RSS`: as the line under a narrowed table names it. */
  readonly name: string;
}

/** The violation columns, which a narrow table sums into one `violations` column. */
const BY_KIND: readonly string[] = ["dupSys", "dupMach", "dupIps", "lost"];
const byKind = (key: string) => BY_KIND.includes(key);

/**
 * The columns a table of `width` terminal columns shows, narrowest last: each step leaves out one more column, in a
 * fixed priority — peak RSS, mean, max, the percentiles other than p50 and p99, unacked; then the four violation
 * columns become their sum; then rel, p50 and errors. The strategy with its verdict, TPS, p99 and the violations
 * stay whatever the width.
 */
export function layouts(keys: readonly string[], percentiles: readonly number[]): (readonly string[])[] {
  const core = percentiles.filter((p) => p === 50 || p === 99);
  // Without p50 or p99 among the chosen percentiles, the lowest and the highest chosen stand for them.
  const kept = [...new Set(core.length || !percentiles.length ? core : [minOf(percentiles), maxOf(percentiles)])].sort((a, b) => a - b);
  const steps: ((shown: string[]) => string[])[] = [
    ...["rss", "mean", "max"].map((k) => (shown: string[]) => shown.filter((x) => x !== k)),
    ...percentiles.filter((p) => !kept.includes(p)).map((p) => (shown: string[]) => shown.filter((x) => x !== `p:${p}`)),
    (shown) => shown.filter((x) => x !== "unacked"),
    (shown) => {
      const at = shown.findIndex(byKind);
      return at < 0 ? shown : [...shown.slice(0, at), "violations", ...shown.slice(at).filter((x) => !byKind(x))];
    },
    (shown) => shown.filter((x) => x !== "rel"),
    ...kept.slice(0, -1).map((p) => (shown: string[]) => shown.filter((x) => x !== `p:${p}`)),
    (shown) => shown.filter((x) => x !== "errors"),
  ];
  const out: string[][] = [[...keys]];
  for (const step of steps) out.push(step(out[out.length - 1]!));
  return out;
}

/** The widest line of a rendering, in terminal columns: ANSI codes count nothing, as cli-table3 measures. */
export function widestLine(text: string): number {
  return maxOf(
    text.split("\n").map((line) => stringWidth(line)),
    0,
  );
}

/** Words joined by spaces into lines of at most `width` columns (a word longer than that stands alone). */
function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && stringWidth(`${line} ${word}`) > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

/**
 * The comparison table: one row per strategy, ranked ones (✓ pass, ⚠ correct but failing more than allowed) first
 * with their speed relative to the fastest ✓, then — set apart under a rule, dimmed — the broken (✗) and unaudited
 * (?) ones, whose TPS is shown but not ranked. Violations in red. Given a `width`, columns are left out by a fixed
 * priority (see `layouts`) until it fits, and a dim line under it names them; without one, every column.
 */
export function renderTable(input: RunReport, options: TableOptions): string {
  const report = withReportVerdicts(visibleDeep(input));
  const chalk = new Chalk({ level: options.color ? 1 : 0 });
  const percentiles = options.percentiles ?? DEFAULT_PERCENTILES;
  const spread = report.results.some((r) => (r.runs ?? 1) > 1 && r.noise?.tpsStderr != null);
  const both = showsBothLatencies(report.results);
  const column = (key: string, head: string, name = head): Column => ({ key, head, name });
  const all: Column[] = [
    column("strategy", "strategy"),
    column("tps", spread ? "TPS ± SE" : "TPS"),
    column("rel", "rel"),
    column("mean", "mean ms", "mean"),
    ...percentiles.map((p) => column(`p:${p}`, `${percentileLabel(p)} ms`, percentileLabel(p))),
    column("max", "max ms", "max"),
    column("errors", "errors"),
    column("dupSys", "dup sys"),
    column("dupMach", "dup mach"),
    column("dupIps", "dup IPs"),
    column("lost", "lost"),
    column("unacked", "unacked"),
    column("rss", "peak RSS"),
  ];
  const summed = column("violations", "violations");
  const colour: Record<StrategyVerdict, (s: string) => string> = { pass: chalk.green, warn: chalk.yellow, fail: chalk.red, unknown: (s) => s };
  const ordered = rankedFirst(report.results);
  const rows = ordered.map((r): Record<string, string> => {
    const verdict = r.verdict ?? "unknown";
    const dim = ranked(r) ? (s: string) => s : chalk.dim;
    const a = r.audit;
    const count = (n: number | undefined) => (a === null || n === undefined ? NA : n > 0 ? chalk.red.bold(fmtInt(n)) : dim(fmtInt(n)));
    const mark = colour[verdict](`${r.strategy} ${VERDICT_MARK[verdict]}`);
    const se = r.noise?.tpsStderr;
    return {
      strategy: r.state === "interrupted" ? `${mark} ${chalk.yellow("(interrupted)")}` : mark,
      tps: dim(spread && se != null ? `${fmtInt(r.tps)} ± ${fmtInt(se)}` : fmtInt(r.tps)),
      rel: ranked(r) && r.relativeTps != null ? fmtRatio(r.relativeTps) : dim("–"),
      mean: dim(latencyCell(r, both, r.latencyMs?.mean, r.serviceLatencyMs?.mean)),
      ...Object.fromEntries(percentiles.map((p) => [`p:${p}`, dim(latencyCell(r, both, resultPercentile(r, p), servicePercentile(r, p)))])),
      max: dim(latencyCell(r, both, r.latencyMs?.max, r.serviceLatencyMs?.max)),
      errors: verdict === "warn" ? chalk.yellow.bold(fmtPct(r.errorRate)) : r.failed > 0 ? chalk.yellow(fmtPct(r.errorRate)) : dim(fmtPct(r.errorRate)),
      dupSys: count(a?.duplicateSystems),
      dupMach: count(a?.duplicateMachines),
      dupIps: count(a?.duplicateIps),
      lost: count(a?.lostRegistrations),
      violations: count(a?.violations),
      unacked:
        a === null
          ? NA
          : a.unacknowledgedRows !== undefined && a.unacknowledgedRows > 0
            ? chalk.yellow(fmtInt(a.unacknowledgedRows))
            : dim(fmtInt(a.unacknowledgedRows)),
      rss: dim(fmtMb(r.memory.peakRssMb)),
    };
  });
  const render = (keys: readonly string[]): string => {
    const shown = keys.map((k) => (k === summed.key ? summed : all.find((c) => c.key === k)!));
    const table = new Table({
      head: shown.map((c) => c.head),
      colAligns: ["left", ...Array(shown.length - 1).fill("right")] as ("left" | "right")[],
      style: options.color ? { head: ["cyan"], border: ["grey"] } : { head: [], border: [] },
    });
    let apart = false;
    ordered.forEach((r, i) => {
      if (!ranked(r) && !apart) {
        apart = true;
        if (ordered.some(ranked)) table.push([{ colSpan: shown.length, content: chalk.dim("not ranked by speed: ✗ the audit found violations · ? no audit") }]);
      }
      table.push(shown.map((c) => rows[i]![c.key]!));
    });
    return table.toString();
  };
  const width = options.width;
  if (width === undefined) return render(all.map((c) => c.key));
  const candidates = layouts(
    all.map((c) => c.key),
    percentiles,
  );
  let keys = candidates[candidates.length - 1]!;
  let text: string | undefined;
  for (const candidate of candidates) {
    const rendered = render(candidate);
    if (widestLine(rendered) <= width) {
      keys = candidate;
      text = rendered;
      break;
    }
  }
  text ??= render(keys);
  const out = all.filter((c) => !keys.includes(c.key));
  if (out.length === 0) return text;
  const merged = keys.includes(summed.key);
  const names = [...out.filter((c) => !(merged && byKind(c.key))).map((c) => c.name), ...(merged ? ["violations by kind"] : [])];
  return [text, ...wrapWords(`--wide adds ${names.join(", ")}`, width).map((line) => chalk.dim(line))].join("\n");
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
