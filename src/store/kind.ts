import type { Store } from "./store.js";

/**
 * A database server of a SQL dialect (`kind` is the dialect's name, checked by the registry): `url` to connect with;
 * `schema` names where `serve` keeps its tables (a run makes its own).
 */
export interface ServerSpec {
  readonly kind: string;
  readonly url: string;
  readonly schema: string | undefined;
}

/** What `--store` asked for, parsed: plain data (it crosses process boundaries). Only src/store/ looks inside. */
export type StoreSpec =
  /** A SQLite file: `path` kept, or a temporary one per strategy when undefined; `:memory:` for an in-memory database. */
  | SqliteSpec
  /** The deterministic in-memory store of the unit tests. */
  | { readonly kind: "memory" }
  | ServerSpec;

export interface SqliteSpec {
  readonly kind: "sqlite";
  readonly path: string | undefined;
}

/** A schema (PostgreSQL) or a database (MySQL) on the server at `url`. */
export interface ServerLocation {
  readonly kind: string;
  readonly url: string;
  readonly schema: string;
}

/** Where one strategy's rows live, as plain data another process can open too (the instances of a server). */
export type StoreLocation = { readonly kind: "sqlite"; readonly path: string } | { readonly kind: "memory" } | ServerLocation;

/** A location and whether it is the run's own, to be removed when the run is done. */
export interface Placement {
  readonly location: StoreLocation;
  readonly temporary: boolean;
}

/** Transaction isolation of a server store; undefined keeps the database's default. */
export type Isolation = "read-committed" | "repeatable-read" | "serializable";

export const ISOLATIONS: readonly Isolation[] = Object.freeze(["read-committed", "repeatable-read", "serializable"]);

/** How a store is opened: the strategy's schema, the connection pool, the isolation level. */
export interface StoreSettings {
  /** Tables with UNIQUE(project_id, system_uuid), UNIQUE(machine_id), UNIQUE(project_id, ipv4). */
  readonly constraints: boolean;
  /** Connections per process (server stores). */
  readonly pool: number;
  readonly isolation: Isolation | undefined;
}

/** Where a run places one strategy's store. */
export interface RunSite {
  /** The run prefix of the strategy's run (a fresh one per strategy): namespaces are named after it. */
  readonly prefix: string;
  /** Keeps files of several strategies apart when one SQLite path is given for a run of several. */
  readonly label: string | undefined;
  /** The run's private temporary folder, for temporary files. */
  readonly tempDir: string;
  /** `--keep-store`: a namespace the run makes is kept, not dropped. */
  readonly keep: boolean;
}

/**
 * One kind of store, behind the one store seam. Adding a store is one file exporting one of these and one line in
 * the registry; the store contract suite then runs against it whenever its backend is reachable.
 */
export interface StoreKind {
  /** The kind's name, unique in the registry: what a spec's and a location's `kind` say. */
  readonly name: string;
  /** The `--store` forms this kind accepts, for messages. */
  readonly forms: readonly string[];
  /** The spec of `text`, an error message if it is this kind's but malformed, undefined if it is not this kind's. */
  parse(text: string): StoreSpec | string | undefined;
  describe(spec: StoreSpec): string;
  /** Whether processes other than the one that opened it can use it (servers, cluster instances). */
  shareable(spec: StoreSpec): boolean;
  /** Whether `--pool` and `--isolation` mean something for it. */
  readonly server: boolean;
  /** A server's port when its URL names none, so that `h/db` and `h:PORT/db` are one store's identity. */
  readonly defaultPort?: string;
  /** Undefined when the backend answers within `timeoutMs`, else why not and how to get one. */
  probe(spec: StoreSpec, timeoutMs: number): Promise<string | undefined>;
  /** Where one strategy of a run keeps its rows. */
  placeForRun(spec: StoreSpec, site: RunSite): Placement;
  /** Where `serve` keeps its rows (its temporary folder for a temporary store). */
  placeForServe(spec: StoreSpec, tempDir: string): Placement;
  /** Opens a location, creating its namespace and tables if they do not exist yet. */
  open(location: StoreLocation, settings: StoreSettings): Promise<Store>;
  /** Removes what `open` made at a location (its file, its schema or database). */
  remove(location: StoreLocation): Promise<void>;
  /** Where the rows are, for a reader who wants to count them again (`psql`, `mysql`, `sqlite3`). */
  describeLocation(location: StoreLocation): string;
  /**
   * Has the server end every session open on this location's namespace (and no other), as a failover or a proxy
   * would; resolves to how many it ended. Only server stores have connections to kill.
   */
  killConnections?(location: StoreLocation): Promise<number>;
}
