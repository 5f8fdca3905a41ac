import { parseStoreSpec, probeStore, type StoreSpec } from "../src/store/registry.js";

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
