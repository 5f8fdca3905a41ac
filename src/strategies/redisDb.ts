import { redisStrategy } from "./redisStrategy.js";

/** The seed's hybrid: the Redis lock for contention, the unique constraints for correctness. */
export const redisDb = redisStrategy({
  name: "redis-db",
  protects: "every invariant across processes: the lock for contention, the constraints when the lock fails",
  exposes: "a stalled holder's duplicate is refused by a constraint and retried, at the cost of retries",
  nodes: "one",
  fencing: false,
  constraints: true,
});
