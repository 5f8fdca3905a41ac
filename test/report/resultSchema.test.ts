import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { parseJsonText } from "../../src/core/jsonFile.js";
import { checkedReport } from "../../src/cli/shared.js";
import { UsageError } from "../../src/cli/options.js";
import { compareReports, settingDifferences, workloadDifferences } from "../../src/gate/baseline.js";
import { mergeAgents } from "../../src/report/aggregate.js";
import { EXPORTERS } from "../../src/report/exporters/registry.js";
import { resultJsonSchema, validate, validateReport, type Schema } from "../../src/report/resultSchema.js";
import { renderHeader, renderNotes, renderTable } from "../../src/report/table.js";
import { FUZZ_CASES, mutate } from "../fuzz.js";
import { tempDir } from "../helpers.js";
import { cli } from "../inProcessCli.js";
import { everyFieldReport } from "./fixture.js";

const GOLDEN = new URL("../../../test/report/golden/report.json", import.meta.url);
const SCHEMA_DOC = new URL("../../../docs/result.schema.json", import.meta.url);
const golden = JSON.parse(readFileSync(GOLDEN, "utf8")) as unknown;

test("docs/result.schema.json is the schema the validator reads (UPDATE_GOLDEN=1 rewrites it)", () => {
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(SCHEMA_DOC, `${JSON.stringify(resultJsonSchema(), null, 2)}\n`);
  assert.deepEqual(JSON.parse(readFileSync(SCHEMA_DOC, "utf8")), resultJsonSchema());
});

test("a report regbench wrote is valid; the first bad path is named", () => {
  assert.equal(validate(golden), undefined);
  const g = golden as { results: Record<string, unknown>[] };
  assert.equal(validate({ ...g, results: [null] }), "$.results[0]: must be an object, not null");
  assert.equal(validate({ ...g, interrupted: { signal: 9 } }), "$.interrupted.signal: must be a string, not a number");
  assert.equal(validate({ ...g, results: [{ ...g.results[0], audit: { violations: -1 } }] }), "$.results[0].audit.duplicateSystems: is missing");
  assert.equal(validate({ ...g, results: [{ ...g.results[0], errors: { x: "1" } }] }), "$.results[0].errors.x: must be a number, not a string");
  assert.equal(
    validate({ ...g, config: { strategies: [], a: JSON.parse("[".repeat(200_000) + "]".repeat(200_000)) } }),
    "$.config.a: nested more than 32 levels deep",
  );
});

/** Everything `report`, `compare` and `merge` do with a report once it is loaded. */
function useReport(report: ReturnType<typeof checkedReport>): void {
  for (const exporter of Object.values(EXPORTERS)) exporter.render(report);
  renderHeader(report, "0");
  renderTable(report, { color: true });
  renderNotes(report, { color: true });
  compareReports(report, report, 0.1);
  workloadDifferences(report, report);
  settingDifferences(report, report);
  const names = [...new Set(report.results.map((r) => r.strategy))];
  for (const name of names) mergeAgents(report.results.filter((r) => r.strategy === name));
}

test(`fuzz: ${FUZZ_CASES} mutated results files end in a UsageError (exit 2) or a rendering, never another throw`, () => {
  let rejected = 0;
  for (let seed = 1; seed <= FUZZ_CASES; seed++) {
    const bytes = mutate(golden, seed);
    try {
      const read = parseJsonText(bytes, "fuzz.json");
      if (!read.ok) throw new UsageError("FILE", read.problem, "");
      useReport(checkedReport(read.value, "fuzz.json", "FILE"));
    } catch (error) {
      if (error instanceof UsageError) {
        rejected++;
        assert.ok(error.message.includes("fuzz.json"), error.message);
        continue;
      }
      assert.fail(`seed ${seed}: ${(error as Error)?.stack ?? String(error)}\n${bytes.toString("utf8").slice(0, 2000)}`);
    }
  }
  assert.ok(rejected > FUZZ_CASES / 4 && rejected < FUZZ_CASES, `${rejected} of ${FUZZ_CASES} rejected: the mutations reach both outcomes`);
});

// The test sources (golden and fixture files live there, not in dist).
const TEST_DIR = fileURLToPath(new URL("../../../test/", import.meta.url));
const EVERY_FIELD = join(TEST_DIR, "report/golden/every-field.json");

test("the every-field results file is the typed fixture (UPDATE_GOLDEN=1 rewrites it)", () => {
  const rendered = `${JSON.stringify(everyFieldReport(), null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(EVERY_FIELD, rendered);
  assert.equal(readFileSync(EVERY_FIELD, "utf8"), rendered);
});

/** Every results file (a regbench JSON document) under test/, golden and fixture alike. */
function resultsFiles(): { path: string; doc: unknown }[] {
  const found: { path: string; doc: unknown }[] = [];
  for (const entry of readdirSync(TEST_DIR, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".json")) continue;
    const path = join(entry.parentPath, entry.name);
    const doc = JSON.parse(readFileSync(path, "utf8")) as { tool?: unknown };
    if (doc.tool === "regbench") found.push({ path: relative(TEST_DIR, path), doc });
  }
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

test("every results file in test/ is valid against the schema, and loads as report, compare and merge load it", () => {
  const files = resultsFiles();
  assert.deepEqual(
    files.map((f) => f.path),
    ["report/golden/every-field.json", "report/golden/report.json"],
  );
  for (const { path, doc } of files) {
    assert.equal(validateReport(doc), undefined, path);
    assert.doesNotThrow(() => checkedReport(doc, path, "FILE"), path);
  }
});

/**
 * The fields a schema declares, as paths (`results[].latencyMs.p99`); an object of free keys (errors by kind,
 * strategy stats) ends a path.
 */
function declared(schema: Schema, path: string, into: Set<string>): Set<string> {
  if ("anyOf" in schema) for (const s of schema.anyOf) declared(s, path, into);
  else if ("type" in schema && schema.type === "array") declared(schema.items, `${path}[]`, into);
  else if ("type" in schema && schema.type === "object")
    for (const [key, s] of Object.entries(schema.properties ?? {})) declared(s, `${path}${path ? "." : ""}${key}`, into.add(`${path}${path ? "." : ""}${key}`));
  return into;
}

/** The fields a document carries, as paths, following the schema; a member the schema does not declare is `undeclared`. */
function carried(value: unknown, schema: Schema, path: string, into: { fields: Set<string>; undeclared: Set<string> }): void {
  if ("anyOf" in schema) for (const s of schema.anyOf) carried(value, s, path, into);
  else if ("type" in schema && schema.type === "array" && Array.isArray(value)) for (const v of value) carried(v, schema.items, `${path}[]`, into);
  else if ("type" in schema && schema.type === "object" && typeof value === "object" && value !== null && !Array.isArray(value) && schema.properties) {
    for (const [key, v] of Object.entries(value)) {
      const at = `${path}${path ? "." : ""}${key}`;
      const s = Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
      if (s) carried(v, s, at, { ...into, fields: into.fields.add(at) });
      else {
        // A typed map's keys are data (errors by kind); a member left to "any value" is a field nobody declared.
        const map = schema.additionalProperties;
        if (map === undefined || map === false || !("type" in map)) into.undeclared.add(at);
      }
    }
  }
}

test("docs/result.schema.json, the validator and the results files agree field by field", () => {
  const doc = JSON.parse(readFileSync(SCHEMA_DOC, "utf8")) as Schema;
  // The validator reading the document decides as the validator reading its own schema.
  const g = golden as { results: Record<string, unknown>[]; config: Record<string, unknown> };
  const r0 = g.results[0]!;
  const cases: unknown[] = [
    golden,
    everyFieldReport(),
    { ...g, results: [{ ...r0, latencyMs: { ...(r0.latencyMs as object), p99: "13" } }] },
    { ...g, results: [{ ...r0, serviceLatencyMs: { p50: 1 } }] },
    { ...g, results: [{ ...r0, nemeses: [{ spec: "kill:instance@2s", startMs: 0, endMs: 0, applied: "yes", detail: "" }] }] },
    { ...g, results: [{ ...r0, instanceDeaths: [{ instance: 0, pid: 1, atMs: 0, reason: "" }] }] },
    { ...g, results: [{ ...r0, agent: { run: "x", index: 1.5, of: 2 } }] },
    { ...g, config: { ...g.config, runTotal: { requests: "all" } } },
    { ...g, environment: { cores: "two" } },
  ];
  for (const c of cases) assert.equal(validate(c, doc), validate(c));
  // Every field the schema names is carried by a results file in test/, and every field they carry is named.
  const fields = new Set<string>();
  const undeclared = new Set<string>();
  for (const { doc: file } of resultsFiles()) carried(file, doc, "", { fields, undeclared });
  assert.deepEqual([...undeclared], [], "fields the schema does not declare");
  assert.deepEqual(
    [...declared(doc, "", new Set())].filter((f) => !fields.has(f)),
    [],
    "fields no results file in test/ carries",
  );
});

test("the newer fields are typed: a wrong one is exit 2 naming its path, for report, compare, merge and --baseline", async () => {
  const dir = tempDir();
  const good = join(dir, "good.json");
  writeFileSync(good, JSON.stringify(everyFieldReport()));
  const e = everyFieldReport();
  const r0 = e.results[0]!;
  const bad: [unknown, string][] = [
    [
      { ...e, results: [{ ...r0, serviceLatencyMs: { ...r0.serviceLatencyMs, p99: "1" } }] },
      "$.results[0].serviceLatencyMs.p99: must be a number, not a string",
    ],
    [{ ...e, results: [{ ...r0, serviceHistogram: "not a histogram" }] }, "$.results[0].serviceHistogram: is not an HdrHistogram (compressed base64)"],
    [{ ...e, results: [{ ...r0, nemeses: [{ ...r0.nemeses![0], applied: "yes" }] }] }, "$.results[0].nemeses[0].applied: must be a boolean, not a string"],
    [
      { ...e, results: [{ ...r0, instanceDeaths: [{ ...r0.instanceDeaths![0], pid: "4242" }] }] },
      "$.results[0].instanceDeaths[0].pid: must be a whole number, not a string",
    ],
    [{ ...e, results: [{ ...r0, agent: { ...r0.agent, index: -1 } }] }, "$.results[0].agent.index: must be at least 0"],
    [{ ...e, results: [{ ...r0, pacing: { ...r0.pacing, late: null } }] }, "$.results[0].pacing.late: must be a number, not null"],
    [{ ...e, config: { ...e.config, runTotal: { requests: 1 } } }, "$.config.runTotal.concurrency: is missing"],
  ];
  const run = (argv: string[]) => cli(argv, {});
  assert.equal((await run(["report", good])).code, 0);
  for (const [i, [doc, problem]] of bad.entries()) {
    const file = join(dir, `bad-${i}.json`);
    writeFileSync(file, JSON.stringify(doc));
    for (const argv of [
      ["report", file],
      ["compare", good, file],
      ["merge", file],
      ["run", "--strategy", "atomic", "-n", "10", "--no-save", "--baseline", file],
    ]) {
      const r = await run(argv);
      assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`${file} is not a valid regbench report: ${problem}`), `${argv.join(" ")}: ${r.stderr}`);
    }
  }
});
