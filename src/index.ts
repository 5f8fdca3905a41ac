/** regbench as a library: the registration core, the seams, and the runner. */
export * from "./core/errors.js";
export * from "./core/types.js";
export { RegistrationService, defaultServiceSettings } from "./core/registration.js";
export type { Store } from "./store/store.js";
export { SqliteStore } from "./store/sqlite.js";
export { MemoryStore } from "./store/memory.js";
export { PostgresStore } from "./store/sql/postgres.js";
export { MysqlStore } from "./store/sql/mysql.js";
export { STORE_KINDS, parseStoreSpec, openStore, openForRun, removeStore } from "./store/registry.js";
export { STRATEGIES, findStrategy } from "./strategies/registry.js";
export type { Strategy, StrategyDefinition, StrategySettings } from "./strategies/strategy.js";
export { runStrategy } from "./driver/inProcess.js";
export { runAll } from "./driver/orchestrator.js";
export { auditRun } from "./audit/audit.js";
