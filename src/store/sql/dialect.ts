import type { TransactionConflict } from "../../core/errors.js";
import type { ServerLocation, StoreSettings } from "../kind.js";
import type { PoolStats } from "../poolStats.js";
import type { NewMachine } from "../store.js";
import type { DdlTypes } from "./ddl.js";

export type Row = Record<string, unknown>;

/** One statement as the shared store sends it: its text in the dialect's placeholders and its values. */
export interface Statement {
  readonly text: string;
  readonly values: readonly unknown[];
  /** Prepared once per connection under this name, where the driver names its prepared statements (node-postgres). */
  readonly name?: string;
  /** Arrays among the values expand in place (mysql2's `IN (?)`, `VALUES ?`): sent as text, not prepared. */
  readonly inline?: boolean;
}

/** What a statement answered, whatever the driver: its rows, the rows it changed, the auto-increment id it set. */
export interface SqlResult {
  readonly rows: readonly Row[];
  readonly affected: number;
  readonly insertId: number | undefined;
}

/** A connection that runs statements: checked out of the pool, or opened alone for setup. */
export interface SqlSession {
  run(statement: Statement): Promise<SqlResult>;
}

/** A pooled connection, checked out for one store call or one transaction. */
export interface SqlConnection extends SqlSession {
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /**
   * Listens for the driver's 'error' on this connection while it is checked out (a pg client the server ends emits
   * one, which nobody else hears then: without a listener the process dies); returns the function that stops.
   */
  watch(onError: (error: Error) => void): () => void;
  /** Back to the pool; `lost` set: the connection is broken, and the pool closes it and opens another. */
  release(lost: Error | undefined): void;
}

/** A dialect's connection pool. */
export interface SqlPool {
  /** Checks out a connection; the driver's own error when none can be had. */
  connect(): Promise<SqlConnection>;
  /** Whether every one of `size` connections is in use (the next checkout waits). */
  busy(size: number): boolean;
  end(): Promise<void>;
}

/** A single connection outside the pool (namespace setup, removal). */
export interface SqlAdmin extends SqlSession {
  end(): Promise<void>;
}

/** How a database error maps onto the core's error kinds. */
export type ErrorClass = "unique" | TransactionConflict;

/**
 * One SQL database, as the shared store (`SqlStore`) needs it: its driver adapter, placeholders, the fragments in
 * which dialects differ, its error codes, its DDL types and its namespace. Adding a database is one file exporting one
 * of these and one line in the store registry (`sqlStoreKind(dialect)`).
 */
export interface SqlDialect {
  /** The store kind, the `--store` URL scheme, and the first word of a failure ("postgres insertSystem failed: …"). */
  readonly name: string;
  /** Other URL schemes that mean the same (`postgresql`). */
  readonly aliases: readonly string[];
  /** The database's name for people ("cannot get a PostgreSQL connection"). */
  readonly title: string;
  /** The `--store` forms, for messages. */
  readonly forms: readonly string[];
  /** A URL that works, for a message about one that does not. */
  readonly exampleUrl: string;
  readonly defaultPort: string;
  /** What a namespace is called ("schema", "database"), for messages and the store's location. */
  readonly namespaceWord: string;

  // Statements.
  /** Rewrites the shared statements' `?` placeholders into the dialect's (`$1`, `$2`, …). */
  placeholders(sql: string): string;
  /** An alias that keeps its case (`"projectId"`). */
  quote(identifier: string): string;
  /** A condition true when `column` starts with the value bound to its placeholder, and that value for a prefix. */
  startsWith(column: string): string;
  prefixValue(prefix: string): string;
  /** An aggregate: whether `condition` held for any row (its answer is 1 or true). */
  anyTrue(condition: string): string;
  /** Ends an INSERT so that a row meeting a unique constraint is skipped; the statement reports 1 changed row per row inserted. */
  readonly insertIgnore: string;
  /** Ends `INSERT INTO fences (resource, token) VALUES (?, ?)`: records the token unless a newer one is recorded. */
  readonly fenceUpsert: string;
  /** Whether the fence statement returns a row exactly when it accepted the token (else the store reads it back). */
  readonly fenceReturns: boolean;
  /** The three statements of the atomic claim (see claims.ts `ClaimOps`). */
  readonly claims: ClaimStatements;

  // Errors.
  /** The error-code table: a driver error's code → what it means to the core; the code of an error, if any. */
  readonly errorCodes: Readonly<Record<string, ErrorClass>>;
  errorCode(error: unknown): string | undefined;
  /** The constraint a unique violation names. */
  violatedConstraint(error: unknown): string | undefined;
  /** The database's message of an error, for `StoreError`. */
  errorMessage(error: unknown): string;
  /** Whether a driver error means its connection is gone or unusable. */
  connectionLost(error: unknown): boolean;

  // Schema and namespace.
  readonly ddl: DdlTypes;
  /** A table in a namespace, for an admin connection (which has no default namespace until `useNamespace`). */
  qualify(schema: string, table: string): string;
  /** Statements that create a namespace if absent (and make it the admin connection's default where that is how). */
  createNamespace(schema: string): string[];
  dropNamespace(schema: string): string;
  /** A statement answering one row with `present` 1 or true when the namespace has the table. */
  tableExists(schema: string, table: string): Statement;
  /** A statement that takes (and one that releases) a lock named `name` on the server: several servers may start at once. */
  lock(name: string): Statement;
  unlock(name: string): Statement;

  // Driver.
  /** One connection outside any pool; rejects with the driver's error. */
  connectAdmin(url: string, timeoutMs: number): Promise<SqlAdmin>;
  /** Why connecting to `url` failed, in one sentence with what to do. */
  problem(url: string, error: unknown): Promise<string>;
  /** The pool of a store, with the store's isolation and namespace; `waits` counts its connections. */
  openPool(location: ServerLocation, settings: StoreSettings, waits: PoolStats): SqlPool;
  /** Ends every session open on the namespace (and no other): how many it ended. */
  killConnections(location: ServerLocation): Promise<number>;
}

/** The atomic claim's statements. */
export interface ClaimStatements {
  /** The rows of these machineIDs, oldest first (`machine_id, project_id, system_uuid, ipv4, config`). */
  existing(machineIds: readonly string[]): Statement;
  /** Moves the project's counter on by `count` (created at `firstHost`); `reserved` reads where it stood. */
  reserve(projectId: string, firstHost: number, count: number): Statement;
  reserved(result: SqlResult, count: number): number;
  /** Inserts the rows, skipping any that meets a unique constraint; `inserted` says which went in, if it can tell. */
  insert(machines: readonly NewMachine[], now: number): Statement;
  inserted(result: SqlResult): Set<string> | undefined;
}
