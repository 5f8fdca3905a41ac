import { CONSTRAINT_NAMES } from "../serverSchema.js";

/** A column's type as the schema means it; each dialect writes it in its own words (`DdlTypes`). */
export type ColumnType =
  /** The table's row id: an auto-incremented 64-bit primary key, the audit's storage order. */
  | { readonly kind: "id" }
  /** Text of at most `max` characters (the request's field limits); where a dialect has no limit, plain text. */
  | { readonly kind: "string"; readonly max: number }
  /** Text without a limit (a rendered config, a JSON list). */
  | { readonly kind: "text" }
  | { readonly kind: "bytes"; readonly max: number }
  | { readonly kind: "int" };

interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly primaryKey?: true;
}

/** A UNIQUE constraint (with constraints) or an index; `bare`: only in a store without constraints (the lookup it speeds up). */
interface Index {
  readonly name: string;
  readonly columns: string;
  readonly bare?: true;
}

interface Table {
  readonly name: string;
  readonly columns: readonly Column[];
  readonly unique: readonly Index[];
  readonly indexes: readonly Index[];
}

const s = (max: number): ColumnType => ({ kind: "string", max });
const id: Column = { name: "id", type: { kind: "id" } };
const int: ColumnType = { kind: "int" };
const text: ColumnType = { kind: "text" };

/**
 * The documented schema, once for every SQL store. With constraints the three UNIQUE clauses are named (so a violation
 * says which invariant it protected); without, the same columns get plain indexes so that lookups stay fast and races
 * become duplicate rows. `metaKey`: the name of meta's key column (SQLite files have always called it `key`).
 */
export function schemaTables(metaKey = "name"): readonly Table[] {
  return [
    {
      name: "meta",
      columns: [
        { name: metaKey, type: s(64), primaryKey: true },
        { name: "value", type: s(64) },
      ],
      unique: [],
      indexes: [],
    },
    {
      name: "projects",
      columns: [
        { name: "id", type: s(64), primaryKey: true },
        { name: "name", type: s(255) },
        { name: "cidr", type: s(32) },
        { name: "key_sha256", type: { kind: "bytes", max: 32 } },
        { name: "relay_nodes", type: text },
        { name: "created_at", type: int },
      ],
      unique: [],
      indexes: [],
    },
    {
      name: "systems",
      columns: [
        id,
        { name: "project_id", type: s(64) },
        { name: "system_uuid", type: s(64) },
        { name: "system_name", type: s(128) },
        { name: "created_at", type: int },
      ],
      unique: [{ name: CONSTRAINT_NAMES.system, columns: "project_id, system_uuid" }],
      indexes: [{ name: "ix_systems_project_uuid", columns: "project_id, system_uuid", bare: true }],
    },
    {
      name: "machines",
      columns: [
        id,
        { name: "machine_id", type: s(64) },
        { name: "project_id", type: s(64) },
        { name: "system_uuid", type: s(64) },
        { name: "ipv4", type: s(15) },
        { name: "ip_num", type: int },
        { name: "peer_id", type: s(128) },
        { name: "hostname", type: s(253) },
        { name: "arch", type: s(32) },
        { name: "distro", type: s(128) },
        { name: "kernel_version", type: s(128) },
        { name: "config", type: text },
        { name: "status", type: s(16) },
        { name: "created_at", type: int },
      ],
      unique: [
        { name: CONSTRAINT_NAMES.machine, columns: "machine_id" },
        { name: CONSTRAINT_NAMES.ip, columns: "project_id, ipv4" },
      ],
      indexes: [
        { name: "ix_machines_machine_id", columns: "machine_id", bare: true },
        { name: "ix_machines_project_ip", columns: "project_id, ip_num" },
      ],
    },
    {
      name: "ip_pools",
      columns: [
        { name: "project_id", type: s(64), primaryKey: true },
        { name: "next_ip", type: int },
      ],
      unique: [],
      indexes: [],
    },
    {
      name: "fences",
      columns: [
        { name: "resource", type: s(200), primaryKey: true },
        { name: "token", type: int },
      ],
      unique: [],
      indexes: [],
    },
  ];
}

/** How one dialect writes the schema: its column types, where its indexes go, what follows each table. */
export interface DdlTypes {
  /** The column type of `type` (for `id`, the whole auto-increment primary key clause). */
  column(type: ColumnType): string;
  /** Indexes inside CREATE TABLE (MySQL's `INDEX name (…)`) rather than as CREATE INDEX IF NOT EXISTS statements. */
  readonly inlineIndexes: boolean;
  /** Written after each CREATE TABLE's closing parenthesis (MySQL's engine and collation). */
  readonly tableOptions: string;
}

/**
 * The statements that create the schema's tables and indexes if absent, in order; `qualify` names a table in its
 * namespace (PostgreSQL's `schema.table`; a dialect that switched database first names it bare).
 */
export function schemaStatements(types: DdlTypes, constraints: boolean, qualify: (table: string) => string = (t) => t, metaKey?: string): string[] {
  const statements: string[] = [];
  const after: string[] = [];
  for (const table of schemaTables(metaKey)) {
    const clauses = table.columns.map((c) => `${c.name} ${types.column(c.type)}${c.primaryKey ? " PRIMARY KEY" : c.type.kind === "id" ? "" : " NOT NULL"}`);
    if (constraints) for (const u of table.unique) clauses.push(`CONSTRAINT ${u.name} UNIQUE (${u.columns})`);
    for (const ix of table.indexes) {
      if (ix.bare && constraints) continue;
      if (types.inlineIndexes) clauses.push(`INDEX ${ix.name} (${ix.columns})`);
      else after.push(`CREATE INDEX IF NOT EXISTS ${ix.name} ON ${qualify(table.name)} (${ix.columns})`);
    }
    statements.push(`CREATE TABLE IF NOT EXISTS ${qualify(table.name)} (\n  ${clauses.join(",\n  ")}\n)${types.tableOptions}`);
  }
  return [...statements, ...after];
}
