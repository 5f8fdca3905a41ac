import { csvExporter } from "./csv.js";
import { htmlExporter } from "./html.js";
import type { Exporter } from "./exporter.js";
import { jsonExporter } from "./json.js";
import { markdownExporter } from "./markdown.js";
import { tableExporter } from "./table.js";

/** Every output format by name. Adding one is one file and one line here. */
export const EXPORTERS: Readonly<Record<string, Exporter>> = Object.freeze({
  md: markdownExporter,
  json: jsonExporter,
  csv: csvExporter,
  table: tableExporter,
  html: htmlExporter,
});
