import { MachineConflictError, PoolExhaustedError, StoreError, UnknownProjectError, WrongKeyError } from "./errors.js";
import { formatIpv4, parseCidr, type Cidr } from "./ipv4.js";
import { keyMatches, seal } from "./crypto.js";
import type { MachineRecord, Project, RegisterRequest, RegisterResponse } from "./types.js";
import { ProjectCache } from "./projectCache.js";
import { validateRequest } from "./validate.js";
import { DEFAULT_VPN_SETTINGS, renderVpnConfig, type VpnSettings } from "./vpnConfig.js";
import type { Claim, ClaimResult, Fence, MachineFields, Store } from "../store/store.js";

export interface ServiceSettings {
  /** AES-256 key that seals every returned config. */
  readonly serverKey: Buffer;
  /** How long a project read from the store is reused (see ProjectCache); 0 reads it for every registration. */
  readonly projectCacheMs: number;
  readonly vpn: VpnSettings;
  /** Awaited between the reads and the machine write (the pause fault stalls a registration here). */
  readonly beforeMachineWrite?: () => Promise<void>;
}

/** What a strategy may add to one registration: cancellation, a fencing token, a hook between read and write. */
export interface RegisterOptions {
  /** Aborted when the lock protecting this registration is lost; checked before every write. */
  readonly signal?: AbortSignal;
  /** Passed to the store with the machine write, which refuses stale tokens. */
  readonly fence?: Fence;
  /** Awaited after the reads and before the writes (where fault injection stalls a registration). */
  readonly beforeWrite?: () => Promise<void>;
  /**
   * Called as each write has committed: a lock that is lost later can then tell the registrations whose writes
   * committed while it was valid from those that wrote after (see LockBatches).
   */
  readonly onWritten?: () => void;
  /**
   * Run the reads and writes in one database transaction where the store can (a database server), as the seed's
   * registrations with constraints do: a race then ends in a unique violation, a deadlock or a serialization failure
   * that the strategy retries. On SQLite every store call is its own transaction regardless.
   */
  readonly transaction?: boolean;
  /** Wraps the system row's check-and-create, as a locked helper would be (a strategy's nested lock). */
  readonly aroundSystem?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** A project as the registration path uses it: the stored row plus its parsed pool. */
export interface AuthenticatedProject {
  readonly project: Project;
  readonly cidr: Cidr;
}

/**
 * The registration core, as the seed describes it. It offers the whole read-then-write registration (`register`)
 * and the steps strategies compose differently (`authenticate`, `claimAndStore`); it never prints and holds no
 * lock of its own: keeping it correct under concurrency is the strategy's job.
 */
export class RegistrationService {
  private readonly cidrs = new Map<string, Cidr>();
  private readonly projects: ProjectCache;

  constructor(
    readonly store: Store,
    readonly settings: ServiceSettings,
  ) {
    this.projects = new ProjectCache((id) => store.getProject(id), settings.projectCacheMs);
  }

  /** Validates the request and checks the project key in constant time. */
  async authenticate(body: unknown): Promise<{ request: RegisterRequest } & AuthenticatedProject> {
    const request = validateRequest(body);
    const project = await this.projects.get(request.projectId);
    if (!project) throw new UnknownProjectError(request.projectId);
    if (!keyMatches(request.key, project.keyDigest)) throw new WrongKeyError(request.projectId);
    return { request, project, cidr: this.cidrOf(project) };
  }

  /**
   * The seed's registration: validate → key → make sure the system exists → return the existing registration of
   * this machine if there is one → read the next free address → render → write. Every read is a separate store
   * call from the write that depends on it: under concurrency without protection, that is where rows duplicate.
   */
  async register(body: unknown, options: RegisterOptions = {}): Promise<RegisterResponse> {
    const auth = await this.authenticate(body);
    const { transaction } = this.store;
    if (!options.transaction || !transaction) return this.readThenWrite(this.store, auth, options);
    // Inside a transaction a write commits with it: the writes are marked once the transaction has committed.
    let wrote = false;
    const response = await transaction.call<Store, [(tx: Store) => Promise<RegisterResponse>], Promise<RegisterResponse>>(this.store, (tx) =>
      this.readThenWrite(tx, auth, { ...options, onWritten: () => void (wrote = true) }),
    );
    if (wrote) options.onWritten?.();
    return response;
  }

  /**
   * The read half alone: a registration that exists already (a re-send) gets its answer, read only; undefined when
   * the device must still be created.
   */
  async lookup(body: unknown): Promise<RegisterResponse | undefined> {
    const { request, project } = await this.authenticate(body);
    const existing = await this.store.findMachine(request.machineId);
    return existing ? this.respondExisting(existing, project.id) : undefined;
  }

  private async readThenWrite(
    store: Store,
    { request, project, cidr }: { request: RegisterRequest } & AuthenticatedProject,
    options: RegisterOptions,
  ): Promise<RegisterResponse> {
    const ensureSystem = async () => {
      if (await store.hasSystem(project.id, request.systemUuid)) return;
      await this.beforeWrite(options);
      await store.insertSystem({ projectId: project.id, systemUuid: request.systemUuid, systemName: request.systemName }, options.fence);
      options.onWritten?.();
    };
    await (options.aroundSystem ? options.aroundSystem(ensureSystem) : ensureSystem());
    const existing = await store.findMachine(request.machineId);
    if (existing) return this.respondExisting(existing, project.id);
    const ipNum = await store.nextFreeIp(project.id, cidr.firstHost, cidr.lastHost);
    if (ipNum === undefined) throw new PoolExhaustedError(project.id, cidr.text);
    const ipv4 = formatIpv4(ipNum);
    const config = this.render(project, cidr, request.machineId, ipv4);
    if (this.settings.beforeMachineWrite) await this.settings.beforeMachineWrite();
    await this.beforeWrite(options);
    await store.insertMachine({ ...machineFields(request), ipv4, ipNum, config }, options.fence);
    options.onWritten?.();
    return this.respond({ machineId: request.machineId, projectId: project.id, systemUuid: request.systemUuid, ipv4, config });
  }

  /**
   * The machine half of the `atomic` strategy, as a claim for `Store.claimMachines`: the store returns the
   * existing row or takes the pool's next address with one atomic statement and inserts the row.
   */
  claimFor(request: RegisterRequest, auth: AuthenticatedProject): Claim {
    const { project, cidr } = auth;
    return {
      fields: machineFields(request),
      firstHost: cidr.firstHost,
      lastHost: cidr.lastHost,
      render: (ipv4) => this.render(project, cidr, request.machineId, ipv4),
    };
  }

  /** The response to a claim's outcome. */
  respondToClaim(result: ClaimResult, auth: AuthenticatedProject): RegisterResponse {
    if (result.outcome === "exhausted") throw new PoolExhaustedError(auth.project.id, auth.cidr.text);
    return this.respondExisting(result.record, auth.project.id);
  }

  /**
   * A machine's stored row, answered only to its own project: a machineID registered under another project is
   * refused without telling anything of that row.
   */
  respondExisting(record: MachineRecord, projectId: string): RegisterResponse {
    if (record.projectId !== projectId) throw new MachineConflictError(record.machineId);
    return this.respond(record);
  }

  /** Seals the stored config for the device. */
  respond(record: MachineRecord): RegisterResponse {
    return { machineId: record.machineId, ipv4: record.ipv4, config: seal(record.config, this.settings.serverKey) };
  }

  private render(project: Project, cidr: Cidr, machineId: string, ipv4: string): string {
    return renderVpnConfig({ projectId: project.id, machineId, ipv4, cidr, relayNodes: project.relayNodes, settings: this.settings.vpn });
  }

  private async beforeWrite(options: RegisterOptions): Promise<void> {
    if (options.beforeWrite) await options.beforeWrite();
    options.signal?.throwIfAborted();
  }

  private cidrOf(project: Project): Cidr {
    let cidr = this.cidrs.get(project.id);
    if (!cidr) {
      const parsed = parseCidr(project.cidr);
      if (!parsed) throw new StoreError(`project ${project.id} has an invalid CIDR ${JSON.stringify(project.cidr)}`);
      this.cidrs.set(project.id, (cidr = parsed));
    }
    return cidr;
  }
}

/** Projects are reused for a second: a key changed in the store is honoured within that second. */
export const DEFAULT_PROJECT_CACHE_MS = 1000;

export function defaultServiceSettings(serverKey: Buffer, beforeMachineWrite?: () => Promise<void>): ServiceSettings {
  const base = { serverKey, vpn: DEFAULT_VPN_SETTINGS, projectCacheMs: DEFAULT_PROJECT_CACHE_MS };
  return beforeMachineWrite ? { ...base, beforeMachineWrite } : base;
}

function machineFields(r: RegisterRequest): MachineFields {
  return {
    machineId: r.machineId,
    projectId: r.projectId,
    systemUuid: r.systemUuid,
    peerId: r.peerId,
    hostname: r.hostname,
    arch: r.arch,
    distro: r.distro,
    kernelVersion: r.kernelVersion,
  };
}
