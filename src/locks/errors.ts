import { RegbenchError } from "../core/errors.js";

/** A lock expired or was taken over while its holder still needed it; the holder must not write. */
export class LockLostError extends RegbenchError {
  readonly kind = "lock-lost" as const;
  constructor(
    readonly key: string,
    readonly when: "extend" | "release",
  ) {
    super(`the lock on ${JSON.stringify(key)} was lost (found gone at ${when})`);
  }
}

/**
 * A lock service did not answer (refused, closed, timed out, no leader, or too few nodes for a quorum). `service` is
 * its name in the registry (`redis`, `etcd`); the message names it too.
 */
export class LockServiceUnavailableError extends RegbenchError {
  readonly kind = "lock-service-unavailable" as const;
  constructor(
    readonly service: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}
