import { Command, CommanderError, Option } from "commander";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareRedis } from "../driver/redisPreflight.js";
import { serve } from "../http/serve.js";
import { CannotRunError, runAll } from "../driver/orchestrator.js";
import { compareReports, parseBound, renderComparisons, workloadDifferences } from "../gate/baseline.js";
import { describeMiss, evaluateThresholds, parseThreshold, ThresholdSyntaxError, type Threshold } from "../gate/thresholds.js";
import { mergeAgents } from "../report/aggregate.js";
import { auditAcross } from "../report/mergeAudit.js";
import { describeEnvironment } from "../report/environment.js";
import { EXPORTERS } from "../report/exporters/registry.js";
import type { StrategyResult } from "../report/result.js";
import type { RunConfig } from "../workload/config.js";
import { Outputs } from "./outputs.js";
import { ProgressBar } from "../report/progress.js";
import type { RunReport } from "../report/result.js";
import { renderHeader, renderNotes, renderTable } from "../report/table.js";
import { STRATEGIES } from "../strategies/registry.js";
import { EXIT } from "./exitCodes.js";
import { buildRunConfig, describeConfig, UsageError } from "./options.js";

export interface Io {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function useColor(io: Io): boolean {
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "") return false;
  return Boolean(io.stdout.isTTY);
}

export function renderStrategies(): string {
  const width = Math.max(...STRATEGIES.map((s) => s.name.length));
  return STRATEGIES.map(
    (s) => `${s.name.padEnd(width)}  [${s.kind}${s.constraints ? ", unique constraints" : ""}]\n${" ".repeat(width)}  protects: ${s.protects}\n${" ".repeat(width)}  does not: ${s.exposes}`,
  ).join("\n");
}

/** Loads a saved report (a `--json` document); errors are UsageErrors naming `flag`. */
function loadReport(path: string, flag: string): RunReport {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(flag, `cannot read ${path}: ${(error as Error).message}`, "Pass a file written by regbench run (--json, --export-json, --save-baseline or results/).");
  }
  const report = doc as Partial<RunReport>;
  if (report?.tool !== "regbench" || report.schemaVersion !== 1 || !Array.isArray(report.results)) {
    throw new UsageError(flag, `${path} is not a regbench report (schemaVersion 1)`, "Pass a file written by regbench run.");
  }
  return { skipped: [], notes: [], ...report } as RunReport;
}

/** `--max-regression` as a fraction (default 10%). */
function boundOf(options: Record<string, unknown>): number {
  const bound = options.maxRegression === undefined ? 0.1 : parseBound(String(options.maxRegression));
  if (bound === undefined) throw new UsageError("--max-regression", `must be a percentage such as 10% (got ${String(options.maxRegression)})`, "For example: --max-regression 10%.");
  return bound;
}

/** Parses every `--threshold`, plus `--fail-on-violations`; a bad expression is exit 2 with its position. */
function parseThresholds(options: Record<string, unknown>, strategies: readonly string[]): Threshold[] {
  const expressions = ([] as unknown[]).concat(options.threshold ?? []).map(String);
  if (options.failOnViolations) expressions.push("violations==0");
  return expressions.map((expression) => {
    try {
      return parseThreshold(expression, strategies);
    } catch (error) {
      if (error instanceof ThresholdSyntaxError) {
        throw new UsageError(
          "--threshold",
          `${JSON.stringify(expression)} does not parse: ${error.expected} at column ${error.position + 1}`,
          `Write [strategy:]metric op value, e.g. p99<50ms, atomic:tps>=1000, errorRate<1%, violations==0.\n  ${expression}\n  ${" ".repeat(error.position)}^`,
        );
      }
      throw error;
    }
  });
}

async function runCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  if (options.strategy === "list") {
    io.stdout.write(`${renderStrategies()}\n`);
    return EXIT.ok;
  }
  const config = buildRunConfig(options);
  const thresholds = parseThresholds(options, config.strategies);
  const bound = boundOf(options);
  const baseline = options.baseline === undefined ? undefined : loadReport(String(options.baseline), "--baseline");
  if (baseline) {
    const differences = workloadDifferences(baseline, { ...emptyReport(config), results: config.strategies.map((strategy) => ({ strategy }) as StrategyResult) });
    if (differences.length) throw new UsageError("--baseline", `was measured on another workload: ${differences.join("; ")}`, "Run the baseline's workload (strategy settings may differ), or save a new baseline.");
  }
  const outputs = Outputs.open(options, config.scenario ?? config.strategies.join("-"));
  const json = Boolean(options.json);
  const progress = new ProgressBar(io.stderr, Boolean(io.stderr.isTTY) && !json);
  let label = "";
  let outcome;
  try {
    outcome = await runAll(config, (event) => {
      if (event.type === "strategy-start") {
        label = `${event.strategy} (${event.index + 1}/${event.count})`;
        progress.restart();
      } else if (event.type === "strategy-event" && event.event.type === "progress") {
        progress.update(label, event.event.done, event.event.total);
      } else if (event.type === "strategy-done") {
        progress.clear();
      }
    });
  } catch (error) {
    outputs.abandon();
    throw error;
  }
  const checked = evaluateThresholds(thresholds, outcome.results);
  const report: RunReport = {
    ...emptyReport(outcome.config),
    results: outcome.results,
    skipped: outcome.skipped,
    notes: outcome.notes,
    ...(checked.length
      ? { thresholds: checked.map((t) => ({ expression: t.threshold.source, strategy: t.strategy, passed: t.passed, measured: t.measured, detail: describeMiss(t) })) }
      : {}),
  };
  const comparisons = baseline ? compareReports(baseline, report, bound) : [];
  outputs.write(report);
  if (json) {
    io.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const color = useColor(io);
    io.stdout.write(`${renderHeader(report, version())}\n${renderTable(report, { color })}\n${renderNotes(report, { color })}\n`);
    if (report.thresholds?.length) {
      io.stdout.write(`thresholds:\n${report.thresholds.map((t) => `  ${t.passed ? "✓" : "✗"} ${t.strategy}: ${t.expression} — ${t.detail}`).join("\n")}\n`);
    }
    if (comparisons.length) io.stdout.write(`${renderComparisons(comparisons, bound)}\n`);
  }
  const failedThresholds = (report.thresholds ?? []).filter((t) => !t.passed);
  const regressed = comparisons.filter((c) => c.verdict === "regressed");
  if (failedThresholds.length || regressed.length) {
    for (const t of failedThresholds) io.stderr.write(`regbench: threshold failed: ${t.strategy}: ${t.expression} — ${t.detail}\n`);
    for (const c of regressed) io.stderr.write(`regbench: ${c.strategy} regressed against the baseline\n`);
    return EXIT.gate;
  }
  return EXIT.ok;
}

function emptyReport(config: RunConfig): RunReport {
  return { tool: "regbench", schemaVersion: 1, config: describeConfig(config), results: [], skipped: [], notes: [], environment: describeEnvironment() };
}

/** `regbench report FILE…`: re-renders saved results; several files become one table. */
function reportCommand(files: string[], options: Record<string, unknown>, io: Io): number {
  const format = String(options.format ?? "table");
  const exporter = EXPORTERS[format];
  if (!exporter) throw new UsageError("--format", `must be one of ${Object.keys(EXPORTERS).join(", ")} (got ${JSON.stringify(format)})`, "For example: --format md.");
  const reports = files.map((f) => loadReport(f, "FILE"));
  const first = reports[0]!;
  const combined: RunReport = {
    ...first,
    results: reports.flatMap((r) => r.results),
    notes: [...new Set(reports.flatMap((r) => r.notes))],
    ...(reports.length > 1 ? { config: { ...first.config, strategies: reports.flatMap((r) => r.results.map((x) => x.strategy)) } } : {}),
  };
  io.stdout.write(exporter.render(combined));
  return EXIT.ok;
}

/** `regbench compare OLD NEW`: per-strategy deltas with the same verdicts as --baseline; exit 99 on a regression. */
function compareCommand(oldPath: string, newPath: string, options: Record<string, unknown>, io: Io): number {
  const bound = boundOf(options);
  const old = loadReport(oldPath, "OLD");
  const now = loadReport(newPath, "NEW");
  const differences = workloadDifferences(old, now);
  if (differences.length) throw new UsageError("compare", `refuses to compare different workloads: ${differences.join("; ")}`, "Compare two runs of the same workload.");
  const comparisons = compareReports(old, now, bound);
  io.stdout.write(`${renderComparisons(comparisons, bound)}\n`);
  return comparisons.some((c) => c.verdict === "regressed") ? EXIT.gate : EXIT.ok;
}

/** `regbench merge A B…`: results of several load generators against one target, combined exactly. */
async function mergeCommand(files: string[], options: Record<string, unknown>, io: Io): Promise<number> {
  const reports = files.map((f) => loadReport(f, "FILE"));
  const names = [...new Set(reports.flatMap((r) => r.results.map((x) => x.strategy)))];
  const notes: string[] = [];
  const results: StrategyResult[] = [];
  for (const name of names) {
    const parts = reports.flatMap((r) => r.results.filter((x) => x.strategy === name));
    let merged = mergeAgents(parts);
    if (options.target !== undefined) {
      const audit = await auditAcross(String(options.target), parts);
      if (typeof audit === "string") notes.push(`${name}: ${audit}`);
      else merged = { ...merged, audit };
    } else {
      notes.push(`${name}: audit = the agents' audits added; duplicates between agents are not seen without --target`);
    }
    results.push(merged);
  }
  const report: RunReport = { ...reports[0]!, results, notes: [...new Set([...reports.flatMap((r) => r.notes), ...notes])] };
  const text = EXPORTERS.json!.render(report);
  if (options.out !== undefined) writeFileSync(String(options.out), text);
  else io.stdout.write(text);
  return EXIT.ok;
}

/** `regbench serve`: the registration core behind its HTTP API until SIGINT or SIGTERM. */
async function serveCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const strategy = String(options.strategy ?? "atomic");
  if (strategy.includes(",") || strategy === "all") throw new UsageError("--strategy", "names one strategy for a server", "Pick one, e.g. --strategy atomic; start several servers on several ports to compare.");
  const port = options.port === undefined ? 8080 : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError("--port", `must be a port number from 0 to 65535 (got ${String(options.port)})`, "For example: --port 8080 (0 picks a free one).");
  const host = String(options.host ?? "127.0.0.1");
  const projectValues = ([] as unknown[]).concat(options.project ?? []).map(String);
  const { project: _p, port: _port, host: _host, ...rest } = options;
  const config = buildRunConfig({ ...rest, strategy, mode: "http" });
  const projects = projectValues.length
    ? projectValues.map((value) => {
        const colon = value.indexOf(":");
        if (colon <= 0 || colon === value.length - 1) throw new UsageError("--project", `must be ID:KEY (got ${JSON.stringify(value)})`, "For example: --project fleet-a:s3cret.");
        return { id: value.slice(0, colon), cidr: config.workload.cidr, key: value.slice(colon + 1) };
      })
    : [{ id: "serve-p0", cidr: config.workload.cidr, key: randomBytes(16).toString("hex") }];
  const preflight = await prepareRedis(config);
  if (preflight.unavailable) throw new CannotRunError(strategy, "redis-unavailable", preflight.unavailable.message);
  const temporary = config.store.kind !== "sqlite";
  const storePath = config.store.kind === "sqlite" ? config.store.path : join(tmpdir(), `regbench-serve-${process.pid}.db`);
  const serverKey = config.http.serverKey ?? randomBytes(32).toString("hex");
  const server = await serve({
    run: preflight.config,
    strategy,
    host,
    port,
    instances: config.http.instances,
    storePath,
    projects,
    serverKey,
    keyPrefix: `serve-${process.pid}`,
    warmup: config.http.serverWarmup,
  }).catch((error: Error) => {
    throw new CannotRunError(strategy, "store", error.message);
  });
  io.stdout.write(
    [
      `regbench serve · strategy ${strategy} · ${config.http.instances} instance(s) · store ${storePath}${temporary ? " (removed at exit)" : ""}`,
      ...preflight.notes.map((n) => `note · ${n}`),
      `listening on ${server.url}`,
      ...projects.map((p) => `project ${p.id} key ${p.key}  →  regbench run --target ${server.url} --project ${p.id}:${p.key} --server-key ${serverKey}`),
      "",
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  const stats = await server.stop();
  await preflight.stop();
  if (temporary) for (const suffix of ["", "-wal", "-shm"]) rmSync(storePath + suffix, { force: true });
  io.stdout.write(`stopped · peak RSS ${stats.peakRssMb.toFixed(0)} MB over ${stats.instances.length} instance(s)\n`);
  return EXIT.ok;
}

function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command("regbench")
    .description("Benchmark the concurrency-control strategies of a device-registration service, and audit what they store.")
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError("(regbench run --help lists every flag)");

  program
    .command("strategies")
    .description("list the strategies, what each protects and what it does not")
    .action(() => {
      io.stdout.write(`${renderStrategies()}\n`);
    });

  const given = (options: Record<string, unknown>, command: Command) =>
    Object.fromEntries(Object.entries(options).filter(([key]) => command.getOptionValueSource(key) === "cli"));
  const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

  /** Options that shape the core and its strategies, shared by `run` and `serve`. */
  const withCoreOptions = (command: Command) =>
    command
      .option("--cidr <net>", "each project's address pool (default: 10.0.0.0/12)")
      .option("--db-latency <ms>", "simulated round trip before every store call, e.g. 1 or 500ms (default: 0)")
      .option("--shards <n>", "shard count of the sharded lock, a power of two (default: 4 per core, 16 to 64)")
      .option("--lock-timeout <duration>", "how long a registration waits for a lock, e.g. 5s (default: 30s)")
      .addOption(new Option("--lock-key <what>", "what locks and flights are keyed on (default: system for the local strategies, project for Redis)").choices(["system", "project"]))
      .option("--retries <n>", "attempts in all after unique-constraint conflicts (default: 30)")
      .option("--redis <urls>", "Redis node URL(s), comma-separated (redlock uses all), or auto to start a throwaway redis-server if none answers (default: redis://127.0.0.1:6379)")
      .option("--lock-ttl <duration>", "Redis lock time to live (default: 10s)")
      .option("--lock-wait <duration>", "how long a Redis lock acquisition waits for a held lock; 0 fails fast (default: --lock-timeout)")
      .option("--no-watchdog", "do not extend Redis locks while held")
      .option("--lock-batch <n>", "registrations of one process that may share one Redis lock acquisition; 1 = one each (default: 64)");

  withCoreOptions(program
    .command("serve")
    .description("run the registration core behind its HTTP API (POST /v1/register, GET /v1/audit/rows, GET /healthz)")
    .option("-s, --strategy <name>", "the strategy the server runs (default: atomic)")
    .option("--port <n>", "port to listen on; 0 picks a free one (default: 8080)")
    .option("--host <addr>", "address to listen on (default: 127.0.0.1, loopback only)")
    .option("--instances <m>", "server processes sharing one store on one port (node cluster) (default: 1)")
    .option("--store <spec>", "sqlite (temporary file, removed at exit) or sqlite:PATH (default: sqlite)")
    .option("--project <id:key>", "a project the server accepts registrations for, repeatable (default: one generated, printed)", collect)
    .option("--server-key <hex>", "the AES-256 key sealing configs, 64 hex digits (default: random, printed)")
    .option("--fault <spec>", "inject pause:P:MS into the server's registrations, repeatable", collect)
    .option("--no-server-warmup", "take traffic cold (by default the server warms its code paths on a scratch store before listening)")
  ).action(async (options: Record<string, unknown>, command: Command) => {
      setExit(await serveCommand(given(options, command), io));
    });

  withCoreOptions(program
    .command("run")
    .description("fire concurrent registrations through one or more strategies, then audit the stored rows")
    .option("-s, --strategy <names>", "strategies to compare: a comma list, all, or list to describe them (default: all)")
    .option("-n, --requests <n>", "measured registrations (default: 10000)")
    .option("-c, --concurrency <n>", "registrations in flight at once, closed loop (default: 1000)")
    .option("--warmup <n>", "registrations before the measured window, not counted (default: 0)")
    .option("--systems <k>", "distinct systemUUIDs the devices share (default: 1, the seed's case)")
    .option("--projects <p>", "projects the systems spread over (default: 1)")
    .option("--resend <ratio>", "share of requests that re-send an earlier machineID (default: 0)")
    .option("--seed <int>", "seed of the workload's shape: systems, re-sends, field values (default: random, printed)")
    .option("--store <spec>", "sqlite (fresh temporary file), sqlite:PATH (kept), sqlite::memory:, or memory (default: sqlite)")
    .option("--fault <spec>", "inject a fault, repeatable: pause:P:MS (stall between read and write) or redis-down:AT_MS", collect)
    .option("--rate <r>", "open loop: start this many registrations per second, latency from each one's intended start (-c caps those in flight)")
    .addOption(new Option("--mode <mode>", "in-process (default), or http: through regbench's own server, one process per strategy").choices(["in-process", "http"]))
    .option("--target <url>", "drive an already running server (regbench serve, or any service with the same API) instead")
    .option("--project <id:key>", "with --target: a project the target knows, repeatable", collect)
    .option("--server-key <hex>", "with --target: the key sealing the target's configs, to check them in the audit")
    .option("--instances <m>", "with --mode http: server processes sharing one store on one port (default: 1)")
    .option("--no-server-warmup", "with --mode http: measure cold servers (by default each warms its code paths on a scratch store first)")
    .option("--scenario <file>", "a scenario file, or a shipped name: storm, storm-remote-db, fleet, fleet-remote-db, retry-storm; flags override it")
    .option("--runs <r>", "measure each strategy R times, interleaved; report mean ± standard error (default: 1)")
    .option("--no-save", "do not write the JSON result under results/")
    .option("--out <dir>", "where the JSON result is saved (default: results/)")
    .option("--export-markdown <file>", "also write a Markdown report with Mermaid charts")
    .option("--export-json <file>", "also write the JSON document to a file")
    .option("--export-csv <file>", "also write one CSV row per strategy")
    .option("--threshold <expr>", "a CI gate, repeatable: [strategy:]metric op value, e.g. p99<50ms, tps>=1000, violations==0; a miss exits 99", collect)
    .option("--fail-on-violations", "shorthand for --threshold violations==0 on every strategy")
    .option("--save-baseline <file>", "save this run as a baseline")
    .option("--baseline <file>", "compare TPS and p99 with a saved baseline of the same workload; a regression exits 99")
    .option("--max-regression <pct>", "how much worse than the baseline counts as a regression (default: 10%)")
    .option("--json", "print exactly one JSON document on stdout and nothing else there"),
  ).action(async (options: Record<string, unknown>, command: Command) => {
      // Only values given on the command line override a scenario; commander's own defaults (--no-watchdog's
      // implied true) must not.
      setExit(await runCommand(given(options, command), io));
    });
  program
    .command("report")
    .description("re-render saved results (several files become one table)")
    .argument("<files...>", "JSON results written by regbench run")
    .addOption(new Option("--format <format>", "output format (default: table)").choices(Object.keys(EXPORTERS)))
    .action((files: string[], options: Record<string, unknown>) => {
      setExit(reportCommand(files, options, io));
    });

  program
    .command("compare")
    .description("per-strategy TPS and p99 deltas between two saved runs, with regressed / improved / inconclusive verdicts; a regression exits 99")
    .argument("<old>", "the baseline's JSON")
    .argument("<new>", "the new run's JSON")
    .option("--max-regression <pct>", "how much worse counts as a regression (default: 10%)")
    .action((oldPath: string, newPath: string, options: Record<string, unknown>) => {
      setExit(compareCommand(oldPath, newPath, options, io));
    });

  program
    .command("merge")
    .description("combine results of several load generators run against one target: counts add, histograms add exactly, TPS over the combined window")
    .argument("<files...>", "JSON results, one per load generator")
    .option("--out <file>", "write the merged JSON here instead of stdout")
    .option("--target <url>", "the target, to take the audit once over every generator's rows")
    .action(async (files: string[], options: Record<string, unknown>) => {
      setExit(await mergeCommand(files, options, io));
    });
  return program;
}

/** Runs the CLI and returns its exit code. */
export async function main(argv: readonly string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv as string[]);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof UsageError) {
      io.stderr.write(`regbench: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof CannotRunError) {
      io.stderr.write(`regbench: could not run ${error.message}\n`);
      return EXIT.cannotRun;
    }
    io.stderr.write(`regbench: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT.cannotRun;
  }
}
