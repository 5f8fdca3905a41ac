import type { AuditRows } from "../store/store.js";
import { auditRun, type AuditResult } from "./audit.js";
import { fetchAuditRows, type AuditEndpoint } from "./remoteRows.js";

/**
 * The audit of several load generators' runs against one target, taken once over all their rows: duplicates are
 * counted across generators (two agents can collide on one IP pool); lost registrations and unacknowledged rows were
 * counted by each agent against its own acknowledgements and are added. A string says why it cannot be taken.
 */
/** What the audit across agents reads of each agent's result: its run prefix and its own audit. */
export interface AgentPart {
  readonly run?: string;
  readonly audit: AuditResult | null;
}

export async function auditAcross(endpoint: AuditEndpoint, parts: readonly AgentPart[], run?: string): Promise<AuditResult | string> {
  const systems: AuditRows["systems"][number][] = [];
  const machines: AuditRows["machines"][number][] = [];
  // The agents of one run (`run`): its rows once — their machines and the systems they share.
  for (const prefix of run !== undefined ? [run] : parts.map((p) => p.run)) {
    if (!prefix) return "a result without its run prefix cannot be audited again";
    const rows = await fetchAuditRows(endpoint, prefix);
    if (typeof rows === "string") return rows;
    for (const s of rows.systems) systems.push(s);
    for (const m of rows.machines) machines.push(m);
  }
  if (parts.some((p) => p.audit === null)) return "an agent's lost registrations are unknown";
  const counted = auditRun({ systems, machines }, []);
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
