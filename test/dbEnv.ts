import { parseStoreSpec, probeStore, STORE_KINDS, type StoreSpec } from "../src/store/registry.js";

/** The database servers the tests use; CI's machine runs both (see .ci/run). */
export const POSTGRES_URL = process.env.REGBENCH_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL_URL = process.env.REGBENCH_TEST_MYSQL ?? "mysql://root@127.0.0.1:3306/test";

async function reachable(url: string): Promise<{ spec: StoreSpec; skip: string | false }> {
  const spec = parseStoreSpec(url) as StoreSpec;
  const down = await probeStore(spec, 2000);
  // CI sets REGBENCH_REQUIRE_DB=1 so that a missing database fails the suite instead of skipping it; on a developer's
  // machine without one, its tests are skipped with this reason.
  if (down && process.env.REGBENCH_REQUIRE_DB === "1") throw new Error(`REGBENCH_REQUIRE_DB=1 but ${down}`);
  return { spec, skip: down ? `no database: ${down}` : false };
}

export const postgres = await reachable(POSTGRES_URL);
export const mysql = await reachable(MYSQL_URL);

/**
 * Every registered database server kind and its test database: `REGBENCH_TEST_<NAME>` (PostgreSQL and MySQL have
 * the defaults above), so that the store contract suite runs against a new SQL dialect without a line of test code.
 */
export const servers: readonly { readonly name: string; readonly spec: StoreSpec | undefined; readonly skip: string | false }[] = await Promise.all(
  STORE_KINDS.filter((k) => k.server).map(async (k) => {
    if (k.name === "postgres") return { name: k.name, ...postgres };
    if (k.name === "mysql") return { name: k.name, ...mysql };
    const variable = `REGBENCH_TEST_${k.name.toUpperCase()}`;
    const url = process.env[variable];
    if (url !== undefined) return { name: k.name, ...(await reachable(url)) };
    if (process.env.REGBENCH_REQUIRE_DB === "1") throw new Error(`REGBENCH_REQUIRE_DB=1 but ${variable} names no ${k.name} database to test on`);
    return { name: k.name, spec: undefined, skip: `no database: set ${variable} to a ${k.name} URL` };
  }),
);
