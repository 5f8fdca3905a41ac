import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { buildRunConfig, UsageError } from "../../src/cli/options.js";
import { parseThresholds } from "../../src/cli/shared.js";
import { SCENARIO_DIR, shippedScenarios } from "../../src/workload/scenario.js";
import { FUZZ_CASES, mutate } from "../fuzz.js";
import { tempDir } from "../helpers.js";

test(`fuzz: ${FUZZ_CASES} mutated scenario files end in a UsageError (exit 2) or a config, never another throw`, () => {
  const dir = tempDir();
  const scenarios = shippedScenarios().map((name) => JSON.parse(readFileSync(join(SCENARIO_DIR, `${name}.json`), "utf8")) as unknown);
  const path = join(dir, "fuzz-scenario.json");
  let rejected = 0;
  for (let seed = 1; seed <= FUZZ_CASES; seed++) {
    const bytes = mutate(scenarios[seed % scenarios.length], seed);
    writeFileSync(path, bytes);
    try {
      const config = buildRunConfig({ scenario: path });
      parseThresholds({}, config);
    } catch (error) {
      if (error instanceof UsageError) {
        rejected++;
        assert.ok(!/\n\s+at /.test(error.message), error.message);
        continue;
      }
      assert.fail(`seed ${seed}: ${(error as Error)?.stack ?? String(error)}\n${bytes.toString("utf8").slice(0, 2000)}`);
    }
  }
  assert.ok(rejected > FUZZ_CASES / 10 && rejected < FUZZ_CASES, `${rejected} of ${FUZZ_CASES} rejected`);
});
