import type { AuditPage, AuditTable, AuditTableRow } from "./store.js";

/** The SQL of one audit page (see Store.auditPage) for a server store: by the primary key, so a page starts where the last ended. */
export function auditPageSql(dialect: "postgres" | "mysql", table: AuditTable, limit: number): string {
  // The limit is a validated integer, written into the text: MySQL's prepared LIMIT ? refuses a number sent as a double.
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`an audit page of ${limit} rows`);
  const match = dialect === "postgres" ? (column: string) => `starts_with(${column}, $1) AND id > $2` : (column: string) => `${column} LIKE ? AND id > ?`;
  const q = dialect === "postgres" ? '"' : "`";
  return table === "systems"
    ? `SELECT id, project_id AS ${q}projectId${q}, system_uuid AS ${q}systemUuid${q} FROM systems WHERE ${match("system_uuid")} ORDER BY id LIMIT ${limit}`
    : `SELECT id, machine_id AS ${q}machineId${q}, project_id AS ${q}projectId${q}, ipv4 FROM machines WHERE ${match("machine_id")} ORDER BY id LIMIT ${limit}`;
}

/** Rows as a store read them (with their id) → the page: the rows without the id, the last id. */
export function toAuditPage<T extends AuditTable>(table: T, rows: readonly Record<string, unknown>[], after: number): AuditPage<AuditTableRow[T]> {
  const out =
    table === "systems"
      ? rows.map((r) => ({ projectId: String(r.projectId), systemUuid: String(r.systemUuid) }))
      : rows.map((r) => ({ machineId: String(r.machineId), projectId: String(r.projectId), ipv4: String(r.ipv4) }));
  return { rows: out as unknown as AuditTableRow[T][], last: rows.length ? Number(rows[rows.length - 1]!.id) : after };
}
