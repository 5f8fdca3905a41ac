import assert from "node:assert/strict";
import { test } from "node:test";
import { AckLog } from "../../src/audit/ackLog.js";
import { auditRun, type CheckedAck } from "../../src/audit/audit.js";
import { mulberry32 } from "../../src/workload/prng.js";
import { newServerKey, seal } from "../../src/core/crypto.js";
import type { RegisterResponse } from "../../src/core/types.js";
import type { AuditRows } from "../../src/store/store.js";

const key = newServerKey();
const sealedFor = (ip: string) => seal(`machineId: "x"\ninterfaceAddr: "${ip}/24"\n`, key);
interface Ack {
  requestMachineId: string;
  response: RegisterResponse;
}
const ack = (requestMachineId: string, machineId: string, ipv4: string, configIp = ipv4): Ack => ({
  requestMachineId,
  response: { machineId, ipv4, config: sealedFor(configIp) },
});

/** The acknowledgements as the drivers keep them: in an AckLog that opens each config with the server key. */
async function checked(acks: readonly Ack[], openKey: Buffer | null = key): Promise<CheckedAck[]> {
  const log = new AckLog(openKey ?? undefined);
  acks.forEach((a, i) => log.add(i, a.requestMachineId, a.response));
  await log.finish();
  return [...log.entries((i) => acks[i]!.requestMachineId)];
}

test("a clean run has no violations", async () => {
  const rows: AuditRows = {
    systems: [{ projectId: "p", systemUuid: "s" }],
    machines: [
      { machineId: "m1", projectId: "p", ipv4: "10.0.0.2" },
      { machineId: "m2", projectId: "p", ipv4: "10.0.0.3" },
    ],
  };
  const result = auditRun(rows, await checked([ack("m1", "m1", "10.0.0.2"), ack("m2", "m2", "10.0.0.3"), ack("m1", "m1", "10.0.0.2")]));
  assert.deepEqual(result, { duplicateSystems: 0, duplicateMachines: 0, duplicateIps: 0, lostRegistrations: 0, violations: 0, unacknowledgedRows: 0 });
});

test("planted duplicates are counted as rows beyond the first", () => {
  const rows: AuditRows = {
    systems: [
      { projectId: "p", systemUuid: "s" },
      { projectId: "p", systemUuid: "s" },
      { projectId: "p", systemUuid: "s" },
      { projectId: "q", systemUuid: "s" }, // another project: not a duplicate
    ],
    machines: [
      { machineId: "m1", projectId: "p", ipv4: "10.0.0.2" },
      { machineId: "m1", projectId: "p", ipv4: "10.0.0.3" }, // duplicate machine
      { machineId: "m2", projectId: "p", ipv4: "10.0.0.2" }, // duplicate IP
      { machineId: "m3", projectId: "p", ipv4: "10.0.0.2" }, // duplicate IP again
      { machineId: "m4", projectId: "q", ipv4: "10.0.0.2" }, // same IP, other project: fine
    ],
  };
  const result = auditRun(rows, []);
  assert.deepEqual(result, { duplicateSystems: 2, duplicateMachines: 1, duplicateIps: 2, lostRegistrations: 0, violations: 5, unacknowledgedRows: 5 });
});

test("each kind of lost acknowledgement is counted once", async () => {
  const rows: AuditRows = {
    systems: [],
    machines: [
      { machineId: "m1", projectId: "p", ipv4: "10.0.0.2" },
      { machineId: "m2", projectId: "p", ipv4: "10.0.0.3" },
    ],
  };
  const acks = [
    ack("m1", "m1", "10.0.0.2"), // fine
    ack("m9", "m9", "10.0.0.9"), // never stored
    ack("m2", "m2", "10.0.0.4"), // stored with another IP
    ack("m3", "m1", "10.0.0.2"), // coalesced: got another device's response
    ack("m2", "m2", "10.0.0.3", "10.0.0.7"), // config disagrees with the IP in clear
    { requestMachineId: "m1", response: { machineId: "m1", ipv4: "10.0.0.2", config: seal("x", newServerKey()) } }, // cannot open
  ];
  const result = auditRun(rows, await checked(acks));
  assert.equal(result.lostRegistrations, 5);
  assert.equal(result.violations, 5);
});

test("a row whose every request failed is counted as unacknowledged, not as a violation", async () => {
  const rows: AuditRows = {
    systems: [],
    machines: [
      { machineId: "m1", projectId: "p", ipv4: "10.0.0.2" },
      { machineId: "m2", projectId: "p", ipv4: "10.0.0.3" }, // its registration was reported failed
      { machineId: "m3", projectId: "p", ipv4: "10.0.0.4" }, // a re-send of m3 succeeded later
    ],
  };
  const result = auditRun(rows, await checked([ack("m1", "m1", "10.0.0.2"), ack("m3", "m3", "10.0.0.4")]));
  assert.equal(result.unacknowledgedRows, 1);
  assert.equal(result.violations, 0);
});

test("a third party's config is read as YAML: an unquoted interfaceAddr is not a lost registration", async () => {
  const rows: AuditRows = { systems: [], machines: [{ machineId: "m1", projectId: "p", ipv4: "10.0.0.2" }] };
  const unquoted = { requestMachineId: "m1", response: { machineId: "m1", ipv4: "10.0.0.2", config: seal("interfaceAddr: 10.0.0.2/12\nmdns: false\n", key) } };
  assert.equal(auditRun(rows, await checked([unquoted])).lostRegistrations, 0);
});

test("without the server key the configs are not checked, only the IPs", async () => {
  const rows: AuditRows = { systems: [], machines: [{ machineId: "m1", projectId: "p", ipv4: "10.0.0.2" }] };
  const unopenable = { requestMachineId: "m1", response: { machineId: "m1", ipv4: "10.0.0.2", config: "not sealed" } };
  assert.equal(auditRun(rows, await checked([unopenable], null)).lostRegistrations, 0);
  assert.equal(auditRun(rows, await checked([unopenable])).lostRegistrations, 1);
});

test("a large log checks its configs on the verifier thread, chunk by chunk, with the same answers", async () => {
  // 20,000 acknowledgements: two full chunks go to the verifier thread, the rest is checked at the end.
  const acks: Ack[] = [];
  const machines: AuditRows["machines"][number][] = [];
  for (let i = 0; i < 20_000; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    // Every 1,000th config names another address than the answer: a lost registration each.
    acks.push(ack(`m${i}`, `m${i}`, ip, i % 1000 === 0 ? "10.255.255.255" : ip));
    machines.push({ machineId: `m${i}`, projectId: "p", ipv4: ip });
  }
  const result = auditRun({ systems: [], machines }, await checked(acks));
  assert.equal(result.lostRegistrations, 20);
  assert.equal(result.duplicateIps, 0);
});

test("duplicate IPs are counted exactly across /16 chunks, bitmaps, the address edges and malformed values, per project", () => {
  const machines: AuditRows["machines"][number][] = [];
  let n = 0;
  const row = (projectId: string, ipv4: string) => machines.push({ machineId: `m${n++}`, projectId, ipv4 });
  // 0.0.0.0 twice (1), 255.255.255.255 three times (2), neighbours across a /16 boundary once each (0), the same
  // malformed text twice (1), and the same addresses in another project (0).
  for (const ipv4 of ["0.0.0.0", "0.0.0.0", "255.255.255.255", "255.255.255.255", "255.255.255.255", "10.0.255.255", "10.1.0.0", "n/a", "n/a"]) row("p", ipv4);
  for (const ipv4 of ["0.0.0.0", "255.255.255.255", "10.0.255.255", "n/a"]) row("q", ipv4);
  // 2,000 distinct addresses in one /16 (past a small chunk: a bitmap), then every 100th again (20).
  for (let i = 0; i < 2000; i++) row("p", `10.2.${i >> 8}.${i & 255}`);
  for (let i = 0; i < 2000; i += 100) row("p", `10.2.${i >> 8}.${i & 255}`);
  const result = auditRun({ systems: [], machines }, []);
  assert.equal(result.duplicateIps, 1 + 2 + 1 + 20);
  assert.equal(result.duplicateMachines, 0);
  assert.equal(result.unacknowledgedRows, machines.length);
});

test("the run's own machineIDs kept by number count exactly as by text: duplicates, lost, unacknowledged, look-alikes", async () => {
  const random = mulberry32(7);
  const machines: AuditRows["machines"][number][] = [];
  const acks: Ack[] = [];
  // Look-alikes that must stay apart from r1-m7 and r1-m12: a leading zero, another run, a suffix, past `below`.
  const ids = ["r1-m7", "r1-m007", "r1-m12", "r1-m1 ", "r2-m7", "r1-m", "r1-w7", "r1-m4000", "r1-m1234567890"];
  for (let k = 0; k < 3000; k++) ids.push(`r1-m${k}`);
  for (const id of ids) {
    const ip = `10.0.${Math.floor(random() * 16)}.${Math.floor(random() * 256)}`;
    // Some machines stored twice (one with another address), some acknowledged with the stored address, some with
    // another one (lost), some not at all (unacknowledged).
    machines.push({ machineId: id, projectId: "p", ipv4: ip });
    if (random() < 0.05) machines.push({ machineId: id, projectId: "p", ipv4: random() < 0.5 ? ip : "10.1.0.1" });
    const r = random();
    if (r < 0.7) acks.push(ack(id, id, ip));
    else if (r < 0.8) acks.push(ack(id, id, "10.2.0.9"));
    if (random() < 0.05) acks.push(ack(id, id, ip));
  }
  // Acknowledged devices without a row: lost whatever their number.
  for (const id of ["r1-m3500", "r1-m0042", "r1-m99999"]) acks.push(ack(id, id, "10.0.0.9"));
  for (let k = machines.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    [machines[k], machines[j]] = [machines[j]!, machines[k]!];
  }
  const checkedAcks = await checked(acks);
  const byText = auditRun({ systems: [], machines }, checkedAcks);
  const byNumber = auditRun({ systems: [], machines }, checkedAcks, { prefix: "r1-m", below: 3600 });
  assert.deepEqual(byNumber, byText);
  assert.ok(byText.duplicateMachines > 50 && byText.lostRegistrations > 100 && byText.unacknowledgedRows! > 100, JSON.stringify(byText));
});
