import { UsageError } from "./usageError.js";

/*
 * Agents of one run (`--run ID --agent I/N`, or `--agents N` with the index a Kubernetes Indexed Job sets in
 * JOB_COMPLETION_INDEX): agent I sends its disjoint share of the run's registrations, connections and rate, so that
 * N agents together send exactly what one would; `regbench merge` puts them back together and audits once.
 */

/**
 * Letters, digits and `_`, as the audit endpoint takes a run (`GET /v1/audit/rows?run=ID`): every ID the agents send
 * is the run's ID, a dash and the rest, so a dash inside the ID would let one run's prefix match another's rows.
 */
const RUN_ID = /^[A-Za-z0-9_]{1,40}$/;

/** Agent `index` of `of`'s share of `total`: the remainder goes to the first agents, so the shares add up to it. */
export function shareOf(total: number, index: number, of: number): number {
  return Math.floor(total / of) + (index < total % of ? 1 : 0);
}

/**
 * `--agents N` takes its index from JOB_COMPLETION_INDEX and becomes `--agent I/N`; read here, where the environment
 * is, so that the config is built from flags alone.
 */
export function resolveAgentIndex(options: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  if (options.agents === undefined) return { ...options };
  if (options.agent !== undefined)
    throw new UsageError("--agents", "cannot be combined with --agent", "Use --agent I/N, or --agents N with the index in JOB_COMPLETION_INDEX.");
  const of = Number(options.agents);
  if (!Number.isSafeInteger(of) || of < 1 || String(options.agents).trim() === "")
    throw new UsageError("--agents", `must be a whole number ≥ 1 (got ${String(options.agents)})`, "For example: --agents 4 (the Job's completions).");
  const index = env.JOB_COMPLETION_INDEX;
  if (index === undefined || index === "")
    throw new UsageError(
      "--agents",
      "needs the agent's index in JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job sets in each pod",
      "Run it in an Indexed Job (completionMode: Indexed), set JOB_COMPLETION_INDEX=0…N-1, or pass --agent I/N.",
    );
  if (!/^\d+$/.test(index) || Number(index) >= of)
    throw new UsageError(
      "--agents",
      `${of} does not fit JOB_COMPLETION_INDEX=${JSON.stringify(index)}: the index must be from 0 to ${of - 1}`,
      "Give --agents the Job's completions (= parallelism).",
    );
  const { agents: _a, ...rest } = options;
  return { ...rest, agent: `${index}/${of}` };
}

/** Parses `--run` and `--agent I/N`; undefined when neither is given. */
export function parseAgent(run: unknown, agent: unknown, target: string | undefined): { run: string; index: number; of: number } | undefined {
  if (run === undefined && agent === undefined) return undefined;
  if (target === undefined)
    throw new UsageError(
      run !== undefined ? "--run" : "--agent",
      "applies to agents driving one --target",
      "Add --target URL (each agent drives the target; regbench merge audits their rows once).",
    );
  if (run === undefined)
    throw new UsageError(
      "--agent",
      "needs --run ID: the agents of one run share it",
      "For example: --run nightly_42 --agent 0/4 (the same --run on every agent).",
    );
  const id = String(run);
  if (!RUN_ID.test(id))
    throw new UsageError(
      "--run",
      `must be 1 to 40 letters, digits or _ (got ${JSON.stringify(id.slice(0, 60))})`,
      "For example: --run nightly_42 (new for every run: a CI job's ID, a Kubernetes Job's name with _ for -).",
    );
  if (agent === undefined) return { run: id, index: 0, of: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(String(agent).trim());
  const index = m ? Number(m[1]) : NaN;
  const of = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(of) || of < 1 || index >= of)
    throw new UsageError(
      "--agent",
      `must be I/N with 0 ≤ I < N (got ${JSON.stringify(String(agent))})`,
      "For example: --agent 0/4 … --agent 3/4 (0-based, as JOB_COMPLETION_INDEX).",
    );
  return { run: id, index, of };
}

/** The earliest `--start-at` in epoch milliseconds (2001-09-09): below it, the number is read as seconds given by mistake. */
const EARLIEST_START = 1e12;

/** `--start-at`: ISO 8601 with a zone (`2026-12-01T20:00:00Z`) or epoch milliseconds; at most a day ahead. */
export function parseStartAt(value: unknown, now = Date.now()): number {
  const text = String(value).trim();
  const fix = "For example: --start-at 2026-12-01T20:00:00Z or --start-at 1796155200000 (epoch ms); every agent the same.";
  let at: number;
  if (/^\d+$/.test(text)) {
    at = Number(text);
    // Seconds instead of milliseconds would start in 1970: say so rather than start at once.
    if (at < EARLIEST_START) throw new UsageError("--start-at", `${text} reads as epoch milliseconds before 2001 — seconds, perhaps?`, fix);
  } else {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text))
      throw new UsageError("--start-at", `is not ISO 8601 with a time zone or epoch milliseconds (got ${JSON.stringify(text.slice(0, 60))})`, fix);
    at = Date.parse(text);
    if (!Number.isFinite(at)) throw new UsageError("--start-at", `is not a valid instant (got ${JSON.stringify(text)})`, fix);
  }
  // Compared as numbers first: past ±8.64e15 ms (year 275760) an instant has no Date, and toISOString throws.
  const latest = now + 24 * 3600_000;
  if (at > latest) {
    const shown = Number.isFinite(new Date(at).getTime())
      ? new Date(at).toISOString()
      : `${text.length > 24 ? `${text.slice(0, 24)}…` : text}, past the last instant a date can hold`;
    throw new UsageError(
      "--start-at",
      `is more than a day ahead (${shown}): it must be from ${EARLIEST_START} (2001) to ${latest} (${new Date(latest).toISOString()}, a day from now)`,
      fix,
    );
  }
  return at;
}
