import { Worker } from "node:worker_threads";
import { formatIpv4, parseIpv4 } from "../core/ipv4.js";
import type { RegisterResponse } from "../core/types.js";
import { configAgrees } from "./configCheck.js";

/** What the audit needs of one acknowledgement: the device that asked, the address it was given, and whether its answer held together. */
export interface CheckedAck {
  readonly machineId: string;
  readonly ipv4: string;
  /** The response named the device's machineID and its config (when it could be opened) carried the same address. */
  readonly agrees: boolean;
}

/** Bit 0: the response named the device that asked. Bit 1: its config is still to be checked. Bit 2: the config agrees. */
const MACHINE_AGREES = 1;
const CONFIG_PENDING = 2;
const CONFIG_AGREES = 4;

/** Configs are checked in chunks of this many, off the measuring thread once the first chunk fills. */
const CHUNK = 8192;
/** Chunks the verifier may have in hand; past that the measuring thread checks a chunk itself (bounded memory). */
const MAX_IN_FLIGHT = 4;

/**
 * Every acknowledged registration of a run, in about 10 bytes each: the request's index, its address as a 32-bit
 * number and three flags, in typed arrays that grow by doubling. The sealed configs are not kept: they are opened
 * and checked (machineID and `interfaceAddr` against the answer's IP) in chunks by a verifier thread while the run
 * goes on, so a million-request run holds ~10 MB of acknowledgements instead of ~800 MB, and the measuring thread
 * does not pay for the checks. `openKey` undefined: the configs are not checked (a target whose key is unknown).
 */
export class AckLog {
  private index = new Uint32Array(1024);
  private ip = new Uint32Array(1024);
  private flags = new Uint8Array(1024);
  private count = 0;
  private pending: { at: number; config: string }[] = [];
  private verifier: ConfigVerifier | undefined;
  private readonly checks = new Set<Promise<void>>();

  constructor(private readonly openKey: Buffer | undefined) {}

  get size(): number {
    return this.count;
  }

  /** Records request `i`'s acknowledgement. `response.ipv4` is a dotted quad (the drivers check it). */
  add(i: number, requestMachineId: string, response: RegisterResponse): void {
    if (this.count === this.index.length) this.grow();
    const at = this.count++;
    this.index[at] = i;
    this.ip[at] = parseIpv4(response.ipv4) ?? 0;
    let f = response.machineId === requestMachineId ? MACHINE_AGREES : 0;
    if (response.configAgrees !== undefined) {
      // A config in clear, checked by the client as the answer came.
      if (f && response.configAgrees) f |= CONFIG_AGREES;
    } else if (this.openKey && f) {
      f |= CONFIG_PENDING;
      this.pending.push({ at, config: response.config });
      if (this.pending.length >= CHUNK) this.flush(true);
    } else if (f) {
      f |= CONFIG_AGREES;
    }
    this.flags[at] = f;
  }

  private grow(): void {
    const n = this.index.length * 2;
    const index = new Uint32Array(n);
    index.set(this.index);
    const ip = new Uint32Array(n);
    ip.set(this.ip);
    const flags = new Uint8Array(n);
    flags.set(this.flags);
    this.index = index;
    this.ip = ip;
    this.flags = flags;
  }

  /** Hands the pending configs to the verifier thread (`offThread`), or checks them here (the end of a small run). */
  private flush(offThread: boolean): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const ips = batch.map((p) => formatIpv4(this.ip[p.at]!));
    if (!offThread || this.checks.size >= MAX_IN_FLIGHT) {
      batch.forEach((p, k) => this.settle(p.at, configAgrees(p.config, ips[k]!, this.openKey!)));
      return;
    }
    this.verifier ??= new ConfigVerifier(this.openKey!);
    // Only the positions wait for the verdicts: the configs (most of a chunk's bytes) are copied to the verifier
    // and dropped here, not held until it answers.
    const ats = Uint32Array.from(batch, (p) => p.at);
    const check: Promise<void> = this.verifier
      .check(
        batch.map((p) => p.config),
        ips,
      )
      .then((agrees) => ats.forEach((at, k) => this.settle(at, agrees[k] === 1)))
      .finally(() => this.checks.delete(check));
    this.checks.add(check);
  }

  private settle(at: number, agrees: boolean): void {
    this.flags[at] = (this.flags[at]! & ~CONFIG_PENDING) | (agrees ? CONFIG_AGREES : 0);
  }

  /** Checks what is still pending; the acknowledgements can be read once it resolves. */
  async finish(): Promise<void> {
    this.flush(this.verifier !== undefined);
    await Promise.all([...this.checks]);
    await this.verifier?.close();
    this.verifier = undefined;
  }

  /** Releases the verifier thread without waiting (an interrupted run). */
  dispose(): void {
    void this.verifier?.close();
  }

  /** The acknowledgements for the audit, one at a time (nothing is built for all of them at once). */
  *entries(machineIdOf: (i: number) => string): IterableIterator<CheckedAck> {
    for (let at = 0; at < this.count; at++) {
      const f = this.flags[at]!;
      yield { machineId: machineIdOf(this.index[at]!), ipv4: formatIpv4(this.ip[at]!), agrees: (f & MACHINE_AGREES) !== 0 && (f & CONFIG_AGREES) !== 0 };
    }
  }

  /**
   * The log as plain typed arrays (a generator thread sends it to its parent); `merge` adds one. Configs are checked
   * where the log was kept: call `finish` first.
   */
  toData(): { index: Uint32Array; ip: Uint32Array; flags: Uint8Array } {
    return { index: this.index.slice(0, this.count), ip: this.ip.slice(0, this.count), flags: this.flags.slice(0, this.count) };
  }

  merge(data: { index: Uint32Array; ip: Uint32Array; flags: Uint8Array }): void {
    for (let k = 0; k < data.index.length; k++) {
      if (this.count === this.index.length) this.grow();
      this.index[this.count] = data.index[k]!;
      this.ip[this.count] = data.ip[k]!;
      this.flags[this.count++] = data.flags[k]!;
    }
  }
}

/** A thread that opens sealed configs and checks their address, a chunk at a time. */
class ConfigVerifier {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (agrees: Uint8Array) => void; reject: (e: Error) => void }>();

  constructor(key: Buffer) {
    // A small young generation: the verifier's garbage (opened configs) dies young, and V8's default semi-spaces
    // held ~20 MB more of a run's peak RSS (277 → 250 MB at 100,000 requests) for no measurable gain here.
    this.worker = new Worker(new URL("./configCheckWorker.js", import.meta.url), {
      workerData: { key: key.toString("hex") },
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    this.worker.unref();
    this.worker.on("message", (m: { id: number; agrees: Uint8Array }) => {
      this.waiting.get(m.id)?.resolve(m.agrees);
      this.waiting.delete(m.id);
    });
    this.worker.on("error", (e) => {
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    });
  }

  check(configs: string[], ips: string[]): Promise<Uint8Array> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, configs, ips });
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
