import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { CORE_OPTIONS, RUN_OPTIONS } from "../../src/cli/optionTable.js";
import { regbench } from "../helpers.js";

/**
 * deploy/kubernetes/ cannot run here (no cluster, no registry): what can be checked is that its manifests parse, that
 * the Indexed Job is one (completions = parallelism = --agents), and that every command uses flags regbench has.
 */
const DIR = fileURLToPath(new URL("../../../deploy/kubernetes/", import.meta.url));

interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly volumeMounts?: { name: string; mountPath: string }[];
}
interface Manifest {
  readonly kind: string;
  readonly metadata: { name: string };
  readonly spec: {
    completionMode?: string;
    completions?: number;
    parallelism?: number;
    backoffLimit?: number;
    template: { spec: { restartPolicy: string; securityContext?: { runAsNonRoot?: boolean }; containers: Container[] } };
  };
}

function manifests(): Manifest[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(DIR, f), "utf8")).map((d) => {
        assert.deepEqual(d.errors, [], f);
        return d.toJS() as Manifest;
      }),
    );
}

/** A container's regbench command as words: its args, or the script a `sh -c` runs, split on blanks outside quotes. */
function words(c: Container): string[] {
  if (c.command?.[0] === "sh" && c.command[1] === "-c") return c.args![0]!.match(/'[^']*'|"[^"]*"|\S+/g)!.map((w) => w.replace(/^['"]|['"]$/g, ""));
  return [...(c.command ?? []), ...(c.args ?? [])];
}

/** The flags a command accepts, from the option table (run) or its own --help (merge, defined with commander directly). */
function flagsOf(command: string): Set<string> {
  if (command === "run") return new Set([...RUN_OPTIONS, ...CORE_OPTIONS].flatMap((o) => o.flags.match(/--?[a-z][a-z-]*/g)!));
  const help = regbench([command, "--help"]).stdout;
  return new Set(help.match(/(?<=\s)--?[a-z][a-z-]*/g));
}

describe("deploy/kubernetes", () => {
  test("the Indexed Job: completionMode Indexed, completions = parallelism = --agents, --start-at, results on a volume", () => {
    const job = manifests().find((m) => m.kind === "Job" && m.spec.completionMode === "Indexed");
    assert.ok(job, "an Indexed Job");
    const container = job.spec.template.spec.containers[0]!;
    const w = words(container);
    const agents = Number(w[w.indexOf("--agents") + 1]);
    assert.ok(agents >= 2);
    assert.equal(job.spec.completions, agents);
    assert.equal(job.spec.parallelism, agents);
    assert.equal(job.spec.backoffLimit, 0, "an agent is never re-sent into the same run");
    for (const flag of ["--run", "--start-at", "--export-json", "--target"]) assert.ok(w.includes(flag), flag);
    const out = w[w.indexOf("--export-json") + 1]!;
    assert.ok(
      container.volumeMounts?.some((v) => out.startsWith(`${v.mountPath}/`)),
      `${out} is on a mounted volume`,
    );
    assert.equal(job.spec.template.spec.securityContext?.runAsNonRoot, true);
  });

  test("every container runs regbench run or merge with flags regbench has; the merge Job is not retried", () => {
    const jobs = manifests().filter((m) => m.kind === "Job");
    assert.deepEqual(jobs.map((j) => j.metadata.name).sort(), ["regbench-agents", "regbench-merge"]);
    for (const job of jobs) {
      for (const c of job.spec.template.spec.containers) {
        const w = words(c);
        const command = w.find((x) => x === "run" || x === "merge");
        assert.ok(command, `${job.metadata.name}: ${w.join(" ")}`);
        const known = flagsOf(command);
        const used = w.filter((x) => /^--?[a-z]/.test(x)).map((x) => x.split("=")[0]!);
        assert.ok(used.length > 3);
        for (const flag of used) assert.ok(known.has(flag), `${job.metadata.name}: regbench ${command} has no ${flag}`);
      }
      assert.equal(job.spec.template.spec.restartPolicy, "Never");
    }
    const merge = jobs.find((j) => j.metadata.name === "regbench-merge")!;
    assert.equal(merge.spec.backoffLimit, 0, "its exit code is the gate: a retry would hide it");
  });

  test("the Dockerfile: node:20-slim, npm ci, a non-root user, the built CLI as entrypoint", () => {
    const text = readFileSync(join(DIR, "Dockerfile"), "utf8");
    assert.match(text, /^FROM node:20-slim\b/m);
    assert.match(text, /^RUN npm ci\b/m);
    const users = [...text.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    assert.ok(users.length > 0 && users.at(-1) !== "root" && users.at(-1) !== "0", String(users));
    assert.match(text, /^ENTRYPOINT \["node", "\/app\/bin\/regbench\.js"\]/m);
  });
});
