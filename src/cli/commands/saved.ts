import { auditAcross } from "../../audit/across.js";
import { compareReports, renderComparisons, workloadDifferences } from "../../gate/baseline.js";
import { mergeAgents } from "../../report/aggregate.js";
import { EXPORTERS } from "../../report/exporters/registry.js";
import type { RunReport, StrategyResult } from "../../report/result.js";
import { EXIT } from "../exitCodes.js";
import { parseDurationMs, UsageError } from "../options.js";
import { writeAtomically } from "../outputs.js";
import { resolveSecrets } from "../secrets.js";
import { boundOf, loadReport, type Io } from "../shared.js";

/** `regbench report FILE…`: re-renders saved results; several files become one table. */
export function reportCommand(files: string[], options: Record<string, unknown>, io: Io): number {
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
export function compareCommand(oldPath: string, newPath: string, options: Record<string, unknown>, io: Io): number {
  const bound = boundOf(options);
  const old = loadReport(oldPath, "OLD");
  const now = loadReport(newPath, "NEW");
  const differences = workloadDifferences(old, now);
  if (differences.length) throw new UsageError("compare", `refuses to compare different workloads: ${differences.join("; ")}`, "Compare two runs of the same workload.");
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
  if (timeoutMs === undefined || timeoutMs <= 0) throw new UsageError("--timeout", `must be a duration above 0 (got ${String(options.timeout)})`, "For example: --timeout 10s.");
  const token = options.target !== undefined ? resolveSecrets({ auditToken: options.auditToken, secretsFile: options.secretsFile }, io.env).auditToken : undefined;
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
  const report: RunReport = { ...reports[0]!, results, notes: [...new Set([...reports.flatMap((r) => r.notes), ...notes])] };
  const text = EXPORTERS.json!.render(report);
  if (options.out !== undefined) writeAtomically(String(options.out), text);
  else io.stdout.write(text);
  return EXIT.ok;
}
