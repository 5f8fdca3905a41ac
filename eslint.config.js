// ESLint (flat config): the recommended JavaScript and typescript-eslint rules over the sources, the tests and the
// scripts; formatting is Prettier's business (npm run format), not the linter's.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

// The layers (ARCHITECTURE.md), as import boundaries: what each folder of src/ must not import. A layer reaches down
// (cli → driver → strategies → core → store), never up; model/ and stats/ are leaves.
const FOLDERS = [
  "audit",
  "cli",
  "config",
  "core",
  "driver",
  "etcd",
  "faults",
  "gate",
  "http",
  "locks",
  "model",
  "net",
  "process",
  "redis",
  "report",
  "stats",
  "store",
  "strategies",
  "sync",
  "workload",
];
const MAY_IMPORT = {
  model: [],
  stats: [],
  sync: ["core"],
  core: ["store", "sync", "model"],
  store: ["core", "model", "process", "net"],
  locks: ["core", "sync", "redis", "etcd", "model", "stats", "net", "process"],
  audit: ["core", "store", "model", "stats"],
  report: ["audit", "core", "faults", "model", "stats"],
  gate: ["report", "stats", "model", "core"],
  // A run's config: read by driver/, strategies/, http/ and cli/ (which builds it); it names the types of what it
  // configures and imports nothing that runs.
  config: ["core", "store", "faults", "audit", "model", "driver", "locks"],
};
const layers = Object.entries(MAY_IMPORT).map(([folder, allowed]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: FOLDERS.filter((f) => f !== folder && !allowed.includes(f)).map((f) => ({
          group: [`**/${f}/*`, `**/${f}/**`],
          message: `src/${folder}/ may import only ${[folder, ...allowed].join(", ")} (the layers in ARCHITECTURE.md).`,
        })),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "results/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // Binary protocols and control characters are checked on purpose (the HTTP parser, the ID validation).
      "no-control-regex": "off",
    },
  },
  {
    // No spreading into a call: \`Math.max(...values)\` or \`push(...rows)\` passes every element as an argument and
    // overflows the stack past ~125,000 of them (a day-long timeline). Use maxOf/minOf (src/stats/extent.ts) or a loop;
    // a spread whose length is bounded by construction says why beside an eslint-disable comment.
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        { selector: "CallExpression > SpreadElement", message: "No spread into a call: use maxOf/minOf (src/stats/extent.ts) or a loop." },
        { selector: "NewExpression > SpreadElement", message: "No spread into a call: use a loop." },
      ],
    },
  },
  {
    // Promises: none left floating, none passed where a callback's result is ignored (an event handler, a timer) —
    // a rejection there is unhandled and ends the process. Type-aware: these rules read the types.
    files: ["src/**/*.ts", "test/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["test", "describe", "it", "suite", "before", "after", "beforeEach", "afterEach"] },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  {
    // Only the command line and the entry points of regbench's own processes print: the core, the drivers, the
    // stores and the report return what they have to say.
    files: ["src/**/*.ts"],
    ignores: ["src/cli/**", "src/http/serveChild.ts", "src/http/serveWorker.ts", "src/driver/worker.ts"],
    rules: {
      "no-console": "error",
      "no-restricted-properties": [
        "error",
        { object: "process", property: "stdout", message: "Only src/cli/ and the processes' entry points write to stdout." },
        { object: "process", property: "stderr", message: "Only src/cli/ and the processes' entry points write to stderr." },
      ],
    },
  },
  ...layers,
  {
    // The HTML report's page script runs in a browser.
    files: ["scripts/**/*.js"],
    languageOptions: { globals: { ...globals.node } },
  },
);
