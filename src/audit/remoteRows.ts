import type { AuditRows } from "../store/store.js";
import type { RowSink } from "./audit.js";

/** How to reach a server's audit endpoint. */
export interface AuditEndpoint {
  readonly url: string;
  /** The server's audit token (bearer); undefined sends none, which a regbench server answers 401. */
  readonly token: string | undefined;
  readonly timeoutMs: number;
}

const isString = (v: unknown): v is string => typeof v === "string";

/** One answer of the endpoint, checked for shape, or why it cannot be had. */
async function fetchRows(endpoint: AuditEndpoint, query: string): Promise<(AuditRows & { next?: string | null }) | string> {
  let res: Response;
  try {
    res = await fetch(`${endpoint.url.replace(/\/+$/, "")}/v1/audit/rows?${query}`, {
      headers: endpoint.token === undefined ? {} : { authorization: `Bearer ${endpoint.token}` },
      signal: AbortSignal.timeout(endpoint.timeoutMs),
    });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    return `GET /v1/audit/rows failed: ${e.name === "TimeoutError" ? `no answer within ${endpoint.timeoutMs} ms` : (e.cause?.code ?? e.message)}`;
  }
  if (res.status === 401) return `the target answered 401 on GET /v1/audit/rows: pass its audit token (--audit-token, REGBENCH_AUDIT_TOKEN or --secrets-file)`;
  if (!res.ok) return `the target answered ${res.status} on GET /v1/audit/rows`;
  let body: Partial<AuditRows> & { next?: unknown };
  try {
    body = (await res.json()) as Partial<AuditRows>;
  } catch {
    return "the target's /v1/audit/rows answer is not JSON";
  }
  const systemsOk = Array.isArray(body?.systems) && body.systems.every((s) => isString(s?.projectId) && isString(s?.systemUuid));
  const machinesOk = Array.isArray(body?.machines) && body.machines.every((m) => isString(m?.machineId) && isString(m?.projectId) && isString(m?.ipv4));
  if (!systemsOk || !machinesOk) return "the target's /v1/audit/rows answer lacks well-formed systems or machines";
  if (body.next !== undefined && body.next !== null && !isString(body.next)) return "the target's /v1/audit/rows answer has a next that is not a string";
  return { systems: body.systems!, machines: body.machines!, ...(body.next !== undefined ? { next: body.next as string | null } : {}) };
}

/** Rows asked for per page of the audit endpoint. */
export const REMOTE_PAGE_ROWS = 10_000;

/**
 * Feeds the run's rows to `audit` page by page (`?run=…&limit=…&after=…`, following each page's `next`), so an
 * audit over HTTP never holds the run's rows at once; a server that answers without `next` (one that does not
 * page) has sent them all in its one answer. Undefined when every row was read, else why not. `run --target` and
 * `merge --target` read their audits through it.
 */
export async function readAuditPages(endpoint: AuditEndpoint, run: string, audit: RowSink, limit = REMOTE_PAGE_ROWS): Promise<string | undefined> {
  let after: string | undefined;
  for (let pages = 0; ; pages++) {
    const page = await fetchRows(endpoint, `run=${encodeURIComponent(run)}&limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ""}`);
    if (typeof page === "string") return pages > 0 ? `${page} (after ${pages} page(s))` : page;
    for (const s of page.systems) audit.system(s.projectId, s.systemUuid);
    for (const m of page.machines) audit.machine(m);
    if (page.next === undefined || page.next === null) return undefined;
    if (page.next === after) return "the target's /v1/audit/rows pages do not advance";
    after = page.next;
  }
}
