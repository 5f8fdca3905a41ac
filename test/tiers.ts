/**
 * The test suite's tiers. `npm run test:unit` runs the unit tier: no service, no subprocess, no socket — pure code,
 * SQLite in this process and worker threads at most — in seconds, files in parallel. `npm test` runs the unit tier,
 * then every other file (the service tier: real Redis, PostgreSQL, MariaDB, etcd, chromium, spawned regbench
 * processes and servers). test/tiers.test.ts keeps the unit tier honest: a file listed here that imports a service,
 * a process or a socket fails it.
 */
export const UNIT_TIER: readonly string[] = [
  "audit/audit",
  "audit/configAddress",
  "cli/options",
  "core/crypto",
  "core/ipv4",
  "core/mask",
  "core/projectCache",
  "core/validate",
  "core/vpnConfig",
  "driver/http1",
  "driver/openLoop",
  "driver/recorder",
  "driver/schedule",
  "gate/baseline",
  "gate/thresholds",
  "locks/fencedLock",
  "locks/lockBatches",
  "locks/lockServices",
  "report/aggregate",
  "report/exporters",
  "report/longTimeline",
  "report/resultSchema",
  "report/tableWidth",
  "stats/timeline",
  "strategies/needs",
  "sync/fnv",
  "sync/mutex",
  "sync/singleflight",
  "tiers",
  "workload/generator",
  "workload/scenarioFuzz",
];

/** What a unit-tier file may not import (directly): services, processes, sockets. */
export const NOT_IN_UNIT_TIER: readonly RegExp[] = [
  /from "node:child_process"/,
  /from "node:net"/,
  /from "node:http"/,
  /from "\.\.\/redisEnv\.js"/,
  /from "\.\.\/dbEnv\.js"/,
  /from "\.\.\/etcdEnv\.js"/,
  /\b(regbench|regbenchAsync)\(/,
  /\bBIN\b/,
];
