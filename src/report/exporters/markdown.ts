import { fmtInt, fmtMs, fmtPct, fmtRatio, NA } from "../format.js";
import type { RunReport, StrategyResult } from "../result.js";
import { resultPercentile } from "../../stats/histogram.js";
import { loadParts } from "../table.js";
import { DEFAULT_MAX_ERROR_RATE, ranked, rankedFirst, VERDICT_MARK, verdictText, withReportVerdicts } from "../verdict.js";
import type { Exporter } from "./exporter.js";
import { escapeControl } from "../../core/mask.js";
import { maxOf } from "../../stats/extent.js";
import { downsampleTimeline } from "../downsample.js";

/**
 * Text from a report (a strategy's name, a note, a condition), escaped as Markdown: a backslash before every
 * character that makes inline markup (CommonMark §2.4: `\\ \` * _ [ ] | ~`) and before one that would open a block at
 * the start (`# + - = > !`), `<`, `>` and `&` as entities (so `<script>` is text, never HTML), line breaks as spaces
 * and control characters shown (`\x1b`). It renders as the same text.
 */
export function mdCell(text: string): string {
  return escapeControl(text)
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/^[#+\-=>!]/, (c) => `\\${c}`)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\r?\n/g, " ");
}

/** Markdown this exporter writes itself (bold figures, the italic rule), kept as markup in a row. */
interface Markup {
  readonly markup: string;
}

function row(cells: readonly (string | Markup)[]): string {
  return `| ${cells.map((c) => (typeof c === "string" ? mdCell(c) : c.markup)).join(" | ")} |`;
}

function tpsWithError(r: StrategyResult): string {
  const se = r.noise?.tpsStderr;
  return se === null || se === undefined ? fmtInt(r.tps) : `${fmtInt(r.tps)} ± ${fmtInt(se)}`;
}

/** A strategy's name with its state, as every chart label and row carries it. */
const named = (r: StrategyResult) => `${r.strategy} ${VERDICT_MARK[r.verdict ?? "unknown"]}`;

/** Mermaid's xychart labels are quoted strings; quotes, angle brackets and control characters inside are dropped. */
function label(text: string): string {
  return `"${text.replace(/["<>\u0000-\u001f\u007f-\u009f]/g, "")}"`;
}

/** The y-axis from 0 (a bar's height is its value) to a round number above the largest value. */
function yAxis(axis: string, values: readonly number[]): string {
  const top = Math.max(0, maxOf(values));
  if (top <= 0) return `    y-axis ${label(axis)} 0 --> 1`;
  const magnitude = 10 ** Math.floor(Math.log10(top));
  const nice = Math.ceil((top * 1.05) / magnitude) * magnitude;
  return `    y-axis ${label(axis)} 0 --> ${+nice.toPrecision(6)}`;
}

function chart(title: string, axis: string, names: readonly string[], values: readonly (number | null)[]): string {
  const known = values.map((v) => (v === null || !Number.isFinite(v) ? 0 : +v.toFixed(3)));
  return [
    "```mermaid",
    "xychart-beta",
    `    title ${label(title)}`,
    `    x-axis [${names.map(label).join(", ")}]`,
    yAxis(axis, known),
    `    bar [${known.join(", ")}]`,
    "```",
  ].join("\n");
}

/** A Mermaid line of more points is unreadable (and slow to render): longer timelines are merged into groups. */
export const MARKDOWN_TIMELINE_POINTS = 120;

/** One strategy's per-second timeline: successful registrations each second, as a line from 0. */
function timelineChart(r: StrategyResult): string | undefined {
  // A last, partial second is scaled to a rate, so that it does not read as a drop; a sliver under 0.1 s is left out.
  const points = downsampleTimeline(
    (r.timeline ?? []).filter((p) => p.spanS >= 0.1),
    MARKDOWN_TIMELINE_POINTS,
  );
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

/**
 * One strategy's nemeses: each window, the instances that died, and the per-second timeline with the seconds a
 * nemesis was active shaded (▓), their errors next to them. Mermaid's charts cannot shade a span; the table can.
 */
function nemesisSection(r: StrategyResult): string[] {
  const windows = r.nemeses ?? [];
  const out = [`### ${mdCell(named(r))}`, ""];
  const s = (ms: number | null) => (ms === null ? NA : (ms / 1000).toFixed(2));
  if (windows.length) {
    out.push("| nemesis | from s | to s | applied | what it did |", "|---|---:|---:|---|---|");
    for (const w of windows) out.push(row([w.spec, s(w.startMs), s(w.endMs), w.applied ? "yes" : "no", w.detail]));
    out.push("");
  }
  for (const d of r.instanceDeaths ?? [])
    out.push(
      `> instance #${d.instance} (pid ${d.pid}) ${mdCell(d.reason)} at ${s(d.atMs)} s${d.nemesis ? ` (${mdCell(d.nemesis)})` : ": no nemesis asked for it"}`,
      "",
    );
  const points = r.timeline ?? [];
  if (points.length) {
    const active = (from: number, to: number) =>
      windows.filter((w) => w.applied && w.startMs !== null && w.startMs / 1000 < to && (w.endMs ?? w.startMs) / 1000 >= from).map((w) => w.spec);
    out.push("| second | TPS | errors | nemesis |", "|---:|---:|---:|---|");
    for (const p of points) {
      const on = active(p.t, p.t + p.spanS);
      out.push(row([String(p.t), fmtInt(p.spanS > 0 ? p.completed / p.spanS : 0), fmtInt(p.errors), on.length ? `▓ ${on.join(", ")}` : ""]));
    }
    out.push("");
  }
  const a = r.audit;
  out.push(
    `Over the run: ${fmtInt(r.failed)} failed (${
      Object.entries(r.errors)
        .map(([k, n]) => `${k} ${fmtInt(n)}`)
        .join(", ") || "none"
    }); the audit: ${a === null ? NA : `${fmtInt(a.violations)} violation(s)`}.`,
    "",
  );
  return out;
}

function conditions(report: RunReport): string[] {
  const c = report.config;
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
    ...((c.nemeses as string[] | undefined)?.length ? [["nemeses", (c.nemeses as string[]).join("; ")] as [string, string]] : []),
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
  render(input) {
    const report = withReportVerdicts(input);
    const c = report.config;
    const results = rankedFirst(report.results);
    const title = c.scenario ? `scenario ${c.scenario}` : (c.strategies as string[]).join(", ");
    const out: string[] = [`# regbench: ${mdCell(title)}`, "", ...conditions(report), ""];
    if (report.interrupted) out.push(`> **interrupted** (${mdCell(report.interrupted.signal)}): the figures are what was measured until then.`, "");
    for (const note of report.notes) out.push(`> note: ${mdCell(note)}`, "");
    const spread = results.some((r) => r.noise?.tpsStderr != null);
    const basis = results.find((r) => r.noise?.tpsStderr != null)?.noise?.basis;
    out.push(
      "## Results",
      "",
      `| strategy | ${spread ? "TPS ± SE" : "TPS"} | rel | p50 ms | p95 ms | p99 ms | p99.9 ms | errors | duplicates | lost | verdict |`,
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    );
    let apart = false;
    for (const r of results) {
      if (!ranked(r) && !apart) {
        apart = true;
        if (results.some(ranked)) out.push(row([{ markup: "*not ranked by speed*" }, "", "", "", "", "", "", "", "", "", ""]));
      }
      const a = r.audit;
      const dups = a === null ? NA : fmtInt(a.duplicateSystems + a.duplicateMachines + a.duplicateIps);
      const bold = (s: string, on: boolean): string | Markup => (on ? { markup: `**${mdCell(s)}**` } : s);
      out.push(
        row([
          `${named(r)}${r.state === "interrupted" ? " (interrupted)" : ""}`,
          tpsWithError(r),
          ranked(r) && r.relativeTps != null ? fmtRatio(r.relativeTps) : "–",
          fmtMs(resultPercentile(r, 50)),
          fmtMs(resultPercentile(r, 95)),
          fmtMs(resultPercentile(r, 99)),
          fmtMs(resultPercentile(r, 99.9)),
          bold(fmtPct(r.errorRate), r.verdict === "warn"),
          bold(dups, a !== null && a.violations - a.lostRegistrations > 0),
          bold(a === null ? NA : fmtInt(a.lostRegistrations), a !== null && a.lostRegistrations > 0),
          verdictText(r, results),
        ]),
      );
    }
    const bound = typeof c.maxErrorRate === "number" ? c.maxErrorRate : DEFAULT_MAX_ERROR_RATE;
    out.push(
      "",
      `✓ the audit found no duplicate or lost row (counted from the stored rows) and at most ${fmtPct(bound)} of registrations failed · ⚠ correct, but more failed · ✗ the audit found violations: not ranked by speed · ? not audited · rel = TPS / the fastest ✓ · TPS = successful registrations per second` +
        (spread
          ? ` · ± is the standard error of the mean TPS (${basis === "runs" ? "between runs" : "between ten time slices of the run"}), not a standard deviation`
          : ""),
      "",
    );
    for (const r of results) for (const note of r.notes) out.push(`> ${mdCell(r.strategy)}: ${mdCell(note)}`, "");
    for (const f of report.failed ?? []) out.push(`> **${mdCell(f.strategy)} failed**: ${mdCell(f.reason)}`, "");
    // Speed is drawn for the ranked strategies only: a broken one's speed is not a result to compare against.
    const drawn = results.filter(ranked);
    const apartOnes = results.filter((r) => !ranked(r));
    out.push("## Charts", "", "Each label carries the strategy's state (✓ ⚠); axes start at 0.", "");
    if (drawn.length) {
      out.push(
        chart(
          "Successful registrations per second",
          "registrations/s",
          drawn.map(named),
          drawn.map((r) => r.tps),
        ),
        "",
      );
      out.push(
        chart(
          "p99 latency of successful registrations",
          "ms",
          drawn.map(named),
          drawn.map((r) => resultPercentile(r, 99)),
        ),
        "",
      );
    }
    if (apartOnes.length)
      out.push(
        `Not drawn, not ranked: ${apartOnes.map((r) => `${mdCell(named(r))} (${fmtInt(r.tps)}/s, ${r.verdict === "unknown" ? "not audited" : "broken"})`).join(", ")}.`,
        "",
      );
    if (results.some((r) => r.latencyMs === null))
      out.push("A strategy with no successful registration has no latency: its bar is drawn at 0 and its p99 is n/a in the table.", "");
    const timelines = results.map(timelineChart).filter((x): x is string => x !== undefined);
    if (timelines.length) {
      out.push("## Over time", "", "Per second of the measured window (the JSON's `timeline` also carries errors and p50/p99 per second).", "");
      for (const t of timelines) out.push(t, "");
    }
    const struck = results.filter((r) => r.nemeses?.length || r.instanceDeaths?.length);
    if (struck.length) {
      out.push("## Nemeses", "");
      for (const line of struck.flatMap(nemesisSection)) out.push(line);
    }
    if (report.thresholds?.length) {
      out.push("## Thresholds", "", "| | threshold | strategy | result |", "|---|---|---|---|");
      for (const t of report.thresholds) out.push(row([t.passed ? "✓" : "✗", t.expression, t.strategy, t.detail]));
      out.push("");
    }
    return out.join("\n");
  },
};
