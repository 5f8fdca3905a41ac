import { fmtInt, fmtMs, fmtPct, fmtRatio, NA } from "../format.js";
import type { RunReport, StrategyResult } from "../result.js";
import { verdictOf } from "../verdict.js";
import type { Exporter } from "./exporter.js";

/** Escapes what would break a Markdown table cell. */
export function mdCell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function row(cells: readonly string[]): string {
  return `| ${cells.map(mdCell).join(" | ")} |`;
}

function tpsWithError(r: StrategyResult): string {
  const se = r.noise?.tpsStderr;
  return se === null || se === undefined ? fmtInt(r.tps) : `${fmtInt(r.tps)} ± ${fmtInt(se)}`;
}

/** Mermaid's xychart labels are quoted strings; quotes inside are dropped. */
function label(text: string): string {
  return `"${text.replace(/"/g, "")}"`;
}

function chart(title: string, axis: string, names: readonly string[], values: readonly (number | null)[]): string {
  const known = values.map((v) => (v === null || !Number.isFinite(v) ? 0 : +v.toFixed(3)));
  return [
    "```mermaid",
    "xychart-beta",
    `    title ${label(title)}`,
    `    x-axis [${names.map(label).join(", ")}]`,
    `    y-axis ${label(axis)}`,
    `    bar [${known.join(", ")}]`,
    "```",
  ].join("\n");
}

function conditions(report: RunReport): string[] {
  const c = report.config as Record<string, unknown>;
  const env = report.environment;
  const lines: [string, string][] = [
    ["mode", `${c.mode}${c.mode === "http" ? ` · target ${c.target} · ${c.instances} instance(s)` : ""}`],
    ["scenario", c.scenario ? String(c.scenario) : NA],
    ["strategies", (c.strategies as string[]).join(", ")],
    [
      "workload",
      `-n ${c.requests} · ${c.rate !== undefined ? `open loop ${c.rate}/s, ≤ ${c.concurrency} in flight` : `-c ${c.concurrency}`} · ${c.systems} system(s) · ${c.projects} project(s) · resend ${c.resend} · warmup ${c.warmup}`,
    ],
    ["database latency", `${c.dbLatencyMs} ms per store call`],
    ["store", String(c.store)],
    ["lock key", String(c.lockKey)],
    ["faults", (c.faults as string[] | undefined)?.length ? (c.faults as string[]).join("; ") : "none"],
    ["runs per strategy", String(c.runs ?? 1)],
    ["machine", env ? `${env.cpu ?? "unknown CPU"}, ${env.cores} cores, ${env.os}, Node ${env.node}` : NA],
    ["regbench", env ? `${env.regbench}${env.commit ? ` (commit ${env.commit})` : ""}` : NA],
  ];
  return ["| condition | value |", "|---|---|", ...lines.map(([k, v]) => row([k, v]))];
}

/** The report GitHub renders: conditions, the comparison with verdicts, and Mermaid charts of TPS and p99. */
export const markdownExporter: Exporter = {
  format: "md",
  extension: "md",
  render(report) {
    const c = report.config as Record<string, unknown>;
    const results = report.results;
    const best = Math.max(0, ...results.map((r) => r.tps));
    const title = c.scenario ? `scenario ${c.scenario}` : (c.strategies as string[]).join(", ");
    const out: string[] = [`# regbench: ${mdCell(title)}`, "", ...conditions(report), ""];
    if (report.interrupted) out.push(`> **interrupted** (${mdCell(report.interrupted.signal)}): the figures are what was measured until then.`, "");
    for (const note of report.notes) out.push(`> note: ${mdCell(note)}`, "");
    out.push(
      "## Results",
      "",
      "| strategy | TPS ± σ | relative | p50 ms | p99 ms | errors | duplicates | lost | verdict |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    );
    for (const r of results) {
      const a = r.audit;
      const dups = a === null ? NA : fmtInt(a.duplicateSystems + a.duplicateMachines + a.duplicateIps);
      const mark = a === null ? "?" : a.violations > 0 ? "✗" : "✓";
      const bold = (s: string, on: boolean) => (on ? `**${s}**` : s);
      out.push(
        row([
          `${r.strategy} ${mark}${r.state === "interrupted" ? " (interrupted)" : ""}`,
          tpsWithError(r),
          best > 0 ? fmtRatio(r.tps / best) : NA,
          fmtMs(r.latencyMs?.p50),
          fmtMs(r.latencyMs?.p99),
          fmtPct(r.errorRate),
          bold(dups, a !== null && a.violations - a.lostRegistrations > 0),
          bold(a === null ? NA : fmtInt(a.lostRegistrations), a !== null && a.lostRegistrations > 0),
          verdictOf(r, results),
        ]),
      );
    }
    out.push(
      "",
      "✓ the audit found no duplicate or lost row · ✗ it did (counted from the stored rows) · TPS = successful registrations per second" +
        (results.some((r) => r.noise?.tpsStderr != null) ? ` · ± is the standard error (${results[0]?.noise?.basis === "runs" ? "between runs" : "between time slices of the run"})` : ""),
      "",
    );
    for (const r of results) for (const note of r.notes) out.push(`> ${mdCell(r.strategy)}: ${mdCell(note)}`, "");
    for (const f of report.failed ?? []) out.push(`> **${mdCell(f.strategy)} failed**: ${mdCell(f.reason)}`, "");
    const names = results.map((r) => r.strategy);
    out.push("## Charts", "", chart("Successful registrations per second", "TPS", names, results.map((r) => r.tps)), "");
    out.push(chart("p99 latency (ms)", "ms", names, results.map((r) => r.latencyMs?.p99 ?? null)), "");
    if (results.some((r) => r.latencyMs === null)) out.push("A strategy with no successful registration has no latency: its bar is drawn at 0 and its p99 is n/a in the table.", "");
    if (report.thresholds?.length) {
      out.push("## Thresholds", "", "| | threshold | strategy | result |", "|---|---|---|---|");
      for (const t of report.thresholds) out.push(row([t.passed ? "✓" : "✗", t.expression, t.strategy, t.detail]));
      out.push("");
    }
    return out.join("\n");
  },
};
