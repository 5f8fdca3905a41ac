import type { Store } from "../store/store.js";
import type { RowAudit } from "./audit.js";

/** Rows per page when an audit reads a store page by page: ~1 MB of rows at a time, whatever the run's size. */
export const AUDIT_PAGE_ROWS = 10_000;

/**
 * Feeds a run's rows to `audit` one page at a time (Store.auditPage), so a million-row audit never holds the rows
 * at once: systems, then machines, each page starting after the last row of the one before.
 */
export async function readStorePages(store: Store & Required<Pick<Store, "auditPage">>, run: string, audit: RowAudit, limit = AUDIT_PAGE_ROWS): Promise<void> {
  for (let after = 0; ;) {
    const page = await store.auditPage(run, "systems", after, limit);
    for (const s of page.rows) audit.system(s.projectId, s.systemUuid);
    if (page.rows.length < limit) break;
    after = page.last;
  }
  for (let after = 0; ;) {
    const page = await store.auditPage(run, "machines", after, limit);
    for (const m of page.rows) audit.machine(m);
    if (page.rows.length < limit) break;
    after = page.last;
  }
}
