import { withReportVerdicts } from "../verdict.js";
import type { Exporter } from "./exporter.js";

/** The `--json` document, histograms included: what `report`, `compare` and `merge` read back. */
export const jsonExporter: Exporter = {
  format: "json",
  extension: "json",
  render: (report) => `${JSON.stringify(withReportVerdicts(report), null, 1)}\n`,
};
