import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { EXPORTERS } from "../report/exporters/registry.js";
import type { RunReport } from "../report/result.js";
import { UsageError } from "./options.js";

/** An output file opened before the run, written after it. */
interface OpenedOutput {
  readonly path: string;
  readonly format: string;
  readonly fd: number;
}

/** Where a run's report goes, every file opened up front so that a bad path fails before anything runs. */
export class Outputs {
  private constructor(private readonly files: readonly OpenedOutput[]) {}

  /**
   * Opens `--export-*` files, the baseline to save, and the run's own JSON under `--out` (default `results/`)
   * unless `--no-save`. A path that cannot be written is a UsageError naming its flag.
   */
  static open(options: Readonly<Record<string, unknown>>, saveName: string): Outputs {
    const files: OpenedOutput[] = [];
    const openFor = (flag: string, path: string, format: string) => {
      try {
        files.push({ path, format, fd: openSync(path, "w") });
      } catch (error) {
        for (const f of files) closeSync(f.fd);
        throw new UsageError(flag, `cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, "Pass a path in a folder that exists and that you can write to.");
      }
    };
    for (const [key, flag, format] of [
      ["exportMarkdown", "--export-markdown", "md"],
      ["exportJson", "--export-json", "json"],
      ["exportCsv", "--export-csv", "csv"],
      ["saveBaseline", "--save-baseline", "json"],
    ] as const) {
      if (options[key] !== undefined) openFor(flag, String(options[key]), format);
    }
    if (options.save !== false) {
      const dir = String(options.out ?? "results");
      try {
        mkdirSync(dir, { recursive: true });
      } catch (error) {
        for (const f of files) closeSync(f.fd);
        throw new UsageError("--out", `cannot create ${dir} (${(error as NodeJS.ErrnoException).code})`, "Pass a folder you can write to, or --no-save.");
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
      openFor("--out", join(dir, `${stamp}-${saveName.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 80)}.json`), "json");
    }
    return new Outputs(files);
  }

  /** Writes the report into every opened file and closes them; returns the paths written. */
  write(report: RunReport): string[] {
    for (const f of this.files) {
      writeSync(f.fd, EXPORTERS[f.format]!.render(report));
      closeSync(f.fd);
    }
    return this.files.map((f) => f.path);
  }

  /** Closes without writing (the run failed): the files stay as they were opened, empty. */
  abandon(): void {
    for (const f of this.files) closeSync(f.fd);
  }
}
