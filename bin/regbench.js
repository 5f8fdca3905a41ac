#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm install`/`npm ci` through the prepare script).
let main;
try {
  ({ main } = await import("../dist/src/cli/main.js"));
} catch (error) {
  if (error && error.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist")) {
    process.stderr.write("regbench is not built: run `npm install` (or `npm run build`) in the regbench folder first.\n");
    process.exit(3);
  }
  throw error;
}
process.exitCode = await main(process.argv);
