/** Faults a run can inject, so the report shows what breaks each strategy. */
export type Fault =
  /** With probability `probability`, a registration stalls `ms` between its reads and its writes. */
  | { readonly kind: "pause"; readonly probability: number; readonly ms: number }
  /** `atMs` into the measured window, the connection to the first Redis node is closed. */
  | { readonly kind: "redis-down"; readonly atMs: number }
  /** `atMs` into the measured window, the etcd client's connection is closed. */
  | { readonly kind: "etcd-down"; readonly atMs: number };

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
  if ((parts[0] === "redis-down" || parts[0] === "etcd-down") && parts.length === 2) {
    const atMs = Number(parts[1]);
    if (!(atMs >= 0) || !Number.isFinite(atMs) || parts[1] === "") return `${parts[0]} time must be milliseconds ≥ 0 (got ${JSON.stringify(parts[1])})`;
    return { kind: parts[0], atMs };
  }
  return `expected pause:P:MS, redis-down:AT_MS or etcd-down:AT_MS (got ${JSON.stringify(text)})`;
}

export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case "pause":
      return `pause: ${(fault.probability * 100).toFixed(1)}% of registrations stall ${fault.ms} ms between read and write`;
    case "redis-down":
      return `redis-down: the first Redis node is cut off ${fault.atMs} ms into the measured window`;
    case "etcd-down":
      return `etcd-down: the etcd client is cut off ${fault.atMs} ms into the measured window`;
  }
}

/** The lock-service fault that applies to a strategy of this backend, if the run has one. */
export function lockServiceFault(faults: readonly Fault[], backend: "local" | "redis" | "etcd"): Extract<Fault, { atMs: number }> | undefined {
  const kind = backend === "redis" ? "redis-down" : backend === "etcd" ? "etcd-down" : undefined;
  return faults.find((f): f is Extract<Fault, { atMs: number }> => f.kind === kind);
}

/** The stall of the pause fault, drawn per registration from a seeded source. */
export function pauseHook(fault: Extract<Fault, { kind: "pause" }>, random: () => number): () => Promise<void> {
  return () => (random() < fault.probability ? new Promise<void>((resolve) => setTimeout(resolve, fault.ms)) : Promise.resolve());
}
