import type { AuditRows } from "../store/store.js";

/** How to reach a server's audit endpoint. */
export interface AuditEndpoint {
  readonly url: string;
  /** The server's audit token (bearer); undefined sends none, which a regbench server answers 401. */
  readonly token: string | undefined;
  readonly timeoutMs: number;
}

const isString = (v: unknown): v is string => typeof v === "string";

/**
 * The rows of one run from a server's `GET /v1/audit/rows?run=…`, checked for shape; a string saying why when they
 * cannot be had (no endpoint, a refused token, no answer in time, a malformed answer). The one place rows are
 * fetched over HTTP: the HTTP driver and `merge --target` both use it.
 */
export async function fetchAuditRows(endpoint: AuditEndpoint, run: string): Promise<AuditRows | string> {
  let res: Response;
  try {
    res = await fetch(`${endpoint.url.replace(/\/+$/, "")}/v1/audit/rows?run=${encodeURIComponent(run)}`, {
      headers: endpoint.token === undefined ? {} : { authorization: `Bearer ${endpoint.token}` },
      signal: AbortSignal.timeout(endpoint.timeoutMs),
    });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    return `GET /v1/audit/rows failed: ${e.name === "TimeoutError" ? `no answer within ${endpoint.timeoutMs} ms` : (e.cause?.code ?? e.message)}`;
  }
  if (res.status === 401) return `the target answered 401 on GET /v1/audit/rows: pass its audit token (--audit-token, REGBENCH_AUDIT_TOKEN or --secrets-file)`;
  if (!res.ok) return `the target answered ${res.status} on GET /v1/audit/rows`;
  let body: Partial<AuditRows>;
  try {
    body = (await res.json()) as Partial<AuditRows>;
  } catch {
    return "the target's /v1/audit/rows answer is not JSON";
  }
  const systemsOk = Array.isArray(body?.systems) && body.systems.every((s) => isString(s?.projectId) && isString(s?.systemUuid));
  const machinesOk = Array.isArray(body?.machines) && body.machines.every((m) => isString(m?.machineId) && isString(m?.projectId) && isString(m?.ipv4));
  if (!systemsOk || !machinesOk) return "the target's /v1/audit/rows answer lacks well-formed systems or machines";
  return { systems: body.systems!, machines: body.machines! };
}
