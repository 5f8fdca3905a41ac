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

/** Latency figures in milliseconds, or null when nothing was recorded: unknown is never shown as 0. */
export interface LatencySummary {
  readonly mean: number;
  readonly stddev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export function summarise(histogram: Histogram): LatencySummary | null {
  if (histogram.totalCount === 0) return null;
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    mean: ms(histogram.mean),
    stddev: ms(histogram.stdDeviation),
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    max: ms(histogram.maxValue),
  };
}

/** The histogram as HdrHistogram's compressed base64, which any HdrHistogram implementation can decode. */
export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(base64: string): Histogram {
  return hdr.decodeFromCompressedBase64(base64, 32, false);
}
