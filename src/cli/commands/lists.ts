import type { Command } from "commander";
import { renderNemesisKinds } from "../../faults/nemesis.js";
import { describeScenarios } from "../../workload/scenario.js";
import { renderStrategies, type CommandContext } from "../shared.js";

/** `regbench strategies`, `regbench scenarios` and `regbench nemeses`: what can be run. */
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
  program
    .command("nemeses")
    .description("list the nemeses --nemesis takes: real faults on instances, services and connections")
    .action(() => {
      io.stdout.write(`${renderNemesisKinds()}\n`);
    });
}
