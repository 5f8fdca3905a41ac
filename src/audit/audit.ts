import type { RegisterResponse } from "../core/types.js";
import type { AuditRows } from "../store/store.js";
import { interfaceIpv4 } from "./configAddress.js";

/** A successful response, with the machineID the device sent (which the response may not carry). */
export interface Acknowledgement {
  readonly requestMachineId: string;
  readonly response: RegisterResponse;
}

/** What the stored rows say about a run. Counted from the rows, never from the client's bookkeeping. */
export interface AuditResult {
  /** Σ over (project, systemUUID) of (rows − 1). */
  readonly duplicateSystems: number;
  /** Σ over machineID of (rows − 1). */
  readonly duplicateMachines: number;
  /** Σ over (project, IPv4) of (rows − 1). */
  readonly duplicateIps: number;
  /** Successful responses with no stored row for the device's machineID carrying the IP the response carried. */
  readonly lostRegistrations: number;
  readonly violations: number;
  /**
   * Machine rows of the run none of whose requests succeeded: a write that committed although its registration
   * was reported failed (a timeout, a lock lost after the write, an interrupted run). Not a violation — the device
   * retries and gets its row back — but never hidden. Absent in results of older versions.
   */
  readonly unacknowledgedRows?: number;
}

function surplus(keys: Iterable<string>): number {
  const counts = new Map<string, number>();
  let extra = 0;
  for (const key of keys) {
    const seen = counts.get(key) ?? 0;
    if (seen > 0) extra++;
    counts.set(key, seen + 1);
  }
  return extra;
}

/**
 * Counts duplicates, lost registrations and unacknowledged rows. An acknowledgement is lost when the response
 * names another machine, when its sealed config does not open or its `interfaceAddr` (read as YAML) names another
 * IP than the response, or when no stored row of the device's machineID carries that IP. `openConfig` opens a
 * sealed config (undefined when it cannot); without it (a target whose server key is not known) the configs are
 * not checked, only the IPs.
 */
export function auditRun(rows: AuditRows, acks: Iterable<Acknowledgement>, openConfig?: (sealed: string) => string | undefined): AuditResult {
  const duplicateSystems = surplus(rows.systems.map((s) => `${s.projectId}\u0000${s.systemUuid}`));
  const duplicateMachines = surplus(rows.machines.map((m) => m.machineId));
  const duplicateIps = surplus(rows.machines.map((m) => `${m.projectId}\u0000${m.ipv4}`));
  const stored = new Map<string, Set<string>>();
  for (const m of rows.machines) {
    let ips = stored.get(m.machineId);
    if (!ips) stored.set(m.machineId, (ips = new Set()));
    ips.add(m.ipv4);
  }
  const acknowledged = new Set<string>();
  let lostRegistrations = 0;
  for (const ack of acks) {
    const { response } = ack;
    acknowledged.add(ack.requestMachineId);
    let agrees = response.machineId === ack.requestMachineId;
    if (agrees && openConfig) {
      const yaml = openConfig(response.config);
      agrees = yaml !== undefined && interfaceIpv4(yaml) === response.ipv4;
    }
    if (!agrees || !stored.get(ack.requestMachineId)?.has(response.ipv4)) lostRegistrations++;
  }
  const unacknowledgedRows = rows.machines.reduce((n, m) => (acknowledged.has(m.machineId) ? n : n + 1), 0);
  return {
    duplicateSystems,
    duplicateMachines,
    duplicateIps,
    lostRegistrations,
    violations: duplicateSystems + duplicateMachines + duplicateIps + lostRegistrations,
    unacknowledgedRows,
  };
}
