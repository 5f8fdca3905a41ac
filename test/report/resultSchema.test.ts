import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { parseJsonText } from "../../src/core/jsonFile.js";
import { checkedReport } from "../../src/cli/shared.js";
import { UsageError } from "../../src/cli/options.js";
import { compareReports, settingDifferences, workloadDifferences } from "../../src/gate/baseline.js";
import { mergeAgents } from "../../src/report/aggregate.js";
import { EXPORTERS } from "../../src/report/exporters/registry.js";
import { resultJsonSchema, validate } from "../../src/report/resultSchema.js";
import { renderHeader, renderNotes, renderTable } from "../../src/report/table.js";
import { FUZZ_CASES, mutate } from "../fuzz.js";

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
