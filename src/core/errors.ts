/**
 * Typed errors. Every failure a registration can meet has a kind, so that the report counts errors by kind
 * and the CLI and HTTP layers map kinds to exit codes and status codes in one place each. The errors of the locks
 * (`LockLostError`, `LockServiceUnavailableError`) live in `locks/errors.ts`, the store's stale fence in
 * `store/errors.ts`; their kinds are named here, with every other.
 */

/** The kinds of failure a registration can end in; `internal` is anything not foreseen. */
export type ErrorKind =
  | "invalid-request"
  | "unknown-project"
  | "wrong-key"
  | "pool-exhausted"
  | "machine-conflict"
  | "lock-timeout"
  | "lock-busy"
  | "lock-lost"
  | "lock-service-unavailable"
  | "conflict"
  | "unique-violation"
  | "transaction-conflict"
  | "stale-fence"
  | "store"
  | "internal";

export abstract class RegbenchError extends Error {
  abstract readonly kind: ErrorKind;
}

/** A request field is missing, of the wrong type, too long or malformed. */
export class ValidationError extends RegbenchError {
  readonly kind = "invalid-request" as const;
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid request: ${field} ${reason}`);
  }
}

export class UnknownProjectError extends RegbenchError {
  readonly kind = "unknown-project" as const;
  constructor(readonly projectId: string) {
    super(`unknown project ${JSON.stringify(projectId)}`);
  }
}

export class WrongKeyError extends RegbenchError {
  readonly kind = "wrong-key" as const;
  constructor(readonly projectId: string) {
    super(`wrong key for project ${JSON.stringify(projectId)}`);
  }
}

export class PoolExhaustedError extends RegbenchError {
  readonly kind = "pool-exhausted" as const;
  constructor(
    readonly projectId: string,
    readonly cidr: string,
  ) {
    super(`no free IPv4 left in ${cidr} for project ${JSON.stringify(projectId)}`);
  }
}

/**
 * The machineID is already registered under another project. Nothing of that row (its project, IP or config) is
 * told: one project's key never reaches another project's rows.
 */
export class MachineConflictError extends RegbenchError {
  readonly kind = "machine-conflict" as const;
  constructor(readonly machineId: string) {
    super(`machine ${JSON.stringify(machineId)} is already registered under another project`);
  }
}

/** A waiter gave up on a lock after `waitedMs`; it never enters the critical section afterwards. */
export class LockTimeoutError extends RegbenchError {
  readonly kind = "lock-timeout" as const;
  constructor(
    readonly key: string,
    readonly waitedMs: number,
  ) {
    super(`timed out after ${waitedMs.toFixed(0)} ms waiting for the lock on ${JSON.stringify(key)}`);
  }
}

/** A fail-fast lock was held by someone else: "system is registering, retry later". */
export class LockBusyError extends RegbenchError {
  readonly kind = "lock-busy" as const;
  constructor(readonly key: string) {
    super(`the lock on ${JSON.stringify(key)} is held: system is registering, retry later`);
  }
}

/** Which unique constraint a write ran into. */
export type Constraint = "system" | "machine" | "ip";

/** A write hit a unique constraint (only on stores created with constraints). */
export class UniqueViolationError extends RegbenchError {
  readonly kind = "unique-violation" as const;
  constructor(
    readonly constraint: Constraint,
    cause?: unknown,
  ) {
    super(`unique constraint on ${constraint} violated`, { cause });
  }
}

/** Why a database aborted a transaction that may succeed if run again. */
export type TransactionConflict = "deadlock" | "serialization" | "lock-wait-timeout";

/**
 * The database aborted a write because of another transaction: a deadlock (PostgreSQL 40P01, InnoDB 1213), a
 * serialization failure (40001) or a lock wait that timed out (InnoDB 1205). Nothing of it was written; running it
 * again may succeed, which is what the strategies that retry on conflicts do.
 */
export class TransactionConflictError extends RegbenchError {
  readonly kind = "transaction-conflict" as const;
  constructor(
    readonly reason: TransactionConflict,
    cause?: unknown,
  ) {
    super(
      `the database aborted the write: ${reason === "deadlock" ? "a deadlock" : reason === "serialization" ? "a serialization failure" : "a lock wait timed out"}`,
      { cause },
    );
  }
}

/** What a retried write last conflicted on: a unique constraint, or a transaction conflict. */
export type ConflictCause = Constraint | TransactionConflict;

/** Retrying after constraint or transaction conflicts ran out of attempts. */
export class ConflictError extends RegbenchError {
  readonly kind = "conflict" as const;
  constructor(
    readonly attempts: number,
    readonly last: ConflictCause,
  ) {
    super(`still conflicting (${last}) after ${attempts} attempts`);
  }
}

/** The store failed for a reason that is not a constraint (I/O, busy timeout, closed). */
export class StoreError extends RegbenchError {
  readonly kind = "store" as const;
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

/** Normalises anything thrown into an Error. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** The kind of any thrown value; unforeseen throws are `internal`. */
export function errorKind(value: unknown): ErrorKind {
  return value instanceof RegbenchError ? value.kind : "internal";
}
