import { randomBytes } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { keyDigest } from "../core/crypto.js";
import { defaultServiceSettings, RegistrationService } from "../core/registration.js";
import { scratchStore } from "../store/registry.js";
import type { StrategyDefinition, StrategySettings } from "../strategies/strategy.js";
import { createRegistrationServer } from "./server.js";

/** How many registrations a server sends itself before it listens, and how many at once. */
export const SERVER_WARMUP = Object.freeze({ requests: 2000, concurrency: 50 });

function post(agent: Agent, port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/register",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Warms a server's code paths before it takes traffic, as a long-running service is warm: the same strategy, the
 * same HTTP layer, over loopback, against a scratch in-memory store that is thrown away. Nothing of it
 * reaches the real store or the measurement; only the JIT's work carries over.
 */
export async function warmUp(definition: StrategyDefinition, settings: StrategySettings, serverKey: Buffer): Promise<void> {
  const store = scratchStore(definition.constraints);
  const key = "warmup-key";
  await store.createProject({ id: "warmup-p0", name: "warmup", cidr: "10.0.0.0/16", keyDigest: keyDigest(key), relayNodes: ["relay-1.warmup:3478"] });
  const service = new RegistrationService(store, defaultServiceSettings(serverKey));
  // Lock keys of this warm-up only, removed after it: under a shared lock namespace, another server is taking real
  // locks while this one warms up, and the warm-up's clean-up must not touch them.
  const own = `warmup-${process.pid}-${randomBytes(3).toString("hex")}`;
  const strategy = definition.create(service, {
    ...settings,
    sharedLockKeys: false,
    // Each service's keys one level down, with the separator its prefix ends with (Redis ":", etcd "/").
    lockServices: Object.fromEntries(
      Object.entries(settings.lockServices).map(([name, s]) => [name, { ...s, keyPrefix: `${s.keyPrefix}${own}${s.keyPrefix.slice(-1)}` }]),
    ),
  });
  const server = createRegistrationServer({ strategy, store, strategyName: definition.name, auditToken: undefined, log: () => {} });
  const agent = new Agent({ keepAlive: true, maxSockets: SERVER_WARMUP.concurrency });
  try {
    // exclusive: in a cluster worker, a shared port 0 would be the same port for every worker's scratch server.
    await new Promise<void>((resolve) => server.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => resolve()));
    const port = (server.address() as AddressInfo).port;
    let next = 0;
    const worker = async () => {
      while (next < SERVER_WARMUP.requests) {
        const i = next++;
        const body = JSON.stringify({
          projectId: "warmup-p0",
          key,
          systemUuid: `warmup-s${i % 4}`,
          systemName: "warmup",
          machineId: `warmup-m${i}`,
          peerId: `peer-${i}`,
          hostname: `warmup-${i}`,
          arch: "x86_64",
          distro: "debian 12",
          kernelVersion: "6.1.0",
        });
        await post(agent, port, body);
      }
    };
    await Promise.all(Array.from({ length: SERVER_WARMUP.concurrency }, worker));
  } finally {
    agent.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await strategy.close();
    await store.close();
  }
}
