import type { RegisterResponse } from "../core/types.js";
import { SingleFlight } from "../sync/singleflight.js";
import { lockKeyOf, type StrategyDefinition } from "./strategy.js";

/**
 * The seed's first recommendation, exactly as written: concurrent registrations with the same systemUUID share
 * one execution of the whole registration. The callers that were coalesced get the leader's response — the
 * leader's machine and IP — and their own machine is never stored. The audit counts them as lost.
 *
 * Every request is authenticated (its project key checked in constant time) before it may join a flight: a
 * follower is handed the leader's answer without running anything, so a key checked only inside the flight would
 * let a wrong key read another device's address and sealed config. The flight key carries the project, so a
 * follower only ever gets an answer of its own project.
 */
export const singleflight: StrategyDefinition = {
  name: "singleflight",
  kind: "coalescing",
  protects: "the system row (one creation per flight), inside one process",
  exposes: "coalesced devices get the leader's machine and IP and are never stored (lost registrations); different keys still race on the IP pool",
  guarantee: "none",
  needs: {},
  defaultLockKey: "system",
  constraints: false,
  create(service, settings) {
    const group = new SingleFlight<RegisterResponse>();
    let flights = 0;
    let coalesced = 0;
    return {
      async register(body) {
        const { request } = await service.authenticate(body);
        const result = await group.do(lockKeyOf(request, settings.lockKey), () => service.register(request));
        if (result.leader) flights++;
        else coalesced++;
        return result.value;
      },
      stats: () => ({ flights, coalesced }),
      close: async () => {},
    };
  },
};
