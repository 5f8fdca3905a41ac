import type { RunReport } from "../result.js";

/** One output format. An exporter only turns a report into text; where it goes is the caller's business. */
export interface Exporter {
  readonly format: string;
  readonly extension: string;
  render(report: RunReport, options?: RenderOptions): string;
}

/** What a reader may choose about a rendering. */
export interface RenderOptions {
  /** Latency percentile columns of the table (`--percentiles`). */
  readonly percentiles?: readonly number[];
  /** The terminal's width, which the table format fits by leaving columns out; the other formats have every column. */
  readonly width?: number;
}
