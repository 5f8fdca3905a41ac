import { lockedStrategy } from "./locked.js";
import type { StrategyDefinition } from "./strategy.js";

/** What distinguishes one Redis-locked strategy from another. */
export interface RedisStrategyOptions {
  readonly name: string;
  readonly protects: string;
  readonly exposes: string;
  /** Lock over every --redis URL with a quorum (Redlock), or over the first only. */
  readonly nodes: "one" | "all";
  /** Take a fencing token with the lock and have the store refuse writes with an older one. */
  readonly fencing: boolean;
  /** Run on tables with the unique constraints and retry on conflict. */
  readonly constraints: boolean;
  /** Redisson's reentrant lock (a hash of owner → hold count): the registration path's nested lock is granted. */
  readonly reentrant?: boolean;
}

/** A strategy on the Redis lock (one node, or a quorum over every --redis URL). */
export function redisStrategy(options: RedisStrategyOptions): StrategyDefinition {
  return lockedStrategy({
    ...options,
    lockService: { name: "redis", nodes: options.nodes },
    reentrant: options.reentrant ?? false,
  });
}
