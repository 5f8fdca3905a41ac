import { lockedStrategy } from "./locked.js";
import type { StrategyDefinition } from "./strategy.js";

function etcdStrategy(options: { name: string; protects: string; exposes: string; fencing: boolean }): StrategyDefinition {
  return lockedStrategy({
    ...options,
    lockService: { name: "etcd" },
    constraints: false,
  });
}

/** The second seed's etcd lock: a lease-bound key per acquisition, waiters served in create-revision order, keep-alive. */
export const etcd = etcdStrategy({
  name: "etcd",
  protects: "every invariant across processes, while the lease holds (kept alive, the holder aborted if it is lost)",
  exposes: "a holder that stalls past the lease TTL without its keep-alive writes beside the next holder",
  fencing: false,
});

/** The etcd lock whose key's create revision is the fencing token the store checks. */
export const etcdFenced = etcdStrategy({
  name: "etcd-fenced",
  protects: "every invariant across processes, even when a holder stalls past its lease: its stale writes are refused",
  exposes: "the stalled holder's registration fails (stale-fence), as it should",
  fencing: true,
});
