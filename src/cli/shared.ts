import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { readJsonFile } from "../core/jsonFile.js";
import { validateReport } from "../report/resultSchema.js";
import { parseThreshold, ThresholdSyntaxError, type Threshold } from "../gate/thresholds.js";
import { describeEnvironment } from "../report/environment.js";
import type { RunReport } from "../report/result.js";
import { DEFAULT_MAX_ERROR_RATE, withVerdicts } from "../report/verdict.js";
import { STRATEGIES } from "../strategies/registry.js";
import type { RunConfig } from "../config/run.js";
import { describeConfig } from "./options.js";
import { UsageError } from "./usageError.js";
import * as P from "./parsers.js";
import { maskDeep, maskSecrets } from "../core/mask.js";
import { maxOf } from "../stats/extent.js";

/** What each command's definition is given: where to write, how to set the exit code, the options given on the command line. */
export interface CommandContext {
  readonly io: Io;
  readonly setExit: (code: number) => void;
  readonly given: (options: Record<string, unknown>, command: Command) => Record<string, unknown>;
}

/** Where a command writes, and the environment it reads. */
export interface Io {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** `--version`: the version, and the git commit when regbench runs from a checkout. */
export function versionLine(): string {
  const env = describeEnvironment();
  return `regbench ${env.regbench}${env.commit ? ` (commit ${env.commit})` : ""} · Node ${env.node}`;
}

/**
 * The width the terminal table must fit: the terminal's columns when stdout is one, unless `--wide`; undefined (every
 * column, today's table) when stdout is a pipe or a file.
 */
export function tableWidth(options: Record<string, unknown>, io: Io): number | undefined {
  if (options.wide === true || !io.stdout.isTTY) return undefined;
  const columns = io.stdout.columns;
  return Number.isInteger(columns) && columns > 0 ? columns : undefined;
}

export function useColor(io: Io): boolean {
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "") return false;
  return Boolean(io.stdout.isTTY);
}

export function renderStrategies(): string {
  const width = maxOf(
    STRATEGIES.map((s) => s.name.length),
    0,
  );
  return STRATEGIES.map(
    (s) =>
      `${s.name.padEnd(width)}  [${s.kind}${s.constraints ? ", unique constraints" : ""}]\n${" ".repeat(width)}  protects: ${s.protects}\n${" ".repeat(width)}  does not: ${s.exposes}`,
  ).join("\n");
}

/**
 * Loads a saved report (a `--json` document): read, then validated against the result schema before anything looks at
 * it. Errors are UsageErrors naming `flag`, the file and its first bad path — never the file's content. Older results
 * read as completed.
 */
export function loadReport(path: string, flag: string): RunReport {
  const read = readJsonFile(path);
  if (!read.ok) throw new UsageError(flag, read.problem, "Pass a file written by regbench run (--json, --export-json, --save-baseline or results/).");
  return checkedReport(read.value, path, flag);
}

/** A parsed results document, validated (see loadReport). */
export function checkedReport(doc: unknown, path: string, flag: string): RunReport {
  const head = doc as Partial<RunReport> | null;
  if (typeof head !== "object" || head === null || head.tool !== "regbench" || head.schemaVersion !== 1) {
    throw new UsageError(flag, `${path} is not a regbench report (schemaVersion 1)`, "Pass a file written by regbench run.");
  }
  const problem = validateReport(doc);
  if (problem) throw new UsageError(flag, `${path} is not a valid regbench report: ${problem}`, "Pass a file written by regbench run, unedited.");
  const report = doc as Partial<RunReport> & Pick<RunReport, "results">;
  return {
    ...report,
    skipped: report.skipped ?? [],
    notes: report.notes ?? [],
    results: report.results.map((r) => ({ ...r, state: r.state ?? "completed", notes: r.notes ?? [], strategyStats: r.strategyStats ?? {} })),
  } as RunReport;
}

/** `--max-error-rate` as a fraction (default 1%): `1%`, `0.5%` or a ratio such as `0.01`. */
export function maxErrorRateOf(options: Record<string, unknown>): number {
  return options.maxErrorRate === undefined ? DEFAULT_MAX_ERROR_RATE : P.maxErrorRate(options.maxErrorRate, "--max-error-rate");
}

/** `--fail-on-verdict warn|fail`, or undefined. */
export function failOnVerdictOf(options: Record<string, unknown>): "warn" | "fail" | undefined {
  return options.failOnVerdict === undefined ? undefined : P.failOnVerdict(options.failOnVerdict, "--fail-on-verdict");
}

/** `--percentiles 50,95,99,99.9`: the table's latency columns. */
export function percentilesOf(options: Record<string, unknown>): number[] | undefined {
  return options.percentiles === undefined ? undefined : P.percentiles(options.percentiles, "--percentiles");
}

/**
 * The report as it is shown and saved: each result's verdict and relative speed, under the bound recorded in its
 * config, and every credential in it masked (a results file of an older version may hold a URL's password).
 */
export function judged(report: RunReport, maxErrorRate: number): RunReport {
  return maskDeep({ ...report, config: { ...report.config, maxErrorRate }, results: withVerdicts(report.results, maxErrorRate) });
}

/**
 * A stream whose text goes through `maskSecrets` on its way out: every line the CLI writes (messages naming a
 * service's URL included) is masked at this one boundary.
 */
export function maskingStream(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  return new Proxy(stream, {
    get(target, property) {
      if (property === "write") {
        return (chunk: unknown, ...rest: unknown[]) =>
          Reflect.apply(target.write, target, [typeof chunk === "string" ? maskSecrets(chunk) : chunk, ...rest]) as boolean;
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** `--max-regression` as a fraction (default 10%). */
export function boundOf(options: Record<string, unknown>): number {
  return options.maxRegression === undefined ? P.DEFAULT_MAX_REGRESSION : P.maxRegression(options.maxRegression, "--max-regression");
}

/**
 * Parses the scenario file's thresholds, every `--threshold`, plus `--fail-on-violations`; a bad expression is
 * exit 2 with its position.
 */
export function parseThresholds(options: Record<string, unknown>, config: Pick<RunConfig, "strategies" | "scenarioThresholds">): Threshold[] {
  const parse = (expression: string, flag: string, strategies?: readonly string[]) => {
    try {
      return parseThreshold(expression, strategies);
    } catch (error) {
      if (error instanceof ThresholdSyntaxError) {
        throw new UsageError(
          flag,
          `${JSON.stringify(expression)} does not parse: ${error.expected} at column ${error.position + 1}`,
          `Write [strategy:]metric op value, e.g. p99<50ms, atomic:tps>=1000, errorRate<1%, violations==0.\n  ${expression}\n  ${" ".repeat(error.position)}^`,
        );
      }
      throw error;
    }
  };
  // A scenario's gate about a strategy this run does not measure does not apply to it.
  const fromScenario = (config.scenarioThresholds ?? [])
    .map((e) => parse(e, "--scenario"))
    .filter((t) => t.strategy === undefined || config.strategies.includes(t.strategy));
  const expressions = ([] as unknown[]).concat(options.threshold ?? []).map(String);
  if (options.failOnViolations) expressions.push("violations==0");
  return [...fromScenario, ...expressions.map((e) => parse(e, "--threshold", config.strategies))];
}

export function emptyReport(config: RunConfig): RunReport {
  return { tool: "regbench", schemaVersion: 1, config: describeConfig(config), results: [], skipped: [], notes: [], environment: describeEnvironment() };
}
