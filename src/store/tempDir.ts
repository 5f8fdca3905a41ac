import { mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A private folder for temporary stores (mkdtemp: an unpredictable name, mode 0700), removed by `remove` — and,
 * should the process exit without calling it, on exit. A run makes one and puts every strategy's temporary store in
 * it, so that whatever happens to a measuring process, removing the folder removes its files.
 */
export interface TempDir {
  readonly path: string;
  remove(): void;
}

export function makeTempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), "regbench-"));
  const remove = () => {
    process.off("exit", remove);
    rmSync(path, { recursive: true, force: true });
  };
  process.on("exit", remove);
  return { path, remove };
}

/** Removes a folder if nothing is left in it: what a process whose parent has gone does, since the parent can no longer. */
export function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty (another process's files), or already gone
  }
}
