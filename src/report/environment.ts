import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, platform, release } from "node:os";
import { fileURLToPath } from "node:url";

/** Where a result was measured, so that it is never read without it. Unknown parts are null. */
export interface Environment {
  readonly cpu: string | null;
  readonly cores: number;
  readonly os: string;
  readonly node: string;
  readonly regbench: string;
  readonly commit: string | null;
}

/** The checkout regbench runs from, for `git -C` only: an installed copy (the container image) has no git, and no commit. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export function regbenchVersion(): string {
  return (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

let described: Environment | undefined;

/**
 * The machine, the runtime, and regbench's version and git commit when it runs from a checkout. Read once per
 * process (two git commands): `--version` needs it as the CLI starts, and a run's report at its end, where it would
 * add the commands' time to every run's wall time.
 */
export function describeEnvironment(): Environment {
  return (described ??= readEnvironment());
}

function readEnvironment(): Environment {
  const git = spawnSync("git", ["-C", ROOT, "rev-parse", "--short=12", "HEAD"], { encoding: "utf8" });
  const dirty =
    git.status === 0 ? spawnSync("git", ["-C", ROOT, "status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" }).stdout.trim() !== "" : false;
  return {
    cpu: cpus()[0]?.model?.trim() || null,
    cores: cpus().length,
    os: `${platform()} ${release()}`,
    node: process.version,
    regbench: regbenchVersion(),
    commit: git.status === 0 ? `${git.stdout.trim()}${dirty ? "+dirty" : ""}` : null,
  };
}
