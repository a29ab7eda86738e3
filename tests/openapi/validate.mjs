// Validates docs/openapi.yaml against the OpenAPI 3.1 schema
// (@seriousme/openapi-schema-validator) and every example in it against
// the schema it illustrates (ajv, JSON Schema 2020-12).
//   node validate.mjs [path/to/openapi.yaml]
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import { docPath, loadDocument, makeAjv } from "./lib.mjs";

const path = process.argv[2] ?? docPath;
const validator = new Validator();
const res = await validator.validate(readFileSync(path, "utf8"));
if (!res.valid) {
  console.error(`FAIL: ${path} is not a valid OpenAPI ${validator.version} document:`);
  console.error(JSON.stringify(res.errors, null, 2));
  process.exit(1);
}
if (validator.version !== "3.1") {
  console.error(`FAIL: ${path} is OpenAPI ${validator.version}, want 3.1`);
  process.exit(1);
}

// Examples are documentation: a wrong one misleads as much as a wrong schema.
const doc = loadDocument(path);
const ajv = makeAjv(doc);
let failures = 0, checked = 0;
function check(schema, value, where) {
  checked++;
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (e) {
    failures++;
    console.error(`FAIL: the schema of ${where}: ${e.message}`);
    return;
  }
  if (!validate(value)) {
    failures++;
    console.error(`FAIL: example at ${where} does not match its schema: ${ajv.errorsText(validate.errors)}`);
  }
}
for (const [path, item] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(item)) {
    if (method === "parameters") continue;
    const bodies = [];
    for (const [type, media] of Object.entries(op.requestBody?.content ?? {}))
      bodies.push([`${method} ${path} request ${type}`, media]);
    for (const [status, resp] of Object.entries(op.responses ?? {})) {
      const r = resp.$ref ? doc.components.responses[resp.$ref.split("/").pop()] : resp;
      for (const [type, media] of Object.entries(r.content ?? {}))
        bodies.push([`${method} ${path} ${status} ${type}`, media]);
    }
    for (const [where, media] of bodies) {
      if (!media.schema) continue;
      if ("example" in media && !where.includes("octet-stream")) check(media.schema, media.example, where);
      for (const [name, ex] of Object.entries(media.examples ?? {})) check(media.schema, ex.value, `${where} (${name})`);
    }
  }
}
// Strict ajv refuses unknown keywords (a misspelt "required" would silently
// allow anything): compile every schema of the document.
for (const name of Object.keys(doc.components.schemas)) {
  try {
    ajv.compile({ $ref: `#/components/schemas/${name}` });
  } catch (e) {
    failures++;
    console.error(`FAIL: components.schemas.${name}: ${e.message}`);
  }
}
for (const [name, r] of Object.entries(doc.components.responses))
  for (const [type, media] of Object.entries(r.content ?? {}))
    if ("example" in media) check(media.schema, media.example, `components.responses.${name} ${type}`);
for (const [name, s] of Object.entries(doc.components.schemas))
  for (const [i, ex] of (s.examples ?? []).entries()) check({ $ref: `#/components/schemas/${name}` }, ex, `components.schemas.${name}.examples[${i}]`);

if (failures) process.exit(1);
console.log(`openapi: ${path} is a valid OpenAPI 3.1 document; ${checked} examples match their schemas`);
