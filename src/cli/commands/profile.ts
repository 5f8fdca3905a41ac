import type { Command } from "commander";
import { checkProfile, type ProfileCheck } from "../../driver/profile/check.js";
import { loadProfile, PLACEHOLDERS, ProfileError, shippedProfiles } from "../../driver/profile/spec.js";
import { probeTarget } from "../../driver/targetProbe.js";
import { escapeControl } from "../../core/mask.js";
import { EXIT } from "../exitCodes.js";
import { UsageError } from "../options.js";
import { requestTimeout } from "../parsers.js";
import { resolveSecrets } from "../secrets.js";
import type { CommandContext } from "../shared.js";

/** What `regbench profile init` prints: every key, commented, with its default. It parses as a profile as it is. */
export const PROFILE_SKELETON = `# A regbench request profile: how \`regbench run --target URL --profile THIS_FILE\` sends a registration to your
# service and reads its answer. Try it with: regbench profile check --target URL --profile THIS_FILE
# Placeholders, in any value below: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(" ")}
# ({{run}} is the run's prefix, which every systemUuid and machineId starts with; {{index}} the device's number.)
request:
  method: POST                    # POST (default), PUT, PATCH, GET or DELETE
  path: /register                 # required; appended to the target's path; placeholders are percent-encoded
  headers:                        # templates too; Host, Content-Length and Content-Type are regbench's
    authorization: Bearer {{key}}
  contentType: application/json   # default; application/x-www-form-urlencoded sends the fields as a form
  body:                           # fields (rendered as JSON, values JSON-escaped), or one text template
    project: "{{projectId}}"
    systemUuid: "{{systemUuid}}"
    systemName: "{{systemName}}"
    machineId: "{{machineId}}"
    peerId: "{{peerId}}"
    hostname: "{{hostname}}"
    arch: "{{arch}}"
    distro: "{{distro}}"
    kernelVersion: "{{kernelVersion}}"
answer:
  success: [200, 201]             # statuses that acknowledge a registration (default [200])
  address: /device/ipv4           # required: a JSON pointer to the device's IPv4, or {header: X-Device-Address}
  # id: /device/id                # optional: your service's own ID, shown by profile check
  # machineId: /device/machineId  # optional: the answer echoes the machineID; another one counts as lost
errors:
  code: /error                    # optional: a JSON pointer to your service's error code
  codes: {}                       # optional: your codes renamed to regbench's kinds, e.g. {DEVICE_EXISTS: conflict}
  status:                         # kinds by status when the code is not in codes; anything else is http-<status>
    409: conflict
    503: unavailable
config:
  check: none                     # none (default), plain (a YAML/JSON config in clear) or sealed (regbench's AES-GCM)
  # at: /device/config            # plain and sealed: a JSON pointer to the config in the answer
  # address: /interface/address   # plain: a JSON pointer to the address inside the config (10.0.0.2 or 10.0.0.2/24)
# audit:                          # the queries regbench run --audit-db URL audits from, read-only; :run is the prefix
#   timeout: 30s                  # each statement is cancelled after this long (default 30s)
#   systems: SELECT project_id, system_uuid FROM systems WHERE system_uuid LIKE CONCAT(:run, '-%')
#   machines: SELECT machine_id, project_id, ipv4 FROM devices WHERE machine_id LIKE CONCAT(:run, '-%')
`;

/**
 * A value as `profile check` shows it, on one line: the answer is the service's (or whoever answers at --target), so
 * its control characters (`ESC ] … BEL`, `ESC [31m`, a bare CR) are shown as `\xHH`, and its newlines too, so that
 * no body can print lines that pass for regbench's own (`extracted`, `outcome: acknowledged`).
 */
const shown = (v: unknown) => escapeControl(String(v)).replace(/\n/g, "\\x0a");

/** `regbench profile check` as text: the request, the answer, what was read from it. */
export function renderProfileCheck(c: ProfileCheck): string {
  const lines: string[] = ["request"];
  lines.push(`  ${shown(c.request.method)} ${shown(c.request.url)}`);
  for (const [k, v] of Object.entries(c.request.headers)) lines.push(`  ${shown(k)}: ${shown(v)}`);
  if (c.request.body !== undefined) lines.push(`  body: ${shown(c.request.body)}`);
  lines.push("fields");
  for (const [k, v] of Object.entries(c.request.fields)) lines.push(`  ${shown(k)}: ${shown(v)}`);
  lines.push("answer");
  if (c.failure) lines.push(`  none: ${shown(c.failure)}`);
  if (c.answer) {
    lines.push(`  ${c.answer.status} in ${c.answer.ms.toFixed(1)} ms`);
    for (const [k, v] of Object.entries(c.answer.headers)) lines.push(`  ${shown(k)}: ${shown(v)}`);
    lines.push(`  body: ${shown(c.answer.body.length > 2000 ? `${c.answer.body.slice(0, 2000)}…` : c.answer.body)}`);
  }
  const e = c.extracted;
  lines.push("extracted");
  lines.push(`  outcome: ${e.outcome === "acknowledged" ? "acknowledged (counted as a success)" : `failed, counted as ${shown(e.kind)}`}`);
  if (e.message) lines.push(`  why: ${shown(e.message)}`);
  lines.push(`  id: ${e.id !== undefined ? shown(e.id) : "(none)"}`);
  lines.push(`  address: ${e.address !== undefined ? shown(e.address) : "(none)"}`);
  if (e.machineId !== undefined)
    lines.push(`  machineId: ${shown(e.machineId)}${e.machineId === c.request.fields.machineId ? " (the one sent)" : " (NOT the one sent: counted as lost)"}`);
  if (e.config)
    lines.push(
      `  config: ${shown(e.config.check)}, address ${e.config.address !== undefined ? shown(e.config.address) : "(none found)"}${
        e.config.agrees === undefined ? " (not checked: no --server-key)" : e.config.agrees ? " (agrees)" : " (does NOT agree: counted as lost)"
      }`,
    );
  return `${lines.join("\n")}\n`;
}

/** `regbench profile check` and `regbench profile init`. */
export function defineProfile(program: Command, { io, setExit, given }: CommandContext): void {
  const profile = program.command("profile").description("write and try a request profile for your own registration service");
  profile
    .command("init")
    .description("print a commented profile skeleton: regbench profile init > my-service.yaml")
    .action(() => {
      io.stdout.write(PROFILE_SKELETON);
    });
  profile
    .command("check")
    .description("send ONE registration as the profile says and show the request, the answer and what was read from it")
    .requiredOption("--target <url>", "the service's base URL")
    .requiredOption("--profile <file>", `the profile (a YAML or JSON file, or a shipped one: ${shippedProfiles().join(", ")})`)
    .option("--secrets-file <file>", "the project (and server key) to register with, as regbench run takes them")
    .option("--project <id:key>", "the project to register with (or REGBENCH_PROJECTS=ID:KEY)", (v: string, p: string[] | undefined) => [...(p ?? []), v])
    .option("--server-key <hex>", "with config.check sealed: the key to open the config (or REGBENCH_SERVER_KEY)")
    .option("--timeout <duration>", "how long to wait for the answer", "10s")
    .option("--json", "print the check as JSON")
    .action(async (options: Record<string, unknown>, cmd: Command) => {
      const opts: Record<string, unknown> = { ...given(options, cmd), timeout: options.timeout, json: options.json };
      let spec;
      try {
        spec = loadProfile(String(opts.profile));
      } catch (error) {
        if (!(error instanceof ProfileError)) throw error;
        throw new UsageError("--profile", `cannot be used: ${error.message}`, "Fix the line it names; regbench profile init prints a commented skeleton.");
      }
      let target: URL | undefined;
      try {
        target = new URL(String(opts.target));
      } catch {
        target = undefined;
      }
      if (!target || (target.protocol !== "http:" && target.protocol !== "https:"))
        throw new UsageError("--target", `is not an http:// URL (got ${JSON.stringify(opts.target)})`, "For example: --target http://127.0.0.1:8080.");
      // run's --timeout parser: the same forms and the same bound (node's timers').
      const timeoutMs = requestTimeout(opts.timeout, "--timeout");
      const secrets = resolveSecrets(opts, io.env);
      const project = secrets.projects[0];
      if (!project)
        throw new UsageError(
          "--target",
          "needs a project the service knows",
          "Pass --secrets-file FILE, REGBENCH_PROJECTS=ID:KEY in the environment, or --project ID:KEY.",
        );
      if (secrets.serverKey !== undefined && !/^[0-9a-fA-F]{64}$/.test(secrets.serverKey))
        throw new UsageError("--server-key", "must be 64 hex digits (a 256-bit AES key)", "Pass the key the service seals its configs with.");
      const down = await probeTarget(target.toString(), Math.min(3000, timeoutMs));
      if (down) {
        io.stderr.write(`regbench: cannot reach ${target.origin} (${down}): start the service first, or check --target\n`);
        setExit(EXIT.cannotRun);
        return;
      }
      const check = await checkProfile(spec, target.toString().replace(/\/+$/, ""), project, {
        timeoutMs,
        ...(secrets.serverKey && spec.config.check === "sealed" ? { serverKey: Buffer.from(secrets.serverKey, "hex") } : {}),
      });
      io.stdout.write(opts.json ? `${JSON.stringify(check, null, 2)}\n` : renderProfileCheck(check));
      // 0: the registration was acknowledged and read; 1: it was not (the output says why); 3: no answer at all.
      setExit(check.failure ? EXIT.cannotRun : check.extracted.outcome === "acknowledged" ? EXIT.ok : EXIT.notAcknowledged);
    });
}
