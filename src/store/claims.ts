import { TransactionConflictError } from "../core/errors.js";
import { formatIpv4 } from "../core/ipv4.js";
import type { MachineRecord } from "../core/types.js";
import type { Claim, ClaimResult, NewMachine } from "./store.js";

/** What a server store does, inside one transaction, for `claimMachines`; the algorithm is the same for every SQL dialect. */
export interface ClaimOps {
  /** The stored rows of these machineIDs (the first row of each). */
  existing(machineIds: readonly string[]): Promise<Map<string, MachineRecord>>;
  /** Moves the project's counter on by `count` with one atomic statement and returns where it stood (created at `firstHost`). */
  reserve(projectId: string, firstHost: number, count: number): Promise<number>;
  /**
   * Inserts the rows, skipping any that hits a unique constraint (a machine inserted meanwhile by another process, an
   * address taken outside the counter); returns the machineIDs inserted, or undefined when the dialect cannot tell.
   */
  insert(rows: readonly NewMachine[]): Promise<Set<string> | undefined>;
}

/**
 * The atomic claim of a batch: every machine that exists is answered with its row; every new one takes the next
 * address of its project's counter (one statement per project) and is inserted (one statement for the batch). A
 * device appearing twice in a batch gets the first one's row. A row that did not go in because the machine was
 * inserted meanwhile is answered with that row; one whose address was taken outside the counter takes another.
 */
export async function claimBatch(claims: readonly Claim[], ops: ClaimOps): Promise<ClaimResult[]> {
  const results: (ClaimResult | undefined)[] = new Array(claims.length);
  const firstOf = new Map<string, number>();
  claims.forEach((claim, i) => {
    if (!firstOf.has(claim.fields.machineId)) firstOf.set(claim.fields.machineId, i);
  });
  const found = await ops.existing([...firstOf.keys()]);
  let pending: number[] = [];
  for (const [machineId, i] of firstOf) {
    const row = found.get(machineId);
    if (row) results[i] = { outcome: "existing", record: row };
    else pending.push(i);
  }
  while (pending.length > 0) {
    const byProject = new Map<string, number[]>();
    for (const i of pending) {
      const projectId = claims[i]!.fields.projectId;
      const list = byProject.get(projectId);
      if (list) list.push(i);
      else byProject.set(projectId, [i]);
    }
    const rows: { i: number; machine: NewMachine }[] = [];
    for (const [projectId, indices] of byProject) {
      const start = await ops.reserve(projectId, claims[indices[0]!]!.firstHost, indices.length);
      indices.forEach((i, k) => {
        const claim = claims[i]!;
        const ipNum = start + k;
        if (ipNum > claim.lastHost) {
          results[i] = { outcome: "exhausted" };
          return;
        }
        const ipv4 = formatIpv4(ipNum);
        rows.push({ i, machine: { ...claim.fields, ipv4, ipNum, config: claim.render(ipv4) } });
      });
    }
    if (rows.length === 0) break;
    const inserted = await ops.insert(rows.map((r) => r.machine));
    const unsure = rows.filter((r) => !inserted?.has(r.machine.machineId));
    for (const r of rows) if (inserted?.has(r.machine.machineId)) results[r.i] = { outcome: "created", record: r.machine };
    pending = [];
    if (unsure.length > 0) {
      const now = await ops.existing(unsure.map((r) => r.machine.machineId));
      for (const r of unsure) {
        const row = now.get(r.machine.machineId);
        if (row && row.ipv4 === r.machine.ipv4) results[r.i] = { outcome: "created", record: r.machine };
        else if (row) results[r.i] = { outcome: "existing", record: row };
        else pending.push(r.i); // its address was taken outside the counter: take the next one
      }
    }
  }
  return claims.map((claim, i) => {
    const first = firstOf.get(claim.fields.machineId)!;
    if (first === i) return results[i]!;
    const outcome = results[first]!;
    return outcome.outcome === "exhausted" ? outcome : { outcome: "existing", record: outcome.record };
  });
}

/** Attempts of a claim batch aborted by a deadlock or a serialization failure before it gives up. */
const CLAIM_ATTEMPTS = 10;

/**
 * Runs a claim batch's transaction again when the database aborted it for another transaction (it wrote nothing), with
 * a short jittered backoff; `retry` false (the batch is part of a larger transaction, which is then lost) runs it once.
 */
export async function retryAborted<T>(run: () => Promise<T>, retry: boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof TransactionConflictError) || attempt >= CLAIM_ATTEMPTS || !retry) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** attempt));
    }
  }
}
