import { randomBytes } from "node:crypto";
import { formatIpv4 } from "../core/ipv4.js";
import { openForRun, storeSettings, type StoreSpec } from "./registry.js";

/** What the database itself sustains for the write at the heart of a registration. */
export interface Ceiling {
  readonly rowsPerSecond: number;
  readonly rows: number;
  readonly durationMs: number;
  readonly concurrency: number;
  readonly pool: number;
}

/**
 * The database's own ceiling for the work: `rows` autocommit single-row machine inserts through the same store and
 * pool, `concurrency` at a time, in a namespace of their own that is dropped afterwards. A strategy's TPS as a
 * fraction of it says how much of the database the strategy leaves unused.
 */
export async function insertCeiling(spec: StoreSpec, rows: number, concurrency: number, pool?: number): Promise<Ceiling> {
  const prefix = `rbceil${randomBytes(3).toString("hex")}`;
  const settings = storeSettings(false, pool, undefined);
  const opened = await openForRun(spec, { prefix, label: undefined, keep: false }, settings, 0);
  try {
    let next = 0;
    const first = 167_772_162; // 10.0.0.2
    const started = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(concurrency, rows) }, async () => {
        while (next < rows) {
          const i = next++;
          const ipv4 = formatIpv4(first + i);
          await opened.store.insertMachine({
            machineId: `${prefix}-m${i}`,
            projectId: `${prefix}-p0`,
            systemUuid: `${prefix}-s0`,
            peerId: `peer-${i}`,
            hostname: `edge-${i}`,
            arch: "x86_64",
            distro: "debian 12",
            kernelVersion: "6.1.0",
            ipv4,
            ipNum: first + i,
            config: `interfaceAddr: "${ipv4}/12"\n`,
          });
        }
      }),
    );
    const durationMs = performance.now() - started;
    return { rowsPerSecond: (rows * 1000) / durationMs, rows, durationMs, concurrency, pool: settings.pool };
  } finally {
    await opened.dispose();
  }
}
