import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { RowAudit } from "../../src/audit/audit.js";
import { readAuditPages } from "../../src/audit/remoteRows.js";

/** An audit endpoint that pages (or not), recording the queries it was asked. */
async function endpoint(pageSize: number | undefined): Promise<{ url: string; asked: string[] }> {
  const machines = Array.from({ length: 7 }, (_, i) => ({ machineId: `r-m${i}`, projectId: "p", ipv4: `10.0.0.${i % 6}` }));
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const q = new URL(req.url!, "http://x").searchParams;
    asked.push(`${q.get("limit")}/${q.get("after")}`);
    if (pageSize === undefined) return void res.end(JSON.stringify({ run: "r", systems: [{ projectId: "p", systemUuid: "r-s0" }], machines }));
    const at = Number((q.get("after") ?? "m:0").slice(2));
    const rows = machines.slice(at, at + pageSize);
    const next = rows.length === pageSize ? `m:${at + pageSize}` : null;
    res.end(JSON.stringify({ run: "r", systems: at === 0 && !q.get("after") ? [{ projectId: "p", systemUuid: "r-s0" }] : [], machines: rows, next }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
}

for (const pageSize of [3, undefined]) {
  test(`an audit over HTTP ${pageSize ? "follows the pages' next to the end" : "takes a server that does not page at its one answer"}`, async () => {
    const { url, asked } = await endpoint(pageSize);
    const audit = new RowAudit();
    assert.equal(await readAuditPages({ url, token: "t", timeoutMs: 5000 }, "r", audit, 3), undefined);
    assert.equal(audit.rows, 8);
    assert.equal(audit.result([]).duplicateIps, 1);
    assert.deepEqual(asked, pageSize ? ["3/null", "3/m:3", "3/m:6"] : ["3/null"]);
  });
}
