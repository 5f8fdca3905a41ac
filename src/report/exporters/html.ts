import { nemesisLine } from "../table.js";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { decodeHistogram, resultPercentile, servicePercentile } from "../../stats/histogram.js";
import { fmtInt, fmtPct, fmtRatio, NA } from "../format.js";
import type { StrategyResult } from "../result.js";
import { BOTH_LATENCIES_LEGEND, conditionsLine, latencyCell, showsBothLatencies } from "../table.js";
import { DEFAULT_MAX_ERROR_RATE, ranked, rankedFirst, VERDICT_MARK, verdictText, withReportVerdicts } from "../verdict.js";
import type { Exporter } from "./exporter.js";
import { visibleDeep } from "../../core/mask.js";
import { downsampleTimeline } from "../downsample.js";

/** Chart.js's browser build, read once from the installed package and inlined: the page needs no network. */
let chartJs: string | undefined;
function chartLibrary(): string {
  if (chartJs === undefined) {
    const main = createRequire(import.meta.url).resolve("chart.js");
    chartJs = readFileSync(join(dirname(main), "chart.umd.min.js"), "utf8");
  }
  return chartJs;
}

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
/** JSON inside a <script> element: `</script>` and `<!--` cannot end or change it. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

/** Percentiles the distribution is drawn at: dense towards the tail, as HdrHistogram's plots are. */
const DISTRIBUTION_PERCENTILES = [
  0, 10, 20, 30, 40, 50, 55, 60, 65, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 97.5, 98, 98.5, 99, 99.25, 99.5, 99.75, 99.9, 99.95, 99.99, 99.995, 99.999, 99.9995,
  99.9999,
];

/** A strategy's latency distribution: (1 / (1 − p), latency ms) points, up to the percentiles its sample count supports. */
function distribution(r: StrategyResult): { x: number; y: number; p: number }[] {
  if (!r.histogram || r.latencyMs === null) return [];
  const h = decodeHistogram(r.histogram);
  if (h.totalCount === 0) return [];
  // Beyond 1 − 1/n every further percentile is the maximum: stop there.
  const deepest = 100 * (1 - 1 / h.totalCount);
  const points = DISTRIBUTION_PERCENTILES.filter((p) => p <= deepest).map((p) => ({
    x: 1 / (1 - p / 100),
    y: Math.min(h.getValueAtPercentile(p), h.maxValue) / 1000,
    p,
  }));
  points.push({ x: Math.max(1 / (1 - deepest / 100), points.at(-1)?.x ?? 1), y: h.maxValue / 1000, p: 100 });
  return points;
}

/** Points per timeline on the page: more add nothing a screen can show and make the page heavy. */
export const HTML_TIMELINE_POINTS = 1500;

interface PageData {
  readonly strategies: {
    readonly name: string;
    readonly label: string;
    readonly verdict: string;
    readonly ranked: boolean;
    readonly tps: number;
    readonly tpsStderr: number | null;
    readonly p99: number | null;
    readonly timeline: { t: number; tps: number; errors: number; p99: number | null }[];
    readonly distribution: { x: number; y: number; p: number }[];
    /** Applied nemeses, in seconds of the measured window: shaded on the timeline. */
    readonly nemeses?: { spec: string; from: number; to: number }[];
  }[];
  readonly spreadLabel: string | null;
}

function pageData(results: readonly StrategyResult[]): PageData {
  const spread = results.find((r) => r.noise?.tpsStderr != null)?.noise?.basis;
  return {
    spreadLabel: spread === undefined ? null : spread === "runs" ? "± standard error between runs" : "± standard error between ten time slices of the run",
    strategies: results.map((r) => ({
      name: r.strategy,
      label: `${r.strategy} ${VERDICT_MARK[r.verdict ?? "unknown"]}`,
      verdict: r.verdict ?? "unknown",
      ranked: ranked(r),
      tps: r.tps,
      tpsStderr: r.noise?.tpsStderr ?? null,
      p99: resultPercentile(r, 99),
      timeline: downsampleTimeline(
        (r.timeline ?? []).filter((p) => p.spanS >= 0.1),
        HTML_TIMELINE_POINTS,
      ).map((p) => ({ t: p.t, tps: Math.round(p.completed / p.spanS), errors: p.errors, p99: p.p99Ms })),
      distribution: distribution(r),
      ...(r.nemeses?.some((w) => w.applied && w.startMs !== null)
        ? {
            nemeses: r.nemeses
              .filter((w) => w.applied && w.startMs !== null)
              .map((w) => ({ spec: w.spec, from: w.startMs! / 1000, to: (w.endMs ?? w.startMs!) / 1000 })),
          }
        : {}),
    })),
  };
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.conditions { color: #555; margin-bottom: 1rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .5rem; border-bottom: 1px solid #e3e3e3; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.words { text-align: left; } td.words { white-space: normal; }
tr.apart td { color: #888; } tr.rule td { font-style: italic; color: #888; background: #fafafa; text-align: left; }
.pass { color: #1a7f37; } .warn { color: #9a6700; } .fail { color: #cf222e; } .unknown { color: #666; }
.bad { color: #cf222e; font-weight: 600; }
.chart { position: relative; height: 340px; margin: 1rem 0 2rem; }
.legend { color: #555; font-size: 12px; }
`;

/** Draws ± standard error bars over a bar chart's bars, from each point's `se`. */
const SCRIPT = `
const data = JSON.parse(document.getElementById("regbench-data").textContent);
const errors = [];
window.addEventListener("error", (e) => errors.push(String(e.message)));
const consoleError = console.error;
console.error = (...args) => { errors.push(args.map(String).join(" ")); consoleError.apply(console, args); };
const COLORS = ["#0969da", "#1a7f37", "#8250df", "#bf3989", "#9a6700", "#cf222e", "#0a3069", "#116329", "#6e7781", "#953800", "#3e1f79", "#1b7c83", "#e16f24", "#4d2d00", "#57606a"];
const errorBars = {
  id: "errorBars",
  afterDatasetsDraw(chart) {
    const ds = chart.data.datasets[0]; if (!ds.se) return;
    const meta = chart.getDatasetMeta(0); const y = chart.scales.y; const ctx = chart.ctx;
    ctx.save(); ctx.strokeStyle = "#1d1d1f"; ctx.lineWidth = 1.5;
    meta.data.forEach((bar, i) => {
      const se = ds.se[i]; if (se == null) return;
      const v = ds.data[i]; const top = y.getPixelForValue(v + se); const bottom = y.getPixelForValue(Math.max(0, v - se));
      ctx.beginPath(); ctx.moveTo(bar.x, top); ctx.lineTo(bar.x, bottom);
      ctx.moveTo(bar.x - 6, top); ctx.lineTo(bar.x + 6, top); ctx.moveTo(bar.x - 6, bottom); ctx.lineTo(bar.x + 6, bottom); ctx.stroke();
    });
    ctx.restore();
  },
};
// Nemesis windows as shaded spans behind the timeline (a span shorter than a pixel gets a line), their spec on top.
const nemesisSpans = {
  id: "nemesisSpans",
  beforeDatasetsDraw(chart) {
    const spans = data.strategies.flatMap((s) => s.nemeses || []); if (!spans.length) return;
    const x = chart.scales.x; const area = chart.chartArea; const ctx = chart.ctx;
    ctx.save(); ctx.font = "11px system-ui, sans-serif";
    spans.forEach((w, i) => {
      const left = x.getPixelForValue(w.from); const right = Math.max(left + 2, x.getPixelForValue(w.to));
      ctx.fillStyle = "rgba(207, 34, 46, 0.12)"; ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
      ctx.fillStyle = "#cf222e"; ctx.fillText(w.spec, left + 3, area.top + 12 + 13 * (i % 4));
    });
    ctx.restore();
  },
};
Chart.defaults.animation = false;
Chart.defaults.font.family = "system-ui, sans-serif";
const charts = [];
function make(id, config) { const el = document.getElementById(id); if (el) charts.push(new Chart(el, config)); }
const ranked = data.strategies.filter((s) => s.ranked);
const colorOf = (s) => COLORS[data.strategies.indexOf(s) % COLORS.length];
if (ranked.length) {
  make("tps", {
    type: "bar",
    data: { labels: ranked.map((s) => s.label), datasets: [{ label: "registrations/s", data: ranked.map((s) => s.tps), se: ranked.map((s) => s.tpsStderr), backgroundColor: ranked.map((s) => s.verdict === "pass" ? "#2da44e" : "#d4a72c") }] },
    options: { maintainAspectRatio: false, plugins: { legend: { display: false }, title: { display: true, text: "Successful registrations per second" + (data.spreadLabel ? " (" + data.spreadLabel + ")" : "") } }, scales: { y: { beginAtZero: true, suggestedMax: ranked.reduce((m, s) => Math.max(m, s.tps + (s.tpsStderr || 0)), 0) * 1.05, title: { display: true, text: "registrations/s" } } } },
    plugins: [errorBars],
  });
}
const timed = data.strategies.filter((s) => s.timeline.length >= 2);
if (timed.length) {
  make("timeline", {
    type: "line",
    // Broken strategies start hidden (click the legend to show them): their speed would set the scale.
    data: { datasets: timed.map((s) => ({ label: s.label, data: s.timeline.map((p) => ({ x: p.t, y: p.tps })), borderColor: colorOf(s), backgroundColor: colorOf(s), borderDash: s.ranked ? [] : [6, 4], pointRadius: 2, hidden: !s.ranked && timed.some((x) => x.ranked) })) },
    options: { maintainAspectRatio: false, parsing: false, plugins: { title: { display: true, text: "Successful registrations per second, over the run" + (data.strategies.some((s) => s.nemeses) ? " (nemeses shaded)" : "") } }, scales: { x: { type: "linear", beginAtZero: true, title: { display: true, text: "second of the measured window" } }, y: { beginAtZero: true, title: { display: true, text: "registrations/s" } } } },
    plugins: [nemesisSpans],
  });
}
const distributed = data.strategies.filter((s) => s.distribution.length >= 2);
if (distributed.length) {
  const tick = (x) => { const p = 100 * (1 - 1 / x); return p === 0 ? "0%" : (+p.toPrecision(6)) + "%"; };
  make("distribution", {
    type: "line",
    data: { datasets: distributed.map((s) => ({ label: s.label, data: s.distribution.map((p) => ({ x: p.x, y: p.y })), borderColor: colorOf(s), backgroundColor: colorOf(s), borderDash: s.ranked ? [] : [6, 4], pointRadius: 0, stepped: false })) },
    options: {
      maintainAspectRatio: false, parsing: false,
      plugins: { title: { display: true, text: "Latency by percentile (HdrHistogram style: the tail to the right)" }, tooltip: { callbacks: { label: (c) => c.dataset.label + ": " + tick(c.parsed.x) + " ≤ " + c.parsed.y.toFixed(3) + " ms" } } },
      scales: {
        x: { type: "logarithmic", min: 1, title: { display: true, text: "percentile (log scale of 1 / (1 − p))" }, afterBuildTicks: (axis) => { axis.ticks = [1, 2, 10, 100, 1000, 10000, 100000, 1000000].filter((v) => v <= axis.max).map((v) => ({ value: v })); }, ticks: { callback: (v) => tick(v) } },
        y: { beginAtZero: true, title: { display: true, text: "latency (ms)" } },
      },
    },
  });
}
// The page reports on itself (a test in headless Chromium reads this): charts drawn, and whether each drew pixels.
requestAnimationFrame(() => {
  const drawn = charts.map((c) => { const ctx = c.canvas.getContext("2d"); const d = ctx.getImageData(0, 0, c.canvas.width, c.canvas.height).data; let ink = 0; for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) ink++; return ink; });
  document.documentElement.dataset.charts = JSON.stringify({ expected: document.querySelectorAll("canvas").length, drawn: drawn.length, ink: drawn, errors });
});
`;

/**
 * One self-contained page: the conditions, the comparison table with verdicts, TPS bars with error bars over `--runs`
 * (ranked strategies only), the per-second timeline, and the latency distribution by percentile on a log "1 − p"
 * axis (one line per strategy, from its HDR histogram). Chart.js is inlined; nothing is fetched.
 */
export const htmlExporter: Exporter = {
  format: "html",
  extension: "html",
  render(input) {
    const report = withReportVerdicts(visibleDeep(input));
    const results = rankedFirst(report.results);
    const c = report.config;
    const title = c.scenario ? `scenario ${String(c.scenario)}` : (c.strategies as string[]).join(", ");
    const bound = typeof c.maxErrorRate === "number" ? c.maxErrorRate : DEFAULT_MAX_ERROR_RATE;
    const rows: string[] = [];
    const both = showsBothLatencies(results);
    let apart = false;
    for (const r of results) {
      if (!ranked(r) && !apart) {
        apart = true;
        if (results.some(ranked)) rows.push(`<tr class="rule"><td colspan="12">not ranked by speed: ✗ the audit found violations · ? no audit</td></tr>`);
      }
      const a = r.audit;
      const v = r.verdict ?? "unknown";
      const dups = a === null ? NA : fmtInt(a.duplicateSystems + a.duplicateMachines + a.duplicateIps);
      const se = r.noise?.tpsStderr;
      rows.push(
        `<tr class="${ranked(r) ? "" : "apart"}"><td class="${v}">${escapeHtml(`${r.strategy} ${VERDICT_MARK[v]}`)}${r.state === "interrupted" ? " (interrupted)" : ""}</td>` +
          `<td>${fmtInt(r.tps)}${se != null ? ` ± ${fmtInt(se)}` : ""}</td><td>${ranked(r) && r.relativeTps != null ? fmtRatio(r.relativeTps) : "–"}</td>` +
          [50, 95, 99, 99.9].map((p) => `<td>${latencyCell(r, both, resultPercentile(r, p), servicePercentile(r, p))}</td>`).join("") +
          `<td>${latencyCell(r, both, r.latencyMs?.max, r.serviceLatencyMs?.max)}</td><td class="${v === "warn" ? "bad" : ""}">${fmtPct(r.errorRate)}</td>` +
          `<td class="${a && a.violations - a.lostRegistrations > 0 ? "bad" : ""}">${dups}</td><td class="${a && a.lostRegistrations > 0 ? "bad" : ""}">${a === null ? NA : fmtInt(a.lostRegistrations)}</td>` +
          `<td class="words">${escapeHtml(verdictText(r, results))}</td></tr>`,
      );
    }
    const notes = [
      ...report.notes,
      ...results.flatMap((r) => r.notes.map((n) => `${r.strategy}: ${n}`)),
      ...results.flatMap((r) => (r.nemeses ?? []).map((w) => `${r.strategy}: nemesis ${nemesisLine(w)}`)),
      ...(report.failed ?? []).map((f) => `${f.strategy} failed: ${f.reason}`),
    ];
    const data = pageData(results);
    const hasTimeline = data.strategies.some((s) => s.timeline.length >= 2);
    const hasDistribution = data.strategies.some((s) => s.distribution.length >= 2);
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>regbench: ${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>regbench: ${escapeHtml(title)}</h1>
<div class="conditions">${escapeHtml(conditionsLine(report.config))}${report.environment ? ` · ${escapeHtml(`${report.environment.cpu ?? "unknown CPU"}, ${report.environment.cores} cores, Node ${report.environment.node}, regbench ${report.environment.regbench}${report.environment.commit ? ` (${report.environment.commit})` : ""}`)}` : ""}</div>
${report.interrupted ? `<p><strong>interrupted</strong> (${escapeHtml(report.interrupted.signal)}): the figures are what was measured until then.</p>` : ""}
<table>
<thead><tr><th>strategy</th><th>TPS${data.spreadLabel ? " ± SE" : ""}</th><th>rel</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>errors</th><th>duplicates</th><th>lost</th><th>verdict</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
<p class="legend">✓ the audit found no duplicate or lost row (counted from the stored rows) and at most ${escapeHtml(fmtPct(bound))} of registrations failed · ⚠ correct, but more failed · ✗ the audit found violations · ? not audited · rel = TPS / the fastest ✓ · TPS = successful registrations per second${data.spreadLabel ? ` · ${escapeHtml(data.spreadLabel)}` : ""}</p>
${both ? `<p class="legend">${escapeHtml(BOTH_LATENCIES_LEGEND)}</p>` : ""}
${notes.length ? `<ul class="legend">${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : ""}
${data.strategies.some((s) => s.ranked) ? `<h2>Throughput</h2><div class="chart"><canvas id="tps"></canvas></div>` : ""}
${
  data.strategies.some((s) => !s.ranked)
    ? `<p class="legend">Not drawn, not ranked: ${escapeHtml(
        data.strategies
          .filter((s) => !s.ranked)
          .map((s) => `${s.label} (${fmtInt(s.tps)}/s)`)
          .join(", "),
      )}.</p>`
    : ""
}
${hasTimeline ? `<h2>Over time</h2><div class="chart"><canvas id="timeline"></canvas></div>` : ""}
${hasDistribution ? `<h2>Latency distribution</h2><div class="chart"><canvas id="distribution"></canvas></div><p class="legend">Each line: the latency (y) below which a share p of successful registrations completed, with p spread on a log scale of 1 / (1 − p) so the tail (99%, 99.9%, 99.99%) is readable; from each strategy's full HDR histogram. Broken strategies dashed.</p>` : ""}
<script type="application/json" id="regbench-data">${scriptJson(data)}</script>
<script>${chartLibrary().replace(/<\/script/gi, "<\\/script")}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
  },
};
