import type { ServerLocation, ServerSpec, StoreKind, StoreLocation, StoreSpec } from "../kind.js";
import { parseServerSpec, runNamespace, safeUrl, SERVE_NAMESPACE } from "../serverSchema.js";
import type { SqlDialect } from "./dialect.js";
import { CONNECT_TIMEOUT_MS, describeServerLocation, SqlStore } from "./sqlStore.js";

const locationOf = (location: StoreLocation) => location as ServerLocation;
const specOf = (spec: StoreSpec) => spec as ServerSpec;

/**
 * The store kind of a SQL dialect: `--store NAME://USER@HOST:PORT/DATABASE` (or an alias scheme), a namespace per
 * strategy of a run, `regbench` (or `?schema=`) for serve.
 */
export function sqlStoreKind(d: SqlDialect): StoreKind {
  const scheme = new RegExp(`^(${[d.name, ...d.aliases].join("|")}):\\/\\/`);
  return {
    name: d.name,
    forms: d.forms,
    server: true,
    defaultPort: d.defaultPort,
    parse(text) {
      const match = scheme.exec(text);
      if (!match) return undefined;
      return parseServerSpec(d.name, d.exampleUrl, `${d.name}:${text.slice(match[1]!.length + 1)}`);
    },
    describe: (spec) => safeUrl(specOf(spec).url),
    shareable: () => true,
    async probe(spec, timeoutMs) {
      const url = specOf(spec).url;
      let admin;
      try {
        // With the URL's database: a database that does not exist is refused here, before anything runs.
        admin = await d.connectAdmin(url, timeoutMs);
        await admin.run({ text: "SELECT 1", values: [] });
        return undefined;
      } catch (error) {
        return d.problem(url, error);
      } finally {
        await admin?.end().catch(() => undefined);
      }
    },
    placeForRun: (spec, site) => ({ location: { kind: d.name, url: specOf(spec).url, schema: runNamespace(site.prefix) }, temporary: !site.keep }),
    placeForServe: (spec) => ({ location: { kind: d.name, url: specOf(spec).url, schema: specOf(spec).schema ?? SERVE_NAMESPACE }, temporary: false }),
    open: (location, settings) => SqlStore.openWith(d, locationOf(location), settings),
    async remove(location) {
      const admin = await d.connectAdmin(locationOf(location).url, CONNECT_TIMEOUT_MS);
      try {
        await admin.run({ text: d.dropNamespace(locationOf(location).schema), values: [] });
      } finally {
        await admin.end().catch(() => undefined);
      }
    },
    describeLocation: (location) => describeServerLocation(d, locationOf(location)),
    killConnections: (location) => d.killConnections(locationOf(location)),
  };
}
