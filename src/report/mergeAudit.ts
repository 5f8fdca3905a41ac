import type { AuditResult } from "../audit/audit.js";
import { auditRun } from "../audit/audit.js";
import type { AuditRows } from "../store/store.js";
import type { StrategyResult } from "./result.js";

/**
 * The audit of several load generators' runs against one target, taken once over all their rows: duplicates are
 * counted across generators (two agents can collide on one IP pool); lost registrations were counted by each agent
 * against its own acknowledgements and are added.
 */
export async function auditAcross(target: string, parts: readonly StrategyResult[]): Promise<AuditResult | string> {
  const systems: AuditRows["systems"][number][] = [];
  const machines: AuditRows["machines"][number][] = [];
  for (const part of parts) {
    if (!part.run) return "a result without its run prefix cannot be audited again";
    try {
      const res = await fetch(`${target.replace(/\/+$/, "")}/v1/audit/rows?run=${encodeURIComponent(part.run)}`);
      if (!res.ok) return `audit n/a: the target answered ${res.status} on GET /v1/audit/rows`;
      const rows = (await res.json()) as AuditRows;
      systems.push(...rows.systems);
      machines.push(...rows.machines);
    } catch (error) {
      return `audit n/a: ${(error as Error).message}`;
    }
  }
  const counted = auditRun({ systems, machines }, []);
  const lost = parts.some((p) => p.audit === null) ? null : parts.reduce((t, p) => t + p.audit!.lostRegistrations, 0);
  if (lost === null) return "audit n/a: an agent's lost registrations are unknown";
  return { ...counted, lostRegistrations: lost, violations: counted.duplicateSystems + counted.duplicateMachines + counted.duplicateIps + lost };
}
