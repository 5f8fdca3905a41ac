import * as hdr from "hdr-histogram-js";
import type { Histogram } from "hdr-histogram-js";

/** Latency histograms record whole microseconds, from 1 µs to one hour, at 3 significant digits. */
export function newLatencyHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a latency given in milliseconds (fractional) as microseconds. */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

/**
 * Latency figures in milliseconds (whole microseconds), or null when nothing was recorded: unknown is never shown as
 * 0. `p999` is p99.9; results of older versions lack `p95` and `p999`.
 */
export interface LatencySummary {
  readonly mean: number;
  readonly stddev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95?: number;
  readonly p99: number;
  readonly p999?: number;
  readonly max: number;
}

/**
 * A percentile in ms, rounded to whole µs as every exported figure is, and never above the maximum: HDR reports a
 * bucket's highest equivalent value, which can exceed the largest value recorded.
 */
export function percentileMs(histogram: Histogram, percentile: number): number {
  return Math.min(Math.round(histogram.getValueAtPercentile(percentile)), Math.round(histogram.maxValue)) / 1000;
}

export function summarise(histogram: Histogram): LatencySummary | null {
  if (histogram.totalCount === 0) return null;
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    mean: ms(histogram.mean),
    stddev: ms(histogram.stdDeviation),
    p50: percentileMs(histogram, 50),
    p90: percentileMs(histogram, 90),
    p95: percentileMs(histogram, 95),
    p99: percentileMs(histogram, 99),
    p999: percentileMs(histogram, 99.9),
    max: ms(histogram.maxValue),
  };
}

/** A percentile of a result: from its summary when it carries it, else from its histogram; null when unknown. */
export function resultPercentile(result: { readonly latencyMs: LatencySummary | null; readonly histogram?: string }, percentile: number): number | null {
  if (result.latencyMs === null) return null;
  const known: Record<string, number | undefined> = {
    "50": result.latencyMs.p50,
    "90": result.latencyMs.p90,
    "95": result.latencyMs.p95,
    "99": result.latencyMs.p99,
    "99.9": result.latencyMs.p999,
    "100": result.latencyMs.max,
  };
  const direct = known[String(percentile)];
  if (direct !== undefined) return direct;
  if (!result.histogram) return null;
  let decoded = decodedOf.get(result);
  if (!decoded) {
    decoded = decodeHistogram(result.histogram);
    decodedOf.set(result, decoded);
  }
  return decoded.totalCount === 0 ? null : percentileMs(decoded, percentile);
}

/** A result's histogram decoded once, for as long as the result lives (a table asks for several percentiles). */
const decodedOf = new WeakMap<object, Histogram>();

/** The histogram as HdrHistogram's compressed base64, which any HdrHistogram implementation can decode. */
export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(base64: string): Histogram {
  return hdr.decodeFromCompressedBase64(base64, 32, false);
}

/**
 * A percentile of an open loop's service time (from each send), from its summary; null when unknown or when the
 * summary does not carry that percentile.
 */
export function servicePercentile(result: { readonly serviceLatencyMs?: LatencySummary | null }, percentile: number): number | null {
  const s = result.serviceLatencyMs;
  if (!s) return null;
  const known: Record<string, number | undefined> = { "50": s.p50, "90": s.p90, "95": s.p95, "99": s.p99, "99.9": s.p999, "100": s.max };
  return known[String(percentile)] ?? null;
}
