import { Command, CommanderError } from "commander";
import { CannotRunError } from "../driver/errors.js";
import { defineLists } from "./commands/lists.js";
import { defineRun } from "./commands/run.js";
import { defineCompare, defineMerge, defineReport } from "./commands/saved.js";
import { defineServe } from "./commands/serve.js";
import { defineProfile } from "./commands/profile.js";
import { EXIT } from "./exitCodes.js";
import { UsageError } from "./usageError.js";
import { maskingStream, versionLine, type CommandContext, type Io } from "./shared.js";

export type { Io } from "./shared.js";

/** The program: each command defines itself in its own file (src/cli/commands/), its options from one table. */
function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command("regbench")
    .description("Benchmark the concurrency-control strategies of a device-registration service, and audit what they store.")
    .version(versionLine(), "-V, --version", "print the version and the commit")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError("(regbench run --help lists every flag)");
  const context: CommandContext = {
    io,
    setExit,
    // Only values given on the command line override a scenario; commander's own defaults (--no-watchdog's implied
    // true) must not.
    given: (options, command) => Object.fromEntries(Object.entries(options).filter(([key]) => command.getOptionValueSource(key) === "cli")),
  };
  defineLists(program, context);
  defineServe(program, context);
  defineRun(program, context);
  defineReport(program, context);
  defineCompare(program, context);
  defineMerge(program, context);
  defineProfile(program, context);
  return program;
}

/** Runs the CLI and returns its exit code. */
export async function main(argv: readonly string[], given: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let code: number = EXIT.ok;
  // Every output passes one masking boundary: a URL's password never reaches the terminal or a log.
  const io: Io = { ...given, stdout: maskingStream(given.stdout), stderr: maskingStream(given.stderr) };
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv as string[]);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof UsageError) {
      io.stderr.write(`regbench: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof CannotRunError) {
      io.stderr.write(`regbench: could not run ${error.message}\n`);
      return EXIT.cannotRun;
    }
    io.stderr.write(`regbench: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT.cannotRun;
  }
}
