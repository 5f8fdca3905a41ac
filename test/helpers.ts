import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { keyDigest } from "../src/core/crypto.js";
import type { RegisterRequest } from "../src/core/types.js";
import type { NewProject } from "../src/store/store.js";

/** A temporary directory removed when the test file ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "regbench-test-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const PROJECT_KEY = "correct horse battery staple";

export function project(id = "t-p0", cidr = "10.1.0.0/24"): NewProject {
  return { id, name: `project ${id}`, cidr, keyDigest: keyDigest(PROJECT_KEY), relayNodes: ["relay-1.test:3478"] };
}

export function request(i: number, overrides: Partial<RegisterRequest> = {}): RegisterRequest {
  return {
    projectId: "t-p0",
    key: PROJECT_KEY,
    systemUuid: "t-s0",
    systemName: "system 0",
    machineId: `t-m${i}`,
    peerId: `peer-${i}`,
    hostname: `host-${i}`,
    arch: "x86_64",
    distro: "debian 12",
    kernelVersion: "6.1.0",
    ...overrides,
  };
}
