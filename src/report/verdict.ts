import type { StrategyResult } from "./result.js";

/** A short verdict per strategy, from its audit, its failures and its speed among the correct ones. */
export function verdictOf(result: StrategyResult, all: readonly StrategyResult[]): string {
  const correct = all.filter((r) => r.audit !== null && r.audit.violations === 0 && r.errorRate < 0.01);
  const bestCorrect = Math.max(0, ...correct.map((r) => r.tps));
  const a = result.audit;
  if (a === null) return "not audited: correctness unknown";
  const fast = bestCorrect > 0 && result.tps >= bestCorrect ? "fast but " : "";
  if (a.lostRegistrations > 0) return `${fast}loses registrations (${a.lostRegistrations.toLocaleString("en-US")} acknowledged, not stored)`;
  if (a.violations > 0) return `${fast}duplicates rows (${(a.duplicateSystems + a.duplicateMachines + a.duplicateIps).toLocaleString("en-US")})`;
  if (result.errorRate >= 0.01) return `correct, but fails ${(result.errorRate * 100).toFixed(1)}% of registrations`;
  if (result.tps >= bestCorrect) return "correct and fastest";
  return `correct, ${(bestCorrect / Math.max(result.tps, 1e-9)).toFixed(1)}× slower than the fastest correct`;
}
