import { StoreError, type Constraint } from "../core/errors.js";
import { maskSecrets } from "../core/mask.js";
import type { ServerSpec } from "./kind.js";

/**
 * What the server stores (PostgreSQL, MySQL) share: the names of the unique constraints (so a violation says which
 * invariant it protected), the schema version, and how a run's namespace is named.
 */
export const SERVER_SCHEMA_VERSION = "1";

export const CONSTRAINT_NAMES: Readonly<Record<Constraint, string>> = Object.freeze({
  system: "systems_project_uuid_key",
  machine: "machines_machine_id_key",
  ip: "machines_project_ipv4_key",
});

/** The constraint a unique violation names (PostgreSQL's `constraint`, MySQL's `for key '…'`), if it is one of ours. */
export function constraintNamed(name: string | undefined): Constraint | undefined {
  if (!name) return undefined;
  for (const [constraint, constraintName] of Object.entries(CONSTRAINT_NAMES) as [Constraint, string][]) {
    if (name === constraintName || name.endsWith(`.${constraintName}`)) return constraint;
  }
  return undefined;
}

/** A schema (PostgreSQL) or database (MySQL) name regbench accepts: lowercase letters, digits and `_`. */
export const NAMESPACE = /^[a-z_][a-z0-9_]{0,62}$/;

/** The namespace a run's strategy works in: made from its run prefix, dropped at the end unless kept. */
export function runNamespace(prefix: string): string {
  return `regbench_${prefix}`;
}

/** Where `serve` keeps its tables on a server unless `?schema=` says otherwise: shared by every server on that database. */
export const SERVE_NAMESPACE = "regbench";

/** A server URL for reports and messages: its query (connection options) dropped, its password masked. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.search = "";
    return maskSecrets(u.toString());
  } catch {
    return maskSecrets(url);
  }
}

/** Parses `postgres://…` / `mysql://…` into the spec's URL and the `?schema=` for serve; `example` is a URL that works. */
export function parseServerSpec(kind: string, example: string, text: string): ServerSpec | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${text.split("//")[0]}// needs a URL such as ${example}`;
  }
  if (!url.hostname) return `the ${kind} URL names no host`;
  const schema = url.searchParams.get("schema") ?? undefined;
  if (schema !== undefined && !NAMESPACE.test(schema)) return `?schema= must be lowercase letters, digits and _ (got ${JSON.stringify(schema)})`;
  url.searchParams.delete("schema");
  return { kind, url: url.toString(), schema };
}

/**
 * Checks the `meta` rows of an existing regbench namespace on a server: the same schema version, and unique
 * constraints as this strategy needs them. `what` names it in the message ("schema x", "database x").
 */
export function checkMeta(values: ReadonlyMap<string, string>, what: string, constraints: boolean): void {
  if (values.get("schema_version") !== SERVER_SCHEMA_VERSION) {
    throw new StoreError(
      `${what} has regbench schema version ${values.get("schema_version") ?? "unknown"}, expected ${SERVER_SCHEMA_VERSION}: use another ${what.split(" ")[0]}`,
    );
  }
  const had = values.get("constraints") === "1";
  if (had !== constraints) {
    throw new StoreError(
      `${what} was created ${had ? "with" : "without"} unique constraints, but this strategy needs one ${constraints ? "with" : "without"}: use another ?schema= per strategy`,
    );
  }
}
