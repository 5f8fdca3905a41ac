import { existsSync, readdirSync } from "node:fs";
import { readJsonFile } from "../core/jsonFile.js";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { maxOf } from "../stats/extent.js";

/** The scenarios shipped with regbench, resolvable by bare name (`--scenario storm`). */
export const SCENARIO_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "scenarios");

/**
 * A scenario file: a name, a description, option values under the same names as the long flags, and thresholds
 * (gates as code, k6-style: the same expressions as `--threshold`, to which the command line's are added).
 */
export interface ScenarioFile {
  readonly name: string;
  readonly description?: string;
  readonly options: Readonly<Record<string, string | number | boolean>>;
  readonly thresholds?: readonly string[];
}

/** A scenario is a page of options: anything larger is not one. */
const MAX_SCENARIO_BYTES = 1024 * 1024;

/** Resolves `--scenario` (a path, or the name of a shipped scenario) and reads it; errors are messages for exit 2. */
export function loadScenario(ref: string): ScenarioFile | string {
  const candidates = [resolve(ref), join(SCENARIO_DIR, ref.endsWith(".json") ? ref : `${ref}.json`)];
  const path = candidates.find((p) => existsSync(p));
  if (!path) return `no scenario file at ${candidates[0]} and no shipped scenario named ${JSON.stringify(ref)}`;
  const read = readJsonFile(path, MAX_SCENARIO_BYTES);
  if (!read.ok) return read.problem;
  const file = read.value as Partial<ScenarioFile>;
  if (typeof file !== "object" || file === null || typeof file.name !== "string" || typeof file.options !== "object" || file.options === null) {
    return `${path} must hold {"name": "...", "options": {...}}`;
  }
  if (file.thresholds !== undefined && (!Array.isArray(file.thresholds) || file.thresholds.some((t) => typeof t !== "string"))) {
    return `${path}: "thresholds" must be a list of expressions such as "p99<50ms" or "atomic:tps>=1000"`;
  }
  return file as ScenarioFile;
}

/** The names of the shipped scenarios, for messages and `--help`. */
export function shippedScenarios(): string[] {
  try {
    return readdirSync(SCENARIO_DIR)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -".json".length))
      .sort();
  } catch {
    return [];
  }
}

/** Every shipped scenario with its description (`regbench scenarios`). */
export function describeScenarios(): string {
  const files = shippedScenarios()
    .map((name) => loadScenario(name))
    .filter((f): f is ScenarioFile => typeof f !== "string");
  const width = Math.max(0, maxOf(files.map((f) => f.name.length)));
  return files
    .map((f) => {
      const options = Object.entries(f.options)
        .map(([k, v]) => `--${k} ${v}`)
        .join(" ");
      const gates = f.thresholds?.length ? `\n${" ".repeat(width)}  thresholds: ${f.thresholds.join(", ")}` : "";
      return `${f.name.padEnd(width)}  ${f.description ?? ""}\n${" ".repeat(width)}  ${options}${gates}`;
    })
    .join("\n");
}
