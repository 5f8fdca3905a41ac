/**
 * The events a run tells its subscribers while it measures (the drivers never print; cli/ and report/progress.ts
 * show them). A leaf: it imports nothing of regbench's.
 */
/** The last second of a run, as the live progress line shows it. */
export interface RecentFigures {
  readonly tps: number;
  readonly errors: number;
  readonly p99Ms: number | null;
}

/** What a run tells its subscribers; the drivers never print. */
export type RunEvent =
  | { readonly type: "phase"; readonly phase: "setup" | "warmup" | "measure" | "audit" }
  | {
      readonly type: "progress";
      readonly done: number;
      /** Requests of the window, or undefined for a run bounded by `--duration`. */
      readonly total: number | undefined;
      /** Seconds since the window began, and its planned length for a `--duration` run. */
      readonly elapsedS: number;
      readonly durationS?: number;
      readonly failed: number;
      readonly recent: RecentFigures;
    };
