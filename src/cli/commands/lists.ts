import type { Command } from "commander";
import { describeScenarios } from "../../workload/scenario.js";
import { renderStrategies, type CommandContext } from "../shared.js";

/** `regbench strategies` and `regbench scenarios`: what can be run. */
export function defineLists(program: Command, { io }: CommandContext): void {
  program
    .command("strategies")
    .description("list the strategies, what each protects and what it does not")
    .action(() => {
      io.stdout.write(`${renderStrategies()}\n`);
    });
  program
    .command("scenarios")
    .description("list the shipped scenarios with their descriptions, options and thresholds")
    .action(() => {
      io.stdout.write(`${describeScenarios()}\n`);
    });
}
