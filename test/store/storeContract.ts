import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { StoreError, UniqueViolationError } from "../../src/core/errors.js";
import { StaleFenceError } from "../../src/store/errors.js";
import { formatIpv4, parseCidr } from "../../src/core/ipv4.js";
import type { MachineFields, NewMachine, Store } from "../../src/store/store.js";
import { project } from "../helpers.js";

const cidr = parseCidr("10.1.0.0/29")!; // hosts .2 to .6

function fields(i: number, projectId = "t-p0"): MachineFields {
  return { machineId: `t-m${i}`, projectId, systemUuid: "t-s0", peerId: "p", hostname: "h", arch: "a", distro: "d", kernelVersion: "k" };
}

function machine(i: number, ipNum: number, projectId = "t-p0"): NewMachine {
  const ipv4 = formatIpv4(ipNum);
  return { ...fields(i, projectId), ipv4, ipNum, config: `interfaceAddr: "${ipv4}/29"` };
}

const claim = (i: number) => ({ fields: fields(i), firstHost: cidr.firstHost, lastHost: cidr.lastHost, render: (ip: string) => `ip ${ip}` });

/** The behaviour every store must have, run against each implementation on its real backend. */
export function storeContract(name: string, open: (constraints: boolean) => Promise<Store>, skip: string | false = false): void {
  describe(`store contract: ${name}`, { skip }, () => {
    test("projects round-trip with their key digest", async () => {
      const store = await open(true);
      await store.createProject(project("t-p0", cidr.text));
      const p = await store.getProject("t-p0");
      assert.equal(p?.cidr, cidr.text);
      assert.deepEqual(p?.relayNodes, ["relay-1.test:3478"]);
      assert.ok(Buffer.from(p!.keyDigest).equals(project().keyDigest));
      assert.equal(await store.getProject("nope"), undefined);
      await store.close();
    });

    for (const constraints of [true, false]) {
      test(`systems ${constraints ? "are unique" : "may duplicate"} ${constraints ? "with" : "without"} constraints`, async () => {
        const store = await open(constraints);
        const system = { projectId: "t-p0", systemUuid: "t-s0", systemName: "s" };
        assert.equal(await store.hasSystem("t-p0", "t-s0"), false);
        await store.insertSystem(system);
        assert.equal(await store.hasSystem("t-p0", "t-s0"), true);
        if (constraints) {
          await assert.rejects(store.insertSystem(system), (e) => e instanceof UniqueViolationError && e.constraint === "system");
          assert.equal(await store.insertSystemIfAbsent(system), false);
          assert.equal(await store.insertSystemIfAbsent({ ...system, systemUuid: "t-s1" }), true);
        } else {
          await store.insertSystem(system);
          await assert.rejects(store.insertSystemIfAbsent(system), StoreError);
        }
        const rows = await store.auditRows("t");
        assert.equal(rows.systems.length, 2);
        await store.close();
      });

      test(`machines ${constraints ? "are unique by ID and by address" : "may duplicate"} ${constraints ? "with" : "without"} constraints`, async () => {
        const store = await open(constraints);
        await store.insertMachine(machine(1, cidr.firstHost));
        assert.equal((await store.findMachine("t-m1"))?.ipv4, "10.1.0.2");
        if (constraints) {
          await assert.rejects(store.insertMachine(machine(1, cidr.firstHost + 1)), (e) => e instanceof UniqueViolationError && e.constraint === "machine");
          await assert.rejects(store.insertMachine(machine(2, cidr.firstHost)), (e) => e instanceof UniqueViolationError && e.constraint === "ip");
          // The same address in another project is fine.
          await store.insertMachine(machine(3, cidr.firstHost, "t-p1"));
          assert.equal((await store.auditRows("t")).machines.length, 2);
        } else {
          await store.insertMachine(machine(1, cidr.firstHost + 1));
          await store.insertMachine(machine(2, cidr.firstHost));
          assert.equal((await store.auditRows("t")).machines.length, 3);
        }
        await store.close();
      });
    }

    test("the audit rows come page by page, in storage order, the same rows as at once, and only the run's", async () => {
      const store = await open(false);
      assert.ok(store.auditPage, `${name} pages its audit rows`);
      for (let i = 0; i < 7; i++) await store.insertMachine(machine(i, cidr.firstHost + (i % 5)));
      await store.insertMachine({ ...machine(99, cidr.firstHost), machineId: "tx-m99" });
      for (let i = 0; i < 4; i++) await store.insertSystem({ projectId: "t-p0", systemUuid: `t-s${i % 3}`, systemName: "s" });
      await store.insertSystem({ projectId: "t-p0", systemUuid: "tx-s0", systemName: "s" });
      const all = await store.auditRows("t");
      for (const table of ["systems", "machines"] as const) {
        const paged: unknown[] = [];
        let pages = 0;
        for (let after = 0; ; pages++) {
          const page = await store.auditPage!("t", table, after, 3);
          paged.push(...page.rows);
          if (page.rows.length < 3) break;
          assert.ok(page.last > after, "a page advances");
          after = page.last;
        }
        // The same rows (SQLite's all-at-once read follows its index, not the storage order).
        const sorted = (rows: readonly unknown[]) => rows.map((r) => JSON.stringify(r)).sort();
        assert.deepEqual(sorted(paged), sorted(all[table]), table);
        assert.equal(pages, Math.floor(all[table].length / 3), table);
      }
      assert.equal(all.machines.length, 7);
      assert.equal(all.systems.length, 4);
      await store.close();
    });

    test("the allocator's read: next after the highest, then the lowest gap, then nothing", async () => {
      const store = await open(false);
      assert.equal(await store.nextFreeIp("t-p0", cidr.firstHost, cidr.lastHost), cidr.firstHost);
      await store.insertMachine(machine(1, cidr.firstHost));
      await store.insertMachine(machine(2, cidr.firstHost + 1));
      assert.equal(await store.nextFreeIp("t-p0", cidr.firstHost, cidr.lastHost), cidr.firstHost + 2);
      await store.insertMachine(machine(3, cidr.lastHost));
      assert.equal(await store.nextFreeIp("t-p0", cidr.firstHost, cidr.lastHost), cidr.firstHost + 2, "gap after .3");
      await store.insertMachine(machine(4, cidr.firstHost + 2));
      await store.insertMachine(machine(5, cidr.firstHost + 3));
      assert.equal(await store.nextFreeIp("t-p0", cidr.firstHost, cidr.lastHost), undefined, "full");
      assert.equal(await store.nextFreeIp("t-p1", cidr.firstHost, cidr.lastHost), cidr.firstHost, "other project");
      await store.close();
    });

    test("claims take consecutive addresses, return existing rows, and stop at the end of the pool", async () => {
      const store = await open(true);
      const first = await store.claimMachines([claim(1), claim(2), claim(1)]);
      assert.deepEqual(
        first.map((r) => r.outcome),
        ["created", "created", "existing"],
      );
      assert.deepEqual(
        first.map((r) => (r.outcome === "exhausted" ? null : r.record.ipv4)),
        ["10.1.0.2", "10.1.0.3", "10.1.0.2"],
      );
      assert.equal((first[0] as { record: { config: string } }).record.config, "ip 10.1.0.2");
      const rest = await store.claimMachines([3, 4, 5, 6].map(claim));
      assert.deepEqual(
        rest.map((r) => r.outcome),
        ["created", "created", "created", "exhausted"],
      );
      assert.equal((await store.auditRows("t")).machines.length, 5);
      await store.close();
    });

    test("claims skip an address taken outside the counter", async () => {
      const store = await open(true);
      await store.insertMachine(machine(9, cidr.firstHost));
      const [r] = await store.claimMachines([claim(1)]);
      assert.equal(r?.outcome === "created" && r.record.ipv4, "10.1.0.3");
      await store.close();
    });

    test("a stale fencing token is refused and writes nothing", async () => {
      const store = await open(false);
      await store.insertMachine(machine(1, cidr.firstHost), { resource: "lock:a", token: 5 });
      await store.insertMachine(machine(2, cidr.firstHost + 1), { resource: "lock:a", token: 5 });
      await assert.rejects(
        store.insertMachine(machine(3, cidr.firstHost + 2), { resource: "lock:a", token: 4 }),
        (e) => e instanceof StaleFenceError && e.newest === 5,
      );
      await store.insertMachine(machine(4, cidr.firstHost + 3), { resource: "lock:b", token: 1 });
      assert.deepEqual((await store.auditRows("t")).machines.map((m) => m.machineId).sort(), ["t-m1", "t-m2", "t-m4"]);
      await store.close();
    });

    test("audit rows are selected by ID prefix and carry no configs", async () => {
      const store = await open(false);
      await store.insertMachine(machine(1, cidr.firstHost, "t-p0"));
      await store.insertMachine({ ...machine(2, cidr.firstHost, "t-p0"), machineId: "u-m2" });
      await store.insertSystem({ projectId: "t-p0", systemUuid: "u-s", systemName: "s" });
      await store.insertSystem({ projectId: "t-p0", systemUuid: "t-s", systemName: "s" });
      const rows = await store.auditRows("t");
      assert.deepEqual(rows.machines, [{ machineId: "t-m1", projectId: "t-p0", ipv4: "10.1.0.2" }]);
      assert.deepEqual(rows.systems, [{ projectId: "t-p0", systemUuid: "t-s" }]);
      await store.close();
    });

    test("a project's key can be replaced; the old digest is gone", async () => {
      const store = await open(true);
      await store.createProject(project("t-p0", cidr.text));
      const digest = Buffer.alloc(32, 7);
      await store.updateProjectKey("t-p0", digest);
      assert.ok(Buffer.from((await store.getProject("t-p0"))!.keyDigest).equals(digest));
      await store.close();
    });

    test("audit rows are exactly one run's: run t is not run tx", async () => {
      const store = await open(false);
      await store.insertMachine(machine(1, cidr.firstHost));
      await store.insertMachine({ ...machine(2, cidr.firstHost + 1), machineId: "tx-m2" });
      await store.insertSystem({ projectId: "t-p0", systemUuid: "tx-s", systemName: "s" });
      assert.deepEqual(
        (await store.auditRows("t")).machines.map((m) => m.machineId),
        ["t-m1"],
      );
      assert.deepEqual(
        (await store.auditRows("tx")).machines.map((m) => m.machineId),
        ["tx-m2"],
      );
      assert.deepEqual((await store.auditRows("t")).systems, []);
      await store.close();
    });

    test("a closed store refuses calls", async () => {
      const store = await open(false);
      await store.close();
      await assert.rejects(store.getProject("t-p0"));
    });
  });
}
