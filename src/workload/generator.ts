import { randomBytes } from "node:crypto";
import { keyDigest } from "../core/crypto.js";
import type { RegisterRequest } from "../core/types.js";
import type { NewProject } from "../store/store.js";
import type { WorkloadConfig } from "../config/run.js";
import { mulberry32 } from "./prng.js";

const ARCHES = ["x86_64", "aarch64", "armv7l"];
const DISTROS = ["debian 12", "ubuntu 24.04", "alpine 3.20", "rocky 9"];
const KERNELS = ["6.1.0-28-amd64", "6.8.0-45-generic", "6.6.58-0-lts", "5.14.0-427.el9"];

/**
 * Requests of a timed warmup (`--warmup 5s`) are numbered from here, so that the measured window's stay 0, 1, 2…
 * whatever the warmup sent; their machineIDs are `<prefix>-w<k>`.
 */
export const WARMUP_BASE = 2 ** 30;

/**
 * `x % n` for a uint32 `x` and a small `n` (below 2^15), the same value in small-integer arithmetic: `%` on a uint32
 * above 2^31, a double to V8, is a call to fmod per request.
 */
export function uint32Mod(x: number, n: number): number {
  return (((x >>> 16) % n) * 65536 + (x & 0xffff)) % n;
}

/** Systems whose fields a workload keeps made (the default run has one; a run may have a system per device). */
const SYSTEM_CACHE = 4096;

interface SystemFields {
  readonly projectId: string;
  readonly key: string;
  readonly systemUuid: string;
  readonly systemName: string;
}

/**
 * The requests of one run. Every ID starts with the run's prefix, fresh per run, so that a kept store never sees
 * an old ID and the audit can select a run's rows. The seed fixes everything else: which system each device
 * belongs to, which requests are re-sends and of what, and the field values.
 */
export class Workload {
  /** Every project, system and machine ID of this run starts with it. */
  readonly prefix: string;
  readonly projects: readonly (NewProject & { readonly key: string })[];
  private readonly systems: SystemFields[] = [];
  /** For request i, the index of the fresh request it sends (itself, or an earlier one for a re-send). */
  private source: Int32Array;

  /**
   * `given` replaces the generated projects with ones a target already knows (`--project ID:KEY`); systems are
   * spread over them as over generated ones.
   */
  constructor(
    readonly config: WorkloadConfig,
    prefix = `rb${randomBytes(4).toString("hex")}`,
    given?: readonly { readonly id: string; readonly key: string }[],
    /** Where systemUUIDs start: the run's ID for the agents of one run (they share its systems), else `prefix`. */
    private readonly systemPrefix = prefix,
  ) {
    this.prefix = prefix;
    this.projects = given?.length
      ? given.map((p) => ({ id: p.id, name: p.id, cidr: config.cidr, key: p.key, keyDigest: keyDigest(p.key), relayNodes: [] }))
      : Array.from({ length: config.projects }, (_, j) => {
          const key = randomBytes(16).toString("hex");
          return {
            id: `${prefix}-p${j}`,
            name: `regbench project ${j}`,
            cidr: config.cidr,
            key,
            keyDigest: keyDigest(key),
            relayNodes: [`relay-1.${prefix}.regbench.internal:3478`, `relay-2.${prefix}.regbench.internal:3478`],
          };
        });
    this.random = mulberry32(config.seed);
    // A run bounded by time (`--duration`, `--stages`) grows the sources as it goes.
    const planned = config.warmup + (Number.isFinite(config.requests) ? config.requests : 0);
    this.source = new Int32Array(Math.max(1024, Math.min(planned, 1 << 24)));
    this.extend(planned);
  }

  private readonly random: () => number;
  private made = 0;
  private resent = 0;

  /**
   * Decides the sources of requests up to `total` (deterministic: the same seed gives the same sequence whatever the
   * growth). A driver whose requests were made elsewhere (generator threads) calls it with the number sent, so that
   * `resends` counts them all.
   */
  extend(total: number): void {
    if (total > this.source.length) {
      let n = this.source.length;
      while (n < total) n *= 2;
      const grown = new Int32Array(n);
      grown.set(this.source.subarray(0, this.made));
      this.source = grown;
    }
    const { resend } = this.config;
    for (let i = this.made; i < total; i++) {
      if (i > 0 && resend > 0 && this.random() < resend) {
        this.source[i] = this.source[Math.floor(this.random() * i)]!;
        this.resent++;
      } else {
        this.source[i] = i;
      }
    }
    this.made = Math.max(this.made, total);
  }

  /** The run's own machineIDs: `${prefix}-m${k}`, k below the number of requests decided so far (see RowAudit). */
  ownMachines(): { readonly prefix: string; readonly below: number } {
    return { prefix: `${this.prefix}-m`, below: this.made };
  }

  /** Requests that re-send an earlier machineID, among those made so far. */
  get resends(): number {
    return this.resent;
  }

  /** The index of the fresh request request `i` repeats (itself, unless it is a re-send). */
  private sourceOf(i: number): number {
    // A timed warmup's requests (numbered from WARMUP_BASE) are all fresh devices of their own.
    if (i >= WARMUP_BASE) return i;
    if (i >= this.made) this.extend(i + 1);
    return this.source[i]!;
  }

  /** The machineID request i sends. */
  machineIdOf(i: number): string {
    return i >= WARMUP_BASE ? `${this.prefix}-w${i - WARMUP_BASE}` : `${this.prefix}-m${this.sourceOf(i)}`;
  }

  /** A system's own fields, made once for the first SYSTEM_CACHE systems (a request is built per send). */
  private systemFields(system: number): SystemFields {
    const cached = system < SYSTEM_CACHE ? this.systems[system] : undefined;
    if (cached) return cached;
    const project = this.projects[system % this.projects.length]!;
    const fields = { projectId: project.id, key: project.key, systemUuid: `${this.systemPrefix}-s${system}`, systemName: `edge-system-${system}` };
    if (system < SYSTEM_CACHE) this.systems[system] = fields;
    return fields;
  }

  /** Request i (0-based, warmup first); re-sends are identical to the request they repeat. */
  request(i: number): RegisterRequest {
    const f = this.sourceOf(i);
    const system = f % this.config.systems;
    const { projectId, key, systemUuid, systemName } = this.systemFields(system);
    const mix = Math.imul(f ^ this.config.seed, 0x9e3779b1) >>> 0;
    return {
      projectId,
      key,
      systemUuid,
      systemName,
      machineId: f >= WARMUP_BASE ? `${this.prefix}-w${f - WARMUP_BASE}` : `${this.prefix}-m${f}`,
      peerId: `peer-${mix.toString(16).padStart(8, "0")}`,
      hostname: `edge-${system}-${f}`,
      arch: ARCHES[uint32Mod(mix, ARCHES.length)]!,
      distro: DISTROS[uint32Mod(mix >>> 4, DISTROS.length)]!,
      kernelVersion: KERNELS[uint32Mod(mix >>> 8, KERNELS.length)]!,
    };
  }
}
