import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { EXPORTERS } from "../../src/report/exporters/registry.js";
import { mdCell } from "../../src/report/exporters/markdown.js";
import { fixtureReport, histogramOf } from "./fixture.js";

// Golden files live in the source tree (test/report/golden), not in dist.
const GOLDEN = fileURLToPath(new URL("../../../test/report/golden/", import.meta.url));

// The HTML page inlines Chart.js; it has tests of its own (html.test.ts).
for (const [format, exporter] of Object.entries(EXPORTERS).filter(([name]) => name !== "html")) {
  test(`the ${format} exporter matches its golden file`, () => {
    const rendered = exporter.render(fixtureReport());
    const path = `${GOLDEN}report.${exporter.extension}`;
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(path, rendered);
    assert.equal(rendered, readFileSync(path, "utf8"));
  });
}

test("the Markdown report carries the conditions, verdicts and Mermaid xycharts from 0, with pipes escaped", () => {
  const md = EXPORTERS.md!.render(fixtureReport());
  assert.match(md, /\| machine \| Test CPU @ 1\.00GHz, 2 cores/);
  assert.match(md, /\| regbench \| 0\.1\.0 \(commit abcdef123456\) \|/);
  assert.match(md, /# regbench: scenario storm \\\| remote/);
  // rel against the fastest ✓ (atomic), not the faster but broken none; ⚠ for the correct one failing 2%.
  assert.match(md, /\| atomic ✓ \| 20,000 ± 40 \| 1\.00 \|.*correct and fastest \|/);
  assert.match(md, /\| global ⚠ \| 175 ± 40 \| 0\.01 \|.*\*\*2\.00%\*\*.*correct, but fails 2\.0% of registrations \|/);
  assert.match(md, /\| none ✗ \| 25,000 ± 40 \| – \|.*fast but duplicates rows \(10,989\) \|/);
  assert.match(md, /\| target \? \|.*n\/a \| n\/a \| not audited: correctness unknown \|/);
  assert.ok(md.indexOf("global ⚠") < md.indexOf("*not ranked by speed*") && md.indexOf("*not ranked by speed*") < md.indexOf("none ✗ |"));
  // TPS and p99 bars of the ranked strategies, and the timeline of the one that has it.
  assert.equal((md.match(/```mermaid\nxychart-beta/g) ?? []).length, 3);
  assert.match(md, /x-axis \["atomic ✓", "global ⚠"\]\n {4}y-axis "registrations\/s" 0 --> 30000\n {4}bar \[20000, 175\]/);
  assert.match(md, /Not drawn, not ranked: none ✗ \(25,000\/s, broken\), target \? \(5,000\/s, not audited\)/);
  assert.match(md, /line \[19000, 21000, 20000\]/);
  assert.equal(mdCell("a|b\\c\nd"), "a\\|b\\\\c d");
  assert.match(md, /> \*\*sharded failed\*\*: the measuring process exited on SIGKILL before reporting/);
});

test("CSV shows unknown values as n/a and quotes what needs it", () => {
  const csv = EXPORTERS.csv!.render(fixtureReport()).trim().split("\n");
  assert.equal(csv[0]!.split(",").length, 25);
  const target = csv.find((l) => l.startsWith("target,"))!;
  assert.match(target, /^target,completed,unknown,/);
  assert.match(target, /,n\/a,n\/a,n\/a,n\/a,n\/a,n\/a,n\/a$/);
  assert.match(
    csv.find((l) => l.startsWith("global,"))!,
    /^global,completed,warn,/,
  );
});

test("every format shows a percentile from the same rounded value: p99 ≤ p99.9 ≤ max, in the JSON, the CSV and the table", () => {
  // Values whose HDR bucket reaches above the largest one recorded.
  const { latencyMs } = histogramOf([1.0001, 2.0049, 7.9999, 8.0049]);
  assert.ok(latencyMs!.p99 <= latencyMs!.max && latencyMs!.p999! <= latencyMs!.max && latencyMs!.p95! <= latencyMs!.p99, JSON.stringify(latencyMs));
  const report = fixtureReport();
  const csv = EXPORTERS.csv!.render(report).trim().split("\n");
  const head = csv[0]!.split(",");
  for (const line of csv.slice(1)) {
    const cells = line.split(",");
    const at = (name: string) => Number(cells[head.indexOf(name)]);
    if (cells[head.indexOf("p99_ms")] === "n/a") continue;
    assert.ok(at("p50_ms") <= at("p95_ms") && at("p95_ms") <= at("p99_ms") && at("p99_ms") <= at("p99_9_ms") && at("p99_9_ms") <= at("max_ms"), line);
  }
});
