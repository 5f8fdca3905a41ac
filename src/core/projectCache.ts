import { SingleFlight } from "../sync/singleflight.js";
import type { Project } from "./types.js";

/** How many projects a cache keeps at most; beyond, it starts over (a flood of made-up project IDs cannot grow it). */
const MAX_ENTRIES = 10_000;

/**
 * The projects a registration service has read recently, for `ttlMs`, as a real service keeps them: without it
 * every registration reads its project from the store, which on a networked database is a round trip per request
 * that no strategy can avoid. Concurrent misses of one project share one read; unknown projects are not kept. With
 * `ttlMs` 0 every registration reads the store.
 */
export class ProjectCache {
  private readonly entries = new Map<string, { readonly project: Project; readonly until: number }>();
  private readonly loading = new SingleFlight<Project | undefined>();

  constructor(
    private readonly load: (id: string) => Promise<Project | undefined>,
    private readonly ttlMs: number,
  ) {}

  async get(id: string): Promise<Project | undefined> {
    if (this.ttlMs <= 0) return this.load(id);
    const hit = this.entries.get(id);
    if (hit && hit.until > performance.now()) return hit.project;
    const { value } = await this.loading.do(id, () => this.load(id));
    if (value) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(id, { project: value, until: performance.now() + this.ttlMs });
    }
    return value;
  }
}
