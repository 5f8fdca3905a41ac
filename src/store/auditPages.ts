import type { AuditPage, AuditTable, AuditTableRow } from "./store.js";

/** Rows as a store read them (with their id) → the page: the rows without the id, the last id. */
export function toAuditPage<T extends AuditTable>(table: T, rows: readonly Record<string, unknown>[], after: number): AuditPage<AuditTableRow[T]> {
  const out =
    table === "systems"
      ? rows.map((r) => ({ projectId: String(r.projectId), systemUuid: String(r.systemUuid) }))
      : rows.map((r) => ({ machineId: String(r.machineId), projectId: String(r.projectId), ipv4: String(r.ipv4) }));
  return { rows: out as unknown as AuditTableRow[T][], last: rows.length ? Number(rows[rows.length - 1]!.id) : after };
}
