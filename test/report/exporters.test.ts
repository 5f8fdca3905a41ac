import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { EXPORTERS } from "../../src/report/exporters/registry.js";
import { mdCell } from "../../src/report/exporters/markdown.js";
import { fixtureReport } from "./fixture.js";

// Golden files live in the source tree (test/report/golden), not in dist.
const GOLDEN = fileURLToPath(new URL("../../../test/report/golden/", import.meta.url));

for (const [format, exporter] of Object.entries(EXPORTERS)) {
  test(`the ${format} exporter matches its golden file`, () => {
    const rendered = exporter.render(fixtureReport());
    const path = `${GOLDEN}report.${exporter.extension}`;
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(path, rendered);
    assert.equal(rendered, readFileSync(path, "utf8"));
  });
}

test("the Markdown report carries the conditions, verdicts and two Mermaid xycharts, with pipes escaped", () => {
  const md = EXPORTERS.md!.render(fixtureReport());
  assert.match(md, /\| machine \| Test CPU @ 1\.00GHz, 2 cores/);
  assert.match(md, /\| regbench \| 0\.1\.0 \(commit abcdef123456\) \|/);
  assert.match(md, /# regbench: scenario storm \\\| remote/);
  assert.match(md, /\| atomic ✓ \| 20,000 ± 40 \|.*correct and fastest \|/);
  assert.match(md, /\| none ✗ \|.*fast but duplicates rows \(10,989\) \|/);
  assert.match(md, /\| global ✓ \|.*correct, but fails 2\.0% of registrations \|/);
  assert.match(md, /\| target \? \|.*n\/a \| n\/a \| not audited: correctness unknown \|/);
  assert.equal((md.match(/```mermaid\nxychart-beta/g) ?? []).length, 2);
  assert.match(md, /x-axis \["atomic", "none", "global", "target"\]/);
  assert.match(md, /bar \[20000, 25000, 175, 5000\]/);
  assert.equal(mdCell("a|b\\c\nd"), "a\\|b\\\\c d");
  assert.match(md, /> \*\*sharded failed\*\*: the measuring process exited on SIGKILL before reporting/);
});

test("CSV shows unknown values as n/a and quotes what needs it", () => {
  const csv = EXPORTERS.csv!.render(fixtureReport()).trim().split("\n");
  assert.equal(csv[0]!.split(",").length, 21);
  const target = csv.find((l) => l.startsWith("target,"))!;
  assert.match(target, /,n\/a,n\/a,n\/a,n\/a,n\/a,n\/a,n\/a$/);
});
