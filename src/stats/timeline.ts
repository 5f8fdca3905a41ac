/**
 * What happened when, in bounded memory: completions, errors and a coarse latency histogram per time bucket. Buckets
 * start 10 ms wide and widen to 100 ms, then 1 s, as the run grows, so a second's figures always come from whole
 * buckets and a one-hour soak keeps 3,600 of them. Latencies are kept in logarithmic bins 4% wide: per-second
 * percentiles are exact to within 4% (the run's own percentiles come from its full HDR histogram, not from here).
 */

/** Bin i holds latencies in [BASE^i, BASE^(i+1)) µs; 560 bins reach past one hour. */
const BASE = 1.04;
const LOG_BASE = Math.log(BASE);
const BINS = 560;
const WIDTHS = [10, 100, 1000] as const;
/** Past this many buckets, the width grows to the next step. */
const MAX_BUCKETS = 1200;

function binOf(us: number): number {
  return us <= 1 ? 0 : Math.min(BINS - 1, Math.floor(Math.log(us) / LOG_BASE));
}

/** The upper edge of a bin in ms (a percentile read from bins errs on the high side, as HDR's do). */
function binUpperMs(bin: number): number {
  return BASE ** (bin + 1) / 1000;
}

interface Bucket {
  completed: number;
  errors: number;
  bins: Uint32Array | undefined;
}

/** One second (or other span) of a run, as the JSON carries it. */
export interface TimelinePoint {
  /** Seconds since the start of the measured window (the bucket's start). */
  readonly t: number;
  /** Its length in seconds: 1, except for the window's last, partial one (and coarser buckets). */
  readonly spanS: number;
  /** Successful registrations completed in it. */
  readonly completed: number;
  /** Failed registrations completed in it. */
  readonly errors: number;
  /** Latency percentiles of its successful registrations (ms, within 4%); null when none completed. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

/** A timeline as it travels between processes and threads. */
export interface TimelineData {
  /** The first bucket's start on the wall clock (epoch ms, fractional): threads each have their own performance.now(). */
  readonly startEpochMs: number;
  readonly widthMs: number;
  readonly buckets: readonly { completed: number; errors: number; bins?: readonly number[] }[];
}

export class Timeline {
  private width: number = WIDTHS[0];
  private buckets: Bucket[] = [];

  /** `startMs` is the performance.now() the buckets count from (the start of the measured window, or earlier). */
  constructor(private start = performance.now()) {}

  /** Restarts the buckets at `startMs` (the first request of the measured window). */
  reset(startMs: number): void {
    this.start = startMs;
    this.buckets = [];
    this.width = WIDTHS[0];
  }

  private bucketAt(atMs: number): Bucket {
    let i = Math.max(0, Math.floor((atMs - this.start) / this.width));
    while (i >= MAX_BUCKETS && this.width < WIDTHS[WIDTHS.length - 1]!) {
      this.widen();
      i = Math.max(0, Math.floor((atMs - this.start) / this.width));
    }
    for (let k = this.buckets.length; k <= i; k++) this.buckets.push({ completed: 0, errors: 0, bins: undefined });
    return this.buckets[i]!;
  }

  private widen(): void {
    const next = WIDTHS[WIDTHS.indexOf(this.width as (typeof WIDTHS)[number]) + 1]!;
    const factor = next / this.width;
    const merged: Bucket[] = [];
    for (let i = 0; i < this.buckets.length; i++) {
      const j = Math.floor(i / factor);
      const into = (merged[j] ??= { completed: 0, errors: 0, bins: undefined });
      addBucket(into, this.buckets[i]!);
    }
    this.buckets = merged;
    this.width = next;
  }

  /** A success completed at `atMs` after `latencyMs`. */
  success(atMs: number, latencyMs: number): void {
    const b = this.bucketAt(atMs);
    b.completed++;
    (b.bins ??= new Uint32Array(BINS))[binOf(latencyMs * 1000)]!++;
  }

  /** A failure completed at `atMs`. */
  failure(atMs: number): void {
    this.bucketAt(atMs).errors++;
  }

  /** The figures of the last whole `spanMs` before `nowMs` (the live progress line). */
  recent(nowMs: number, spanMs = 1000): { tps: number; errors: number; p99Ms: number | null } {
    const from = nowMs - spanMs;
    const first = Math.max(0, Math.floor((from - this.start) / this.width));
    const last = Math.min(this.buckets.length - 1, Math.floor((nowMs - this.start) / this.width));
    const sum: Bucket = { completed: 0, errors: 0, bins: undefined };
    for (let i = first; i <= last; i++) addBucket(sum, this.buckets[i]!);
    const span = Math.max(this.width, Math.min(spanMs, nowMs - this.start));
    return { tps: (sum.completed * 1000) / span, errors: sum.errors, p99Ms: percentile(sum, 0.99) };
  }

  /** Per-`spanMs` figures over [startMs, endMs) (1 s by default; coarser if the buckets are). */
  points(startMs: number, endMs: number, spanMs = 1000): TimelinePoint[] {
    const span = Math.max(spanMs, this.width);
    const out: TimelinePoint[] = [];
    for (let from = startMs; from < endMs; from += span) {
      const first = Math.max(0, Math.round((from - this.start) / this.width));
      const last = Math.min(this.buckets.length, Math.round((from + span - this.start) / this.width));
      const sum: Bucket = { completed: 0, errors: 0, bins: undefined };
      for (let i = first; i < last; i++) addBucket(sum, this.buckets[i]!);
      out.push({
        t: Math.round((from - startMs) / 10) / 100,
        spanS: Math.round(Math.min(span, endMs - from) / 10) / 100,
        completed: sum.completed,
        errors: sum.errors,
        p50Ms: percentile(sum, 0.5),
        p99Ms: percentile(sum, 0.99),
      });
    }
    return out;
  }

  /** TPS and p99 of `k` equal slices of [start, end] (the noise estimate); slices with fewer than 10 successes are left out. */
  slices(startMs: number, endMs: number, k = 10): { tps: number[]; p99: number[] } {
    const tps: number[] = [];
    const p99: number[] = [];
    const n = Math.round((endMs - startMs) / this.width);
    if (n < k) return { tps, p99 };
    const offset = Math.round((startMs - this.start) / this.width);
    for (let s = 0; s < k; s++) {
      const first = offset + Math.floor((s * n) / k);
      const last = offset + Math.floor(((s + 1) * n) / k);
      const sum: Bucket = { completed: 0, errors: 0, bins: undefined };
      // A window that starts before the first bucket (a merged thread's clock) has nothing there to add.
      for (let i = Math.max(0, first); i < Math.min(last, this.buckets.length); i++) addBucket(sum, this.buckets[i]!);
      if (sum.completed < 10) continue;
      tps.push((sum.completed * 1000) / ((last - first) * this.width));
      p99.push(percentile(sum, 0.99)!);
    }
    return { tps, p99 };
  }

  /** The timeline as plain data (to send it from a generator thread). */
  toData(): TimelineData {
    return {
      startEpochMs: performance.timeOrigin + this.start,
      widthMs: this.width,
      buckets: this.buckets.map((b) => ({ completed: b.completed, errors: b.errors, ...(b.bins ? { bins: Array.from(b.bins) } : {}) })),
    };
  }

  /** Adds another timeline's buckets (a generator thread's). */
  merge(data: TimelineData): void {
    const start = data.startEpochMs - performance.timeOrigin;
    data.buckets.forEach((b, i) => {
      if (b.completed === 0 && b.errors === 0) return;
      // A bucket lands where its midpoint falls.
      const at = start + (i + 0.5) * data.widthMs;
      const into = this.bucketAt(at);
      into.completed += b.completed;
      into.errors += b.errors;
      if (b.bins) {
        const bins = (into.bins ??= new Uint32Array(BINS));
        for (let j = 0; j < BINS; j++) bins[j]! += b.bins[j]!;
      }
    });
  }
}

function addBucket(into: Bucket, b: Bucket): void {
  into.completed += b.completed;
  into.errors += b.errors;
  if (b.bins) {
    const bins = (into.bins ??= new Uint32Array(BINS));
    for (let j = 0; j < BINS; j++) bins[j]! += b.bins[j]!;
  }
}

function percentile(b: Bucket, q: number): number | null {
  if (!b.bins || b.completed === 0) return null;
  const rank = Math.max(1, Math.ceil(b.completed * q));
  let seen = 0;
  for (let j = 0; j < BINS; j++) {
    seen += b.bins[j]!;
    if (seen >= rank) return Math.round(binUpperMs(j) * 1000) / 1000;
  }
  return null;
}
