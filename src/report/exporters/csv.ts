import { resultPercentile } from "../../stats/histogram.js";
import type { StrategyResult } from "../result.js";
import { escapeControl } from "../../core/mask.js";
import { withReportVerdicts } from "../verdict.js";
import type { Exporter } from "./exporter.js";

const COLUMNS: readonly [string, (r: StrategyResult) => number | string | null | undefined][] = [
  ["strategy", (r) => r.strategy],
  ["state", (r) => r.state ?? "completed"],
  ["verdict", (r) => r.verdict ?? "unknown"],
  ["runs", (r) => r.runs ?? 1],
  ["requests", (r) => r.requests],
  ["succeeded", (r) => r.succeeded],
  ["failed", (r) => r.failed],
  ["error_rate", (r) => r.errorRate],
  ["tps", (r) => r.tps],
  ["tps_stderr", (r) => r.noise?.tpsStderr],
  ["relative_tps", (r) => r.relativeTps],
  ["mean_ms", (r) => r.latencyMs?.mean],
  ["p50_ms", (r) => r.latencyMs?.p50],
  ["p90_ms", (r) => r.latencyMs?.p90],
  ["p95_ms", (r) => resultPercentile(r, 95)],
  ["p99_ms", (r) => r.latencyMs?.p99],
  ["p99_9_ms", (r) => resultPercentile(r, 99.9)],
  ["max_ms", (r) => r.latencyMs?.max],
  ["duplicate_systems", (r) => r.audit?.duplicateSystems],
  ["duplicate_machines", (r) => r.audit?.duplicateMachines],
  ["duplicate_ips", (r) => r.audit?.duplicateIps],
  ["lost_registrations", (r) => r.audit?.lostRegistrations],
  ["violations", (r) => r.audit?.violations],
  ["unacknowledged_rows", (r) => r.audit?.unacknowledgedRows],
  ["peak_rss_mb", (r) => r.memory.peakRssMb],
];

function cell(value: number | string | null | undefined): string {
  if (value === null || value === undefined || (typeof value === "number" && !Number.isFinite(value))) return "n/a";
  const text = typeof value === "number" ? String(+value.toFixed(6)) : escapeControl(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row per strategy (RFC 4180); unknown values are `n/a`, never 0. */
export const csvExporter: Exporter = {
  format: "csv",
  extension: "csv",
  render: (input) =>
    [COLUMNS.map(([name]) => name).join(","), ...withReportVerdicts(input).results.map((r) => COLUMNS.map(([, read]) => cell(read(r))).join(","))].join("\n") +
    "\n",
};
