/** Exit codes, decided in one place. */
export const EXIT = Object.freeze({
  /** It ran. */
  ok: 0,
  /** `profile check`: the service answered, but not with an acknowledged registration the profile could read. */
  notAcknowledged: 1,
  /** Bad arguments: nothing ran. */
  usage: 2,
  /** It could not run (a store that cannot be opened, a dead worker). */
  cannotRun: 3,
  /** It ran, and a threshold or a baseline comparison failed (k6's code, so CI can tell a failed gate from a crash). */
  gate: 99,
});
