import { createHash } from "node:crypto";

/**
 * The lock namespace of `regbench serve`: every server on one store must take its locks under the same keys, or two
 * servers never wait for each other (a PID-made prefix gave 55 duplicate IPs across two servers). A namespace is
 * given (`--lock-namespace`, the secrets file, REGBENCH_LOCK_NAMESPACE) or derived from the store's identity, so that
 * servers on one store agree without being told. Runs (`regbench run`) keep keys of their own, under their run prefix.
 */

/** Letters, digits, `_`, `.` and `-`: safe inside a Redis key and an etcd key, and never a separator of either. */
export const LOCK_NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** The problem with a namespace, or undefined when it can be used. */
export function checkLockNamespace(name: string): string | undefined {
  return LOCK_NAMESPACE.test(name)
    ? undefined
    : `must be 1 to 63 letters, digits, _, . or -, starting with a letter or digit (got ${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)})`;
}

/** The namespace servers on one store agree on untold: a digest of the store's identity (never a PID). */
export function derivedLockNamespace(storeIdentity: string): string {
  return `store-${createHash("sha256").update(storeIdentity).digest("hex").slice(0, 16)}`;
}
