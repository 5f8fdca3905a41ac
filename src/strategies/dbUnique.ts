import { newConflictStats, retryOnConflict } from "./retry.js";
import type { StrategyDefinition } from "./strategy.js";

/** No lock: the unique constraints catch every race, and a conflicting registration retries with backoff. */
export const dbUnique: StrategyDefinition = {
  name: "db-unique",
  kind: "optimistic",
  protects: "every invariant, across processes: the database refuses the second row",
  exposes: "throughput under contention (conflicts and retries, counted); registrations fail once retries run out",
  guarantee: "global",
  needs: {},
  defaultLockKey: "system",
  constraints: true,
  create(service, settings) {
    const stats = newConflictStats();
    return {
      register: (r) => retryOnConflict(() => service.register(r, { transaction: true }), settings.retry, settings.random, stats),
      stats: () => ({ ...stats }),
      close: async () => {},
    };
  },
};
