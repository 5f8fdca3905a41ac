import type { MachineRecord, Project } from "../core/types.js";

/** A project to create before a run. */
export interface NewProject {
  readonly id: string;
  readonly name: string;
  readonly cidr: string;
  readonly keyDigest: Buffer;
  readonly relayNodes: readonly string[];
}

export interface NewSystem {
  readonly projectId: string;
  readonly systemUuid: string;
  readonly systemName: string;
}

/** Everything a machine row holds but its address and config. */
export interface MachineFields {
  readonly machineId: string;
  readonly projectId: string;
  readonly systemUuid: string;
  readonly peerId: string;
  readonly hostname: string;
  readonly arch: string;
  readonly distro: string;
  readonly kernelVersion: string;
}

export interface NewMachine extends MachineFields {
  readonly ipv4: string;
  /** The address as an unsigned 32-bit number, for ordering and the allocator. */
  readonly ipNum: number;
  readonly config: string;
}

/** A write made under a lock, carrying the lock's fencing token; the store refuses tokens older than the newest seen. */
export interface Fence {
  readonly resource: string;
  readonly token: number;
}

/** One machine to store at the next free address of its project's pool. */
export interface Claim {
  readonly fields: MachineFields;
  readonly firstHost: number;
  readonly lastHost: number;
  /** Renders the machine's config once its address is known. */
  readonly render: (ipv4: string) => string;
}

/** The outcome of the atomic claim: the new row, the row that already existed for that machine, or no address left. */
export type ClaimResult =
  | { readonly outcome: "created"; readonly record: MachineRecord }
  | { readonly outcome: "existing"; readonly record: MachineRecord }
  | { readonly outcome: "exhausted" };

/** The rows the audit counts from: identities and addresses only, never keys or configs. */
export interface AuditRows {
  readonly systems: readonly { readonly projectId: string; readonly systemUuid: string }[];
  readonly machines: readonly MachineRow[];
}

export interface MachineRow {
  readonly machineId: string;
  readonly projectId: string;
  readonly ipv4: string;
}

export type SystemRow = AuditRows["systems"][number];
export type AuditTable = "systems" | "machines";
export interface AuditTableRow {
  readonly systems: SystemRow;
  readonly machines: MachineRow;
}

/** A page of audit rows and the storage position (the row's id) of its last row, or of `after` when it is empty. */
export interface AuditPage<R> {
  readonly rows: readonly R[];
  readonly last: number;
}

/** The rows as the audit reads them: the machine rows may come one at a time (a million of them need not be held at once). */
export interface AuditInput {
  readonly systems: AuditRows["systems"];
  readonly machines: Iterable<MachineRow>;
}

/**
 * The store seam. Every call is async and stands for one round trip to a database, so that a networked store
 * fits and `--db-latency` can be simulated per call. Stores created with `constraints` enforce
 * UNIQUE(project_id, system_uuid), UNIQUE(machine_id) and UNIQUE(project_id, ipv4) and throw
 * `UniqueViolationError`; without, the same writes succeed and a race becomes a duplicate row.
 */
export interface Store {
  readonly constraints: boolean;
  /** Where the data lives, for the report (a file path, a schema on a server). */
  readonly location: string;
  /**
   * How many `claimMachines` batches are worth having in flight at once from one process. A synchronous embedded
   * store runs each at once (no limit); a networked one serializes them on its counter row anyway, so one batch in
   * flight while the next one collects (group commit) keeps the connections for everything else.
   */
  readonly claimConcurrency: number;
  createProject(project: NewProject): Promise<void>;
  getProject(id: string): Promise<Project | undefined>;
  /** Replaces a project's key digest: a kept store follows the key it is started with, never a stale one. */
  updateProjectKey(id: string, keyDigest: Buffer): Promise<void>;
  hasSystem(projectId: string, systemUuid: string): Promise<boolean>;
  insertSystem(system: NewSystem, fence?: Fence): Promise<void>;
  /** INSERT … ON CONFLICT DO NOTHING; true when this call created the row. Needs constraints. */
  insertSystemIfAbsent(system: NewSystem): Promise<boolean>;
  findMachine(machineId: string): Promise<MachineRecord | undefined>;
  /** The allocator's read: the address after the highest one in use, else the lowest gap; undefined when full. */
  nextFreeIp(projectId: string, firstHost: number, lastHost: number): Promise<number | undefined>;
  insertMachine(machine: NewMachine, fence?: Fence): Promise<void>;
  /**
   * Records that a holder with this token is about to read: afterwards every write with an older token is refused.
   * Without it, an old holder that writes before the new one could still race the new holder's stale read.
   */
  advanceFence(fence: Fence): Promise<void>;
  /**
   * One round trip for a batch of claims, in one transaction: for each, return the machine's row if it exists,
   * else take the pool's next address with one atomic counter statement and insert the row. Results are in the
   * order of the claims. Needs constraints.
   */
  claimMachines(claims: readonly Claim[]): Promise<ClaimResult[]>;
  /**
   * The rows of one run: systems whose systemUUID and machines whose machineID start with `${run}-` (every ID of a
   * run is its prefix, a dash, and the rest), so that one run's rows are never mixed with another's.
   */
  auditRows(run: string): Promise<AuditRows>;
  /**
   * The same rows with the machine rows read one at a time as the audit goes (optional; `auditRows` otherwise).
   * The iterable is read once, before any other call on the store.
   */
  auditRowsLazily?(run: string): Promise<AuditInput>;
  /**
   * One page of a run's audit rows: the rows of `table` whose ID starts with `${run}-`, in storage order after the
   * row `after` (0: from the first), at most `limit` of them, and the position of the last one. Fewer than `limit`
   * rows: the table's last page. An audit reads page after page and never holds the run's rows at once; the same
   * pages answer `GET /v1/audit/rows?after=…&limit=…`.
   */
  auditPage?<T extends AuditTable>(run: string, table: T, after: number, limit: number): Promise<AuditPage<AuditTableRow[T]>>;
  /**
   * Runs `fn` with a view of this store whose calls all belong to one database transaction, committed when `fn`
   * resolves and rolled back when it throws. Absent where the store cannot hold a transaction open across awaits
   * (SQLite through one synchronous connection, the memory store): there every call is its own transaction.
   */
  transaction?<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  /** What the store counted about itself (a connection pool's waits), for the strategy's stats; absent when nothing. */
  stats?(): Readonly<Record<string, unknown>>;
  close(): Promise<void>;
}
