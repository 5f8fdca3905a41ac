import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { buildGateOptions, buildReportOptions, buildRunConfig, buildServeConfig, UsageError } from "../../src/cli/options.js";
import { CORE_OPTIONS, longFlag, RUN_OPTIONS, SERVE_OPTIONS, TABLE_OPTIONS, type OptionSpec } from "../../src/cli/optionTable.js";
import type { Secrets } from "../../src/cli/secrets.js";
import { lockServices } from "../../src/locks/services/registry.js";
import { tempDir } from "../helpers.js";

const TABLES: Record<string, readonly OptionSpec[]> = { core: CORE_OPTIONS, table: TABLE_OPTIONS, run: RUN_OPTIONS, serve: SERVE_OPTIONS };
const SECRETS: Secrets = { projects: [{ id: "p1", key: "k1" }], serverKey: undefined, auditToken: undefined };

/** Every dotted path of an object's fields (arrays are leaves). */
function paths(value: unknown, prefix: string, into: Set<string>): Set<string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return into;
  for (const [key, field] of Object.entries(value)) {
    into.add(`${prefix}.${key}`);
    paths(field, `${prefix}.${key}`, into);
  }
  return into;
}

test("every option of the table has a parser and a target that names a field of the record it fills", () => {
  // Configs that between them hold every optional field: an agent against a target, an HTTP run with nemeses, stages.
  const known = new Set<string>();
  const agent = { target: "http://127.0.0.1:9", run: "r1", agent: "0/2", startAt: String(Date.now() + 60_000), rate: "10", duration: "2s", warmup: "1s" };
  for (const config of [
    buildRunConfig(agent, SECRETS),
    buildRunConfig({ strategy: "atomic", mode: "http", instances: "2", nemesis: ["kill:instance@1s"], store: "postgres://u@127.0.0.1:5432/d", pool: "4" }),
    buildRunConfig({ strategy: "atomic", stages: "1s:10,1s:0" }),
    buildRunConfig(
      { target: "http://127.0.0.1:9", profile: fileURLToPath(new URL("../../../examples/device-api/profile.yaml", import.meta.url)) },
      { ...SECRETS, auditDb: "sqlite:/nonexistent/devices.db" },
    ),
  ])
    paths(config, "run", known);
  const config = buildRunConfig({ strategy: "atomic" });
  paths(buildReportOptions({}), "report", known);
  paths(buildGateOptions({}, config), "gate", known);
  paths(buildServeConfig({}), "serve", known);
  for (const [table, specs] of Object.entries(TABLES)) {
    for (const spec of specs) {
      const where = `${table} ${longFlag(spec)}`;
      assert.equal(typeof spec.parse, "function", `${where} has no parser`);
      assert.match(spec.target, /^(run|report|gate|serve|outputs|secrets)\.[a-zA-Z]/, `${where}: target ${spec.target}`);
      // outputs.* and secrets.* are read by outputs.ts and secrets.ts, not a record of options.ts.
      if (/^(run|report|gate|serve)\./.test(spec.target)) assert.ok(known.has(spec.target), `${where}: ${spec.target} is no field of its record`);
    }
  }
});

/**
 * A value for every option a scenario file may set, and the options it needs beside it (given on the command line in
 * both cases): the scenario's key and the flag must give the same config.
 */
const SAMPLES: Record<string, { value: string | boolean; with?: Record<string, unknown>; secrets?: boolean }> = {
  cidr: { value: "10.1.0.0/16" },
  dbLatency: { value: "2ms" },
  shards: { value: "32" },
  lockTimeout: { value: "3s" },
  lockKey: { value: "project" },
  retries: { value: "5" },
  redis: { value: "redis://127.0.0.1:6390,redis://127.0.0.1:6391" },
  lockTtl: { value: "4s" },
  lockWait: { value: "0" },
  etcd: { value: "auto:3" },
  watchdog: { value: false },
  lockNesting: { value: true },
  lockBatch: { value: "4" },
  pool: { value: "8", with: { store: "postgres://u@127.0.0.1:5432/d" } },
  isolation: { value: "serializable", with: { store: "mysql://u@127.0.0.1:3306/d" } },
  strategy: { value: "atomic,sharded" },
  requests: { value: "500" },
  concurrency: { value: "20" },
  warmup: { value: "5s" },
  duration: { value: "2s" },
  stages: { value: "1s:10,2s:0" },
  systems: { value: "10" },
  projects: { value: "2", with: { systems: "4" } },
  resend: { value: "0.25" },
  seed: { value: "99" },
  store: { value: "memory" },
  keepStore: { value: true },
  fault: { value: "pause:0.1:5" },
  nemesis: { value: "pause:instance:1s@0s", with: { mode: "http" } },
  rate: { value: "150" },
  mode: { value: "http" },
  target: { value: "http://127.0.0.1:9", secrets: true },
  profile: { value: "regbench", with: { target: "http://127.0.0.1:9" }, secrets: true },
  timeout: { value: "5s", with: { mode: "http" } },
  instances: { value: "2", with: { mode: "http" } },
  workers: { value: "3", with: { mode: "http" } },
  serverWarmup: { value: false, with: { mode: "http" } },
  runs: { value: "2" },
};

/** The long flag's name as a scenario file spells it (`db-latency`). */
function scenarioName(spec: OptionSpec): string {
  return /--(?:no-)?([a-z0-9-]+)/.exec(spec.flags)![1]!;
}

test("an option a scenario file sets parses as its flag does: the same config either way", () => {
  const dir = tempDir();
  const scenarioSpecs = [...CORE_OPTIONS, ...RUN_OPTIONS].filter((s) => s.scenario);
  assert.deepEqual(scenarioSpecs.map((s) => s.key).sort(), Object.keys(SAMPLES).sort(), "every scenario option has a sample here");
  for (const spec of scenarioSpecs) {
    const sample = SAMPLES[spec.key]!;
    const path = join(dir, `${spec.key}.json`);
    writeFileSync(path, JSON.stringify({ name: spec.key, options: { [scenarioName(spec)]: sample.value } }));
    const secrets = sample.secrets ? SECRETS : undefined;
    // A fixed seed, unless the seed is the option under test (the command line's would override the file's).
    const context = { ...(spec.key === "seed" ? {} : { seed: "7" }), ...sample.with };
    const { scenario: fromFile, ...byScenario } = buildRunConfig({ ...context, scenario: path }, secrets);
    const { scenario: none, ...byFlag } = buildRunConfig({ ...context, [spec.key]: sample.value }, secrets);
    assert.equal(fromFile, spec.key);
    assert.equal(none, undefined);
    assert.deepEqual(byScenario, byFlag, spec.key);
    // And not the default: the sample changes the config, so the comparison says something.
    const { scenario: _, ...byDefault } = buildRunConfig(context, spec.key === "target" ? undefined : secrets);
    assert.notDeepEqual(byFlag, byDefault, `${spec.key}: the sample is the default`);
  }
});

test("a bad value names the same flag from a scenario file as on the command line", () => {
  const dir = tempDir();
  for (const [key, value] of [
    ["shards", "12"],
    ["lockKey", "machine"],
    ["cidr", "10.0.0.1/8"],
    ["requests", "-5"],
  ] as const) {
    const spec = [...CORE_OPTIONS, ...RUN_OPTIONS].find((s) => s.key === key)!;
    const path = join(dir, `bad-${key}.json`);
    writeFileSync(path, JSON.stringify({ name: key, options: { [scenarioName(spec)]: value } }));
    const messages = [() => buildRunConfig({ scenario: path }), () => buildRunConfig({ [key]: value })].map((build) => {
      try {
        build();
      } catch (error) {
        assert.ok(error instanceof UsageError, String(error));
        return [error.flag, error.message];
      }
      return assert.fail(`${key} ${value} was accepted`);
    });
    assert.deepEqual(messages[0], messages[1]);
    assert.equal(messages[0]![0], longFlag(spec));
  }
});

test("every lock service of the registry has its option, from its own description, and the config reads it", () => {
  for (const service of lockServices()) {
    const row = CORE_OPTIONS.find((o) => o.key === service.flag);
    assert.ok(row, `--${service.flag} is in the option table`);
    assert.equal(row.target, `run.lockServices.${service.name}`);
    assert.equal(row.help, service.optionHelp);
    assert.equal(row.scenario, true, "a scenario file may set it");
    const config = buildRunConfig({ strategy: "atomic", [service.flag]: service.defaultUrls.join(",") });
    assert.deepEqual(config.lockServices[service.name]?.urls, service.defaultUrls);
  }
});
