import { fmtInt, fmtMs, fmtPct, fmtRatio, NA } from "../format.js";
import type { RunReport, StrategyResult } from "../result.js";
import { loadParts } from "../table.js";
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

/** The y-axis from 0 (a bar's height is its value) to a round number above the largest value. */
function yAxis(axis: string, values: readonly number[]): string {
  const top = Math.max(0, ...values);
  if (top <= 0) return `    y-axis ${label(axis)} 0 --> 1`;
  const magnitude = 10 ** Math.floor(Math.log10(top));
  const nice = Math.ceil((top * 1.05) / magnitude) * magnitude;
  return `    y-axis ${label(axis)} 0 --> ${+nice.toPrecision(6)}`;
}

function chart(title: string, axis: string, names: readonly string[], values: readonly (number | null)[]): string {
  const known = values.map((v) => (v === null || !Number.isFinite(v) ? 0 : +v.toFixed(3)));
  return ["```mermaid", "xychart-beta", `    title ${label(title)}`, `    x-axis [${names.map(label).join(", ")}]`, yAxis(axis, known), `    bar [${known.join(", ")}]`, "```"].join("\n");
}

/** One strategy's per-second timeline: successful registrations each second, as a line from 0. */
function timelineChart(r: StrategyResult): string | undefined {
  // A last, partial second is scaled to a rate, so that it does not read as a drop; a sliver under 0.1 s is left out.
  const points = (r.timeline ?? []).filter((p) => p.spanS >= 0.1);
  if (points.length < 2) return undefined;
  const tps = points.map((p) => (p.spanS > 0 ? Math.round(p.completed / p.spanS) : 0));
  return [
    "```mermaid",
    "xychart-beta",
    `    title ${label(`${r.strategy}: successful registrations per second over the run`)}`,
    `    x-axis ${label("second")} [${points.map((p) => label(String(Math.round(p.t)))).join(", ")}]`,
    yAxis("TPS", tps),
    `    line [${tps.join(", ")}]`,
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
      `${loadParts(c).join(" · ")} · ${c.systems} system(s) · ${c.projects} project(s) · resend ${c.resend} · warmup ${c.warmupMs !== undefined ? `${Number(c.warmupMs) / 1000} s` : c.warmup}`,
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
    const timelines = results.map(timelineChart).filter((x): x is string => x !== undefined);
    if (timelines.length) {
      out.push("## Over time", "", "Per second of the measured window (the JSON's `timeline` also carries errors and p50/p99 per second).", "");
      for (const t of timelines) out.push(t, "");
    }
    if (report.thresholds?.length) {
      out.push("## Thresholds", "", "| | threshold | strategy | result |", "|---|---|---|---|");
      for (const t of report.thresholds) out.push(row([t.passed ? "✓" : "✗", t.expression, t.strategy, t.detail]));
      out.push("");
    }
    return out.join("\n");
  },
};
