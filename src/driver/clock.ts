/**
 * The time the loops read and wait on. Production uses the real one (performance.now(), timers); tests use
 * VirtualClock, whose time moves only when every sender waits on it, so pacing and deadlines are checked exactly
 * and never depend on how busy the machine is.
 */
export interface Clock {
  /** Milliseconds, on performance.now()'s scale for the real clock. */
  now(): number;
  /** Resolves `ms` later on this clock. */
  sleep(ms: number): Promise<void>;
  /** Resolves after one turn of the event loop (timers, I/O and signals get to run). */
  turn(): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  turn: () => new Promise((resolve) => setImmediate(resolve)),
};

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * A clock whose time jumps to the next sleeper's wake-up once nothing else can run: every promise chain has settled
 * and no turn() is pending. Code under test must wait only on this clock (or on promises it settles); a real timer
 * or real I/O in between would let virtual time run ahead of it.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers: Timer[] = [];
  private turns = 0;
  private scheduled = false;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timers.push({ at: this.t + Math.max(0, ms), seq: this.seq++, resolve });
      this.schedule();
    });
  }

  turn(): Promise<void> {
    this.turns++;
    return new Promise((resolve) =>
      setImmediate(() => {
        this.turns--;
        resolve();
      }),
    );
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.advance());
  }

  /** Wakes the earliest sleepers (all due at the same time) once the event loop is otherwise idle. */
  private advance(): void {
    this.scheduled = false;
    if (this.timers.length === 0) return;
    if (this.turns > 0) {
      this.schedule();
      return;
    }
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const at = this.timers[0]!.at;
    this.t = Math.max(this.t, at);
    while (this.timers.length && this.timers[0]!.at <= this.t) this.timers.shift()!.resolve();
    if (this.timers.length) this.schedule();
  }
}
