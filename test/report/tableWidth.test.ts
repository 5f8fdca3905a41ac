import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import { test } from "node:test";
import stringWidth from "string-width";
import { main, type Io } from "../../src/cli/main.js";
import { EXPORTERS } from "../../src/report/exporters/registry.js";
import type { RunReport } from "../../src/report/result.js";
import { layouts, renderTable, widestLine } from "../../src/report/table.js";
import { fixtureReport } from "./fixture.js";

// The golden results file lives in the source tree, not in dist.
const GOLDEN_JSON = fileURLToPath(new URL("../../../test/report/golden/report.json", import.meta.url));

const FULL = [
  "strategy",
  "TPS",
  "rel",
  "mean ms",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "p99.9 ms",
  "max ms",
  "errors",
  "dup sys",
  "dup mach",
  "dup IPs",
  "lost",
  "unacked",
  "peak RSS",
];
/** The headings of a rendered table, from its heading row. */
const headings = (table: string): string[] =>
  table
    .split("\n")[1]!
    .replace(/\x1b\[[0-9;]*m/g, "")
    .split("│")
    .map((s) => s.trim())
    .filter(Boolean);

/** An open loop's report (both latencies in every cell: the widest cells the table has), with a long strategy name. */
function openLoopReport(): RunReport {
  const report = fixtureReport();
  return {
    ...report,
    results: report.results.map((r, i) => ({
      ...r,
      strategy: i === 0 ? "redis-reentrant" : r.strategy,
      state: i === 0 ? "interrupted" : r.state,
      serviceLatencyMs: r.latencyMs,
    })),
  };
}

test("string-width, as cli-table3 counts: ANSI codes nothing, ✓ ⚠ ✗ one column each", () => {
  assert.equal(stringWidth("✓⚠✗?–±"), 6);
  assert.equal(stringWidth("\x1b[31m\x1b[1m✗\x1b[22m\x1b[39m"), 1);
  // Every line of a coloured table is as wide as its top border, which holds no glyph: the measure agrees with
  // the layout cli-table3 computed.
  const table = renderTable(fixtureReport(), { color: true });
  const lines = table.split("\n");
  assert.ok(lines.some((l) => l.includes("✓")) && lines.some((l) => l.includes("⚠")) && lines.some((l) => l.includes("✗")));
  assert.ok(table.includes("\x1b["), "coloured");
  const border = renderTable(fixtureReport(), { color: false }).split("\n")[0]!;
  assert.match(border, /^[┌┬─┐]+$/);
  for (const line of lines) assert.equal(stringWidth(line), border.length, line);
});

for (const width of [80, 120, 200]) {
  for (const [name, report] of [
    ["the fixture", fixtureReport()],
    ["an open loop's", openLoopReport()],
  ] as const) {
    test(`${name} table fits ${width} columns, coloured or not, keeping the columns that matter`, () => {
      for (const color of [true, false]) {
        const table = renderTable(report, { color, width });
        for (const line of table.split("\n")) assert.ok(stringWidth(line) <= width, `${stringWidth(line)} > ${width}: ${line}`);
        const shown = headings(table);
        for (const kept of ["strategy", "TPS", "p99 ms"]) assert.ok(shown.includes(kept), `${kept} in ${shown.join(", ")}`);
        assert.ok(shown.includes("violations") || ["dup sys", "dup mach", "dup IPs", "lost"].every((h) => shown.includes(h)), shown.join(", "));
        const full = renderTable(report, { color, width: undefined });
        if (widestLine(full) <= width) assert.equal(table, full, "a table that fits is today's table");
        else assert.match(table.split("\n").slice(-2).join(" "), /--wide adds /);
      }
    });
  }
}

test("columns are left out in one fixed order: peak RSS, mean, max, the other percentiles, unacked, then violations summed, rel, p50, errors", () => {
  const keys = ["strategy", "tps", "rel", "mean", "p:50", "p:95", "p:99", "p:99.9", "max", "errors", "dupSys", "dupMach", "dupIps", "lost", "unacked", "rss"];
  const steps = layouts(keys, [50, 95, 99, 99.9]);
  const removed = steps.slice(1).map((now, i) => ({
    out: steps[i]!.filter((k) => !now.includes(k)),
    in: now.filter((k) => !steps[i]!.includes(k)),
  }));
  assert.deepEqual(removed, [
    { out: ["rss"], in: [] },
    { out: ["mean"], in: [] },
    { out: ["max"], in: [] },
    { out: ["p:95"], in: [] },
    { out: ["p:99.9"], in: [] },
    { out: ["unacked"], in: [] },
    { out: ["dupSys", "dupMach", "dupIps", "lost"], in: ["violations"] },
    { out: ["rel"], in: [] },
    { out: ["p:50"], in: [] },
    { out: ["errors"], in: [] },
  ]);
  assert.deepEqual(steps.at(-1), ["strategy", "tps", "p:99", "violations"]);
  // Chosen percentiles without p50 or p99: the lowest and the highest stand for them.
  assert.deepEqual(layouts(["strategy", "p:90", "p:95", "p:99.9", "dupSys", "dupMach", "dupIps", "lost"], [90, 95, 99.9]).at(-1), [
    "strategy",
    "p:99.9",
    "violations",
  ]);

  // Rendered: as the terminal narrows, a column once left out never comes back, in that order.
  const report = fixtureReport();
  let previous = FULL;
  const order: string[] = [];
  for (let width = 220; width >= 60; width--) {
    const shown = headings(renderTable(report, { color: false, width }));
    assert.ok(
      shown.every((h) => previous.includes(h) || h === "violations"),
      `at ${width}: ${shown.join(", ")}`,
    );
    for (const h of previous) if (!shown.includes(h) && !order.includes(h)) order.push(h);
    previous = shown;
  }
  assert.deepEqual(order, [
    "peak RSS",
    "mean ms",
    "max ms",
    "p95 ms",
    "p99.9 ms",
    "unacked",
    "dup sys",
    "dup mach",
    "dup IPs",
    "lost",
    "rel",
    "p50 ms",
    "errors",
  ]);
});

test("the line under a narrowed table names what was left out; no width (--wide, a pipe, the exports) is today's full table", () => {
  const report = fixtureReport();
  const at80 = renderTable(report, { color: true, width: 80 });
  const last = at80.split("\n").at(-1)!;
  assert.equal(last, "\x1b[2m--wide adds mean, p95, p99.9, max, unacked, peak RSS, violations by kind\x1b[22m");
  assert.deepEqual(headings(at80), ["strategy", "TPS", "rel", "p50 ms", "p99 ms", "errors", "violations"]);
  assert.ok(
    at80.split("\n").some((l) => l.includes("none ✗") && l.includes("\x1b[31m\x1b[1m10,989\x1b[22m\x1b[39m")),
    "the violations summed, in red",
  );
  const full = renderTable(report, { color: false });
  assert.deepEqual(headings(full), FULL);
  assert.ok(!full.includes("--wide"));
  assert.equal(renderTable(report, { color: false, width: 1000 }), full);
  // The exports never fit a terminal.
  for (const exporter of Object.values(EXPORTERS)) assert.equal(exporter.render(report), exporter.render(report, {}));
});

/** A stream that keeps what is written, and says it is a terminal of `columns` or not. */
function capture(tty: { columns: number } | undefined): { stream: NodeJS.WriteStream; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString("utf8");
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, tty ? { isTTY: true, columns: tty.columns } : { isTTY: false });
  return { stream, text: () => text };
}

async function report(args: readonly string[], tty: { columns: number } | undefined): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = capture(tty);
  const err = capture(undefined);
  const io: Io = { stdout: out.stream, stderr: err.stream, env: {} };
  const code = await main(["node", "regbench", "report", GOLDEN_JSON, ...args], io);
  return { code, stdout: out.text(), stderr: err.text() };
}

test("regbench report: a terminal's width is fitted, --wide and a pipe print every column", async () => {
  const piped = await report([], undefined);
  assert.equal(piped.code, 0, piped.stderr);
  assert.deepEqual(headings(piped.stdout.split("\n").slice(3).join("\n")), FULL);
  for (const columns of [80, 120]) {
    const fitted = await report([], { columns });
    assert.equal(fitted.code, 0, fitted.stderr);
    const table = fitted.stdout.slice(fitted.stdout.indexOf("┌"), fitted.stdout.indexOf("  atomic:"));
    for (const line of table.trimEnd().split("\n")) assert.ok(stringWidth(line) <= columns, `${stringWidth(line)} > ${columns}: ${line}`);
    assert.match(table, /--wide adds /);
  }
  const wide = await report(["--wide"], { columns: 80 });
  assert.equal(wide.code, 0, wide.stderr);
  assert.equal(wide.stdout, piped.stdout, "--wide on a terminal is the piped table");
  // A file format on a terminal still has every column.
  const csvPiped = await report(["--format", "csv"], undefined);
  assert.equal((await report(["--format", "csv"], { columns: 80 })).stdout, csvPiped.stdout);
});

test("regbench run: on an 80-column terminal the table fits; --wide prints every column", async () => {
  const run = async (args: readonly string[]) => {
    const out = capture({ columns: 80 });
    const err = capture(undefined);
    const code = await main(["node", "regbench", "run", "--strategy", "atomic", "-n", "40", "-c", "4", "--no-save", ...args], {
      stdout: out.stream,
      stderr: err.stream,
      env: { NO_COLOR: "1" },
    });
    assert.equal(code, 0, err.text());
    return out.text().slice(out.text().indexOf("┌"), out.text().indexOf("  atomic:"));
  };
  const fitted = await run([]);
  for (const line of fitted.trimEnd().split("\n")) assert.ok(stringWidth(line) <= 80, `${stringWidth(line)} > 80: ${line}`);
  assert.match(fitted, /--wide adds mean, p95, p99\.9, max, unacked, peak RSS, violations by kind/);
  assert.deepEqual(headings(await run(["--wide"])), FULL);
});
