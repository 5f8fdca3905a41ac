import { Mutex } from "../sync/mutex.js";
import type { StrategyDefinition } from "./strategy.js";

/** One process-wide mutex around the whole registration. */
export const global: StrategyDefinition = {
  name: "global",
  kind: "exclusion",
  protects: "everything, inside one process: registrations run one at a time",
  exposes: "throughput (one at a time, every store round trip inside the lock); other processes are not excluded",
  guarantee: "process",
  backend: { kind: "local" },
  defaultLockKey: "system",
  constraints: false,
  create(service, settings) {
    const mutex = new Mutex("global");
    return {
      register: (r) => mutex.runExclusive(() => service.register(r), settings.lockTimeoutMs),
      stats: () => ({ lock: { ...mutex.stats } }),
      close: async () => {},
    };
  },
};
