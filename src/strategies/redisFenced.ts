import { redisStrategy } from "./redisStrategy.js";

/** The redis lock plus a fencing token taken with it; the store refuses writes carrying an older token. */
export const redisFenced = redisStrategy({
  name: "redis-fenced",
  protects: "every invariant across processes, even when a holder stalls past its TTL: its stale writes are refused",
  exposes: "the stalled holder's registration fails (stale-fence), as it should",
  nodes: "one",
  fencing: true,
  constraints: false,
});
