import { findLockService, lockServices } from "../locks/services/registry.js";

/** Faults a run can inject, so the report shows what breaks each strategy. */
export type Fault =
  /** With probability `probability`, a registration stalls `ms` between its reads and its writes. */
  | { readonly kind: "pause"; readonly probability: number; readonly ms: number }
  /**
   * `atMs` into the measured window, the strategy's connection to its lock service is closed (`redis-down`: the first
   * Redis node's; `etcd-down`: the etcd client's). `name` is the service's fault name, as it was given.
   */
  | { readonly kind: "lock-service-down"; readonly service: string; readonly name: string; readonly atMs: number };

/** A fault that cuts a lock service part-way. */
export type LockServiceFault = Extract<Fault, { kind: "lock-service-down" }>;

/** Parses one `--fault` value; returns the fault or an error message. */
export function parseFault(text: string): Fault | string {
  const parts = text.split(":");
  if (parts[0] === "pause" && parts.length === 3) {
    const probability = Number(parts[1]);
    const ms = Number(parts[2]);
    if (!(probability >= 0 && probability <= 1) || parts[1] === "") return `pause probability must be between 0 and 1 (got ${JSON.stringify(parts[1])})`;
    if (!(ms >= 0) || !Number.isFinite(ms) || parts[2] === "") return `pause duration must be milliseconds ≥ 0 (got ${JSON.stringify(parts[2])})`;
    return { kind: "pause", probability, ms };
  }
  const service = lockServices().find((s) => s.faultName === parts[0]);
  if (service && parts.length === 2) {
    const atMs = Number(parts[1]);
    if (!(atMs >= 0) || !Number.isFinite(atMs) || parts[1] === "")
      return `${service.faultName} time must be milliseconds ≥ 0 (got ${JSON.stringify(parts[1])})`;
    return { kind: "lock-service-down", service: service.name, name: service.faultName, atMs };
  }
  return `expected pause:P:MS, ${lockServiceFaultNames().join(" or ")} (got ${JSON.stringify(text)})`;
}

/** The lock services' faults as `--fault` takes them: `redis-down:AT_MS`, `etcd-down:AT_MS`… */
export function lockServiceFaultNames(): string[] {
  return lockServices().map((s) => `${s.faultName}:AT_MS`);
}

export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case "pause":
      return `pause: ${(fault.probability * 100).toFixed(1)}% of registrations stall ${fault.ms} ms between read and write`;
    case "lock-service-down":
      return `${fault.name}: ${findLockService(fault.service)?.cutDescription ?? `the ${fault.service} client is cut off`} ${fault.atMs} ms into the measured window`;
  }
}

/** The lock-service fault that applies to a strategy locking in `service` (undefined: none), if the run has one. */
export function lockServiceFault(faults: readonly Fault[], service: string | undefined): LockServiceFault | undefined {
  return service === undefined ? undefined : faults.find((f): f is LockServiceFault => f.kind === "lock-service-down" && f.service === service);
}

/** The stall of the pause fault, drawn per registration from a seeded source. */
export function pauseHook(fault: Extract<Fault, { kind: "pause" }>, random: () => number): () => Promise<void> {
  return () => (random() < fault.probability ? new Promise<void>((resolve) => setTimeout(resolve, fault.ms)) : Promise.resolve());
}
