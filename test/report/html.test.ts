import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { EXPORTERS } from "../../src/report/exporters/registry.js";
import { tempDir } from "../helpers.js";
import { fixtureReport } from "./fixture.js";

/** Debian's chromium (apt-get install chromium); CI installs it and sets REGBENCH_REQUIRE_CHROMIUM=1. */
const CHROMIUM = ["chromium", "chromium-browser", "google-chrome"].find((c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0);
if (!CHROMIUM && process.env.REGBENCH_REQUIRE_CHROMIUM === "1")
  throw new Error("REGBENCH_REQUIRE_CHROMIUM=1 but no chromium on the PATH (apt-get install chromium)");
const skip = CHROMIUM ? false : "no chromium on the PATH: apt-get install chromium to run this test";

const dir = tempDir();

/** Opens the page in headless Chromium (no network, its own profile) and returns the DOM after its scripts ran. */
function render(html: string): string {
  const file = join(dir, "report.html");
  writeFileSync(file, html);
  const r = spawnSync(
    CHROMIUM!,
    ["--headless", "--no-sandbox", "--disable-gpu", `--user-data-dir=${join(dir, "profile")}`, "--virtual-time-budget=5000", "--dump-dom", `file://${file}`],
    { encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("the HTML report is one self-contained page: no network, the chart code inlined", () => {
  const html = EXPORTERS.html!.render(fixtureReport());
  assert.doesNotMatch(html, /<script[^>]+src=/i);
  assert.doesNotMatch(html, /<link[^>]+href=/i);
  assert.match(html, /Chart\.js v4/);
  assert.match(html, /<td class="pass">atomic ✓<\/td>/);
  assert.match(html, /<td class="fail">none ✗<\/td>/);
  assert.match(html, /<td class="warn">global ⚠<\/td>/);
  // Ranked first; the broken and the unaudited set apart below a rule.
  assert.ok(html.indexOf("global ⚠") < html.indexOf("not ranked by speed") && html.indexOf("not ranked by speed") < html.indexOf("none ✗"));
});

test("the HTML report renders every chart in headless Chromium, with no error", { skip }, () => {
  const dom = render(EXPORTERS.html!.render(fixtureReport()));
  const m = /data-charts="([^"]*)"/.exec(dom);
  assert.ok(m, "the page reported on its charts");
  const state = JSON.parse(m![1]!.replace(/&quot;/g, '"')) as { expected: number; drawn: number; ink: number[]; errors: string[] };
  // TPS bars, the timeline and the latency distribution.
  assert.equal(state.expected, 3);
  assert.equal(state.drawn, 3);
  for (const ink of state.ink) assert.ok(ink > 1000, `a chart drew ${ink} pixels`);
  assert.deepEqual(state.errors, []);
});
