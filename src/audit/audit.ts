import type { AuditInput, MachineRow } from "../store/store.js";
import type { CheckedAck } from "./ackLog.js";
import { AddressSet } from "./addressSet.js";

export type { CheckedAck } from "./ackLog.js";

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

/** Where rows are fed one at a time: a RowAudit, or a filter in front of one (an agent keeps its own machines). */
export type RowSink = Pick<RowAudit, "system" | "machine">;

/**
 * The audit fed one row at a time, as a streamed source (a database cursor, pages of an endpoint) hands them over:
 * nothing of a row is kept but its identity and address (see auditRun), so a million rows never sit in memory as
 * rows. Systems and machines may come in any order; `result` is called once, after the last row.
 */
/**
 * The run's own machineIDs, `${prefix}${k}` with k a plain decimal below `below` (the workload's devices): kept by
 * k in a typed array rather than as a million strings in a map. Any other machineID is kept by its text.
 */
export interface OwnMachines {
  readonly prefix: string;
  readonly below: number;
}

export class RowAudit {
  private readonly systems = new Set<string>();
  private duplicateSystems = 0;
  // machineID → the slot of its row (a small integer, whatever the address: no number boxed per row); a machineID
  // with several rows → −(k+1), the k-th entry of `several`. A slot's address and "acknowledged" mark are in typed
  // arrays that grow by doubling.
  private readonly stored = new Map<string, number>();
  // The run's own machineIDs by their number: slot + 1, or −(k+1) as in `stored`; 0 for none.
  private byNumber = new Int32Array(0);
  private slotIp = new Float64Array(1024);
  private slotAcked = new Uint8Array(1024);
  private slots = 0;
  private readonly several: { ips: number[]; acked: boolean }[] = [];
  // The addresses taken, per project: /16 bitmaps (see AddressSet), not a hash set of a million numbers.
  private readonly addressesOf = new Map<string, AddressSet>();
  private duplicateMachines = 0;
  private duplicateIps = 0;
  /** Rows read so far, systems and machines. */
  rows = 0;

  constructor(private readonly own?: OwnMachines) {}

  /** The number of one of the run's own machineIDs, or −1. */
  private numberOf(machineId: string): number {
    const own = this.own;
    if (!own) return -1;
    const p = own.prefix.length;
    const n = machineId.length;
    // At most 9 digits (below 2^30), no leading zero: one text per number, so the numbers are as exact as the texts.
    if (n <= p || n > p + 9 || (machineId.charCodeAt(p) === 48 && n > p + 1) || !machineId.startsWith(own.prefix)) return -1;
    let k = 0;
    for (let i = p; i < n; i++) {
      const d = machineId.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return -1;
      k = k * 10 + d;
    }
    return k < own.below ? k : -1;
  }

  /** A machineID's entry: its slot (≥ 0), −(k+1) for the k-th of `several`, or undefined. */
  private entryOf(machineId: string): number | undefined {
    const k = this.numberOf(machineId);
    if (k < 0) return this.stored.get(machineId);
    const e = k < this.byNumber.length ? this.byNumber[k]! : 0;
    return e === 0 ? undefined : e > 0 ? e - 1 : e;
  }

  private setEntry(machineId: string, entry: number): void {
    const k = this.numberOf(machineId);
    if (k < 0) {
      this.stored.set(machineId, entry);
      return;
    }
    if (k >= this.byNumber.length) {
      let n = Math.max(1024, this.byNumber.length);
      while (n <= k) n *= 2;
      const grown = new Int32Array(Math.min(n, this.own!.below));
      grown.set(this.byNumber);
      this.byNumber = grown;
    }
    this.byNumber[k] = entry >= 0 ? entry + 1 : entry;
  }

  system(projectId: string, systemUuid: string): void {
    this.rows++;
    const key = `${projectId}\u0000${systemUuid}`;
    if (this.systems.has(key)) this.duplicateSystems++;
    else this.systems.add(key);
  }

  machine(m: MachineRow): void {
    this.rows++;
    const ip = addressNumber(m.ipv4);
    let taken = this.addressesOf.get(m.projectId);
    if (!taken) this.addressesOf.set(m.projectId, (taken = new AddressSet()));
    if (taken.add(ip)) this.duplicateIps++;
    const known = this.entryOf(m.machineId);
    if (known === undefined) {
      if (this.slots === this.slotIp.length) this.grow();
      this.slotIp[this.slots] = ip;
      this.setEntry(m.machineId, this.slots++);
    } else {
      this.duplicateMachines++;
      if (known >= 0) {
        this.several.push({ ips: [this.slotIp[known]!, ip], acked: false });
        this.setEntry(m.machineId, -this.several.length);
      } else {
        this.several[-known - 1]!.ips.push(ip);
      }
    }
  }

  private grow(): void {
    const ips = new Float64Array(this.slotIp.length * 2);
    ips.set(this.slotIp);
    const acked = new Uint8Array(ips.length);
    acked.set(this.slotAcked);
    this.slotIp = ips;
    this.slotAcked = acked;
  }

  /** Matches the acknowledgements against the rows read, and counts. */
  result(acks: Iterable<CheckedAck>): AuditResult {
    const { stored, byNumber, several, duplicateSystems, duplicateMachines, duplicateIps, slotIp, slotAcked } = this;
    this.addressesOf.clear();
    this.systems.clear();
    let lostRegistrations = 0;
    for (const ack of acks) {
      const known = this.entryOf(ack.machineId);
      const ip = addressNumber(ack.ipv4);
      let holds = false;
      if (known !== undefined && known >= 0) {
        holds = slotIp[known] === ip;
        slotAcked[known] = 1;
      } else if (known !== undefined) {
        const entry = several[-known - 1]!;
        entry.acked = true;
        holds = entry.ips.includes(ip);
      }
      if (!ack.agrees || !holds) lostRegistrations++;
    }
    let unacknowledgedRows = 0;
    const unacknowledged = (value: number) => {
      if (value >= 0) {
        if (slotAcked[value] === 0) unacknowledgedRows++;
      } else {
        const entry = several[-value - 1]!;
        if (!entry.acked) unacknowledgedRows += entry.ips.length;
      }
    };
    for (const value of stored.values()) unacknowledged(value);
    for (const e of byNumber) if (e !== 0) unacknowledged(e > 0 ? e - 1 : e);
    return {
      duplicateSystems,
      duplicateMachines,
      duplicateIps,
      lostRegistrations,
      violations: duplicateSystems + duplicateMachines + duplicateIps + lostRegistrations,
      unacknowledgedRows,
    };
  }
}

/**
 * Counts duplicates, lost registrations and unacknowledged rows. An acknowledgement is lost when it does not agree
 * (the response named another machine, or its sealed config did not open or named another IP than the response:
 * see AckLog) or when no stored row of the device's machineID carries the IP the response carried.
 *
 * Built for a million rows: one map from machineID to a slot holding its address as a number and an "acknowledged"
 * mark, a compact set of numeric addresses per project (AddressSet: /16 bitmaps), and no key string built per row.
 */
export function auditRun(rows: AuditInput, acks: Iterable<CheckedAck>, own?: OwnMachines): AuditResult {
  const audit = new RowAudit(own);
  for (const s of rows.systems) audit.system(s.projectId, s.systemUuid);
  for (const m of rows.machines) audit.machine(m);
  return audit.result(acks);
}

/** A dotted quad as its 32-bit number; anything else (a malformed stored value) as a number no address has. */
function addressNumber(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4) return 2 ** 32 + hashOf(text);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!Number.isInteger(v) || v < 0 || v > 255 || !/^\d{1,3}$/.test(p)) return 2 ** 32 + hashOf(text);
    n = n * 256 + v;
  }
  return n;
}

/** Distinct malformed texts stay distinct from each other and from every address (2^32 and up). */
const malformed = new Map<string, number>();
function hashOf(text: string): number {
  let k = malformed.get(text);
  if (k === undefined) malformed.set(text, (k = malformed.size));
  return k;
}
