import { Option, type Command } from "commander";
import { auditAcross, type RowReader } from "../../audit/across.js";
import type { AuditResult } from "../../audit/audit.js";
import { describeAuditDb, readAuditDb } from "../../audit/auditDb.js";
import { readAuditPages } from "../../audit/remoteRows.js";
import type { ProfileSpec } from "../../driver/profile/spec.js";
import { compareReports, renderComparisons, settingDifferences, workloadDifferences, workloadLabel } from "../../gate/baseline.js";
import { DEFAULT_MAX_ERROR_RATE } from "../../report/verdict.js";
import { mergeAgents } from "../../report/aggregate.js";
import { EXPORTERS } from "../../report/exporters/registry.js";
import type { RunConditions, RunReport, StrategyResult } from "../../report/result.js";
import { evaluateThresholds, thresholdLines } from "../../gate/thresholds.js";
import { EXIT } from "../exitCodes.js";
import { addOptions, MERGE_AUDIT_OPTIONS, TABLE_OPTIONS } from "../optionTable.js";
import { auditDbOf, UsageError } from "../options.js";
import { writeAtomically } from "../outputs.js";
import { requestTimeout } from "../parsers.js";
import { resolveSecrets } from "../secrets.js";
import { boundOf, judged, loadReport, maxErrorRateOf, parseThresholds, percentilesOf, tableWidth, type CommandContext, type Io } from "../shared.js";

/** Defines `regbench report`. */
export function defineReport(program: Command, { io, setExit }: CommandContext): void {
  const command = program
    .command("report")
    .description("re-render saved results (several files of one workload become one table)")
    .argument("<files...>", "JSON results written by regbench run")
    .addOption(new Option("--format <format>", "output format (default: table)").choices(Object.keys(EXPORTERS)))
    .option("--allow-mixed", "render results of different workloads together, each row labelled with its workload")
    .option("--max-error-rate <share>", "a correct strategy failing more registrations than this is ⚠, not ✓ (default: as recorded, else 1%)")
    .option("--percentiles <list>", "the table's latency columns (default: 50,95,99,99.9)");
  addOptions(command, TABLE_OPTIONS).action((files: string[], options: Record<string, unknown>) => {
    setExit(reportCommand(files, options, io));
  });
}

/** Defines `regbench compare`. */
export function defineCompare(program: Command, { io, setExit }: CommandContext): void {
  program
    .command("compare")
    .description("per-strategy TPS and p99 deltas between two saved runs, with regressed / improved / inconclusive verdicts; a regression exits 99")
    .argument("<old>", "the baseline's JSON")
    .argument("<new>", "the new run's JSON")
    .option("--max-regression <pct>", "how much worse counts as a regression (default: 10%)")
    .action((oldPath: string, newPath: string, options: Record<string, unknown>) => {
      setExit(compareCommand(oldPath, newPath, options, io));
    });
}

/** Defines `regbench merge`. */
export function defineMerge(program: Command, { io, setExit, given }: CommandContext): void {
  const command = program
    .command("merge")
    .description(
      "combine results of several load generators run against one target: counts add, histograms add exactly, TPS over the combined window; the audit is taken once over every generator's rows, from the service's database (--audit-db) or the target's GET /v1/audit/rows (--target), else the generators' own audits are added",
    )
    .argument("<files...>", "JSON results, one per load generator")
    .option("--out <file>", "write the merged JSON here instead of stdout")
    .option("--target <url>", "the target, to take the audit once over every generator's rows from its GET /v1/audit/rows (regbench's own API)")
    .option("--secrets-file <file>", "the secrets file regbench serve printed (the audit token), or one with auditDb and auditDbPassword")
    .option("--audit-token <token>", "with --target: the target's audit token (or REGBENCH_AUDIT_TOKEN)")
    .option("--timeout <duration>", "with --target: how long the audit rows may take (default: 10s; --audit-db's queries: the profile's audit.timeout)");
  addOptions(command, MERGE_AUDIT_OPTIONS)
    .option("--threshold <expr>", "a gate on the merged result, repeatable (as regbench run's); a miss exits 99", (v: string, p: string[] = []) => [...p, v])
    .option("--fail-on-violations", "shorthand for --threshold violations==0")
    .option("--baseline <file>", "compare the merged TPS and p99 with a saved baseline of the same workload; a regression exits 99")
    .option("--max-regression <pct>", "how much worse than the baseline counts as a regression (default: 10%)")
    .action(async (files: string[], options: Record<string, unknown>, command: Command) => {
      setExit(await mergeCommand(files, given(options, command), io));
    });
}

/** `regbench report FILE…`: re-renders saved results; several files become one table. */
export function reportCommand(files: string[], options: Record<string, unknown>, io: Io): number {
  const format = String(options.format ?? "table");
  const exporter = EXPORTERS[format];
  if (!exporter)
    throw new UsageError("--format", `must be one of ${Object.keys(EXPORTERS).join(", ")} (got ${JSON.stringify(format)})`, "For example: --format md.");
  const reports = files.map((f) => loadReport(f, "FILE"));
  const first = reports[0]!;
  const mixed = options.allowMixed === true;
  const differences = reports.slice(1).flatMap((r, i) => settingDifferences(first, r, [files[0]!, files[i + 1]!]));
  if (differences.length && !mixed) {
    throw new UsageError(
      "report",
      `refuses to put different workloads in one table: ${differences.join("; ")}`,
      "Render each file on its own, or pass --allow-mixed to label each row with its workload.",
    );
  }
  // Mixed workloads: every row says which workload it measured.
  const label = (r: RunReport, x: StrategyResult): StrategyResult => (differences.length ? { ...x, strategy: `${x.strategy} [${workloadLabel(r)}]` } : x);
  const maxErrorRate =
    options.maxErrorRate !== undefined
      ? maxErrorRateOf(options)
      : typeof first.config.maxErrorRate === "number"
        ? first.config.maxErrorRate
        : DEFAULT_MAX_ERROR_RATE;
  const combined: RunReport = judged(
    {
      ...first,
      results: reports.flatMap((r) => r.results.map((x) => label(r, x))),
      notes: [...new Set([...reports.flatMap((r) => r.notes), ...(differences.length ? [`mixed workloads (--allow-mixed): ${differences.join("; ")}`] : [])])],
      ...(reports.length > 1 ? { config: { ...first.config, strategies: reports.flatMap((r) => r.results.map((x) => label(r, x).strategy)) } } : {}),
    },
    maxErrorRate,
  );
  // Only the terminal table fits a width; a format written to a file has every column.
  io.stdout.write(exporter.render(combined, { percentiles: percentilesOf(options), width: format === "table" ? tableWidth(options, io) : undefined }));
  return EXIT.ok;
}

/** `regbench compare OLD NEW`: per-strategy deltas with the same verdicts as --baseline; exit 99 on a regression. */
export function compareCommand(oldPath: string, newPath: string, options: Record<string, unknown>, io: Io): number {
  const bound = boundOf(options);
  const old = loadReport(oldPath, "OLD");
  const now = loadReport(newPath, "NEW");
  const differences = workloadDifferences(old, now);
  if (differences.length)
    throw new UsageError("compare", `refuses to compare different workloads: ${differences.join("; ")}`, "Compare two runs of the same workload.");
  const comparisons = compareReports(old, now, bound);
  io.stdout.write(`${renderComparisons(comparisons, bound)}\n`);
  return comparisons.some((c) => c.verdict === "regressed") ? EXIT.gate : EXIT.ok;
}

/**
 * `regbench merge A B…`: results of several load generators against one target, combined exactly. With `--target`
 * the audit is taken once over every generator's rows; a target that does not answer leaves the audit unknown
 * (n/a), never the generators' sum, which cannot see duplicates between them.
 */
export async function mergeCommand(files: string[], options: Record<string, unknown>, io: Io): Promise<number> {
  const reports = files.map((f) => loadReport(f, "FILE"));
  const agents = checkAgents(files, reports);
  const bound = boundOf(options);
  const baseline = options.baseline === undefined ? undefined : loadReport(String(options.baseline), "--baseline");
  // Parsed as run's --timeout: above 0, within node's timers.
  const timeoutMs = options.timeout === undefined ? 10_000 : requestTimeout(options.timeout, "--timeout");
  const secrets = resolveSecrets({ auditToken: options.auditToken, secretsFile: options.secretsFile, auditDb: options.auditDb }, io.env);
  if (secrets.onCommandLine.length)
    io.stderr.write(
      `regbench: note: ${secrets.onCommandLine.join(", ")} puts a secret on the command line, where other users can read it (ps); REGBENCH_AUDIT_TOKEN, REGBENCH_AUDIT_DB_PASSWORD or --secrets-file keep it off\n`,
    );
  const profile =
    options.profile === undefined ? undefined : (MERGE_AUDIT_OPTIONS.find((o) => o.key === "profile")!.parse(options.profile, "--profile") as ProfileSpec);
  if (profile && secrets.auditDb === undefined)
    throw new UsageError(
      "--profile",
      "gives merge the audit queries for --audit-db, and no --audit-db is given (nor REGBENCH_AUDIT_DB, nor auditDb in --secrets-file)",
      "Add --audit-db with the service's database, or drop --profile.",
    );
  const auditDb = secrets.auditDb !== undefined ? auditDbOf(secrets.auditDb, secrets.auditDbPassword, profile) : undefined;
  // Where the run's rows are read, in run's order: the service's own database, then the target's audit endpoint.
  const readers: RowReader[] = [];
  if (auditDb) readers.push((run, sink) => readAuditDb(auditDb.db, auditDb.queries, run, sink));
  if (options.target !== undefined) {
    const endpoint = { url: String(options.target), token: secrets.auditToken, timeoutMs };
    readers.push((run, sink) => readAuditPages(endpoint, run, sink));
  }
  const names = [...new Set(reports.flatMap((r) => r.results.map((x) => x.strategy)))];
  const notes: string[] = [];
  const results: StrategyResult[] = [];
  for (const name of names) {
    const parts = reports.flatMap((r) => r.results.filter((x) => x.strategy === name));
    let merged = mergeAgents(parts);
    if (readers.length) {
      const tried: string[] = [];
      let audit: AuditResult | undefined;
      for (const read of readers) {
        const taken = await auditAcross(read, parts, agents?.run);
        if (typeof taken !== "string") {
          audit = taken;
          break;
        }
        if (!tried.includes(taken)) tried.push(taken);
      }
      if (audit === undefined) notes.push(`${name}: audit n/a: ${tried.join("; ")}`);
      else if (tried.length) notes.push(`${name}: audit from GET /v1/audit/rows: ${tried.join("; ")}`);
      merged = { ...merged, audit: audit ?? null };
    } else {
      notes.push(`${name}: audit = the agents' audits added; duplicates between agents are not seen without --audit-db or --target`);
    }
    results.push(merged);
  }
  const first = reports[0]!;
  const maxErrorRate = typeof first.config.maxErrorRate === "number" ? first.config.maxErrorRate : DEFAULT_MAX_ERROR_RATE;
  // The agents of one run are that run: its totals, not agent 0's share, describe the merged result.
  const conditions = agents ? mergedConditions(first.config, reports, agents) : first.config;
  // The database this audit read, as run records its own.
  const config = auditDb ? { ...conditions, auditDb: describeAuditDb(auditDb.db) } : conditions;
  const thresholds = parseThresholds(options, { strategies: names });
  const checked = evaluateThresholds(thresholds, results);
  // Each agent's own count of the shared systems is superseded by the audit taken here once over the run.
  const superseded = (note: string) => agents !== undefined && readers.length > 0 && note.startsWith("agent ") && note.includes(": duplicate systems counted");
  const report: RunReport = judged(
    {
      ...first,
      config,
      results: results.map((r) => ({ ...r, notes: r.notes.filter((n) => !superseded(n)) })),
      notes: [...new Set([...reports.flatMap((r) => r.notes), ...notes])].filter((n) => !superseded(n)),
      ...thresholdLines(checked),
    },
    maxErrorRate,
  );
  if (baseline) {
    const differences = workloadDifferences(baseline, report);
    if (differences.length)
      throw new UsageError("--baseline", `was measured on another workload: ${differences.join("; ")}`, "Merge against a baseline of the same workload.");
  }
  const comparisons = baseline ? compareReports(baseline, report, bound) : [];
  const text = EXPORTERS.json!.render(report);
  if (options.out !== undefined) writeAtomically(String(options.out), text);
  else io.stdout.write(text);
  const failedThresholds = (report.thresholds ?? []).filter((t) => !t.passed);
  const regressed = comparisons.filter((c) => c.verdict === "regressed");
  if (comparisons.length) io.stderr.write(`${renderComparisons(comparisons, bound)}\n`);
  for (const t of failedThresholds) io.stderr.write(`regbench: threshold failed: ${t.strategy}: ${t.expression} — ${t.detail}\n`);
  for (const c of regressed) io.stderr.write(`regbench: ${c.strategy} regressed against the baseline\n`);
  return failedThresholds.length || regressed.length ? EXIT.gate : EXIT.ok;
}

/**
 * The agents of one run, checked before anything is merged: every file an agent of the same run (same ID, same N),
 * each index once, none missing. Undefined when no file is an agent's (generators started by hand: merged as given).
 */
function checkAgents(files: readonly string[], reports: readonly RunReport[]): { run: string; of: number } | undefined {
  const agentOf = (r: RunReport) => r.results.find((x) => x.agent)?.agent;
  const firstAgent = reports.findIndex((r) => agentOf(r) !== undefined);
  if (firstAgent < 0) return undefined;
  const { run, of } = agentOf(reports[firstAgent]!)!;
  const seen = new Map<number, string>();
  reports.forEach((r, i) => {
    const agent = agentOf(r);
    if (!agent)
      throw new UsageError(
        "merge",
        `${files[i]} is not an agent's result, but ${files[firstAgent]} is agent of run ${run}`,
        "Merge the agents of one run only.",
      );
    if (agent.run !== run || agent.of !== of)
      throw new UsageError(
        "merge",
        `${files[i]} is agent ${agent.index}/${agent.of} of run ${agent.run}, ${files[firstAgent]} of run ${run} (${of} agents)`,
        "Merge the agents of one run only: the same --run and the same N on every agent.",
      );
    if (seen.has(agent.index))
      throw new UsageError(
        "merge",
        `${files[i]} and ${seen.get(agent.index)} are both agent ${agent.index}/${of} of run ${run}`,
        "Pass each agent's result once.",
      );
    seen.set(agent.index, files[i]!);
  });
  const missing = Array.from({ length: of }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length)
    throw new UsageError(
      "merge",
      `is missing agent${missing.length > 1 ? "s" : ""} ${missing.join(", ")} of run ${run} (${of} agents; ${seen.size} given)`,
      "Pass every agent's result: a run's audit and totals need all of them (rerun the run if an agent failed).",
    );
  return { run, of };
}

/** The merged run's conditions: the totals every agent recorded, its agents counted, no agent's own index. */
function mergedConditions(first: RunConditions, reports: readonly RunReport[], agents: { run: string; of: number }): RunConditions {
  const total = first.runTotal as { requests?: number; concurrency?: number; rate?: number; warmup?: number } | undefined;
  const { agent: _a, runTotal: _t, ...rest } = first;
  return {
    ...rest,
    ...(total ? { requests: first.requests === null ? null : total.requests, concurrency: total.concurrency, warmup: total.warmup } : {}),
    ...(total?.rate !== undefined ? { rate: total.rate } : {}),
    run: agents.run,
    agents: agents.of,
    // Load-generator threads in all, over every agent.
    ...(reports.every((r) => typeof r.config.workers === "number") ? { workers: reports.reduce((t, r) => t + (r.config.workers as number), 0) } : {}),
  };
}
