import { readJsonFile } from "../core/jsonFile.js";
import { UsageError } from "./usageError.js";

/** The secrets of a server or of a run against one: project keys, the config sealing key, the audit token. */
export interface Secrets {
  readonly projects: readonly { readonly id: string; readonly key: string }[];
  readonly serverKey: string | undefined;
  readonly auditToken: string | undefined;
  /** The service's database for the audit (`--audit-db`), its password filled in from wherever it came. */
  readonly auditDb?: string;
  /** The password of the audit database, when it came apart from the URL (secrets file, environment). */
  readonly auditDbPassword?: string;
  /** `regbench serve`'s lock namespace, when given (see locks/namespace.ts); not a secret, but shared the same way. */
  readonly lockNamespace?: string | undefined;
}

/** The `--secrets-file` format, which `regbench serve` also writes. */
export interface SecretsFile {
  readonly projects?: readonly { readonly id: string; readonly key: string }[];
  readonly serverKey?: string;
  readonly auditToken?: string;
  readonly auditDb?: string;
  readonly auditDbPassword?: string;
  readonly lockNamespace?: string;
}

/** Parses `ID:KEY` (a `--project` value or one entry of REGBENCH_PROJECTS). */
export function parseProject(value: string, source: string): { id: string; key: string } {
  const colon = value.indexOf(":");
  if (colon <= 0 || colon === value.length - 1) {
    throw new UsageError(
      source,
      `must be ID:KEY (got ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)})`,
      "For example: fleet-a:s3cret (regbench serve writes its projects to the secrets file it prints).",
    );
  }
  return { id: value.slice(0, colon), key: value.slice(colon + 1) };
}

/** Reads a secrets file; errors name the flag. */
export function readSecretsFile(path: string): SecretsFile {
  const read = readJsonFile(path);
  if (!read.ok) {
    throw new UsageError(
      "--secrets-file",
      read.problem,
      'Pass a JSON file such as {"projects": [{"id": "p", "key": "…"}], "serverKey": "…", "auditToken": "…"} (regbench serve writes one).',
    );
  }
  const file = read.value as SecretsFile;
  const ok =
    typeof file === "object" &&
    file !== null &&
    (file.projects === undefined ||
      (Array.isArray(file.projects) && file.projects.every((p) => typeof p?.id === "string" && p.id !== "" && typeof p?.key === "string" && p.key !== ""))) &&
    (file.serverKey === undefined || typeof file.serverKey === "string") &&
    (file.auditToken === undefined || typeof file.auditToken === "string") &&
    (file.auditDb === undefined || typeof file.auditDb === "string") &&
    (file.auditDbPassword === undefined || typeof file.auditDbPassword === "string") &&
    (file.lockNamespace === undefined || typeof file.lockNamespace === "string");
  if (!ok)
    throw new UsageError(
      "--secrets-file",
      `${path} is not a secrets file`,
      'Its shape: {"projects": [{"id": "p", "key": "…"}], "serverKey": "64 hex digits", "auditToken": "…", "auditDb": "postgres://…", "auditDbPassword": "…", "lockNamespace": "…"}, every field optional.',
    );
  return file;
}

/**
 * Resolves the secrets from, in order of precedence, the command line (`--project`, `--server-key`,
 * `--audit-token`: visible to other users in `ps`), `--secrets-file`, and the environment (REGBENCH_PROJECTS as
 * `ID:KEY,ID:KEY`, REGBENCH_SERVER_KEY, REGBENCH_AUDIT_TOKEN), which keep them off the command line. The lock
 * namespace of `serve` comes the same way (`--lock-namespace`, the file's `lockNamespace`, REGBENCH_LOCK_NAMESPACE).
 */
export function resolveSecrets(options: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): Secrets & { readonly onCommandLine: readonly string[] } {
  const file: SecretsFile = options.secretsFile !== undefined ? readSecretsFile(String(options.secretsFile)) : {};
  const flagProjects = ([] as unknown[]).concat(options.project ?? []).map((v) => parseProject(String(v), "--project"));
  const envProjects = (env.REGBENCH_PROJECTS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((v) => parseProject(v, "REGBENCH_PROJECTS"));
  const pick = (flag: unknown, fromFile: string | undefined, fromEnv: string | undefined) =>
    flag !== undefined ? String(flag) : fromFile !== undefined ? fromFile : fromEnv !== undefined && fromEnv !== "" ? fromEnv : undefined;
  const onCommandLine = [
    ...(flagProjects.length ? ["--project"] : []),
    ...(options.serverKey !== undefined ? ["--server-key"] : []),
    ...(options.auditToken !== undefined ? ["--audit-token"] : []),
    ...(options.auditDb !== undefined && /\/\/[^/@:]*:[^@]+@/.test(String(options.auditDb)) ? ["--audit-db (its password)"] : []),
  ];
  const auditDbPassword = file.auditDbPassword ?? (env.REGBENCH_AUDIT_DB_PASSWORD || undefined);
  return {
    projects: flagProjects.length ? flagProjects : file.projects?.length ? file.projects : envProjects,
    serverKey: pick(options.serverKey, file.serverKey, env.REGBENCH_SERVER_KEY),
    auditToken: pick(options.auditToken, file.auditToken, env.REGBENCH_AUDIT_TOKEN),
    auditDb: pick(options.auditDb, file.auditDb, env.REGBENCH_AUDIT_DB),
    ...(auditDbPassword !== undefined ? { auditDbPassword } : {}),
    lockNamespace: pick(options.lockNamespace, file.lockNamespace, env.REGBENCH_LOCK_NAMESPACE),
    onCommandLine,
  };
}
