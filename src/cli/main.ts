import { Command, CommanderError, Option } from "commander";
import { readFileSync } from "node:fs";
import { CannotRunError, runAll } from "../driver/orchestrator.js";
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

async function runCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  if (options.strategy === "list") {
    io.stdout.write(`${renderStrategies()}\n`);
    return EXIT.ok;
  }
  const config = buildRunConfig(options);
  const json = Boolean(options.json);
  const progress = new ProgressBar(io.stderr, Boolean(io.stderr.isTTY) && !json);
  let label = "";
  const outcome = await runAll(config, (event) => {
    if (event.type === "strategy-start") {
      label = `${event.strategy} (${event.index + 1}/${event.count})`;
      progress.restart();
    } else if (event.type === "strategy-event" && event.event.type === "progress") {
      progress.update(label, event.event.done, event.event.total);
    } else if (event.type === "strategy-done") {
      progress.clear();
    }
  });
  const report: RunReport = {
    tool: "regbench",
    schemaVersion: 1,
    config: describeConfig(outcome.config),
    results: outcome.results,
    skipped: outcome.skipped,
    notes: outcome.notes,
  };
  if (json) {
    io.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const color = useColor(io);
    io.stdout.write(`${renderHeader(report, version())}\n${renderTable(report, { color })}\n${renderNotes(report, { color })}\n`);
  }
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

  program
    .command("run")
    .description("fire concurrent registrations through one or more strategies, then audit the stored rows")
    .option("-s, --strategy <names>", "strategies to compare: a comma list, all, or list to describe them (default: all)")
    .option("-n, --requests <n>", "measured registrations (default: 10000)")
    .option("-c, --concurrency <n>", "registrations in flight at once, closed loop (default: 1000)")
    .option("--warmup <n>", "registrations before the measured window, not counted (default: 0)")
    .option("--systems <k>", "distinct systemUUIDs the devices share (default: 1, the seed's case)")
    .option("--projects <p>", "projects the systems spread over (default: 1)")
    .option("--resend <ratio>", "share of requests that re-send an earlier machineID (default: 0)")
    .option("--db-latency <ms>", "simulated round trip before every store call, e.g. 1 or 500us (default: 0)")
    .option("--seed <int>", "seed of the workload's shape: systems, re-sends, field values (default: random, printed)")
    .option("--cidr <net>", "each project's address pool (default: 10.0.0.0/12)")
    .option("--store <spec>", "sqlite (fresh temporary file), sqlite:PATH (kept), sqlite::memory:, or memory (default: sqlite)")
    .option("--shards <n>", "shard count of the sharded lock, a power of two (default: 4 per core, 16 to 64)")
    .option("--lock-timeout <duration>", "how long a registration waits for a lock, e.g. 5s (default: 30s)")
    .addOption(new Option("--lock-key <what>", "what locks and flights are keyed on (default: system)").choices(["system", "project"]))
    .option("--retries <n>", "attempts in all after unique-constraint conflicts (default: 30)")
    .option("--redis <urls>", "Redis node URL(s), comma-separated (redlock uses all), or auto to start a throwaway redis-server if none answers (default: redis://127.0.0.1:6379)")
    .option("--lock-ttl <duration>", "Redis lock time to live (default: 10s)")
    .option("--lock-wait <duration>", "how long a Redis lock acquisition waits for a held lock; 0 fails fast (default: --lock-timeout)")
    .option("--no-watchdog", "do not extend Redis locks while held")
    .option("--fault <spec>", "inject a fault, repeatable: pause:P:MS (stall between read and write) or redis-down:AT_MS", (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option("--scenario <file>", "a scenario file, or a shipped name: storm, storm-remote-db, fleet, fleet-remote-db, retry-storm; flags override it")
    .option("--json", "print exactly one JSON document on stdout and nothing else there")
    .action(async (options: Record<string, unknown>, command: Command) => {
      // Only values given on the command line override a scenario; commander's own defaults (--no-watchdog's
      // implied true) must not.
      const given = Object.fromEntries(Object.entries(options).filter(([key]) => command.getOptionValueSource(key) === "cli"));
      setExit(await runCommand(given, io));
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
