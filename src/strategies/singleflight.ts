import type { RegisterResponse } from "../core/types.js";
import { SingleFlight } from "../sync/singleflight.js";
import { lockKeyOf, type StrategyDefinition } from "./strategy.js";

/**
 * The seed's first recommendation, exactly as written: concurrent registrations with the same systemUUID share
 * one execution of the whole registration. The callers that were coalesced get the leader's response — the
 * leader's machine and IP — and their own machine is never stored. The audit counts them as lost.
 */
export const singleflight: StrategyDefinition = {
  name: "singleflight",
  kind: "coalescing",
  protects: "the system row (one creation per flight), inside one process",
  exposes: "coalesced devices get the leader's machine and IP and are never stored (lost registrations); different keys still race on the IP pool",
  guarantee: "none",
  backend: { kind: "local" },
  defaultLockKey: "system",
  constraints: false,
  create(service, settings) {
    const group = new SingleFlight<RegisterResponse>();
    let flights = 0;
    let coalesced = 0;
    return {
      async register(r) {
        const result = await group.do(lockKeyOf(r, settings.lockKey), () => service.register(r));
        if (result.leader) flights++;
        else coalesced++;
        return result.value;
      },
      stats: () => ({ flights, coalesced }),
      close: async () => {},
    };
  },
};
