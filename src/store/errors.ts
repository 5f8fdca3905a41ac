import { RegbenchError } from "../core/errors.js";

/** A write carried a fencing token older than one the store already accepted for that resource. */
export class StaleFenceError extends RegbenchError {
  readonly kind = "stale-fence" as const;
  constructor(
    readonly resource: string,
    readonly token: number,
    readonly newest: number,
  ) {
    super(`stale fencing token ${token} for ${resource}: ${newest} was already accepted`);
  }
}
