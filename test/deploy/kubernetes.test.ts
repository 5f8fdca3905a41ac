import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix, relative, resolve } from "node:path";
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
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

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

/** Where a path of an image comes from: the build context, another stage's path, or what `RUN npm ci` made. */
type Origin = { kind: "context"; path: string } | { kind: "stage"; stage: string; path: string } | { kind: "npm ci"; what: "node_modules" | "dist" };
interface Stage {
  readonly name: string | undefined;
  /** Image path → origin, in the order the instructions ran (a later one covers an earlier one). */
  readonly paths: { dest: string; origin: Origin; workdir: string }[];
  entrypoint?: string[];
}

/**
 * The Dockerfile read as its stages' file systems, as far as COPY, WORKDIR and `RUN npm ci` shape them: a COPY of a
 * folder copies its contents to the destination, a file copied to a folder (`./`, `x/`) keeps its name, and
 * `npm ci` makes node_modules and (through `prepare`, tsc) dist/ from the src/ the stage holds.
 */
function dockerStages(text: string): Stage[] {
  const stages: Stage[] = [];
  let workdir = "/";
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  for (const line of lines) {
    const [instruction, ...args] = line.split(/\s+/);
    const stage = stages.at(-1);
    switch (instruction!.toUpperCase()) {
      case "FROM":
        stages.push({ name: /\sAS\s+(\S+)/i.exec(line)?.[1], paths: [] });
        workdir = "/";
        break;
      case "WORKDIR":
        workdir = posix.resolve(workdir, args[0]!);
        break;
      case "COPY": {
        assert.ok(!args[0]!.startsWith("["), `the test reads COPY in its shell form: ${line}`);
        const from = args.find((a) => a.startsWith("--from="))?.slice("--from=".length);
        const words = args.filter((a) => !a.startsWith("--"));
        const to = words.at(-1)!;
        for (const src of words.slice(0, -1)) {
          // Another stage's path is a folder when it has no extension (dist/src, node_modules), as in this Dockerfile.
          const folder = from === undefined ? statSync(join(ROOT, src), { throwIfNoEntry: false })?.isDirectory() === true : posix.extname(src) === "";
          const dest = !folder && (to.endsWith("/") || to === ".") ? posix.resolve(workdir, to, posix.basename(src)) : posix.resolve(workdir, to);
          stage!.paths.push({
            dest,
            origin: from === undefined ? { kind: "context", path: posix.normalize(src) } : { kind: "stage", stage: from, path: src },
            workdir,
          });
        }
        break;
      }
      case "RUN":
        if (/\bnpm ci\b/.test(line)) {
          stage!.paths.push({ dest: posix.join(workdir, "node_modules"), origin: { kind: "npm ci", what: "node_modules" }, workdir });
          stage!.paths.push({ dest: posix.join(workdir, "dist"), origin: { kind: "npm ci", what: "dist" }, workdir });
        }
        break;
      case "ENTRYPOINT":
        stage!.entrypoint = JSON.parse(args.join(" ")) as string[];
        break;
    }
  }
  return stages;
}

/** The build context's ignore file (BuildKit reads <Dockerfile>.dockerignore): paths it leaves out of the context. */
function contextIgnores(): (rel: string) => boolean {
  const patterns = readFileSync(join(DIR, "Dockerfile.dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  assert.ok(!patterns.some((p) => p.startsWith("!")), "the test reads no exceptions (!) in Dockerfile.dockerignore");
  const rules = patterns.map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}(/|$)`));
  return (rel) => rules.some((r) => r.test(rel));
}

/**
 * The file of this checkout an image path holds, or undefined when the image lacks it: followed through the
 * stages to the build context (which must not ignore it), to node_modules, or to the compiled dist/ — whose file
 * exists only if the stage that ran `npm ci` held its source.
 */
function inImage(stages: Stage[], index: number, path: string): string | undefined {
  const ignored = contextIgnores();
  const covering = stages[index]!.paths.filter((p) => path === p.dest || path.startsWith(`${p.dest}/`));
  const entry = covering.sort((a, b) => a.dest.length - b.dest.length).at(-1);
  if (!entry) return undefined;
  const rest = path.slice(entry.dest.length).replace(/^\//, "");
  const { origin } = entry;
  if (origin.kind === "context") {
    const rel = posix.join(origin.path, rest);
    return !ignored(rel) && existsSync(join(ROOT, rel)) ? join(ROOT, rel) : undefined;
  }
  if (origin.kind === "stage") {
    const from = stages.findIndex((s) => s.name === origin.stage);
    assert.ok(from >= 0 && from < index, `COPY --from=${origin.stage}: no earlier stage of that name`);
    return inImage(stages, from, posix.join(origin.path, rest));
  }
  if (origin.what === "node_modules") return existsSync(join(ROOT, "node_modules", rest)) ? join(ROOT, "node_modules", rest) : undefined;
  // tsc compiles src/X.ts to dist/src/X.js (rootDir "."): the compiled file is there if its source was.
  const source = rest === "" || rest === "src" ? "src" : rest.replace(/\.js(\.map)?$/, ".ts");
  if (!source.startsWith("src") || inImage(stages, index, posix.join(entry.workdir, source)) === undefined) return undefined;
  return existsSync(join(ROOT, "dist", rest)) ? join(ROOT, "dist", rest) : undefined;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/**
 * Every path the compiled CLI reaches from its own location (`new URL("…", import.meta.url)`,
 * `join(dirname(fileURLToPath(import.meta.url)), …)`, `createRequire(import.meta.url)` for node_modules), relative
 * to the checkout, with the modules that reach it. The checkout itself ("") is `git -C`'s, for the commit.
 */
function runtimeReads(): Map<string, string[]> {
  const reads = new Map<string, string[]>();
  const add = (abs: string, file: string) => {
    const rel = relative(ROOT, abs).split("\\").join("/");
    reads.set(rel, [...(reads.get(rel) ?? []), relative(join(ROOT, "dist", "src"), file)]);
  };
  for (const file of walk(join(ROOT, "dist", "src")).filter((f) => f.endsWith(".js"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/new URL\(\s*"([^"]+)",\s*import\.meta\.url\s*\)/g)) add(resolve(dirname(file), m[1]!), file);
    for (const m of text.matchAll(/join\(\s*dirname\(\s*fileURLToPath\(\s*import\.meta\.url\s*\)\s*\)((?:\s*,\s*"[^"]*")+)\s*\)/g))
      add(resolve(dirname(file), ...[...m[1]!.matchAll(/"([^"]*)"/g)].map((p) => p[1]!)), file);
    if (/createRequire\(\s*import\.meta\.url\s*\)/.test(text)) add(join(ROOT, "node_modules"), file);
    const other = text.replace(/new URL\([^)]*import\.meta\.url\s*\)|fileURLToPath\(\s*import\.meta\.url\s*\)|createRequire\(\s*import\.meta\.url\s*\)/g, "");
    assert.doesNotMatch(other, /import\.meta/, `${file} reaches a path through import.meta in a way this test does not read`);
  }
  return reads;
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

  test("the image holds every path the built CLI reads at run time: its code, package.json, scenarios/, profiles/, node_modules", () => {
    const stages = dockerStages(readFileSync(join(DIR, "Dockerfile"), "utf8"));
    const final = stages.length - 1;
    const script = stages[final]!.entrypoint!.at(-1)!;
    // bin/regbench.js imports ../dist/src/cli/main.js: the folder above bin/ is the checkout's root in the image.
    const app = posix.dirname(posix.dirname(script));
    assert.ok(inImage(stages, final, script), `${script}, the entrypoint`);
    const reads = runtimeReads();
    for (const needed of ["profiles", "scenarios", "package.json", "node_modules"]) assert.ok(reads.has(needed), `the scan finds ${needed}`);
    // The launcher's own import of the compiled CLI.
    for (const m of readFileSync(join(ROOT, "bin", "regbench.js"), "utf8").matchAll(/import\("([^"]+)"\)/g))
      reads.set(relative(ROOT, resolve(ROOT, "bin", m[1]!)), ["bin/regbench.js"]);
    assert.ok(reads.has("dist/src/cli/main.js"), "the launcher imports dist/src/cli/main.js");
    assert.deepEqual(reads.get(""), ["report/environment.js"], "only the commit's git -C reaches the checkout itself");
    reads.delete("");
    const missing = [...reads].filter(([rel]) => inImage(stages, final, posix.join(app, rel)) === undefined);
    assert.deepEqual(
      missing.map(([rel, by]) => `${rel} (read by ${by.join(", ")})`),
      [],
      "paths the built CLI reads at run time that the Dockerfile does not put in the image",
    );
    // The shipped files themselves, not only their folders: the default profile of every --target run, and a scenario.
    for (const file of ["profiles/regbench.yaml", "scenarios/fleet-postgres.json"]) assert.ok(inImage(stages, final, posix.join(app, file)), file);
  });
});
