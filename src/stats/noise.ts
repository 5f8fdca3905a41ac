/**
 * Noise estimates, so that a comparison can tell a change from jitter. With several runs the spread between runs
 * is used; a single run is cut into equal time slices whose spread estimates the same thing (batch means).
 */

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function stddev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((t, x) => t + (x - m) ** 2, 0) / (xs.length - 1));
}

/** The standard error of a result's TPS and p99, and what it was estimated from. */
export interface Noise {
  readonly tpsStderr: number | null;
  readonly p99StderrMs: number | null;
  readonly basis: "runs" | "slices";
}

export function noiseFromSamples(tps: readonly number[], p99: readonly number[], basis: Noise["basis"]): Noise {
  return {
    tpsStderr: tps.length >= 2 ? stddev(tps) / Math.sqrt(tps.length) : null,
    p99StderrMs: p99.length >= 2 ? stddev(p99) / Math.sqrt(p99.length) : null,
    basis,
  };
}

export type Verdict = "regressed" | "improved" | "unchanged" | "inconclusive";

/** A metric compared between a baseline and a new result. */
export interface Comparison {
  readonly old: number;
  readonly new: number;
  /** new / old. */
  readonly ratio: number;
  /** The standard error of the ratio, propagated from both sides' errors (null when either is unknown). */
  readonly ratioError: number | null;
  readonly verdict: Verdict;
}

/**
 * Decides whether a metric moved. The relative change must exceed `bound` (10% = 0.1) to count; when the errors are
 * known it must also exceed two standard errors of the ratio, or the verdict is inconclusive: a change inside the
 * noise never fails a gate. `higherIsBetter` is true for TPS, false for latency. With `noiseRequired`, a change
 * beyond the bound whose noise is unknown is inconclusive rather than a verdict.
 */
export function compareMetric(
  oldValue: number,
  oldError: number | null,
  newValue: number,
  newError: number | null,
  bound: number,
  higherIsBetter: boolean,
  noiseRequired = false,
): Comparison {
  const ratio = oldValue === 0 ? (newValue === 0 ? 1 : Infinity) : newValue / oldValue;
  const ratioError =
    oldError === null || newError === null || oldValue === 0 || newValue === 0
      ? null
      : ratio * Math.sqrt((oldError / oldValue) ** 2 + (newError / newValue) ** 2);
  const change = ratio - 1;
  const worse = higherIsBetter ? change < -bound : change > bound;
  const better = higherIsBetter ? change > bound : change < -bound;
  let verdict: Verdict = "unchanged";
  if (worse || better) {
    const beyondNoise = ratioError === null ? !noiseRequired : Math.abs(change) > 2 * ratioError;
    verdict = beyondNoise ? (worse ? "regressed" : "improved") : "inconclusive";
  }
  return { old: oldValue, new: newValue, ratio, ratioError, verdict };
}
