import { auditAcross } from "../../audit/across.js";
import { compareReports, renderComparisons, settingDifferences, workloadDifferences, workloadLabel } from "../../gate/baseline.js";
import { DEFAULT_MAX_ERROR_RATE } from "../../report/verdict.js";
import { mergeAgents } from "../../report/aggregate.js";
import { EXPORTERS } from "../../report/exporters/registry.js";
import type { RunReport, StrategyResult } from "../../report/result.js";
import { EXIT } from "../exitCodes.js";
import { parseDurationMs, UsageError } from "../options.js";
import { writeAtomically } from "../outputs.js";
import { resolveSecrets } from "../secrets.js";
import { boundOf, judged, loadReport, maxErrorRateOf, percentilesOf, type Io } from "../shared.js";

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
  io.stdout.write(exporter.render(combined, { percentiles: percentilesOf(options) }));
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
  const timeoutMs = options.timeout === undefined ? 10_000 : parseDurationMs(String(options.timeout));
  if (timeoutMs === undefined || timeoutMs <= 0)
    throw new UsageError("--timeout", `must be a duration above 0 (got ${String(options.timeout)})`, "For example: --timeout 10s.");
  const token =
    options.target !== undefined ? resolveSecrets({ auditToken: options.auditToken, secretsFile: options.secretsFile }, io.env).auditToken : undefined;
  const names = [...new Set(reports.flatMap((r) => r.results.map((x) => x.strategy)))];
  const notes: string[] = [];
  const results: StrategyResult[] = [];
  for (const name of names) {
    const parts = reports.flatMap((r) => r.results.filter((x) => x.strategy === name));
    let merged = mergeAgents(parts);
    if (options.target !== undefined) {
      const audit = await auditAcross({ url: String(options.target), token, timeoutMs }, parts);
      if (typeof audit === "string") {
        notes.push(`${name}: audit n/a: ${audit}`);
        merged = { ...merged, audit: null };
      } else {
        merged = { ...merged, audit };
      }
    } else {
      notes.push(`${name}: audit = the agents' audits added; duplicates between agents are not seen without --target`);
    }
    results.push(merged);
  }
  const first = reports[0]!;
  const bound = typeof first.config.maxErrorRate === "number" ? first.config.maxErrorRate : DEFAULT_MAX_ERROR_RATE;
  const report: RunReport = judged({ ...first, results, notes: [...new Set([...reports.flatMap((r) => r.notes), ...notes])] }, bound);
  const text = EXPORTERS.json!.render(report);
  if (options.out !== undefined) writeAtomically(String(options.out), text);
  else io.stdout.write(text);
  return EXIT.ok;
}
