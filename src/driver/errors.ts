import type { ErrorKind } from "../core/errors.js";

/** A strategy could not be run at all (its store would not open, its process or server died). */
export class CannotRunError extends Error {
  constructor(
    readonly strategy: string,
    readonly reason: ErrorKind | "worker" | "target",
    message: string,
  ) {
    super(`${strategy}: ${message}`);
  }
}

/** The run was stopped by a signal before this strategy produced a result. */
export class InterruptedError extends Error {
  constructor(readonly strategy: string) {
    super(`${strategy}: interrupted before it produced a result`);
  }
}
