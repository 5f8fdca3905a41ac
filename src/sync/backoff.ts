/** Exponential backoff with full jitter, as most retrying clients use it. */
export interface BackoffSettings {
  /** How many times to try in all, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** The wait before retry number `attempt` (1 for the first retry): uniform in [0, min(max, base·2^(attempt-1))]. */
export function backoffDelay(attempt: number, settings: BackoffSettings, random: () => number): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return random() * ceiling;
}
