import type { StrategyResult } from "./result.js";
import { maxOf } from "../stats/extent.js";

/**
 * A strategy's state at a glance: `pass` — the audit found nothing and at most the allowed share of registrations
 * failed; `warn` — correct, but failing more; `fail` — the audit found duplicates or lost registrations; `unknown`
 * — no audit could be taken (a target without its audit endpoint).
 */
export type StrategyVerdict = "pass" | "warn" | "fail" | "unknown";

/** The share of failed registrations a correct strategy may have and still pass. */
export const DEFAULT_MAX_ERROR_RATE = 0.01;

export function verdictState(result: StrategyResult, maxErrorRate = DEFAULT_MAX_ERROR_RATE): StrategyVerdict {
  const a = result.audit;
  if (a === null) return "unknown";
  if (a.violations > 0) return "fail";
  // A run where nothing succeeded proves nothing correct: it is at least a warning. So is a run that lost a server
  // instance: whatever killed it, the figures are not those of the server that was asked for.
  if (result.errorRate > maxErrorRate || result.succeeded === 0 || (result.instanceDeaths?.length ?? 0) > 0) return "warn";
  return "pass";
}

export const VERDICT_MARK: Readonly<Record<StrategyVerdict, string>> = Object.freeze({ pass: "✓", warn: "⚠", fail: "✗", unknown: "?" });

/** Worse first: what `--fail-on-verdict` compares against. */
const SEVERITY: Readonly<Record<StrategyVerdict, number>> = Object.freeze({ pass: 0, unknown: 1, warn: 1, fail: 2 });

/** The strategies at or worse than `level` (`warn` catches warn, unknown and fail; `fail` only fail). */
export function atOrWorse(results: readonly StrategyResult[], level: "warn" | "fail"): StrategyResult[] {
  return results.filter((r) => SEVERITY[r.verdict ?? "unknown"] >= SEVERITY[level]);
}

/**
 * The results with their verdicts and their TPS relative to the fastest passing strategy (null when none passes):
 * speed is ranked among correct strategies only, so a fast broken one never sets the scale.
 */
export function withVerdicts(results: readonly StrategyResult[], maxErrorRate = DEFAULT_MAX_ERROR_RATE): StrategyResult[] {
  const verdicts = results.map((r) => verdictState(r, maxErrorRate));
  const best = Math.max(0, maxOf(results.filter((_, i) => verdicts[i] === "pass").map((r) => r.tps)));
  return results.map((r, i) => ({ ...r, verdict: verdicts[i]!, relativeTps: best > 0 ? r.tps / best : null }));
}

/** Whether a result is ranked by speed: correct ones are (pass, and warn with its error rate shown); broken and unknown are set apart. */
export function ranked(r: StrategyResult): boolean {
  return r.verdict === "pass" || r.verdict === "warn";
}

/** Results in reading order: ranked ones first (in the run's order), then the ones set apart. */
export function rankedFirst(results: readonly StrategyResult[]): StrategyResult[] {
  return [...results.filter(ranked), ...results.filter((r) => !ranked(r))];
}

/** A short verdict per strategy, in words. */
export function verdictText(result: StrategyResult, all: readonly StrategyResult[]): string {
  const a = result.audit;
  if (a === null) return "not audited: correctness unknown";
  const best = Math.max(0, maxOf(all.filter((r) => r.verdict === "pass").map((r) => r.tps)));
  const fast = best > 0 && result.tps >= best ? "fast but " : "";
  if (a.lostRegistrations > 0) return `${fast}loses registrations (${a.lostRegistrations.toLocaleString("en-US")} acknowledged, not stored)`;
  if (a.violations > 0) return `${fast}duplicates rows (${(a.duplicateSystems + a.duplicateMachines + a.duplicateIps).toLocaleString("en-US")})`;
  if (result.verdict === "warn" && result.instanceDeaths?.length)
    return `correct, but ${result.instanceDeaths.length} server instance(s) died during the run (${result.instanceDeaths.map((d) => `#${d.instance} ${d.reason}`).join(", ")})`;
  if (result.verdict === "warn")
    return result.succeeded === 0 ? "correct, but no registration succeeded" : `correct, but fails ${(result.errorRate * 100).toFixed(1)}% of registrations`;
  if (result.tps >= best) return "correct and fastest";
  return `correct, ${(best / Math.max(result.tps, 1e-9)).toFixed(1)}× slower than the fastest correct`;
}

/** A report whose results carry verdicts (those of older versions get them from the report's or the default bound). */
export function withReportVerdicts<T extends { readonly config: Readonly<Record<string, unknown>>; readonly results: readonly StrategyResult[] }>(
  report: T,
): T {
  if (report.results.every((r) => r.verdict !== undefined)) return report;
  const bound = typeof report.config.maxErrorRate === "number" ? report.config.maxErrorRate : DEFAULT_MAX_ERROR_RATE;
  return { ...report, results: withVerdicts(report.results, bound) };
}
