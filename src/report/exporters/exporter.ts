import type { RunReport } from "../result.js";

/** One output format. An exporter only turns a report into text; where it goes is the caller's business. */
export interface Exporter {
  readonly format: string;
  readonly extension: string;
  render(report: RunReport): string;
}
