import type { StrategyDefinition } from "./strategy.js";

/** No coordination at all: the baseline whose races the audit must show. */
export const none: StrategyDefinition = {
  name: "none",
  kind: "none",
  protects: "nothing: the baseline",
  exposes: "every race: duplicate systems, duplicate IPs, duplicate machine rows on retries",
  guarantee: "none",
  needs: {},
  defaultLockKey: "system",
  constraints: false,
  create(service) {
    return { register: (r) => service.register(r), stats: () => ({}), close: async () => {} };
  },
};
