import assert from "node:assert/strict";
import { test } from "node:test";
import { aggregateRuns, mergeAgents } from "../../src/report/aggregate.js";
import { downsampleTimeline } from "../../src/report/downsample.js";
import { EXPORTERS } from "../../src/report/exporters/registry.js";
import { HTML_TIMELINE_POINTS } from "../../src/report/exporters/html.js";
import { MARKDOWN_TIMELINE_POINTS } from "../../src/report/exporters/markdown.js";
import type { StrategyResult } from "../../src/report/result.js";
import { maxOf, minOf } from "../../src/stats/extent.js";
import type { TimelinePoint } from "../../src/stats/timeline.js";
import { fixtureReport } from "./fixture.js";

const POINTS = 200_000;
const timeline: TimelinePoint[] = Array.from({ length: POINTS }, (_, t) => ({
  t,
  spanS: 1,
  completed: 1000 + (t % 7),
  errors: t % 3,
  p50Ms: 1,
  p99Ms: t === 123_456 ? 900 : 5,
}));

test("maxOf and minOf take 200,000 values (Math.max(...values) overflows the stack there)", () => {
  const values = timeline.map((p) => p.completed);
  assert.throws(() => Math.max(...values), RangeError, "the fault this guards against is real on this Node");
  assert.equal(maxOf(values), 1006);
  assert.equal(minOf(values), 1000);
  assert.equal(maxOf([], 0), 0);
  assert.ok(Number.isNaN(maxOf([1, NaN, 2])));
});

test("a 200,000-point timeline renders in every format; the charts are downsampled, their rates and worst p99 kept", () => {
  const base = fixtureReport();
  const long: StrategyResult = { ...base.results[0]!, timeline };
  const report = { ...base, results: [long, ...base.results.slice(1)] };
  for (const exporter of Object.values(EXPORTERS)) assert.ok(exporter.render(report).length > 0, exporter.format);
  const md = EXPORTERS.md!.render(report);
  const line = /line \[([^\]]*)\]/.exec(md.slice(md.indexOf("## Over time")))![1]!.split(", ");
  assert.ok(line.length <= MARKDOWN_TIMELINE_POINTS && line.length > MARKDOWN_TIMELINE_POINTS / 2, String(line.length));
  assert.ok(
    line.every((v) => Number(v) >= 1000 && Number(v) <= 1006),
    "a merged point is a mean rate",
  );
  const html = EXPORTERS.html!.render(report);
  const data = JSON.parse(/<script type="application\/json" id="regbench-data">([^<]*)<\/script>/.exec(html)![1]!) as {
    strategies: { timeline: { p99: number }[] }[];
  };
  assert.ok(data.strategies[0]!.timeline.length <= HTML_TIMELINE_POINTS);
  assert.equal(maxOf(data.strategies[0]!.timeline.map((p) => p.p99)), 900, "the worst second's p99 survives");
  const small = downsampleTimeline(timeline, 10);
  assert.equal(small.length, 10);
  assert.equal(
    small.reduce((t, p) => t + p.completed, 0),
    timeline.reduce((t, p) => t + p.completed, 0),
  );
  assert.equal(
    small.reduce((t, p) => t + p.spanS, 0),
    POINTS,
  );
  mergeAgents([long, long]);
  aggregateRuns([long, long]);
});
