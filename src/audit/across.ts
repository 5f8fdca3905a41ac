import { RowAudit, type AuditResult, type RowSink } from "./audit.js";

/** What the audit across agents reads of each agent's result: its run prefix and its own audit. */
export interface AgentPart {
  readonly run?: string;
  readonly audit: AuditResult | null;
}

/**
 * Where the rows of a run come from: feeds every row whose IDs start with `run` to `sink`, and returns undefined
 * when all were read, else why not — the target's `GET /v1/audit/rows` page by page (readAuditPages) or the
 * service's own database through a cursor (readAuditDb), as `run` reads them.
 */
export type RowReader = (run: string, sink: RowSink) => Promise<string | undefined>;

/**
 * The audit of several load generators' runs against one target, taken once over all their rows: duplicates are
 * counted across generators (two agents can collide on one IP pool); lost registrations and unacknowledged rows were
 * counted by each agent against its own acknowledgements and are added. The rows stream from `read` into one
 * RowAudit, never the run's rows at once. A string says why it cannot be taken.
 */
export async function auditAcross(read: RowReader, parts: readonly AgentPart[], run?: string): Promise<AuditResult | string> {
  if (parts.some((p) => p.audit === null)) return "an agent's lost registrations are unknown";
  const rows = new RowAudit();
  // The agents of one run (`run`): its rows once — their machines and the systems they share.
  for (const prefix of run !== undefined ? [run] : parts.map((p) => p.run)) {
    if (!prefix) return "a result without its run prefix cannot be audited again";
    const failed = await read(prefix, rows);
    if (failed !== undefined) return failed;
  }
  const counted = rows.result([]);
  const lost = parts.reduce((t, p) => t + p.audit!.lostRegistrations, 0);
  const unacknowledged = parts.every((p) => p.audit!.unacknowledgedRows !== undefined)
    ? parts.reduce((t, p) => t + p.audit!.unacknowledgedRows!, 0)
    : undefined;
  return {
    duplicateSystems: counted.duplicateSystems,
    duplicateMachines: counted.duplicateMachines,
    duplicateIps: counted.duplicateIps,
    lostRegistrations: lost,
    violations: counted.duplicateSystems + counted.duplicateMachines + counted.duplicateIps + lost,
    ...(unacknowledged !== undefined ? { unacknowledgedRows: unacknowledged } : {}),
  };
}
