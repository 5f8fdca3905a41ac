import { etcdService } from "./etcd.js";
import { redisService } from "./redis.js";
import type { LockService } from "./service.js";

/**
 * The lock services regbench knows, in the order the pre-flight prepares them. A new one is a file beside these (a
 * `LockService`) and one line here; a test may add one with `registerLockService`.
 */
const SERVICES: LockService[] = [redisService, etcdService];

export function lockServices(): readonly LockService[] {
  return SERVICES;
}

export function findLockService(name: string | undefined): LockService | undefined {
  return name === undefined ? undefined : SERVICES.find((s) => s.name === name);
}

/** Adds a service (a test's fake); returns the function that removes it again. */
export function registerLockService(service: LockService): () => void {
  if (findLockService(service.name)) throw new Error(`a lock service named ${JSON.stringify(service.name)} is already registered`);
  SERVICES.push(service);
  return () => {
    const at = SERVICES.indexOf(service);
    if (at >= 0) SERVICES.splice(at, 1);
  };
}
