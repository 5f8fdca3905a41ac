import assert from "node:assert/strict";
import { test } from "node:test";
import { auditRun, type Acknowledgement } from "../../src/audit/audit.js";
import { newServerKey, open, seal } from "../../src/core/crypto.js";
import type { AuditRows } from "../../src/store/store.js";

const key = newServerKey();
const sealedFor = (ip: string) => seal(`machineId: "x"\ninterfaceAddr: "${ip}/24"\n`, key);
const ack = (requestMachineId: string, machineId: string, ipv4: string, configIp = ipv4): Acknowledgement => ({
  requestMachineId,
  response: { machineId, ipv4, config: sealedFor(configIp) },
});
const openConfig = (s: string) => open(s, key);

test("a clean run has no violations", () => {
  const rows: AuditRows = {
    systems: [{ projectId: "p", systemUuid: "s" }],
    machines: [
      { machineId: "m1", projectId: "p", ipv4: "10.0.0.2" },
      { machineId: "m2", projectId: "p", ipv4: "10.0.0.3" },
    ],
  };
  const result = auditRun(rows, [ack("m1", "m1", "10.0.0.2"), ack("m2", "m2", "10.0.0.3"), ack("m1", "m1", "10.0.0.2")], openConfig);
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
  const result = auditRun(rows, [], openConfig);
  assert.deepEqual(result, { duplicateSystems: 2, duplicateMachines: 1, duplicateIps: 2, lostRegistrations: 0, violations: 5, unacknowledgedRows: 5 });
});

test("each kind of lost acknowledgement is counted once", () => {
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
  const result = auditRun(rows, acks, openConfig);
  assert.equal(result.lostRegistrations, 5);
  assert.equal(result.violations, 5);
});

test("a row whose every request failed is counted as unacknowledged, not as a violation", () => {
  const rows: AuditRows = {
    systems: [],
    machines: [
      { machineId: "m1", projectId: "p", ipv4: "10.0.0.2" },
      { machineId: "m2", projectId: "p", ipv4: "10.0.0.3" }, // its registration was reported failed
      { machineId: "m3", projectId: "p", ipv4: "10.0.0.4" }, // a re-send of m3 succeeded later
    ],
  };
  const result = auditRun(rows, [ack("m1", "m1", "10.0.0.2"), ack("m3", "m3", "10.0.0.4")], openConfig);
  assert.equal(result.unacknowledgedRows, 1);
  assert.equal(result.violations, 0);
});

test("a third party's config is read as YAML: an unquoted interfaceAddr is not a lost registration", () => {
  const rows: AuditRows = { systems: [], machines: [{ machineId: "m1", projectId: "p", ipv4: "10.0.0.2" }] };
  const unquoted = { requestMachineId: "m1", response: { machineId: "m1", ipv4: "10.0.0.2", config: seal("interfaceAddr: 10.0.0.2/12\nmdns: false\n", key) } };
  assert.equal(auditRun(rows, [unquoted], openConfig).lostRegistrations, 0);
});
