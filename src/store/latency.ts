import { setTimeout as sleep } from "node:timers/promises";
import type { Store } from "./store.js";

/**
 * Decorates a store so that every call first waits `ms` milliseconds, standing in for the network round trip to
 * a remote database. Node's timers have a 1 ms granularity, so fractional values round up to a whole tick.
 */
export function withLatency(inner: Store, ms: number): Store {
  if (ms <= 0) return inner;
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function" || property === "close") return value;
      return async (...args: unknown[]) => {
        await sleep(ms);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
