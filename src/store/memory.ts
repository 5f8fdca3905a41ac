import { StoreError, UniqueViolationError } from "../core/errors.js";
import { StaleFenceError } from "./errors.js";
import { formatIpv4 } from "../core/ipv4.js";
import type { MachineRecord, Project } from "../core/types.js";
import type { StoreKind } from "./kind.js";
import type { AuditPage, AuditRows, AuditTable, AuditTableRow, Claim, ClaimResult, Fence, NewMachine, NewProject, NewSystem, Store } from "./store.js";
import { toAuditPage } from "./auditPages.js";

interface MemoryMachine extends NewMachine {
  readonly seq: number;
}

/**
 * A deterministic in-memory store for fast unit tests, with the same semantics as `SqliteStore`
 * (constraints or not, the atomic claim, fencing). Never the default: runs use SQLite.
 */
export class MemoryStore implements Store {
  readonly location = "memory";
  readonly claimConcurrency = Infinity;
  private readonly projects = new Map<string, Project>();
  private readonly systems: NewSystem[] = [];
  private readonly systemKeys = new Set<string>();
  private readonly machines: MemoryMachine[] = [];
  private readonly machinesById = new Map<string, MemoryMachine[]>();
  private readonly ipsByProject = new Map<string, Map<number, number>>();
  private readonly pools = new Map<string, number>();
  private readonly fences = new Map<string, number>();
  private closed = false;

  constructor(readonly constraints: boolean) {}

  async createProject(p: NewProject): Promise<void> {
    this.open();
    if (this.projects.has(p.id)) throw new StoreError(`project ${p.id} exists`);
    this.projects.set(p.id, { id: p.id, name: p.name, cidr: p.cidr, keyDigest: p.keyDigest, relayNodes: [...p.relayNodes] });
  }

  async getProject(id: string): Promise<Project | undefined> {
    this.open();
    return this.projects.get(id);
  }

  async updateProjectKey(id: string, keyDigest: Buffer): Promise<void> {
    const project = this.projects.get(id);
    if (!project) throw new StoreError(`project ${id} does not exist`);
    this.projects.set(id, { ...project, keyDigest });
  }

  async hasSystem(projectId: string, systemUuid: string): Promise<boolean> {
    this.open();
    return this.systemKeys.has(`${projectId}\u0000${systemUuid}`);
  }

  async insertSystem(system: NewSystem, fence?: Fence): Promise<void> {
    this.open();
    const key = `${system.projectId}\u0000${system.systemUuid}`;
    if (this.constraints && this.systemKeys.has(key)) throw new UniqueViolationError("system");
    if (fence) this.checkFence(fence);
    this.systemKeys.add(key);
    this.systems.push({ ...system });
  }

  async insertSystemIfAbsent(system: NewSystem): Promise<boolean> {
    this.requireConstraints("insertSystemIfAbsent");
    if (await this.hasSystem(system.projectId, system.systemUuid)) return false;
    await this.insertSystem(system);
    return true;
  }

  async findMachine(machineId: string): Promise<MachineRecord | undefined> {
    this.open();
    const row = this.machinesById.get(machineId)?.[0];
    return row && { machineId: row.machineId, projectId: row.projectId, systemUuid: row.systemUuid, ipv4: row.ipv4, config: row.config };
  }

  async nextFreeIp(projectId: string, firstHost: number, lastHost: number): Promise<number | undefined> {
    this.open();
    const used = this.ipsByProject.get(projectId);
    if (!used || used.size === 0) return firstHost;
    let max = -1;
    for (const ip of used.keys()) if (ip > max) max = ip;
    if (max < firstHost) return firstHost;
    if (max < lastHost) return max + 1;
    for (let ip = firstHost; ip <= lastHost; ip++) if (!used.has(ip)) return ip;
    return undefined;
  }

  async insertMachine(machine: NewMachine, fence?: Fence): Promise<void> {
    this.open();
    if (this.constraints) {
      if (this.machinesById.has(machine.machineId)) throw new UniqueViolationError("machine");
      if (this.ipsByProject.get(machine.projectId)?.has(machine.ipNum)) throw new UniqueViolationError("ip");
    }
    if (fence) this.checkFence(fence);
    const row: MemoryMachine = { ...machine, seq: this.machines.length };
    this.machines.push(row);
    const same = this.machinesById.get(machine.machineId);
    if (same) same.push(row);
    else this.machinesById.set(machine.machineId, [row]);
    let ips = this.ipsByProject.get(machine.projectId);
    if (!ips) this.ipsByProject.set(machine.projectId, (ips = new Map()));
    ips.set(machine.ipNum, (ips.get(machine.ipNum) ?? 0) + 1);
  }

  async advanceFence(fence: Fence): Promise<void> {
    this.open();
    this.checkFence(fence);
  }

  async claimMachines(claims: readonly Claim[]): Promise<ClaimResult[]> {
    this.requireConstraints("claimMachines");
    const results: ClaimResult[] = [];
    for (const claim of claims) results.push(await this.claimOne(claim));
    return results;
  }

  private async claimOne({ fields, firstHost, lastHost, render }: Claim): Promise<ClaimResult> {
    const existing = await this.findMachine(fields.machineId);
    if (existing) return { outcome: "existing", record: existing };
    for (;;) {
      const ipNum = this.pools.get(fields.projectId) ?? firstHost;
      this.pools.set(fields.projectId, ipNum + 1);
      if (ipNum > lastHost) return { outcome: "exhausted" };
      if (this.ipsByProject.get(fields.projectId)?.has(ipNum)) continue;
      const ipv4 = formatIpv4(ipNum);
      const machine: NewMachine = { ...fields, ipv4, ipNum, config: render(ipv4) };
      await this.insertMachine(machine);
      return { outcome: "created", record: machine };
    }
  }

  async auditRows(run: string): Promise<AuditRows> {
    this.open();
    const prefix = `${run}-`;
    return {
      systems: this.systems.filter((s) => s.systemUuid.startsWith(prefix)).map((s) => ({ projectId: s.projectId, systemUuid: s.systemUuid })),
      machines: this.machines.filter((m) => m.machineId.startsWith(prefix)).map((m) => ({ machineId: m.machineId, projectId: m.projectId, ipv4: m.ipv4 })),
    };
  }

  /** A row's position is its index + 1 in the order it was stored. */
  async auditPage<T extends AuditTable>(run: string, table: T, after: number, limit: number): Promise<AuditPage<AuditTableRow[T]>> {
    this.open();
    const prefix = `${run}-`;
    const all: readonly (NewSystem | MemoryMachine)[] = table === "systems" ? this.systems : this.machines;
    const rows: Record<string, unknown>[] = [];
    for (let at = after; at < all.length && rows.length < limit; at++) {
      const r = all[at]!;
      if (("machineId" in r ? r.machineId : r.systemUuid).startsWith(prefix)) rows.push({ ...r, id: at + 1 });
    }
    return toAuditPage(table, rows, after);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkFence(fence: Fence): void {
    const newest = this.fences.get(fence.resource);
    if (newest !== undefined && fence.token < newest) throw new StaleFenceError(fence.resource, fence.token, newest);
    this.fences.set(fence.resource, Math.max(newest ?? 0, fence.token));
  }

  private open(): void {
    if (this.closed) throw new StoreError("the memory store is closed");
  }

  private requireConstraints(what: string): void {
    this.open();
    if (!this.constraints) throw new StoreError(`${what} needs a store created with unique constraints`);
  }
}

/** `--store memory`: the deterministic test store, in the measuring process only. */
export const memoryKind: StoreKind = {
  name: "memory",
  forms: ["memory (the deterministic in-memory test store)"],
  server: false,
  parse: (text) => (text === "memory" ? { kind: "memory" } : undefined),
  describe: () => "memory",
  shareable: () => false,
  probe: async () => undefined,
  placeForRun: () => ({ location: { kind: "memory" }, temporary: false }),
  placeForServe: () => ({ location: { kind: "memory" }, temporary: false }),
  open: async (_location, settings) => new MemoryStore(settings.constraints),
  remove: async () => {},
  describeLocation: () => "memory",
};
