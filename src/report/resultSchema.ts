/**
 * The schema of a results file (`--json`, `--export-json`, `--save-baseline`, results/), written once as a subset of
 * JSON Schema (draft 2020-12): the validator below reads it, and `docs/result.schema.json` is this object printed
 * (a test keeps the two equal). Every file `report`, `compare`, `merge` and `--baseline` read is checked against it
 * before anything else looks at it, so that a malformed file is one message naming its first bad path — never a
 * stack trace from deep inside a renderer.
 */

import type { AuditResult } from "../audit/audit.js";
import type { InstanceDeath, NemesisWindow } from "../faults/nemesis.js";
import { decodeHistogram, type LatencySummary } from "../stats/histogram.js";
import type { Noise } from "../stats/noise.js";
import type { TimelinePoint } from "../stats/timeline.js";
import type { Environment } from "./environment.js";
import type { RunConditions, RunReport, StrategyResult, ThresholdLine } from "./result.js";

/** The subset of JSON Schema the validator understands. */
export type Schema =
  | { readonly type: "string"; readonly maxLength?: number; readonly enum?: readonly string[]; readonly const?: string }
  | { readonly type: "number" | "integer"; readonly minimum?: number; readonly const?: number }
  | { readonly type: "boolean" }
  | { readonly type: "null" }
  | { readonly type: "array"; readonly items: Schema; readonly maxItems?: number }
  | {
      readonly type: "object";
      readonly properties?: Readonly<Record<string, Schema>>;
      readonly required?: readonly string[];
      /** false: no other member; a schema: every other member's; absent: any JSON value, nested at most MAX_DEPTH. */
      readonly additionalProperties?: Schema | false;
    }
  | { readonly anyOf: readonly Schema[] }
  /** Any JSON value, nested at most MAX_DEPTH deep. */
  | { readonly description: string };

/**
 * A schema for every field of `T` and for nothing else: a field added to a result type without its schema here (or
 * a schema left for a field the type dropped) does not compile. An index signature (a config's unknown keys) is not
 * a field.
 */
type Fields<T> = { readonly [K in keyof T as string extends K ? never : K]-?: Schema };

/** The fields a schema requires, each a field of `T`. */
type RequiredFields<T> = readonly (keyof Fields<T> & string)[];

/** How deep a value of free shape (strategy stats, the environment, unknown config keys) may nest. */
export const MAX_DEPTH = 32;

const str: Schema = { type: "string" };
const num: Schema = { type: "number" };
const count: Schema = { type: "number", minimum: 0 };
const bool: Schema = { type: "boolean" };
const nul: Schema = { type: "null" };
const any: Schema = { description: `any JSON value, nested at most ${MAX_DEPTH} deep` };
const orNull = (s: Schema): Schema => ({ anyOf: [s, nul] });
const strings: Schema = { type: "array", items: str };
const int = (minimum: number): Schema => ({ type: "integer", minimum });
const object = (properties: Readonly<Record<string, Schema>>, required: readonly string[], additionalProperties?: Schema | false): Schema => ({
  type: "object",
  properties,
  required,
  ...(additionalProperties !== undefined ? { additionalProperties } : {}),
});
const named: Schema = object({ strategy: str, reason: str }, ["strategy", "reason"]);

/** Fields of `T`, checked against its type: `fields<T>()({...}, [...required])`. */
const fields =
  <T>() =>
  (properties: Fields<T>, required: RequiredFields<T>, additionalProperties?: Schema | false): Schema =>
    object(properties, required, additionalProperties);

const latency: Schema = fields<LatencySummary>()({ mean: num, stddev: num, p50: num, p90: num, p95: num, p99: num, p999: num, max: num }, [
  "mean",
  "stddev",
  "p50",
  "p90",
  "p99",
  "max",
]);

const audit: Schema = fields<AuditResult>()(
  { duplicateSystems: count, duplicateMachines: count, duplicateIps: count, lostRegistrations: count, violations: count, unacknowledgedRows: count },
  ["duplicateSystems", "duplicateMachines", "duplicateIps", "lostRegistrations", "violations"],
);

const timelinePoint: Schema = fields<TimelinePoint>()({ t: num, spanS: count, completed: count, errors: count, p50Ms: orNull(num), p99Ms: orNull(num) }, [
  "t",
  "spanS",
  "completed",
  "errors",
]);

const nemesisWindow: Schema = fields<NemesisWindow>()({ spec: str, startMs: orNull(num), endMs: orNull(num), applied: bool, detail: str }, [
  "spec",
  "startMs",
  "endMs",
  "applied",
  "detail",
]);

const instanceDeath: Schema = fields<InstanceDeath>()({ instance: int(1), pid: int(0), atMs: num, reason: str, nemesis: str }, [
  "instance",
  "pid",
  "atMs",
  "reason",
]);

const noise: Schema = fields<Noise>()({ tpsStderr: orNull(num), p99StderrMs: orNull(num), basis: { type: "string", enum: ["runs", "slices"] } }, [
  "tpsStderr",
  "p99StderrMs",
  "basis",
]);

const result: Schema = fields<StrategyResult>()(
  {
    strategy: str,
    state: { type: "string", enum: ["completed", "interrupted"] },
    requests: count,
    succeeded: count,
    failed: count,
    errorRate: count,
    durationMs: count,
    tps: count,
    latencyMs: orNull(latency),
    serviceLatencyMs: orNull(latency),
    serviceHistogram: str,
    errors: { type: "object", additionalProperties: count },
    audit: orNull(audit),
    memory: object({ peakRssMb: orNull(num) }, ["peakRssMb"]),
    histogram: str,
    strategyStats: { type: "object" },
    store: str,
    resends: count,
    startedAt: num,
    endedAt: num,
    runs: { type: "integer", minimum: 1 },
    perRun: { type: "array", items: object({ tps: num, p99: orNull(num), durationMs: num }, ["tps", "p99", "durationMs"]) },
    noise,
    run: str,
    agent: object({ run: str, index: int(0), of: int(1) }, ["run", "index", "of"]),
    timeline: { type: "array", items: timelinePoint },
    pacing: object({ targetRate: num, achievedRate: num, late: count }, ["targetRate", "achievedRate", "late"]),
    notes: strings,
    nemeses: { type: "array", items: nemesisWindow },
    instanceDeaths: { type: "array", items: instanceDeath },
    verdict: { type: "string", enum: ["pass", "warn", "fail", "unknown"] },
    relativeTps: orNull(num),
  },
  ["strategy", "requests", "succeeded", "failed", "errorRate", "durationMs", "tps", "latencyMs", "errors", "audit", "memory", "histogram"],
);

const conditions: Fields<RunConditions> = {
  mode: str,
  target: str,
  profile: str,
  auditDb: str,
  instances: num,
  workers: num,
  scenario: orNull(str),
  strategies: strings,
  requests: orNull(num),
  concurrency: num,
  rate: num,
  durationMs: num,
  stages: { type: "array", items: object({ durationMs: num, target: num }, ["durationMs", "target"]) },
  stagesOf: { type: "string", enum: ["concurrency", "rate"] },
  warmup: num,
  warmupMs: num,
  systems: num,
  projects: num,
  resend: num,
  dbLatencyMs: num,
  seed: num,
  cidr: str,
  lockKey: str,
  lockNesting: bool,
  store: str,
  redis: str,
  etcd: str,
  lockTtlMs: num,
  lockWaitMs: num,
  watchdog: bool,
  lockBatch: num,
  faults: strings,
  runs: num,
  maxErrorRate: num,
};

/**
 * The config's members that `RunConditions` leaves to its index signature (what `describeConfig` and `merge` write
 * besides): declared, so that a results file's every member has a type, though no exporter reads them by name.
 */
const configExtras: Readonly<Record<string, Schema>> = {
  lockTimeoutMs: num,
  shards: num,
  retries: num,
  serverWarmup: orNull(bool),
  timeoutMs: num,
  pool: { anyOf: [num, str] },
  isolation: str,
  keepStore: bool,
  nemeses: strings,
  run: str,
  agent: str,
  agents: num,
  runTotal: object({ requests: num, concurrency: num, rate: num, warmup: num }, ["requests", "concurrency", "warmup"]),
  startAt: str,
};

const config: Schema = object({ ...conditions, ...configExtras }, ["strategies"], any);

const threshold: Schema = fields<ThresholdLine>()({ expression: str, strategy: str, passed: bool, measured: orNull(num), detail: str }, [
  "expression",
  "strategy",
  "passed",
  "measured",
  "detail",
]);

/** A results file, schemaVersion 1. */
export const RESULT_SCHEMA: Schema = fields<RunReport>()(
  {
    tool: { type: "string", const: "regbench" },
    schemaVersion: { type: "integer", const: 1 },
    config,
    results: { type: "array", items: result },
    skipped: { type: "array", items: named },
    failed: { type: "array", items: named },
    interrupted: object({ signal: str }, ["signal"]),
    notes: strings,
    environment: fields<Environment>()({ cpu: orNull(str), cores: num, os: str, node: str, regbench: str, commit: orNull(str) }, []),
    thresholds: { type: "array", items: threshold },
  },
  ["tool", "schemaVersion", "config", "results"],
);

/**
 * The schema, then what a schema cannot say: every result's histogram decodes (HdrHistogram, compressed base64).
 * The first problem as "PATH: problem", or undefined.
 */
export function validateReport(doc: unknown): string | undefined {
  const problem = validate(doc);
  if (problem) return problem;
  const results = (doc as { results: readonly { histogram: string; serviceHistogram?: string }[] }).results;
  for (let i = 0; i < results.length; i++) {
    for (const key of ["histogram", "serviceHistogram"] as const) {
      const histogram = results[i]![key];
      if (histogram === undefined) continue;
      try {
        decodeHistogram(histogram);
      } catch {
        return `$.results[${i}].${key}: is not an HdrHistogram (compressed base64)`;
      }
    }
  }
  return undefined;
}

/** The schema as a JSON Schema document (`docs/result.schema.json`). */
export function resultJsonSchema(): unknown {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://github.com/regbench/regbench/docs/result.schema.json",
    title: "regbench results file (schemaVersion 1)",
    ...RESULT_SCHEMA,
  };
}

/** Where a value is, as a JSON path: `$.results[0].audit`. */
function member(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)}]`;
}

function typeName(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** The first place a value of free shape nests deeper than MAX_DEPTH, found without recursion. */
function tooDeep(value: unknown, path: string, depth: number): string | undefined {
  const stack: [unknown, number][] = [[value, depth]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (d >= MAX_DEPTH) return `${path}: nested more than ${MAX_DEPTH} levels deep`;
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, d + 1]);
  }
  return undefined;
}

/**
 * The first way `value` breaks `schema`, as "PATH: problem", or undefined when it fits. Recursion follows the schema,
 * whose depth is fixed, so a hostile file cannot make it deep; free-shaped values are walked with a stack.
 */
export function validate(value: unknown, schema: Schema = RESULT_SCHEMA, path = "$", depth = 0): string | undefined {
  if ("anyOf" in schema) {
    const problems = schema.anyOf.map((s) => validate(value, s, path, depth));
    if (problems.some((p) => p === undefined)) return undefined;
    return problems.find((p) => !p!.startsWith(`${path}: must be`)) ?? `${path}: must be ${schema.anyOf.map(describe).join(" or ")}, not ${typeName(value)}`;
  }
  if (!("type" in schema)) return tooDeep(value, path, depth);
  const must = `${path}: must be ${describe(schema)}, not ${typeName(value)}`;
  switch (schema.type) {
    case "null":
      return value === null ? undefined : must;
    case "boolean":
      return typeof value === "boolean" ? undefined : must;
    case "string":
      if (typeof value !== "string") return must;
      if (schema.const !== undefined && value !== schema.const) return `${path}: must be ${JSON.stringify(schema.const)}`;
      if (schema.enum && !schema.enum.includes(value)) return `${path}: must be one of ${schema.enum.join(", ")}`;
      return undefined;
    case "number":
    case "integer":
      if (typeof value !== "number" || !Number.isFinite(value)) return must;
      if (schema.type === "integer" && !Number.isInteger(value)) return `${path}: must be a whole number`;
      if (schema.const !== undefined && value !== schema.const) return `${path}: must be ${schema.const}`;
      if (schema.minimum !== undefined && value < schema.minimum) return `${path}: must be at least ${schema.minimum}`;
      return undefined;
    case "array": {
      if (!Array.isArray(value)) return must;
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return `${path}: has more than ${schema.maxItems} items`;
      for (let i = 0; i < value.length; i++) {
        const problem = validate(value[i], schema.items, `${path}[${i}]`, depth + 1);
        if (problem) return problem;
      }
      return undefined;
    }
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return must;
      const record = value as Record<string, unknown>;
      for (const key of schema.required ?? []) if (!Object.hasOwn(record, key)) return `${member(path, key)}: is missing`;
      for (const [key, v] of Object.entries(record)) {
        const known = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
        const rule = known ?? schema.additionalProperties;
        if (rule === false) return `${member(path, key)}: is not a known field`;
        const problem = rule === undefined ? tooDeep(v, member(path, key), depth + 1) : validate(v, rule, member(path, key), depth + 1);
        if (problem) return problem;
      }
      return undefined;
    }
  }
}

function describe(schema: Schema): string {
  if ("anyOf" in schema) return schema.anyOf.map(describe).join(" or ");
  if (!("type" in schema)) return "any value";
  switch (schema.type) {
    case "null":
      return "null";
    case "integer":
      return "a whole number";
    case "array":
      return "an array";
    case "object":
      return "an object";
    default:
      return `a ${schema.type}`;
  }
}
