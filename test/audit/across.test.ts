import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { auditAcross } from "../../src/audit/across.js";
import { readAuditPages } from "../../src/audit/remoteRows.js";
import { createRegistrationServer } from "../../src/http/server.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { NewMachine, NewSystem } from "../../src/store/store.js";
import type { Strategy } from "../../src/strategies/strategy.js";

const TOKEN = "across-token";
const ZERO = { duplicateSystems: 0, duplicateMachines: 0, duplicateIps: 0, lostRegistrations: 0, violations: 0 };
// Rows of run r with duplicates of every kind, and rows of run rx (another run) that `run=r` must not read.
const systems: NewSystem[] = ["r-s0", "r-s1", "r-s0", "r-s2", "r-s1", "r-s0", "rx-s0", "rx-s0"].map((systemUuid, i) => ({
  projectId: i === 3 ? "q" : "p",
  systemUuid,
  systemName: systemUuid,
}));
const machines: NewMachine[] = Array.from({ length: 15 }, (_, i) => {
  const machineId = i >= 13 ? `rx-m${i % 3}` : `r-m${i % 11}`;
  const ip = `10.0.0.${i % 7}`;
  return {
    machineId,
    projectId: i === 5 ? "q" : "p",
    systemUuid: "r-s0",
    peerId: "peer",
    hostname: "h",
    arch: "x86_64",
    distro: "d",
    kernelVersion: "k",
    ipv4: ip,
    ipNum: 0x0a000000 + (i % 7),
    config: "",
  };
});

/** Σ (rows − 1) over each group of the rows whose key starts with one of the prefixes: the recount, made here. */
function recount<T>(rows: readonly T[], id: (r: T) => string, key: (r: T) => string, prefixes: readonly string[]): number {
  const groups = new Map<string, number>();
  for (const r of rows) if (prefixes.some((p) => id(r).startsWith(`${p}-`))) groups.set(key(r), (groups.get(key(r)) ?? 0) + 1);
  return [...groups.values()].reduce((t, n) => t + n - 1, 0);
}

let url = "";
const asked: string[] = [];
let close = () => {};
after(() => close());
before(async () => {
  const store = new MemoryStore(false);
  for (const s of systems) await store.insertSystem(s);
  for (const m of machines) await store.insertMachine(m);
  // regbench's own server, paging from its store; no registration is sent, so no strategy is needed.
  const server = createRegistrationServer({ strategy: {} as Strategy, store, strategyName: "none", auditToken: TOKEN, log: () => {} });
  server.on("request", (req) => asked.push(req.url!));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  close = () => void server.close();
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

for (const prefixes of [["r"], ["r", "rx"]]) {
  test(`merge's audit reads ${prefixes.join(", ")} page by page, several requests at a page smaller than the run, and counts as a recount does`, async () => {
    asked.length = 0;
    const parts = prefixes.map((run, i) => ({ run, audit: { ...ZERO, lostRegistrations: i + 1, unacknowledgedRows: 2 * i } }));
    const endpoint = { url, token: TOKEN, timeoutMs: 5000 };
    const audit = await auditAcross((run, sink) => readAuditPages(endpoint, run, sink, 4), parts, prefixes.length === 1 ? "r" : undefined);
    const duplicateSystems = recount(
      systems,
      (s) => s.systemUuid,
      (s) => `${s.projectId} ${s.systemUuid}`,
      prefixes,
    );
    const duplicateMachines = recount(
      machines,
      (m) => m.machineId,
      (m) => m.machineId,
      prefixes,
    );
    const duplicateIps = recount(
      machines,
      (m) => m.machineId,
      (m) => `${m.projectId} ${m.ipv4}`,
      prefixes,
    );
    const lostRegistrations = prefixes.length === 1 ? 1 : 3;
    assert.ok(duplicateSystems > 0 && duplicateMachines > 0 && duplicateIps > 0, "the fixture has duplicates of every kind");
    assert.deepEqual(audit, {
      duplicateSystems,
      duplicateMachines,
      duplicateIps,
      lostRegistrations,
      violations: duplicateSystems + duplicateMachines + duplicateIps + lostRegistrations,
      unacknowledgedRows: prefixes.length === 1 ? 0 : 2,
    });
    // Every request asked for one page of 4; the run's rows (more than 4) took several.
    const rows = prefixes.reduce(
      (t, p) => t + systems.filter((s) => s.systemUuid.startsWith(`${p}-`)).length + machines.filter((m) => m.machineId.startsWith(`${p}-`)).length,
      0,
    );
    assert.ok(
      asked.every((u) => new URL(u, url).searchParams.get("limit") === "4"),
      asked.join(" "),
    );
    assert.ok(rows > 4 * prefixes.length && asked.length >= Math.ceil(rows / 4), asked.join(" "));
  });
}
