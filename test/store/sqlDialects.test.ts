import assert from "node:assert/strict";
import { test } from "node:test";
import { StoreError, TransactionConflictError, UniqueViolationError } from "../../src/core/errors.js";
import { StaleFenceError } from "../../src/store/errors.js";
import { describeStoreSpec } from "../../src/store/registry.js";
import { schemaStatements } from "../../src/store/sql/ddl.js";
import type { SqlDialect } from "../../src/store/sql/dialect.js";
import { mysqlDialect } from "../../src/store/sql/mysql.js";
import { postgresDialect } from "../../src/store/sql/postgres.js";
import { sqlStoreKind } from "../../src/store/sql/sqlKind.js";
import { translate } from "../../src/store/sql/sqlStore.js";

/** What `translate` throws for a driver error. */
function translated(dialect: SqlDialect, error: unknown): unknown {
  try {
    translate(dialect, error, "insertMachine");
  } catch (thrown) {
    return thrown;
  }
  assert.fail("translate returned");
}

test("each dialect's error-code table maps its driver's errors onto the core's kinds", () => {
  const cases: [SqlDialect, unknown, (e: unknown) => boolean][] = [
    [postgresDialect, { code: "23505", constraint: "machines_machine_id_key" }, (e) => e instanceof UniqueViolationError && e.constraint === "machine"],
    [postgresDialect, { code: "23505", constraint: "systems_project_uuid_key" }, (e) => e instanceof UniqueViolationError && e.constraint === "system"],
    [postgresDialect, { code: "40P01" }, (e) => e instanceof TransactionConflictError && e.reason === "deadlock"],
    [postgresDialect, { code: "40001" }, (e) => e instanceof TransactionConflictError && e.reason === "serialization"],
    [postgresDialect, { code: "55P03" }, (e) => e instanceof TransactionConflictError && e.reason === "lock-wait-timeout"],
    // A unique constraint that is not one of regbench's is a store failure, not a violation of an invariant.
    [
      postgresDialect,
      { code: "23505", constraint: "someone_elses_key", message: "dup" },
      (e) => e instanceof StoreError && e.message === "postgres insertMachine failed: dup",
    ],
    [
      postgresDialect,
      { code: "42P01", message: 'relation "machines" does not exist' },
      (e) => e instanceof StoreError && /^postgres insertMachine failed: relation/.test(e.message),
    ],
    [
      mysqlDialect,
      { errno: 1062, sqlMessage: "Duplicate entry 'p-10.0.0.2' for key 'machines_project_ipv4_key'" },
      (e) => e instanceof UniqueViolationError && e.constraint === "ip",
    ],
    [mysqlDialect, { errno: 1213 }, (e) => e instanceof TransactionConflictError && e.reason === "deadlock"],
    [mysqlDialect, { errno: 1205 }, (e) => e instanceof TransactionConflictError && e.reason === "lock-wait-timeout"],
    [
      mysqlDialect,
      { errno: 1146, sqlMessage: "Table 'x.machines' doesn't exist", message: "other" },
      (e) => e instanceof StoreError && e.message === "mysql insertMachine failed: Table 'x.machines' doesn't exist",
    ],
  ];
  for (const [dialect, error, expected] of cases) {
    const thrown = translated(dialect, error);
    assert.ok(expected(thrown), `${dialect.name} ${JSON.stringify(error)} → ${String(thrown)}`);
    assert.equal((thrown as Error).cause, error, "the driver's error is kept as the cause");
  }
  // regbench's own errors pass through as they are.
  const stale = new StaleFenceError("r", 1, 2);
  for (const dialect of [postgresDialect, mysqlDialect]) assert.equal(translated(dialect, stale), stale);
});

test("each dialect tells a lost connection from an answer of the database", () => {
  const cases: [SqlDialect, unknown, boolean][] = [
    [postgresDialect, { code: "57P01" }, true],
    [postgresDialect, { code: "08006" }, true],
    [postgresDialect, { code: "25P03" }, true],
    [postgresDialect, new Error("Connection terminated unexpectedly"), true],
    [postgresDialect, { code: "23505" }, false],
    [postgresDialect, { code: "40P01" }, false],
    [mysqlDialect, { errno: 1927 }, true],
    [mysqlDialect, { errno: 2013 }, true],
    [mysqlDialect, { errno: 1062, fatal: true }, true],
    [mysqlDialect, new Error("socket closed"), true],
    [mysqlDialect, { errno: 1062 }, false],
    [mysqlDialect, { errno: 1213 }, false],
  ];
  for (const [dialect, error, lost] of cases) assert.equal(dialect.connectionLost(error), lost, `${dialect.name} ${JSON.stringify(error)}`);
});

test("placeholders: PostgreSQL numbers them in order, MySQL keeps ?", () => {
  const sql = "SELECT 1 FROM t WHERE a = ? AND b = ? AND c > ?";
  assert.equal(postgresDialect.placeholders(sql), "SELECT 1 FROM t WHERE a = $1 AND b = $2 AND c > $3");
  assert.equal(mysqlDialect.placeholders(sql), sql);
});

/** The schema's names, whatever the dialect's words: `table.column`, `table.constraint(columns)`, `table.index(columns)`. */
function names(statements: string[]): string[] {
  const out: string[] = [];
  for (const statement of statements) {
    const index = /^CREATE INDEX IF NOT EXISTS (\w+) ON (\w+) \(([^)]*)\)$/.exec(statement);
    if (index) {
      out.push(`${index[2]}.${index[1]}(${index[3]})`);
      continue;
    }
    const table = /^CREATE TABLE IF NOT EXISTS (\w+) \(/.exec(statement)![1];
    for (const line of statement.split("\n").slice(1, -1)) {
      const clause = line.trim().replace(/,$/, "");
      const named = /^(?:CONSTRAINT (\w+) UNIQUE|INDEX (\w+)) \(([^)]*)\)$/.exec(clause);
      out.push(named ? `${table}.${named[1] ?? named[2]}(${named[3]})` : `${table}.${clause.split(" ")[0]}`);
    }
  }
  return out.sort();
}

test("the schema is written once: every dialect makes the same tables, columns, named constraints and indexes", () => {
  for (const constraints of [true, false]) {
    const pg = names(schemaStatements(postgresDialect.ddl, constraints));
    assert.deepEqual(names(schemaStatements(mysqlDialect.ddl, constraints)), pg);
    assert.equal(pg.includes("machines.machines_machine_id_key(machine_id)"), constraints);
    assert.equal(pg.includes("machines.machines_project_ipv4_key(project_id, ipv4)"), constraints);
    assert.equal(pg.includes("systems.systems_project_uuid_key(project_id, system_uuid)"), constraints);
    assert.equal(pg.includes("machines.ix_machines_machine_id(machine_id)"), !constraints, "the bare index only where no constraint serves the lookup");
    assert.ok(pg.includes("machines.ix_machines_project_ip(project_id, ip_num)"));
    assert.ok(pg.includes("fences.token") && pg.includes("ip_pools.next_ip") && pg.includes("meta.name"));
  }
});

test("a dialect is one object: its store kind parses its schemes, places a run in its own namespace and names it", () => {
  // A fake database server: PostgreSQL's adapter under another name, registered nowhere.
  const fake: SqlDialect = { ...postgresDialect, name: "fakesql", aliases: ["fake"], namespaceWord: "keyspace", exampleUrl: "fakesql://u@127.0.0.1/db" };
  const kind = sqlStoreKind(fake);
  assert.equal(kind.name, "fakesql");
  assert.equal(kind.server, true);
  assert.deepEqual(kind.parse("fake://u@h:1/db?schema=fleet"), { kind: "fakesql", url: "fakesql://u@h:1/db", schema: "fleet" });
  assert.equal(kind.parse("postgres://u@h/db"), undefined, "another dialect's URL is not this kind's");
  assert.match(String(kind.parse("fakesql://u@h/db?schema=Bad")), /\?schema= must be lowercase/);
  const { location, temporary } = kind.placeForRun(kind.parse("fakesql://u:secret@h/db") as never, {
    prefix: "abc",
    label: undefined,
    tempDir: "",
    keep: false,
  });
  assert.deepEqual(location, { kind: "fakesql", url: "fakesql://u:secret@h/db", schema: "regbench_abc" });
  assert.equal(temporary, true);
  assert.equal(kind.describeLocation(location), "fakesql://u:***@h/db · keyspace regbench_abc");
  // Not in the registry: a kind is a string the registry checks, and this one it does not know.
  assert.throws(
    () => describeStoreSpec({ kind: "fakesql", url: "fakesql://h/db", schema: undefined }),
    /no store kind "fakesql" is registered \(known: sqlite, memory, postgres, mysql\)/,
  );
});
