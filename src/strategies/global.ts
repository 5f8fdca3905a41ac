import { exclusive } from "../locks/exclusive.js";
import { globalLock } from "../locks/keyedLock.js";
import { Mutex } from "../sync/mutex.js";
import type { StrategyDefinition } from "./strategy.js";

/** One process-wide mutex around the whole registration. */
export const global: StrategyDefinition = {
  name: "global",
  kind: "exclusion",
  protects: "everything, inside one process: registrations run one at a time",
  exposes: "throughput (one at a time, every store round trip inside the lock); other processes are not excluded",
  guarantee: "process",
  needs: {},
  defaultLockKey: "system",
  constraints: false,
  create(service, settings) {
    const lock = globalLock(new Mutex("global"), settings.lockTimeoutMs);
    const sections = exclusive(lock);
    return {
      // One key for every registration: a timeout names the lock "global", whatever the request.
      register: (r) => sections.run("global", () => service.register(r)),
      stats: () => sections.stats(),
      close: () => lock.close(),
    };
  },
};
