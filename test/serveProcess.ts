import { spawn, type ChildProcess } from "node:child_process";
import { after } from "node:test";
import { BIN, tempDir } from "./helpers.js";

// Every server a test file starts is stopped by PID when the file ends, whatever its tests did.
const running: ChildProcess[] = [];
after(() => running.forEach((c) => c.exitCode === null && c.kill("SIGKILL")));

/**
 * `regbench serve` on a free port; resolves once it prints how to drive it, with its URL, the secrets file it wrote,
 * the lock namespace it printed and what it has printed so far.
 */
export async function startServe(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", ...args], {
    cwd: tempDir(),
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.push(child);
  let out = "";
  let err = "";
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const [, url, secrets] = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const match = /drive it: regbench run --target (\S+) --secrets-file (\S+)/.exec(out);
      if (match) resolve(match);
    });
    child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return {
    child,
    url: url!,
    secrets: secrets!,
    namespace: /lock namespace: (\S+)/.exec(out)?.[1] ?? "none printed",
    out: () => out,
    err: () => err,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)));
    },
  };
}
