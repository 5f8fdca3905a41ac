import { after, before } from "node:test";
import { etcdOnPath, startThrowawayEtcd, type ThrowawayEtcd } from "../src/etcd/autoServer.js";

/**
 * Whether the tests that start etcd themselves (`--etcd auto`) skip, and why: they skip without an etcd on the PATH,
 * except in CI, where REGBENCH_REQUIRE_ETCD=1 makes a missing etcd fail the suite.
 */
export function skipWithoutEtcd(): string | false {
  if (etcdOnPath()) return false;
  if (process.env.REGBENCH_REQUIRE_ETCD === "1") throw new Error("REGBENCH_REQUIRE_ETCD=1 but there is no etcd on the PATH (apt-get install etcd-server)");
  return "no etcd on the PATH: apt-get install etcd-server to run these tests";
}

/**
 * A throwaway etcd for the test file (etcd from the distribution's etcd-server package), started before and stopped
 * after it. CI sets REGBENCH_REQUIRE_ETCD=1 so that a missing etcd fails the suite; elsewhere the tests skip.
 */
export function throwawayEtcd(members = 1): { urls: () => readonly string[]; skip: string | false } {
  const skip = skipWithoutEtcd();
  const present = skip === false;
  let cluster: ThrowawayEtcd | undefined;
  if (present) {
    before(async () => {
      cluster = await startThrowawayEtcd(members);
    });
    after(async () => cluster?.stop());
  }
  return { urls: () => cluster!.urls, skip };
}
