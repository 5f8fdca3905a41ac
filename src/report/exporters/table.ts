import { renderHeader, renderNotes, renderTable } from "../table.js";
import type { Exporter } from "./exporter.js";

/** The terminal table, plain: header, table, notes. */
export const tableExporter: Exporter = {
  format: "table",
  extension: "txt",
  render: (report, options) =>
    `${renderHeader(report, String((report.environment as { regbench?: string } | undefined)?.regbench ?? ""))}\n${renderTable(report, { color: false, percentiles: options?.percentiles, width: options?.width })}\n${renderNotes(report, { color: false })}\n`,
};
