import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { STEP_SUMMARY_LIMIT, summaryBlock } from "../../src/cli/outputs.js";
import { postgres } from "../dbEnv.js";
import { BIN, regbenchAsync, tempDir } from "../helpers.js";
import { skipWithoutRedis } from "../redisEnv.js";

const RECIPE = fileURLToPath(new URL("../../../docs/ci/github-actions.yml", import.meta.url));

interface Step {
  readonly name?: string;
  readonly run?: string;
  readonly uses?: string;
  readonly if?: string;
  readonly with?: Record<string, unknown>;
}

function recipe(): { services: Record<string, unknown>; steps: Step[] } {
  const doc = parse(readFileSync(RECIPE, "utf8")) as { jobs: Record<string, { services: Record<string, unknown>; steps: Step[] }> };
  return Object.values(doc.jobs)[0]!;
}

/** The recipe's `regbench run` step as this machine runs it: the built CLI for npx, the test's size flags after it. */
function recipeCommand(extra: string): string {
  const step = recipe().steps.find((s) => s.run?.includes("regbench run"));
  assert.ok(step, "the recipe has a regbench run step");
  return `${step.run!.trim().replace(/^npx regbench /, `"${process.execPath}" "${BIN}" `)} ${extra}`;
}

describe("the GitHub Actions recipe (docs/ci/github-actions.yml)", () => {
  test("has PostgreSQL and Redis services, gates on a baseline, writes the job summary, uploads the HTML report always", () => {
    const job = recipe();
    assert.deepEqual(Object.keys(job.services).sort(), ["postgres", "redis"]);
    const run = job.steps.find((s) => s.run?.includes("regbench run"))!.run!;
    for (const flag of ["--scenario", "--baseline", '--export-markdown "$GITHUB_STEP_SUMMARY"', "--export-html"]) assert.ok(run.includes(flag), flag);
    const upload = job.steps.find((s) => s.uses?.startsWith("actions/upload-artifact"));
    assert.equal(upload?.if, "always()", "the report is uploaded when the gate fails too");
    assert.match(String(upload?.with?.path), /regbench-report\.html/);
  });

  test("a summary near GitHub's 1 MiB gets the table without charts, or one line, never more", () => {
    const md = `# regbench\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n\`\`\`mermaid\n${"x".repeat(5000)}\n\`\`\`\n`;
    assert.equal(summaryBlock(md, 0), `\n${md}`);
    const compact = summaryBlock(md, STEP_SUMMARY_LIMIT - 1000)!;
    assert.ok(compact.includes("| 1 | 2 |") && !compact.includes("mermaid"), compact);
    assert.match(summaryBlock(md, STEP_SUMMARY_LIMIT - 110)!, /past 1 MiB/);
    assert.equal(summaryBlock(md, STEP_SUMMARY_LIMIT - 10), undefined);
  });

  test("--summary without GITHUB_STEP_SUMMARY exits 2 naming the flag", async () => {
    const r = await regbenchAsync(["run", "--strategy", "atomic", "-n", "5", "--no-save", "--summary"], { env: { GITHUB_STEP_SUMMARY: "" } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--summary needs GITHUB_STEP_SUMMARY/);
  });

  test(
    "its commands, three times: the summary's earlier text is kept, each table appended, ≤ 1 MiB",
    { skip: postgres.skip || skipWithoutRedis, timeout: 300_000 },
    () => {
      const dir = tempDir();
      mkdirSync(join(dir, ".github"));
      const summary = join(dir, "summary.md");
      const earlier = "## Build\n\nEarlier steps wrote this.\n";
      writeFileSync(summary, earlier);
      // The recipe's own strategies (a PostgreSQL store, a Redis lock), at a test's size.
      const size = "-n 8 -c 2";
      // The baseline, made as the recipe's header says (--save-baseline instead of --baseline).
      const made = spawnSync("bash", ["-c", recipeCommand(size).replace("--baseline", "--save-baseline")], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: "1", GITHUB_STEP_SUMMARY: join(dir, "scratch.md") },
        encoding: "utf8",
      });
      assert.equal(made.status, 0, made.stderr);
      assert.ok(statSync(join(dir, ".github", "regbench-baseline.json")).size > 0);
      let tables = 0;
      for (let run = 1; run <= 3; run++) {
        const r = spawnSync("bash", ["-c", recipeCommand(size)], {
          cwd: dir,
          env: { ...process.env, NO_COLOR: "1", GITHUB_STEP_SUMMARY: summary },
          encoding: "utf8",
        });
        // 99 is the gate's own exit: at 8 requests a run can look like a regression against the baseline on a busy
        // machine. Anything else (2, 3) is a failure to run.
        assert.ok(r.status === 0 || r.status === 99, `exit ${r.status}: ${r.stderr}`);
        const text = readFileSync(summary, "utf8");
        assert.ok(text.startsWith(earlier), "what earlier steps wrote is kept");
        const now = text.split("| strategy |").length - 1;
        assert.ok(now > tables, `run ${run} appended its table`);
        tables = now;
        assert.ok(statSync(summary).size <= STEP_SUMMARY_LIMIT, `${statSync(summary).size} bytes`);
        assert.ok(statSync(join(dir, "regbench-report.html")).size > 0);
      }
      const text = readFileSync(summary, "utf8");
      for (const strategy of ["atomic", "db-unique", "redis"]) assert.ok(text.includes(`| ${strategy}`), strategy);
    },
  );
});
