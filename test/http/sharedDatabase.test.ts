import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { removeStore } from "../../src/store/registry.js";
import { postgres, POSTGRES_URL } from "../dbEnv.js";
import { regbenchAsync, tempDir } from "../helpers.js";
import { startServe } from "../serveProcess.js";

const serve = startServe;

/**
 * The README's recipe for several servers on one database: two `serve` processes on two ports, each with two
 * instances, on one PostgreSQL schema; an agent against each; the results merged with the audit over the shared rows.
 */
describe("two servers, four instances, one PostgreSQL: the audit counts over the shared rows", { skip: postgres.skip }, () => {
  for (const [strategy, broken] of [
    ["global", true],
    ["atomic", false],
    ["db-unique", false],
  ] as const) {
    test(`${strategy}: ${broken ? "violations across instances" : "no violation"}`, { timeout: 180_000 }, async () => {
      const schema = `rbtest_${randomBytes(4).toString("hex")}`;
      after(() => removeStore({ kind: "postgres", url: POSTGRES_URL, schema }));
      const dir = tempDir();
      const secrets = join(dir, "secrets.json");
      const store = `${POSTGRES_URL}?schema=${schema}`;
      const first = await serve(["--strategy", strategy, "--instances", "2", "--store", store, "--secrets-file", secrets, "--no-server-warmup"]);
      const second = await serve(["--strategy", strategy, "--instances", "2", "--store", store, "--secrets-file", secrets, "--no-server-warmup"]);
      assert.equal(JSON.parse(readFileSync(secrets, "utf8")).projects.length, 1, "the second server read the secrets the first wrote");
      const agents = await Promise.all(
        [first, second].map((s, i) =>
          regbenchAsync(
            [
              "run",
              "--target",
              s.url,
              "--secrets-file",
              secrets,
              "-n",
              "400",
              "-c",
              "20",
              "--workers",
              "1",
              "--no-save",
              "--export-json",
              join(dir, `agent-${i}.json`),
            ],
            { cwd: dir },
          ),
        ),
      );
      for (const a of agents) assert.equal(a.code, 0, a.stderr);
      const merged = await regbenchAsync(["merge", join(dir, "agent-0.json"), join(dir, "agent-1.json"), "--target", first.url, "--secrets-file", secrets], {
        cwd: dir,
      });
      assert.equal(merged.code, 0, merged.stderr);
      const result = JSON.parse(merged.stdout).results[0];
      await Promise.all([first.stop(), second.stop()]);
      assert.equal(result.requests, 800);
      assert.ok(result.audit, JSON.stringify(JSON.parse(merged.stdout).notes));
      if (broken) assert.ok(result.audit.duplicateIps > 0, JSON.stringify(result.audit));
      else assert.equal(result.audit.violations, 0, JSON.stringify(result.audit));
    });
  }
});
