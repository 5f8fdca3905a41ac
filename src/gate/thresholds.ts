import { resultPercentile } from "../stats/histogram.js";
import type { StrategyResult, ThresholdLine } from "../report/result.js";

/** Any other percentile, p0.1 to p99.999, read from the result's histogram. */
function percentileMetric(name: string): (typeof METRICS)[string] | undefined {
  const m = /^p(\d{1,2}(?:\.\d{1,3})?)$/.exec(name);
  if (!m) return undefined;
  const percentile = Number(m[1]);
  return percentile > 0 && percentile < 100 ? { unit: "ms", read: (r) => resultPercentile(r, percentile) } : undefined;
}

/** What a threshold can be about, and how to read it off a result (null when unknown). */
const METRICS: Readonly<Record<string, { readonly unit: "ms" | "ratio" | "count" | "rate"; readonly read: (r: StrategyResult) => number | null }>> =
  Object.freeze({
    p50: { unit: "ms", read: (r) => resultPercentile(r, 50) },
    p90: { unit: "ms", read: (r) => resultPercentile(r, 90) },
    p95: { unit: "ms", read: (r) => resultPercentile(r, 95) },
    p99: { unit: "ms", read: (r) => resultPercentile(r, 99) },
    "p99.9": { unit: "ms", read: (r) => resultPercentile(r, 99.9) },
    max: { unit: "ms", read: (r) => r.latencyMs?.max ?? null },
    mean: { unit: "ms", read: (r) => r.latencyMs?.mean ?? null },
    tps: { unit: "rate", read: (r) => r.tps },
    errorRate: { unit: "ratio", read: (r) => r.errorRate },
    failed: { unit: "count", read: (r) => r.failed },
    violations: { unit: "count", read: (r) => r.audit?.violations ?? null },
    lostRegistrations: { unit: "count", read: (r) => r.audit?.lostRegistrations ?? null },
    duplicateSystems: { unit: "count", read: (r) => r.audit?.duplicateSystems ?? null },
    duplicateMachines: { unit: "count", read: (r) => r.audit?.duplicateMachines ?? null },
    duplicateIps: { unit: "count", read: (r) => r.audit?.duplicateIps ?? null },
  });

export const THRESHOLD_METRICS = Object.freeze(Object.keys(METRICS));

type Op = "<" | "<=" | ">" | ">=" | "==" | "!=";

/** A parsed `--threshold`: `[strategy:]metric op value[unit]`. */
export interface Threshold {
  readonly source: string;
  readonly strategy: string | undefined;
  readonly metric: string;
  readonly op: Op;
  /** In the metric's own unit: milliseconds, a ratio, a count or a rate per second. */
  readonly value: number;
}

/** A threshold that does not parse: the expression, where (0-based) and what was expected. */
export class ThresholdSyntaxError extends Error {
  constructor(
    readonly source: string,
    readonly position: number,
    readonly expected: string,
  ) {
    super(`${expected} at column ${position + 1}:\n  ${source}\n  ${" ".repeat(position)}^`);
  }
}

const UNIT_FACTORS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  ms: { ms: 1, s: 1000, m: 60_000, us: 0.001, µs: 0.001, "": 1 },
  ratio: { "%": 0.01, "": 1 },
  count: { "": 1 },
  rate: { "/s": 1, "": 1 },
};

/** Parses one expression, e.g. `p99<50ms`, `atomic:p99<20ms`, `tps>=1000`, `errorRate<1%`, `violations==0`. */
export function parseThreshold(source: string, strategies?: readonly string[]): Threshold {
  let pos = 0;
  const text = source;
  const skip = () => {
    while (text[pos] === " ") pos++;
  };
  const ident = () => {
    // p99.9: a percentile's decimals belong to its name.
    const m = /^(p\d+\.\d+|[A-Za-z][A-Za-z0-9_-]*)/.exec(text.slice(pos));
    return m ? m[0] : undefined;
  };
  skip();
  let first = ident();
  if (!first) throw new ThresholdSyntaxError(source, pos, `expected a metric (${THRESHOLD_METRICS.join(", ")}) or strategy:metric`);
  let strategy: string | undefined;
  let metricStart = pos;
  pos += first.length;
  skip();
  if (text[pos] === ":") {
    strategy = first;
    if (strategies && !strategies.includes(strategy))
      throw new ThresholdSyntaxError(source, metricStart, `expected a strategy of this run (${strategies.join(", ")})`);
    pos++;
    skip();
    metricStart = pos;
    first = ident();
    if (!first) throw new ThresholdSyntaxError(source, pos, `expected a metric (${THRESHOLD_METRICS.join(", ")})`);
    pos += first.length;
    skip();
  }
  const metric = first;
  const spec = METRICS[metric] ?? percentileMetric(metric);
  if (!spec) throw new ThresholdSyntaxError(source, metricStart, `expected a metric (${THRESHOLD_METRICS.join(", ")}), not ${JSON.stringify(metric)}`);
  const opMatch = /^(<=|>=|==|!=|<|>)/.exec(text.slice(pos));
  if (!opMatch) throw new ThresholdSyntaxError(source, pos, "expected a comparison: <, <=, >, >=, == or !=");
  const op = opMatch[1] as Op;
  pos += op.length;
  skip();
  const numMatch = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?/i.exec(text.slice(pos));
  if (!numMatch) throw new ThresholdSyntaxError(source, pos, "expected a number");
  const number = Number(numMatch[0]);
  pos += numMatch[0].length;
  const unitStart = pos;
  const unit = text.slice(pos).trim();
  const factors = UNIT_FACTORS[spec.unit]!;
  const factor = factors[unit];
  if (factor === undefined) {
    const allowed = Object.keys(factors).filter(Boolean);
    throw new ThresholdSyntaxError(
      source,
      unitStart,
      allowed.length ? `expected a unit for ${metric} (${allowed.join(", ")}) or none` : `expected the end: ${metric} takes no unit`,
    );
  }
  return { source, strategy, metric, op, value: number * factor };
}

/** One threshold checked against one strategy's result. */
export interface ThresholdOutcome {
  readonly threshold: Threshold;
  readonly strategy: string;
  /** Null when the run does not know the value (then the threshold fails: it cannot be shown to hold). */
  readonly measured: number | null;
  readonly passed: boolean;
}

function holds(measured: number, op: Op, value: number): boolean {
  switch (op) {
    case "<":
      return measured < value;
    case "<=":
      return measured <= value;
    case ">":
      return measured > value;
    case ">=":
      return measured >= value;
    case "==":
      return measured === value;
    case "!=":
      return measured !== value;
  }
}

/** Checks every threshold against every result it applies to. */
export function evaluateThresholds(thresholds: readonly Threshold[], results: readonly StrategyResult[]): ThresholdOutcome[] {
  const out: ThresholdOutcome[] = [];
  for (const threshold of thresholds) {
    for (const result of results) {
      if (threshold.strategy !== undefined && threshold.strategy !== result.strategy) continue;
      const measured = (METRICS[threshold.metric] ?? percentileMetric(threshold.metric))!.read(result);
      out.push({ threshold, strategy: result.strategy, measured, passed: measured !== null && holds(measured, threshold.op, threshold.value) });
    }
  }
  return out;
}

/** How far a measured value is from its bound, in words: "by 12.3 ms", "by 999,999,000/s". */
export function describeMiss(outcome: ThresholdOutcome): string {
  if (outcome.measured === null) return "not measured in this run";
  const unit = (METRICS[outcome.threshold.metric] ?? percentileMetric(outcome.threshold.metric))!.unit;
  const gap = Math.abs(outcome.measured - outcome.threshold.value);
  const fmt = (n: number) =>
    unit === "ms"
      ? `${+n.toFixed(3)} ms`
      : unit === "ratio"
        ? `${+(n * 100).toFixed(3)}%`
        : unit === "rate"
          ? `${Math.round(n).toLocaleString("en-US")}/s`
          : Math.round(n).toLocaleString("en-US");
  return outcome.passed ? `measured ${fmt(outcome.measured)}` : `measured ${fmt(outcome.measured)}, off by ${fmt(gap)}`;
}

/** The outcomes as a report records them: `{ thresholds }` when any threshold was checked, else nothing. */
export function thresholdLines(checked: readonly ThresholdOutcome[]): { thresholds?: ThresholdLine[] } {
  if (!checked.length) return {};
  return {
    thresholds: checked.map((t) => ({
      expression: t.threshold.source,
      strategy: t.strategy,
      passed: t.passed,
      measured: t.measured,
      detail: describeMiss(t),
    })),
  };
}
