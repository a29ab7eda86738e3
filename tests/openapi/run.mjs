// Entry point of the CTest tests: node run.mjs <validate|contract|fuzz> [build dir]
// Exits 77 (CTest's SKIP_RETURN_CODE) with a message when the npm packages
// are not installed (scripts/setup runs `npm ci` here), before importing them.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [check, ...rest] = process.argv.slice(2);
const scripts = { validate: "validate.mjs", contract: "contract.mjs", fuzz: "fuzz.mjs" };
if (!scripts[check]) {
  console.error("usage: node run.mjs <validate|contract|fuzz> [build dir]");
  process.exit(2);
}
if (!existsSync(join(here, "node_modules", "fast-check"))) {
  console.log(`SKIPPED: ${join(here, "node_modules")} is missing; run scripts/setup (npm ci in tests/openapi)`);
  process.exit(77);
}
process.argv = [process.argv[0], join(here, scripts[check]), ...rest];
await import(join(here, scripts[check]));
