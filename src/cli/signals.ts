/** The exit code of a run stopped by a signal: 128 + its number, as shells and k6 report it. */
export const SIGNAL_EXIT: Readonly<Record<"SIGHUP" | "SIGINT" | "SIGTERM", number>> = Object.freeze({ SIGHUP: 129, SIGINT: 130, SIGTERM: 143 });

export type StopSignal = keyof typeof SIGNAL_EXIT;

/** A run's interruption: the first SIGINT, SIGTERM or SIGHUP aborts `signal`; a second one exits at once. */
export interface Interruption {
  readonly signal: AbortSignal;
  /** The signal received, if any. */
  received(): StopSignal | undefined;
  /** Removes the handlers (the run is over). */
  dispose(): void;
}

/**
 * Traps the stop signals for the length of a run. The first one aborts the run's signal: the run stops starting
 * requests, stops its children and reports what it measured. A second one exits at once with the same code;
 * children notice their parent is gone and clean up after themselves, and temporary folders are removed on exit.
 */
export function trapSignals(onFirst: (signal: StopSignal) => void): Interruption {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const handlers = (Object.keys(SIGNAL_EXIT) as StopSignal[]).map((name) => {
    const handler = () => {
      if (received) process.exit(SIGNAL_EXIT[received]);
      received = name;
      onFirst(name);
      controller.abort();
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    received: () => received,
    dispose: () => handlers.forEach(([name, handler]) => process.off(name, handler)),
  };
}
