import {
  accessSync,
  appendFileSync,
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { EXPORTERS } from "../report/exporters/registry.js";
import type { RunReport } from "../report/result.js";
import { UsageError } from "./usageError.js";

/** One file a run will write, checked before the run. */
interface PlannedOutput {
  readonly flag: string;
  readonly path: string;
  readonly format: string;
  /** A baseline is never written from an interrupted run. */
  readonly baseline: boolean;
  /** GitHub Actions' job summary: the report is appended to what the job's other steps wrote, never replacing it. */
  readonly append?: boolean;
}

/** What GitHub Actions accepts in one step's job summary: "the maximum size of a step summary is 1 MiB". */
export const STEP_SUMMARY_LIMIT = 1024 * 1024;

/** Whether two paths name one file (through symbolic links when it exists). */
function sameFile(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
}

/**
 * The Markdown block appended to a job summary that holds `used` bytes, kept under GitHub's 1 MiB: the whole report;
 * else its header and table without the Mermaid charts; else one line saying where the report is; undefined when
 * not even that fits.
 */
export function summaryBlock(markdown: string, used: number, limit = STEP_SUMMARY_LIMIT): string | undefined {
  const room = limit - used;
  const fits = (text: string) => Buffer.byteLength(text) <= room;
  const whole = `\n${markdown}`;
  if (fits(whole)) return whole;
  const charts = markdown.indexOf("```mermaid");
  const compact = `\n${charts > 0 ? markdown.slice(0, charts).trimEnd() : ""}\n\n_regbench: charts left out — the job summary holds at most 1 MiB; the HTML report has them._\n`;
  if (charts > 0 && fits(compact)) return compact;
  const note = `\n_regbench: the report (${Math.ceil(Buffer.byteLength(markdown) / 1024)} KiB) would take the job summary past 1 MiB; see the exported files._\n`;
  return fits(note) ? note : undefined;
}

/** Appends the report to a job summary (GITHUB_STEP_SUMMARY), within GitHub's limit; what was there stays. */
function appendToSummary(path: string, markdown: string): void {
  let used = 0;
  try {
    used = statSync(path).size;
  } catch {
    // No summary yet: the report starts it.
  }
  const block = summaryBlock(markdown, used);
  if (block === undefined) throw new Error(`the job summary already holds ${used} bytes, GitHub's limit is ${STEP_SUMMARY_LIMIT}`);
  appendFileSync(path, block);
}

/**
 * Writes `text` to `path` atomically: into a temporary file beside it, flushed, then renamed over it. A reader (or a
 * crash) sees the old file or the new one, never a half-written or empty one.
 */
export function writeAtomically(path: string, text: string, mode = 0o644): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(temp, "wx", mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Fails now, naming the flag, if `path` could not be written after the run. Creates nothing, truncates nothing. */
function checkWritable(flag: string, path: string): void {
  const dir = dirname(path);
  const fail = (why: string) => {
    throw new UsageError(flag, `cannot write ${path} (${why})`, "Pass a path in a folder that exists and that you can write to.");
  };
  try {
    if (!statSync(dir).isDirectory()) fail("ENOTDIR");
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    fail((error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
  try {
    if (statSync(path).isDirectory()) fail("EISDIR: it is a folder");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // ENOENT: a new file, which the folder check covers.
  }
}

/**
 * Where a run's report goes. Every path is checked before the run, so that a bad one fails in the first second
 * (exit 2); nothing is opened or truncated until there is a report to write, and each file is written atomically,
 * so a failed or interrupted run leaves every existing file as it was.
 */
export class Outputs {
  private constructor(private readonly files: readonly PlannedOutput[]) {}

  /**
   * Plans `--export-*` files, the baseline to save, and the run's own JSON under `--out` (default `results/`)
   * unless `--no-save`. A path that could not be written is a UsageError naming its flag.
   */
  static plan(options: Readonly<Record<string, unknown>>, saveName: string, env: NodeJS.ProcessEnv = {}): Outputs {
    const files: PlannedOutput[] = [];
    // GitHub Actions' job summary is appended to, never replaced: by --summary, or an --export-markdown naming it.
    const summary = env.GITHUB_STEP_SUMMARY || undefined;
    if (options.summary === true) {
      if (summary === undefined)
        throw new UsageError(
          "--summary",
          "needs GITHUB_STEP_SUMMARY, which GitHub Actions sets in every step",
          "Run it in a GitHub Actions step, or write the report to a file with --export-markdown FILE.",
        );
      checkWritable("--summary", summary);
      files.push({ flag: "--summary", path: summary, format: "md", baseline: false, append: true });
    }
    for (const [key, flag, format] of [
      ["exportMarkdown", "--export-markdown", "md"],
      ["exportJson", "--export-json", "json"],
      ["exportCsv", "--export-csv", "csv"],
      ["exportHtml", "--export-html", "html"],
      ["saveBaseline", "--save-baseline", "json"],
    ] as const) {
      if (options[key] === undefined) continue;
      const path = String(options[key]);
      checkWritable(flag, path);
      const append = format === "md" && summary !== undefined && sameFile(path, summary);
      if (append && options.summary === true) continue;
      files.push({ flag, path, format, baseline: key === "saveBaseline", ...(append ? { append } : {}) });
    }
    if (options.save !== false) {
      const dir = String(options.out ?? "results");
      try {
        mkdirSync(dir, { recursive: true });
      } catch (error) {
        throw new UsageError("--out", `cannot create ${dir} (${(error as NodeJS.ErrnoException).code})`, "Pass a folder you can write to, or --no-save.");
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
      const path = join(dir, `${stamp}-${saveName.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 80)}.json`);
      checkWritable("--out", path);
      files.push({ flag: "--out", path, format: "json", baseline: false });
    }
    return new Outputs(files);
  }

  /** The baseline this run would save, if any. */
  get baselinePath(): string | undefined {
    return this.files.find((f) => f.baseline)?.path;
  }

  /**
   * Writes the report into each planned file, atomically; an interrupted report never replaces a baseline, and a run
   * that failed (`saved-only`) writes only its own new file under results/, never a file the user named. Returns
   * the paths written and, for a file that could not be written, why (the run's figures are on stdout regardless).
   */
  write(report: RunReport, scope: "all" | "saved-only" = "all"): { written: string[]; failed: string[] } {
    const written: string[] = [];
    const failed: string[] = [];
    for (const f of this.files) {
      if (f.baseline && report.interrupted) continue;
      if (scope === "saved-only" && f.flag !== "--out") continue;
      try {
        if (f.append) appendToSummary(f.path, EXPORTERS[f.format]!.render(report));
        else writeAtomically(f.path, EXPORTERS[f.format]!.render(report));
        written.push(f.path);
      } catch (error) {
        failed.push(`${f.flag} ${f.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    }
    return { written, failed };
  }
}
