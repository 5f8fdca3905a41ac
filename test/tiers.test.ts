import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { NOT_IN_UNIT_TIER, UNIT_TIER } from "./tiers.js";

const TEST_DIR = fileURLToPath(new URL("../../test/", import.meta.url));

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith(".test.ts") ? [relative(TEST_DIR, join(dir, e.name)).replace(/\.test\.ts$/, "")] : [],
  );
}

test("every unit-tier file exists and imports no service, process or socket", () => {
  const files = new Set(testFiles(TEST_DIR));
  for (const name of UNIT_TIER) {
    assert.ok(files.has(name), `test/${name}.test.ts is listed in the unit tier but does not exist`);
    const source = readFileSync(join(TEST_DIR, `${name}.test.ts`), "utf8");
    for (const pattern of NOT_IN_UNIT_TIER) assert.doesNotMatch(source, pattern, `test/${name}.test.ts is in the unit tier but matches ${pattern}`);
  }
});

test("the guard sees a service import when there is one", () => {
  const source = readFileSync(join(TEST_DIR, "strategies/redisFaults.test.ts"), "utf8");
  assert.ok(NOT_IN_UNIT_TIER.some((p) => p.test(source)));
});
