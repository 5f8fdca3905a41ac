import type { RunReport, StrategyResult } from "../report/result.js";
import { compareMetric, type Comparison, type Verdict } from "../stats/noise.js";

/** What makes two runs the same workload; strategy settings (shards, lock key…) may differ, these may not. */
const WORKLOAD_KEYS = [
  "mode",
  "target",
  "instances",
  "requests",
  "concurrency",
  "rate",
  "durationMs",
  "stages",
  "systems",
  "projects",
  "resend",
  "dbLatencyMs",
  "faults",
] as const;

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** How two reports' workload settings differ (strategies aside), in words; empty when they are the same workload. */
export function settingDifferences(a: RunReport, b: RunReport, names: readonly [string, string] = ["the first", "this one"]): string[] {
  const ca = a.config;
  const cb = b.config;
  return WORKLOAD_KEYS.filter((key) => !same(ca[key], cb[key])).map(
    (key) => `${key} ${JSON.stringify(ca[key] ?? null)} in ${names[0]}, ${JSON.stringify(cb[key] ?? null)} in ${names[1]}`,
  );
}

/** A short name for a report's workload: its scenario, or its main settings. */
export function workloadLabel(report: RunReport): string {
  const c = report.config;
  if (typeof c.scenario === "string") return c.scenario;
  const size = c.durationMs != null ? `${Number(c.durationMs) / 1000}s` : `n ${c.requests}`;
  return [
    size,
    c.rate != null ? `rate ${c.rate}/s` : `c ${c.concurrency}`,
    `systems ${c.systems}`,
    Number(c.resend) > 0 ? `resend ${c.resend}` : undefined,
    Number(c.dbLatencyMs) > 0 ? `db ${c.dbLatencyMs} ms` : undefined,
  ]
    .filter(Boolean)
    .join(", ");
}

/** Every way the two reports' workloads differ, in words; empty when they can be compared. */
export function workloadDifferences(baseline: RunReport, current: RunReport): string[] {
  const a = baseline.config;
  const b = current.config;
  const out: string[] = [];
  const sa = [...baseline.results.map((r) => r.strategy)].sort();
  const sb = [...current.results.map((r) => r.strategy)].sort();
  if (!same(sa, sb)) out.push(`strategies: ${sa.join(",")} in the baseline, ${sb.join(",")} now`);
  for (const key of WORKLOAD_KEYS)
    if (!same(a[key], b[key])) out.push(`${key}: ${JSON.stringify(a[key] ?? null)} in the baseline, ${JSON.stringify(b[key] ?? null)} now`);
  return out;
}

export interface StrategyComparison {
  readonly strategy: string;
  readonly tps: Comparison;
  readonly p99: Comparison | null;
  readonly verdict: Verdict;
}

function overall(verdicts: readonly Verdict[]): Verdict {
  for (const v of ["regressed", "improved", "inconclusive"] as const) if (verdicts.includes(v)) return v;
  return "unchanged";
}

/**
 * TPS is judged against the noise of either basis. A tail percentile of one run is too unstable for time slices to
 * measure its noise (slices of a queueing system are correlated, and each holds few tail samples), so p99 is only
 * judged regressed or improved against the spread between runs (`--runs` ≥ 2 on both sides); otherwise a p99 change
 * beyond the bound is inconclusive.
 */
function compareOne(old: StrategyResult, now: StrategyResult, bound: number): StrategyComparison {
  const tps = compareMetric(old.tps, old.noise?.tpsStderr ?? null, now.tps, now.noise?.tpsStderr ?? null, bound, true);
  const runsBasis = old.noise?.basis === "runs" && now.noise?.basis === "runs";
  const p99 =
    old.latencyMs && now.latencyMs
      ? compareMetric(
          old.latencyMs.p99,
          runsBasis ? (old.noise?.p99StderrMs ?? null) : null,
          now.latencyMs.p99,
          runsBasis ? (now.noise?.p99StderrMs ?? null) : null,
          bound,
          false,
          true,
        )
      : null;
  return { strategy: now.strategy, tps, p99, verdict: overall([tps.verdict, ...(p99 ? [p99.verdict] : [])]) };
}

/** Compares TPS and p99 strategy by strategy; call `workloadDifferences` first. */
export function compareReports(baseline: RunReport, current: RunReport, bound: number): StrategyComparison[] {
  return current.results.flatMap((now) => {
    const old = baseline.results.find((r) => r.strategy === now.strategy);
    return old ? [compareOne(old, now, bound)] : [];
  });
}

function pct(c: Comparison): string {
  const change = (c.ratio - 1) * 100;
  const err = c.ratioError === null ? "" : ` ± ${(c.ratioError * 100).toFixed(1)}%`;
  return `${change >= 0 ? "+" : "−"}${Math.abs(change).toFixed(1)}%${err}`;
}

/** One line per strategy: TPS and p99 before → after, the change with its error, and the verdict. */
export function renderComparisons(comparisons: readonly StrategyComparison[], bound: number): string {
  const lines = comparisons.map((c) => {
    const tps = `TPS ${Math.round(c.tps.old).toLocaleString("en-US")} → ${Math.round(c.tps.new).toLocaleString("en-US")} (${pct(c.tps)}, ${c.tps.verdict})`;
    const p99 = c.p99 ? `p99 ${c.p99.old} → ${c.p99.new} ms (${pct(c.p99)}, ${c.p99.verdict})` : "p99 n/a";
    const mark = c.verdict === "regressed" ? "✗" : "✓";
    return `${mark} ${c.strategy}: ${c.verdict} · ${tps} · ${p99}`;
  });
  return [
    `compared with the baseline, bound ±${(bound * 100).toFixed(0)}% (a change inside 2 standard errors is inconclusive):`,
    ...lines.map((l) => `  ${l}`),
  ].join("\n");
}

/** Parses `10%` or `0.1`; undefined when it is neither. */
export function parseBound(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) / (m[2] ? 100 : 1);
  return n > 0 && n < 10 ? n : undefined;
}
