import { Command, CommanderError, Option } from "commander";
import { CannotRunError } from "../driver/errors.js";
import { EXPORTERS } from "../report/exporters/registry.js";
import { compareCommand, mergeCommand, reportCommand } from "./commands/saved.js";
import { runCommand } from "./commands/run.js";
import { serveCommand } from "./commands/serve.js";
import { EXIT } from "./exitCodes.js";
import { UsageError } from "./options.js";
import { shippedScenarios } from "../workload/scenario.js";
import { renderStrategies, versionLine, type Io } from "./shared.js";
import { describeScenarios } from "../workload/scenario.js";

export type { Io } from "./shared.js";

const RUN_EXAMPLES = `
Examples:
  regbench run --strategy sharded -c 1000 -n 10000          the seed's storm: 10,000 devices of one system at once
  regbench run --scenario fleet --strategy atomic,sharded     a shipped workload (regbench scenarios lists them)
  regbench run --strategy redis,etcd --redis auto --etcd auto throwaway Redis and etcd servers for the run
  regbench run --store postgres://postgres@127.0.0.1:5432/test --strategy db-unique,atomic
  regbench run --mode http --strategy atomic --duration 30s   through regbench's own server, for 30 s
  regbench run --target http://svc:8080 --secrets-file s.json --rate 2000 --duration 1m
  regbench run --strategy atomic --fail-on-verdict fail --threshold 'atomic:p99.9<500ms' --export-html r.html

Durations take us (or µs), ms, s or m: 250us, 500ms, 1.5s, 2m; a bare number is milliseconds.

Exit codes:
  0    it ran (whatever the verdicts, unless a gate says otherwise)
  2    bad arguments: nothing ran; the message names the flag and the fix
  3    it could not run, or a strategy could not be measured (unreachable service, dead worker)
  99   a gate failed: a threshold, a baseline regression, or --fail-on-verdict
  129, 130, 143  interrupted by SIGHUP, SIGINT or SIGTERM; what was measured is reported
`;

function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command("regbench")
    .description("Benchmark the concurrency-control strategies of a device-registration service, and audit what they store.")
    .version(versionLine(), "-V, --version", "print the version and the commit")
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
    .command("scenarios")
    .description("list the shipped scenarios with their descriptions, options and thresholds")
    .action(() => {
      io.stdout.write(`${describeScenarios()}\n`);
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
      .addOption(
        new Option("--lock-key <what>", "what locks and flights are keyed on (default: system for the local strategies, project for Redis)").choices([
          "system",
          "project",
        ]),
      )
      .option("--retries <n>", "attempts in all after unique-constraint conflicts (default: 30)")
      .option(
        "--redis <urls>",
        "Redis node URL(s), comma-separated (redlock uses all), or auto to start a throwaway redis-server if none answers (default: redis://127.0.0.1:6379)",
      )
      .option("--lock-ttl <duration>", "distributed lock time to live (etcd: the lease TTL, whole seconds) (default: 10s)")
      .option("--lock-wait <duration>", "how long a distributed lock acquisition waits for a held lock; 0 fails fast (default: --lock-timeout)")
      .option(
        "--etcd <urls>",
        "etcd client URL(s), comma-separated, or auto / auto:3 to start a throwaway member / cluster if none answers (default: http://127.0.0.1:2379)",
      )
      .option("--no-watchdog", "do not extend distributed locks while held (Redis: the watchdog; etcd: the lease keep-alive)")
      .option(
        "--lock-nesting",
        "take the held distributed lock again around the system row's creation, as a locked helper does (a plain lock then waits for itself)",
      )
      .option("--lock-batch <n>", "registrations of one process that may share one distributed lock acquisition; 1 = one each (default: 64)")
      .option("--pool <n>", "database servers: connections per process; the time waited for one is reported (default: 16)")
      .addOption(
        new Option(
          "--isolation <level>",
          "database servers: transaction isolation (default: the database's — READ COMMITTED on PostgreSQL, REPEATABLE READ on InnoDB)",
        ).choices(["read-committed", "repeatable-read", "serializable"]),
      );

  withCoreOptions(
    program
      .command("serve")
      .description("run the registration core behind its HTTP API (POST /v1/register, GET /v1/audit/rows, GET /healthz)")
      .option("-s, --strategy <name>", "the strategy the server runs (default: atomic)")
      .option("--port <n>", "port to listen on; 0 picks a free one (default: 8080)")
      .option("--host <addr>", "address to listen on (default: 127.0.0.1, loopback only)")
      .option("--instances <m>", "server processes sharing one store on one port (node cluster) (default: 1)")
      .option(
        "--store <spec>",
        "sqlite (temporary file, removed at exit), sqlite:PATH, postgres://… or mysql://… (tables in schema regbench, or ?schema=NAME) (default: sqlite)",
      )
      .option(
        "--secrets-file <file>",
        "JSON with projects, serverKey, auditToken; read if it exists, else the generated secrets are written there (default: a temporary file, removed at exit)",
      )
      .option(
        "--project <id:key>",
        "a project the server accepts registrations for, repeatable; keeps the key on the command line (prefer REGBENCH_PROJECTS or --secrets-file) (default: one generated)",
        collect,
      )
      .option("--server-key <hex>", "the AES-256 key sealing configs, 64 hex digits (prefer REGBENCH_SERVER_KEY or --secrets-file) (default: generated)")
      .option("--audit-token <token>", "the bearer token of GET /v1/audit/rows (prefer REGBENCH_AUDIT_TOKEN or --secrets-file) (default: generated)")
      .option("--max-connections <n>", "open connections each instance accepts; beyond, a 503 with Retry-After (default: 4096)")
      .option("--fault <spec>", "inject pause:P:MS into the server's registrations, repeatable", collect)
      .option("--no-server-warmup", "take traffic cold (by default the server warms its code paths on a scratch store before listening)"),
  ).action(async (options: Record<string, unknown>, command: Command) => {
    setExit(await serveCommand(given(options, command), io));
  });

  withCoreOptions(
    program
      .command("run")
      .description("fire concurrent registrations through one or more strategies, then audit the stored rows")
      .option("-s, --strategy <names>", "strategies to compare: a comma list, all, or list to describe them (default: all)")
      .option("-n, --requests <n>", "measured registrations (default: 10000)")
      .option("-c, --concurrency <n>", "registrations in flight at once, closed loop (default: 1000)")
      .option("--warmup <n|duration>", "registrations before the measured window, not counted: a count (500) or a time (5s) (default: 0)")
      .option("--duration <duration>", "measure for this long instead of -n requests, e.g. 30s (closed or open loop)")
      .option("--stages <list>", "k6-style ramps instead of -n: 30s:200,1m:1000,30s:0 ramps the concurrency; 30s:500/s,1m:2000/s the rate")
      .option("--systems <k>", "distinct systemUUIDs the devices share (default: 1, the seed's case)")
      .option("--projects <p>", "projects the systems spread over (default: 1)")
      .option("--resend <ratio>", "share of requests that re-send an earlier machineID (default: 0)")
      .option("--seed <int>", "seed of the workload's shape: systems, re-sends, field values (default: random, printed)")
      .option(
        "--store <spec>",
        "sqlite (fresh temporary file), sqlite:PATH (kept), sqlite::memory:, memory, postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB (a schema or database per strategy, dropped after) (default: sqlite)",
      )
      .option("--keep-store", "keep each strategy's store (its schema, database or file) to count the rows again afterwards")
      .option("--fault <spec>", "inject a fault, repeatable: pause:P:MS (stall between read and write), redis-down:AT_MS or etcd-down:AT_MS", collect)
      .option("--rate <r>", "open loop: start this many registrations per second, latency from each one's intended start (-c caps those in flight)")
      .addOption(
        new Option("--mode <mode>", "in-process (default), or http: through regbench's own server, one process per strategy").choices(["in-process", "http"]),
      )
      .option("--target <url>", "drive an already running server (regbench serve, or any service with the same API) instead")
      .option("--secrets-file <file>", "with --target: the secrets file regbench serve printed (projects, server key, audit token)")
      .option("--project <id:key>", "with --target: a project the target knows, repeatable (or REGBENCH_PROJECTS=ID:KEY,…)", collect)
      .option("--server-key <hex>", "with --target: the key sealing the target's configs, to check them in the audit (or REGBENCH_SERVER_KEY)")
      .option("--audit-token <token>", "with --target: the target's audit token, for GET /v1/audit/rows (or REGBENCH_AUDIT_TOKEN)")
      .option("--timeout <duration>", "HTTP runs: a request without a complete answer after this long fails as timeout (default: 10s)")
      .option("--instances <m>", "with --mode http: server processes sharing one store on one port (default: 1)")
      .option(
        "--workers <n>",
        "HTTP runs: load-generator threads, their histograms merged exactly (default: the cores with --target, half of them with --mode http)",
      )
      .option("--no-server-warmup", "with --mode http: measure cold servers (by default each warms its code paths on a scratch store first)")
      .option("--scenario <file>", `a scenario file, or a shipped name: ${shippedScenarios().join(", ")}; flags override it`)
      .option("--runs <r>", "measure each strategy R times, interleaved; report mean ± standard error (default: 1)")
      .option("--no-save", "do not write the JSON result under results/")
      .option("--out <dir>", "where the JSON result is saved (default: results/)")
      .option("--export-markdown <file>", "also write a Markdown report with Mermaid charts")
      .option("--export-json <file>", "also write the JSON document to a file")
      .option("--export-html <file>", "also write a self-contained HTML report: table, TPS bars, timeline, latency distribution")
      .option("--export-csv <file>", "also write one CSV row per strategy")
      .option("--threshold <expr>", "a CI gate, repeatable: [strategy:]metric op value, e.g. p99<50ms, tps>=1000, violations==0; a miss exits 99", collect)
      .option("--fail-on-violations", "shorthand for --threshold violations==0 on every strategy")
      .option("--max-error-rate <share>", "a correct strategy failing more registrations than this is ⚠, not ✓ (default: 1%)")
      .option("--fail-on-verdict <level>", "exit 99 when a strategy is ✗ (fail), or ⚠ / ? / ✗ (warn)")
      .option("--percentiles <list>", "the table's latency columns (default: 50,95,99,99.9)")
      .option("--save-baseline <file>", "save this run as a baseline")
      .option("--baseline <file>", "compare TPS and p99 with a saved baseline of the same workload; a regression exits 99")
      .option("--max-regression <pct>", "how much worse than the baseline counts as a regression (default: 10%)")
      .option("--json", "print exactly one JSON document on stdout and nothing else there")
      .addHelpText("after", RUN_EXAMPLES),
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
    .option("--allow-mixed", "render results of different workloads together, each row labelled with its workload")
    .option("--max-error-rate <share>", "a correct strategy failing more registrations than this is ⚠, not ✓ (default: as recorded, else 1%)")
    .option("--percentiles <list>", "the table's latency columns (default: 50,95,99,99.9)")
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
    .option("--secrets-file <file>", "with --target: the secrets file regbench serve printed (for the audit token)")
    .option("--audit-token <token>", "with --target: the target's audit token (or REGBENCH_AUDIT_TOKEN)")
    .option("--timeout <duration>", "how long the audit rows may take (default: 10s)")
    .action(async (files: string[], options: Record<string, unknown>, command: Command) => {
      setExit(await mergeCommand(files, given(options, command), io));
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
