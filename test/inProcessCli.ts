import { Writable } from "node:stream";
import { main } from "../src/cli/main.js";

/** What a command printed and its exit code. */
export interface CliOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI in this process, through `main(argv, io)`, as bin/regbench does but without a process of its own:
 * for the checks that end before anything runs (exit 2 on a bad flag, a refused file). A test of the process itself
 * (signals, exit codes of a real run, what it leaves behind) spawns bin/regbench instead.
 */
export async function cli(args: readonly string[], env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" }): Promise<CliOutcome> {
  let stdout = "";
  let stderr = "";
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString("utf8"));
        done();
      },
    }) as unknown as NodeJS.WriteStream;
  const code = await main(["node", "regbench", ...args], {
    stdout: sink((t) => (stdout += t)),
    stderr: sink((t) => (stderr += t)),
    env,
  });
  return { code, stdout, stderr };
}
