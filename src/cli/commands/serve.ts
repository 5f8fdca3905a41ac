import type { Command } from "commander";
import { addOptions, CORE_OPTIONS, SERVE_OPTIONS } from "../optionTable.js";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { prepareLockServices } from "../../driver/preflight.js";
import { CannotRunError } from "../../driver/errors.js";
import { serve, StartAbortedError, type ServeSpec } from "../../http/serve.js";
import { checkLockNamespace, derivedLockNamespace } from "../../locks/namespace.js";
import { describeLocation, placeForServe, probeStore, removeStore, storeIdentity } from "../../store/registry.js";
import { makeTempDir } from "../../store/tempDir.js";
import { EXIT } from "../exitCodes.js";
import { buildServeConfig, UsageError } from "../options.js";
import { writeAtomically } from "../outputs.js";
import { resolveSecrets, type SecretsFile } from "../secrets.js";
import type { CommandContext, Io } from "../shared.js";

/** Whether an address to listen on keeps the server on this machine. */
function loopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Defines `regbench serve` and its options (from the option table). */
export function defineServe(program: Command, context: CommandContext): void {
  const command = program.command("serve").description("run the registration core behind its HTTP API (POST /v1/register, GET /v1/audit/rows, GET /healthz)");
  addOptions(addOptions(command, SERVE_OPTIONS), CORE_OPTIONS).action(async (options: Record<string, unknown>, cmd: Command) => {
    context.setExit(await serveCommand(context.given(options, cmd), context.io));
  });
}

/**
 * `regbench serve`: the registration core behind its HTTP API until SIGINT, SIGTERM or SIGHUP. Its secrets come
 * from --secrets-file, the environment or the command line; those not given are generated, and all of them are
 * written to a secrets file (mode 0600) whose path — never the secrets — is printed, with the command that drives it.
 */
export async function serveCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const serveConfig = buildServeConfig(options);
  const { run: config, strategy, port, host, maxConnections, headerTimeoutMs } = serveConfig;
  // A --secrets-file that does not exist yet is where the generated secrets go, and stay.
  const secretsPath = options.secretsFile === undefined ? undefined : String(options.secretsFile);
  const writeSecretsTo = secretsPath !== undefined && !existsSync(secretsPath) ? secretsPath : undefined;
  const secrets = resolveSecrets(writeSecretsTo ? { ...options, secretsFile: undefined } : options, io.env);
  const givenNamespace = secrets.lockNamespace;
  if (givenNamespace !== undefined) {
    const problem = checkLockNamespace(givenNamespace);
    const source =
      options.lockNamespace !== undefined
        ? "--lock-namespace"
        : io.env.REGBENCH_LOCK_NAMESPACE === givenNamespace
          ? "REGBENCH_LOCK_NAMESPACE"
          : "--secrets-file";
    if (problem) throw new UsageError(source, problem, "For example: --lock-namespace fleet-prod (give every server on one store the same one).");
  }
  if (secrets.serverKey !== undefined && !/^[0-9a-fA-F]{64}$/.test(secrets.serverKey)) {
    throw new UsageError(
      "--server-key",
      "must be 64 hex digits (a 256-bit AES key)",
      "Leave it out to have one generated (it is written to the secrets file).",
    );
  }
  const generated: string[] = [];
  const projects = secrets.projects.length
    ? secrets.projects.map((p) => ({ id: p.id, cidr: config.workload.cidr, key: p.key }))
    : (generated.push("a project and its key"), [{ id: "serve-p0", cidr: config.workload.cidr, key: randomBytes(16).toString("hex") }]);
  const serverKey = secrets.serverKey ?? (generated.push("the config sealing key"), randomBytes(32).toString("hex"));
  const auditToken = secrets.auditToken ?? (generated.push("the audit token"), randomBytes(24).toString("base64url"));
  if (secrets.onCommandLine.length) {
    io.stderr.write(
      `regbench serve: note: ${secrets.onCommandLine.join(", ")} puts a secret on the command line, where other users can read it (ps); REGBENCH_PROJECTS, REGBENCH_SERVER_KEY, REGBENCH_AUDIT_TOKEN or --secrets-file keep it off\n`,
    );
  }
  if (!loopback(host)) {
    io.stderr.write(
      `regbench serve: warning: --host ${host} exposes the registration API beyond this machine; anyone who reaches it can register devices with a project's key, and the audit endpoint answers whoever holds the audit token\n`,
    );
  }

  const unreachable = await probeStore(config.store);
  if (unreachable) throw new CannotRunError(strategy, "store", unreachable);
  const preflight = await prepareLockServices(config);
  if (preflight.unavailable) throw new CannotRunError(strategy, preflight.unavailable.kind, preflight.unavailable.message);
  const temp = makeTempDir();
  const placement = placeForServe(config.store, temp.path);
  // Never a PID: servers on one store must wait on each other's locks.
  const lockNamespace = givenNamespace ?? derivedLockNamespace(storeIdentity(placement.location));
  try {
    // Every secret the agents need, in one file only its owner can read; the path is printed, the secrets are not.
    const file: SecretsFile = {
      projects: projects.map((p) => ({ id: p.id, key: p.key })),
      serverKey,
      auditToken,
      ...(givenNamespace !== undefined ? { lockNamespace: givenNamespace } : {}),
    };
    let secretsFile: string;
    let secretsKept: boolean;
    if (secretsPath !== undefined && !writeSecretsTo && generated.length === 0) {
      secretsFile = secretsPath;
      secretsKept = true;
    } else {
      secretsFile = writeSecretsTo ?? join(temp.path, "secrets.json");
      secretsKept = writeSecretsTo !== undefined;
      writeAtomically(secretsFile, `${JSON.stringify(file, null, 1)}\n`, 0o600);
    }
    // Trapped before the instances start: a signal while they start stops them before this process exits.
    const starting = new AbortController();
    const stopRequested = new Promise<void>((resolve) => {
      for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
        process.once(signal, () => {
          starting.abort();
          resolve();
        });
    });
    const startServer = (spec: ServeSpec) => serve(spec, { log: (line) => io.stderr.write(`${line}\n`) }, starting.signal);
    const server = await startServer({
      run: preflight.config,
      strategy,
      host,
      port,
      instances: config.http.instances,
      store: placement.location,
      projects,
      serverKey,
      auditToken,
      locks: { namespace: lockNamespace },
      warmup: config.http.serverWarmup,
      maxConnections,
      headerTimeoutMs: Math.ceil(headerTimeoutMs),
    }).catch((error: Error) => {
      if (error instanceof StartAbortedError) return undefined;
      throw new CannotRunError(strategy, "store", error.message);
    });
    if (!server) return EXIT.ok;
    io.stdout.write(
      [
        `regbench serve · strategy ${strategy} · ${config.http.instances} instance(s) · store ${describeLocation(placement.location)}${placement.temporary ? " (removed at exit)" : ""}`,
        ...preflight.notes.map((n) => `note · ${n}`),
        ...server.notes.map((n) => `note · ${n}`),
        `lock namespace: ${lockNamespace} (${givenNamespace !== undefined ? "given" : "derived from the store: every server on it shares it"})`,
        `listening on ${server.url}`,
        `projects: ${projects.map((p) => p.id).join(", ")}`,
        `secrets: ${secretsFile} (project keys, config sealing key, audit token; readable by you only${secretsKept ? "" : "; removed at exit"})`,
        `drive it: regbench run --target ${server.url} --secrets-file ${secretsFile}`,
        "",
      ].join("\n"),
    );
    await stopRequested;
    const stats = await server.stop();
    io.stdout.write(`stopped · peak RSS ${stats.peakRssMb === null ? "n/a" : `${stats.peakRssMb.toFixed(0)} MB`} over ${stats.instances.length} instance(s)\n`);
    return EXIT.ok;
  } finally {
    await preflight.stop();
    if (placement.temporary) await removeStore(placement.location);
    temp.remove();
  }
}
