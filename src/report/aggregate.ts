import type { AuditResult } from "../audit/audit.js";
import { decodeHistogram, encodeHistogram, newLatencyHistogram, summarise } from "../stats/histogram.js";
import { mean, noiseFromSamples } from "../stats/noise.js";
import type { StrategyResult } from "./result.js";
import { maxOf, minOf } from "../stats/extent.js";

function sumCounts(parts: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of parts) for (const [k, v] of Object.entries(part)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function sumAudits(audits: readonly (AuditResult | null)[]): AuditResult | null {
  if (audits.some((a) => a === null)) return null;
  const a = audits as AuditResult[];
  const s = (f: (x: AuditResult) => number) => a.reduce((t, x) => t + f(x), 0);
  return {
    duplicateSystems: s((x) => x.duplicateSystems),
    duplicateMachines: s((x) => x.duplicateMachines),
    duplicateIps: s((x) => x.duplicateIps),
    lostRegistrations: s((x) => x.lostRegistrations),
    violations: s((x) => x.violations),
    ...(a.every((x) => x.unacknowledgedRows !== undefined) ? { unacknowledgedRows: s((x) => x.unacknowledgedRows!) } : {}),
  };
}

/** Adds histograms exactly (decoded, added, re-encoded): percentiles are never averaged. */
export function mergeHistograms(encoded: readonly string[]): string {
  const total = newLatencyHistogram();
  for (const e of encoded) {
    const h = decodeHistogram(e);
    total.add(h);
    h.destroy();
  }
  return encodeHistogram(total);
}

function combine(results: readonly StrategyResult[], base: StrategyResult): Omit<StrategyResult, "tps" | "durationMs" | "noise" | "runs" | "perRun"> {
  const histogram = mergeHistograms(results.map((r) => r.histogram));
  const requests = results.reduce((t, r) => t + r.requests, 0);
  const failed = results.reduce((t, r) => t + r.failed, 0);
  const peaks = results.map((r) => r.memory.peakRssMb);
  // An open loop's service times merge as exactly as its latencies; a mix with closed-loop runs has none.
  const { serviceLatencyMs: _l, serviceHistogram: _h, ...rest } = base;
  const service = results.every((r) => r.serviceHistogram !== undefined) ? mergeHistograms(results.map((r) => r.serviceHistogram!)) : undefined;
  return {
    ...rest,
    ...(service !== undefined ? { serviceLatencyMs: summarise(decodeHistogram(service)), serviceHistogram: service } : {}),
    requests,
    succeeded: results.reduce((t, r) => t + r.succeeded, 0),
    failed,
    errorRate: requests === 0 ? 0 : failed / requests,
    latencyMs: summarise(decodeHistogram(histogram)),
    errors: sumCounts(results.map((r) => r.errors)),
    audit: sumAudits(results.map((r) => r.audit)),
    memory: { peakRssMb: peaks.some((p) => p === null) ? null : maxOf(peaks as number[]) },
    histogram,
    resends: results.reduce((t, r) => t + r.resends, 0),
    notes: [...new Set(results.flatMap((r) => r.notes))],
    // Every run's nemeses and dead instances: one that died in the third run still makes the verdict a warning.
    ...(results.some((r) => r.nemeses) ? { nemeses: results.flatMap((r) => r.nemeses ?? []) } : {}),
    ...(results.some((r) => r.instanceDeaths?.length) ? { instanceDeaths: results.flatMap((r) => r.instanceDeaths ?? []) } : {}),
  };
}

/**
 * One strategy measured R times: counts and audits add, histograms add exactly, TPS is the mean of the runs with
 * its standard error, p99 comes from the merged histogram with the runs' spread as its error.
 */
export function aggregateRuns(runs: readonly StrategyResult[]): StrategyResult {
  if (runs.length === 1) return runs[0]!;
  const tps = runs.map((r) => r.tps);
  const p99 = runs.map((r) => r.latencyMs?.p99 ?? NaN).filter(Number.isFinite);
  return {
    ...combine(runs, runs[0]!),
    state: runs.some((r) => r.state === "interrupted") ? "interrupted" : "completed",
    tps: mean(tps),
    durationMs: runs.reduce((t, r) => t + r.durationMs, 0),
    runs: runs.length,
    perRun: runs.map((r) => ({ tps: r.tps, p99: r.latencyMs?.p99 ?? null, durationMs: r.durationMs })),
    noise: noiseFromSamples(tps, p99, "runs"),
    startedAt: minOf(runs.map((r) => r.startedAt)),
    endedAt: maxOf(runs.map((r) => r.endedAt)),
  };
}

/**
 * Results of several load generators that drove one target at the same time: counts add, histograms add exactly,
 * TPS is recomputed over the combined window (first start to last end).
 */
export function mergeAgents(parts: readonly StrategyResult[]): StrategyResult {
  const startedAt = minOf(parts.map((r) => r.startedAt));
  const endedAt = maxOf(parts.map((r) => r.endedAt));
  const combined = combine(parts, parts[0]!);
  const durationMs = endedAt - startedAt;
  return {
    ...combined,
    durationMs,
    tps: durationMs > 0 ? (combined.succeeded * 1000) / durationMs : 0,
    startedAt,
    endedAt,
    runs: 1,
    noise: { tpsStderr: null, p99StderrMs: null, basis: "slices" },
    notes: [...combined.notes, `merged from ${parts.length} load generators`],
  };
}
