import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { STEP_SUMMARY_LIMIT, summaryBlock } from "../../src/cli/outputs.js";
import { postgres } from "../dbEnv.js";
import { BIN, regbenchAsync, tempDir } from "../helpers.js";
import { skipWithoutRedis } from "../redisEnv.js";
import { skipWithoutEtcd } from "../etcdEnv.js";
import { strategyNames } from "../../src/strategies/registry.js";

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
    "its command with --strategy all --etcd auto: the summary's earlier text is kept, every strategy's row appended; three such reports stay ≤ 1 MiB",
    { skip: postgres.skip || skipWithoutRedis || skipWithoutEtcd(), timeout: 300_000 },
    () => {
      const dir = tempDir();
      mkdirSync(join(dir, ".github"));
      const summary = join(dir, "summary.md");
      const earlier = "## Build\n\nEarlier steps wrote this.\n";
      writeFileSync(summary, earlier);
      // Every strategy regbench has (a throwaway etcd for the two that lock in etcd), at a test's size: one run of
      // --strategy all costs a process per strategy, so the test takes one. It is the command the recipe's header
      // makes the baseline with (--save-baseline instead of --baseline), which needs no earlier baseline.
      const recipe = recipeCommand("-n 4 -c 1 --etcd auto");
      const command = recipe.replace(/--strategy \S+/, "--strategy all").replace("--baseline", "--save-baseline");
      assert.ok(command.includes("--strategy all") && command.includes("--save-baseline"), command);
      const r = spawnSync("bash", ["-c", command], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: "1", GITHUB_STEP_SUMMARY: summary },
        encoding: "utf8",
      });
      // At -c 1 no strategy races, so --fail-on-violations has nothing to fail on: exit 0.
      assert.equal(r.status, 0, r.stderr);
      assert.ok(statSync(join(dir, ".github", "regbench-baseline.json")).size > 0);
      assert.ok(statSync(join(dir, "regbench-report.html")).size > 0);
      const text = readFileSync(summary, "utf8");
      assert.ok(text.startsWith(earlier), "what earlier steps wrote is kept");
      const lines = text.split("\n");
      assert.equal(lines.filter((line) => line.startsWith("| strategy |")).length, 1, "one table appended");
      assert.deepEqual(
        strategyNames().filter((s) => !lines.some((line) => line.startsWith(`| ${s} `))),
        [],
        "every strategy has its row",
      );
      // Two more runs of the same size would append as much again: the run's block, appended twice more as run
      // appends it (summaryBlock over what the file holds), still fits whole.
      const markdown = text.slice(earlier.length + 1);
      for (let run = 2; run <= 3; run++) {
        const block = summaryBlock(markdown, statSync(summary).size);
        assert.equal(block, `\n${markdown}`, `run ${run}'s report is appended whole`);
        appendFileSync(summary, block);
      }
      assert.ok(statSync(summary).size <= STEP_SUMMARY_LIMIT, `${statSync(summary).size} bytes`);
      assert.equal(
        readFileSync(summary, "utf8")
          .split("\n")
          .filter((line) => line.startsWith("| strategy |")).length,
        3,
      );
    },
  );
});
