import type { Command } from "commander";
import { runAll, type OrchestratorEvent } from "../../driver/orchestrator.js";
import { addOptions, CORE_OPTIONS, RUN_OPTIONS } from "../optionTable.js";
import { compareReports, renderComparisons, workloadDifferences } from "../../gate/baseline.js";
import { evaluateThresholds, thresholdLines } from "../../gate/thresholds.js";
import { fmtInt, fmtMs, fmtPct } from "../../report/format.js";
import { ProgressBar } from "../../report/progress.js";
import type { RunReport, StrategyResult } from "../../report/result.js";
import { renderHeader, renderNotes, renderTable } from "../../report/table.js";
import { EXIT } from "../exitCodes.js";
import { buildGateOptions, buildReportOptions, buildRunConfig, UsageError } from "../options.js";
import { Outputs } from "../outputs.js";
import { atOrWorse, VERDICT_MARK, verdictState, verdictText } from "../../report/verdict.js";
import { emptyReport, judged, loadReport, renderStrategies, tableWidth, useColor, version, type CommandContext, type Io } from "../shared.js";
import { resolveSecrets } from "../secrets.js";
import { resolveAgentIndex } from "../agentOptions.js";
import { SIGNAL_EXIT, trapSignals } from "../signals.js";

/** One line per finished strategy, for logs that are not a terminal (CI): a long run is never silent for minutes. */
function finishedLine(event: Extract<OrchestratorEvent, { type: "strategy-done" | "strategy-failed" }>, maxErrorRate: number): string {
  const where = `[${event.index + 1}/${event.count}]`;
  if (event.type === "strategy-failed") return `regbench: ${where} ${event.strategy} failed: ${event.reason}`;
  const r: StrategyResult = event.result;
  const verdict = verdictState(r, maxErrorRate);
  const audit =
    verdict === "unknown"
      ? "? audit n/a"
      : verdict === "fail"
        ? `✗ ${fmtInt(r.audit!.violations)} violation(s)`
        : verdict === "warn"
          ? `⚠ no violation, but ${fmtPct(r.errorRate)} failed`
          : "✓ no violation";
  return [
    `regbench: ${where} ${r.strategy}${r.state === "interrupted" ? " (interrupted)" : ""}: ${fmtInt(r.succeeded)}/${fmtInt(r.requests)} succeeded in ${(r.durationMs / 1000).toFixed(2)} s`,
    `${fmtInt(r.tps)}/s`,
    `p99 ${fmtMs(r.latencyMs?.p99)} ms`,
    audit,
  ].join(" · ");
}

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

/** Defines `regbench run` and its options (from the option table). */
export function defineRun(program: Command, context: CommandContext): void {
  const command = program.command("run").description("fire concurrent registrations through one or more strategies, then audit the stored rows");
  addOptions(addOptions(command, RUN_OPTIONS), CORE_OPTIONS)
    .addHelpText("after", RUN_EXAMPLES)
    .action(async (options: Record<string, unknown>, cmd: Command) => {
      context.setExit(await runCommand(context.given(options, cmd), context.io));
    });
}

/** `regbench run`: measure, audit, report, gate. */
export async function runCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  if (options.strategy === "list") {
    io.stdout.write(`${renderStrategies()}\n`);
    return EXIT.ok;
  }
  options = resolveAgentIndex(options, io.env);
  const secrets = options.target !== undefined ? resolveSecrets(options, io.env) : undefined;
  const config = buildRunConfig(options, secrets);
  if (secrets?.onCommandLine.length) {
    io.stderr.write(
      `regbench: note: ${secrets.onCommandLine.join(", ")} puts a secret on the command line, where other users can read it (ps); REGBENCH_PROJECTS, REGBENCH_SERVER_KEY, REGBENCH_AUDIT_TOKEN, REGBENCH_AUDIT_DB_PASSWORD or --secrets-file keep it off\n`,
    );
  }
  const gate = buildGateOptions(options, config);
  const { maxErrorRate, percentiles, wide, json } = buildReportOptions(options);
  const { thresholds, failOnVerdict, maxRegression: bound } = gate;
  const baseline = gate.baseline === undefined ? undefined : loadReport(gate.baseline, "--baseline");
  if (baseline) {
    const differences = workloadDifferences(baseline, {
      ...emptyReport(config),
      results: config.strategies.map((strategy) => ({ strategy }) as StrategyResult),
    });
    if (differences.length)
      throw new UsageError(
        "--baseline",
        `was measured on another workload: ${differences.join("; ")}`,
        "Run the baseline's workload (strategy settings may differ), or save a new baseline.",
      );
  }
  const outputs = Outputs.plan(options, config.scenario ?? config.strategies.join("-"), io.env);
  const lines = !io.stderr.isTTY;
  const progress = new ProgressBar(io.stderr, io.stderr.isTTY ? (json ? "off" : "tty") : "lines");
  const interruption = trapSignals((signal) => {
    progress.clear();
    io.stderr.write(`regbench: ${signal}: stopping — the running strategy reports what it measured, every child process is stopped\n`);
  });
  let label = "";
  let outcome;
  try {
    outcome = await runAll(
      config,
      (event) => {
        if (event.type === "strategy-start") {
          label = `${event.strategy} (${event.index + 1}/${event.count})`;
          progress.restart();
        } else if (event.type === "strategy-event" && event.event.type === "progress") {
          progress.update(label, event.event);
        } else if (event.type === "strategy-done" || event.type === "strategy-failed") {
          progress.clear();
          if (lines || event.type === "strategy-failed") io.stderr.write(`${finishedLine(event, maxErrorRate)}\n`);
        }
      },
      interruption.signal,
    );
  } finally {
    interruption.dispose();
  }
  const signal = interruption.received();
  const checked = evaluateThresholds(thresholds, outcome.results);
  const report: RunReport = judged(
    {
      ...emptyReport(outcome.config),
      results: outcome.results,
      skipped: outcome.skipped,
      failed: outcome.failed,
      notes: outcome.notes,
      ...(signal ? { interrupted: { signal } } : {}),
      ...thresholdLines(checked),
    },
    maxErrorRate,
  );
  const failedRun = outcome.failed.length > 0;
  const comparisons = baseline && !signal ? compareReports(baseline, report, bound) : [];
  if (report.results.length > 0 || failedRun) {
    const { failed: unwritten } = outputs.write(report, failedRun ? "saved-only" : "all");
    for (const why of unwritten) io.stderr.write(`regbench: could not write ${why}\n`);
    if (signal && outputs.baselinePath)
      io.stderr.write(`regbench: the baseline ${outputs.baselinePath} was left as it was: an interrupted run is no baseline\n`);
    if (failedRun && !signal)
      io.stderr.write(`regbench: files named on the command line were left as they were: ${outcome.failed.length} strategy(ies) failed\n`);
  }
  if (json) {
    io.stdout.write(`${JSON.stringify(report)}\n`);
  } else if (report.results.length > 0 || failedRun) {
    const color = useColor(io);
    io.stdout.write(
      `${renderHeader(report, version())}\n${report.results.length ? `${renderTable(report, { color, percentiles, width: tableWidth({ wide }, io) })}\n` : ""}${renderNotes(report, { color })}\n`,
    );
    if (report.thresholds?.length) {
      io.stdout.write(`thresholds:\n${report.thresholds.map((t) => `  ${t.passed ? "✓" : "✗"} ${t.strategy}: ${t.expression} — ${t.detail}`).join("\n")}\n`);
    }
    if (comparisons.length) io.stdout.write(`${renderComparisons(comparisons, bound)}\n`);
  }
  if (signal) return SIGNAL_EXIT[signal];
  if (failedRun) return EXIT.cannotRun;
  const failedThresholds = (report.thresholds ?? []).filter((t) => !t.passed);
  const regressed = comparisons.filter((c) => c.verdict === "regressed");
  const judgedBadly = failOnVerdict ? atOrWorse(report.results, failOnVerdict) : [];
  if (failedThresholds.length || regressed.length || judgedBadly.length) {
    for (const t of failedThresholds) io.stderr.write(`regbench: threshold failed: ${t.strategy}: ${t.expression} — ${t.detail}\n`);
    for (const c of regressed) io.stderr.write(`regbench: ${c.strategy} regressed against the baseline\n`);
    for (const r of judgedBadly)
      io.stderr.write(
        `regbench: ${r.strategy} is ${VERDICT_MARK[r.verdict ?? "unknown"]} ${r.verdict} (--fail-on-verdict ${failOnVerdict}): ${verdictText(r, report.results)}\n`,
      );
    return EXIT.gate;
  }
  return EXIT.ok;
}
