import type { TimelinePoint } from "../stats/timeline.js";

/**
 * A timeline of at most `max` points for a chart: consecutive seconds merged into equal groups, each group's rate
 * being its completions over its span (so a merged point is the mean rate of its seconds, never a sample of one).
 * Latency percentiles cannot be merged from per-second percentiles: a group's p50/p99 are its worst second's, which
 * keeps a spike visible. A day-long soak has 86,400 points; a chart of them all is unreadable and slow to draw.
 */
export function downsampleTimeline(points: readonly TimelinePoint[], max: number): TimelinePoint[] {
  if (points.length <= max) return [...points];
  const size = Math.ceil(points.length / max);
  const out: TimelinePoint[] = [];
  for (let start = 0; start < points.length; start += size) {
    let spanS = 0;
    let completed = 0;
    let errors = 0;
    let p50Ms: number | null = null;
    let p99Ms: number | null = null;
    const end = Math.min(points.length, start + size);
    for (let i = start; i < end; i++) {
      const p = points[i]!;
      spanS += p.spanS;
      completed += p.completed;
      errors += p.errors;
      if (p.p50Ms !== null && (p50Ms === null || p.p50Ms > p50Ms)) p50Ms = p.p50Ms;
      if (p.p99Ms !== null && (p99Ms === null || p.p99Ms > p99Ms)) p99Ms = p.p99Ms;
    }
    out.push({ t: points[start]!.t, spanS, completed, errors, p50Ms, p99Ms });
  }
  return out;
}
