// Property-based fuzz of the real server from docs/openapi.yaml (fast-check,
// fixed seed, bounded runs, loopback only): schema-derived bodies, field
// mutations of the documented examples (a required field missing, a wrong
// JSON type), whole-body mutations (deep nesting, invalid UTF-8, truncated
// JSON, a foreign Content-Type, oversized bodies) and random path
// parameters. Never a 5xx but 503 with Retry-After; every answer's status is
// documented and its body matches the document; every 4xx names the field
// at fault when one is; /healthz stays 200 and the server keeps running.
//   node fuzz.mjs <build dir> [runs per endpoint, default 200]
import fc from "fast-check";
import { call, deref, findBinary, isPushPath, loadDocument, ResponseChecker, startServer, startSink } from "./lib.mjs";

const bin = findBinary(process.argv[2]);
const runs = Number(process.argv[3] ?? 200);
const seed = 20251201;
const doc = loadDocument();
const checker = new ResponseChecker(doc);
const failures = [];
let requests = 0;

const sink = await startSink();
const server = await startServer(bin, `[pull]\nfile_max_age_ms = 200\n[push]\ngateway_url = "${sink.url("/gateway")}"\n`);
const sinkUrl = fc.stringMatching(/^[a-z0-9]{0,8}$/).map((p) => sink.url("/fuzz/" + p));

// -- schema → arbitrary --------------------------------------------------------

function types(schema) {
  const s = deref(doc, schema);
  if (s.const !== undefined) return [jsonType(s.const)];
  if (s.enum) return [...new Set(s.enum.map(jsonType))];
  if (s.oneOf || s.anyOf) return [...new Set((s.oneOf ?? s.anyOf).flatMap(types))];
  if (s.type) return [].concat(s.type);
  return [];
}
function jsonType(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (Number.isInteger(v)) return "integer";
  return typeof v;
}

// Returns an arbitrary of values valid against `schema` (as far as JSON
// Schema can say; semantic rules such as a registered code are the server's).
function arb(schema, depth = 0) {
  const s = deref(doc, schema);
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.oneOf || s.anyOf) return fc.oneof(...(s.oneOf ?? s.anyOf).map((b) => arb(b, depth)));
  const t = [].concat(s.type ?? []);
  if (t.length > 1) return fc.oneof(...t.map((one) => arb({ ...s, type: one }, depth)));
  switch (t[0]) {
    case "null": return fc.constant(null);
    case "boolean": return fc.boolean();
    case "integer": return fc.integer({ min: s.minimum ?? -1e6, max: s.maximum ?? 2e12 });
    case "number":
      return fc.double({ min: s.exclusiveMinimum ?? s.minimum ?? -1e6, max: s.maximum ?? 1e6,
                         minExcluded: s.exclusiveMinimum !== undefined, noNaN: true, noDefaultInfinity: true });
    case "string": {
      const min = s.minLength ?? 0, max = Math.min(s.maxLength ?? 40, 40);
      if (s.format === "uri") return sinkUrl;
      if (s.format === "email") return fc.emailAddress();
      if (s.format === "date-time") return fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString());
      if (s.pattern) return fc.stringMatching(new RegExp(s.pattern)).filter((x) => x.length >= min && x.length <= (s.maxLength ?? 1e9));
      return fc.oneof(fc.string({ minLength: min, maxLength: max }), fc.string({ minLength: min, maxLength: max, unit: "binary" }));
    }
    case "array":
      return fc.array(arb(s.items ?? {}, depth + 1), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, 4) });
    case "object": {
      if (!s.properties) {
        const values = s.additionalProperties && typeof s.additionalProperties === "object"
          ? arb(s.additionalProperties, depth + 1) : fc.jsonValue({ maxDepth: 2 });
        return fc.dictionary(fc.string({ maxLength: 12 }), values, { maxKeys: 4 });
      }
      const model = {};
      for (const [k, v] of Object.entries(s.properties)) model[k] = arb(v, depth + 1);
      let rec = fc.record(model, { requiredKeys: s.required ?? [] });
      if (s.minProperties) rec = rec.filter((o) => Object.keys(o).length >= s.minProperties);
      return rec;
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// -- field mutations -----------------------------------------------------------

// Yields {path, schema, required} for every member of `value` that its
// schema describes.
function* fields(value, schema, path = []) {
  let s = deref(doc, schema);
  if (s.oneOf || s.anyOf) {
    const branches = (s.oneOf ?? s.anyOf).map((b) => deref(doc, b));
    s = branches.find((b) => types(b).includes(jsonType(value)) &&
                             (b.required ?? []).every((k) => value && typeof value === "object" && k in value))
      ?? branches.find((b) => types(b).includes(jsonType(value))) ?? s;
  }
  if (Array.isArray(value) && s.items)
    for (const [i, v] of value.entries()) yield* fields(v, s.items, [...path, i]);
  else if (value && typeof value === "object" && s.properties)
    for (const [k, v] of Object.entries(value)) {
      if (!s.properties[k]) continue;
      yield { path: [...path, k], schema: s.properties[k], required: (s.required ?? []).includes(k) };
      yield* fields(v, s.properties[k], [...path, k]);
    }
}

// Returns a value of a JSON type `schema` does not allow, or undefined.
function wrongValue(schema) {
  const allowed = types(schema);
  if (allowed.length === 0) return undefined;
  const candidates = [[true, "boolean"], [12345, "integer"], ["not-this", "string"], [[1], "array"], [{ k: 1 }, "object"], [null, "null"]];
  const wrong = candidates.filter(([, t]) => !allowed.includes(t) && !(t === "integer" && allowed.includes("number")));
  return wrong.length ? wrong[0][0] : undefined;
}

function withPath(value, path, f) {
  const copy = structuredClone(value);
  let node = copy;
  for (const p of path.slice(0, -1)) node = node[p];
  f(node, path.at(-1));
  return copy;
}

// The name the server must give for a fault at `path`: its last member name.
const blame = (path) => String(path.filter((p) => typeof p === "string").at(-1));

// -- the operations ------------------------------------------------------------

const verbs = ["get", "post", "put", "patch", "delete"];
const operations = [];
for (const [template, item] of Object.entries(doc.paths))
  for (const method of verbs.filter((m) => item[m] && item[m]["x-switchyard-fuzz"] !== false))
    operations.push({ template, method, op: item[method] });

// Every documented url in the examples points at the sink: nothing leaves loopback.
function loopbackOnly(v) {
  if (typeof v === "string" && /^https?:\/\//.test(v)) return sink.url("/example");
  if (Array.isArray(v)) return v.map(loopbackOnly);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, loopbackOnly(x)]));
  return v;
}
function examples(media) {
  const out = [];
  if ("example" in media) out.push(media.example);
  for (const ex of Object.values(media.examples ?? {})) out.push(ex.value);
  return out.map(loopbackOnly);
}

// Setup the examples rely on: the event type they publish, a subscription to PATCH.
const setup = [
  await call(server.port, "POST", "/v1/eventtype", { body: { code: "cartPurchase", name: "Cart purchase",
    attributes: [{ name: "orderTotal", type: "number" }, { name: "giftWrap", type: "boolean" }] } }),
  await call(server.port, "POST", "/v1/subscriptions", { body: { service: "fuzz", url: sink.url("/patched") } }),
  await call(server.port, "POST", "/v1/subscriptions", { body: { service: "fuzz-pull", types: ["fuzz.**"], delivery: "pull" } }),
];
if (setup.some((r) => r.status >= 300)) throw new Error(`setup failed: ${setup.map((r) => r.body).join(" ")}`);
const params = { id: JSON.parse(setup[1].body).id, code: "cartPurchase", name: "nope" };
// The event-file routes answer to the pull subscription's accessKey.
const authFor = (template) => template.startsWith("/v1/eventfiles")
  ? { Authorization: `Bearer ${JSON.parse(setup[2].body).accessKey}` } : {};

function fail(what, op, req, res) {
  if (failures.length < 40)
    failures.push(`${op.method.toUpperCase()} ${op.template}: ${what}\n     request: ${req.slice(0, 400)}\n     answer: ${res ? `${res.status} ${res.body.slice(0, 300)}` : "none"}`);
}

// Sends `body` (bytes) and checks the universal properties; returns the answer.
async function send(op, target, body, headers = {}) {
  requests++;
  const shown = `${target} ${headers["Content-Type"] ? `[${headers["Content-Type"]}] ` : ""}${body === undefined ? "" : Buffer.from(body).toString("utf8")}`;
  let res;
  try {
    res = await call(server.port, op.method.toUpperCase(), target, { body, headers, timeoutMs: 30000 });
  } catch (e) {
    fail(`no answer: ${e.message}`, op, shown);
    return null;
  }
  if (res.status >= 500 && !(res.status === 503 && res.headers["retry-after"]))
    fail(`server error ${res.status}`, op, shown, res);
  for (const p of checker.check(op.method, op.template, res)) fail(p, op, shown, res);
  if (requests % 25 === 0) {
    const h = await call(server.port, "GET", "/healthz").catch((e) => ({ status: 0, body: e.message }));
    if (h.status !== 200) fail(`/healthz answered ${h.status} during the fuzz`, op, shown, h);
  }
  return res;
}

// Returns the field an error names ("" when none).
function namedField(op, res) {
  try {
    const body = JSON.parse(res.body);
    if (isPushPath(op.template)) return /^([^\s:]+):/.exec(body.message)?.[1] ?? "";
    return body.field ?? "";
  } catch {
    return "";
  }
}

// Returns the error's text ("error", or "message" on the push paths).
function errorText(res) {
  try {
    const body = JSON.parse(res.body);
    return String(body.message ?? body.error ?? "");
  } catch {
    return "";
  }
}

const fillPath = (template) => template.replace(/\{(\w+)\}/g, (_, p) => encodeURIComponent(params[p]));
const fcOptions = (n) => ({ numRuns: n, seed, endOnFailure: true });
const summary = [];

for (const o of operations) {
  const media = o.op.requestBody?.content?.["application/json"];
  const target = fillPath(o.template);
  const before = requests;
  if (media) {
    const schema = media.schema;
    const bases = examples(media);
    // Schema-derived bodies and the documented examples: a 400/422 on
    // well-formed JSON names a field.
    const valid = bases.length ? fc.oneof(arb(schema), fc.constantFrom(...bases)) : arb(schema);
    await fc.assert(fc.asyncProperty(valid, async (value) => {
      const body = JSON.stringify(value);
      const res = await send(o, target, body);
      if (res && (res.status === 400 || res.status === 422) && !namedField(o, res))
        fail("a 4xx for a well-formed body names no field", o, `${target} ${body}`, res);
    }), fcOptions(runs));

    // Field mutations of the documented examples: the field is named.
    const mutations = [];
    for (const base of bases)
      for (const f of fields(base, schema)) {
        if (f.required) mutations.push({ what: `without ${f.path.join(".")}`, path: f.path, body: withPath(base, f.path, (n, k) => Array.isArray(n) ? n.splice(k, 1) : delete n[k]) });
        const wrong = wrongValue(f.schema);
        if (wrong !== undefined) mutations.push({ what: `${f.path.join(".")} = ${JSON.stringify(wrong)}`, path: f.path, body: withPath(base, f.path, (n, k) => { n[k] = wrong; }) });
      }
    if (mutations.length)
      await fc.assert(fc.asyncProperty(fc.constantFrom(...mutations), async (m) => {
        const body = JSON.stringify(m.body);
        const res = await send(o, target, body);
        if (!res) return;
        if (res.status !== 400 && res.status !== 422)
          fail(`${m.what}: answered ${res.status}, want 400 or 422`, o, `${target} ${body}`, res);
        else if (!namedField(o, res).includes(blame(m.path)) && !errorText(res).includes(blame(m.path)))
          fail(`${m.what}: the error does not name ${blame(m.path)}`, o, `${target} ${body}`, res);
      }), fcOptions(Math.min(runs, mutations.length * 2)));

    // Whole-body mutations with a known answer.
    const base = fc.constantFrom(...bases.map((b) => JSON.stringify(b)));
    const bodyMutation = fc.oneof(
      fc.integer({ min: 129, max: 100000 }).map((n) => ({ want: [400], bytes: "[".repeat(n) + "]".repeat(n) })),
      fc.tuple(base, fc.integer({ min: 129, max: 5000 })).map(([b, n]) => ({ want: [400], bytes: b.replace(/:/, ":" + '{"a":'.repeat(n)) + "}".repeat(n) })),
      fc.tuple(base, fc.nat(), fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]))
        .map(([b, at, bad]) => {
          const quotes = [...b.matchAll(/":"/g)].map((m) => m.index + 3);
          const i = quotes.length ? quotes[at % quotes.length] : 1;
          const buf = Buffer.from(b);
          return { want: [400], bytes: Buffer.concat([buf.subarray(0, i), Buffer.from(bad), buf.subarray(i)]) };
        }),
      fc.tuple(base, fc.nat()).map(([b, n]) => ({ want: [400], bytes: b.slice(0, n % b.length) })),
      fc.constantFrom("5", '"x"', "true", "null", "").map((b) => ({ want: [400, 422], bytes: b })),
      fc.tuple(base, fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "text/json"))
        .map(([b, ct]) => ({ want: [415], bytes: b, contentType: ct })),
    );
    // An optional body (`requestBody.required: false`) may be left out: an
    // empty one is then a request without a body, answered with success.
    const optionalBody = deref(doc, o.op.requestBody).required !== true;
    await fc.assert(fc.asyncProperty(bodyMutation, async (m) => {
      const res = await send(o, target, m.bytes, m.contentType ? { "Content-Type": m.contentType } : {});
      if (res && optionalBody && !m.contentType && Buffer.from(m.bytes).length === 0) {
        if (res.status < 200 || res.status >= 300)
          fail(`an empty optional body answered ${res.status}, want 2xx`, o, target, res);
      } else if (res && !m.want.includes(res.status))
        fail(`answered ${res.status}, want ${m.want.join(" or ")}`, o, `${target} ${Buffer.from(m.bytes).toString("utf8").slice(0, 200)}`, res);
    }), fcOptions(runs));

    // Oversized: a few, they are 1 MiB each.
    for (const n of [1048577, 1500000]) {
      const res = await send(o, target, `{"x":"${"a".repeat(n)}"}`);
      if (res && res.status !== 413) fail(`a ${n}-byte body answered ${res.status}, want 413`, o, target, res);
    }
  }
  // Random path parameters.
  if (/\{\w+\}/.test(o.template)) {
    await fc.assert(fc.asyncProperty(fc.string({ minLength: 1, maxLength: 60, unit: "binary" }), async (p) => {
      const t = o.template.replace(/\{(\w+)\}/g, () => encodeURIComponent(p));
      if (t === "/v1/eventtype/subscribed") return; // a different route
      await send(o, t, media ? "{}" : undefined, authFor(o.template));
    }), fcOptions(Math.ceil(runs / 2)));
  }
  // Random query parameters where the document lists some.
  const queries = (o.op.parameters ?? []).map((p) => deref(doc, p)).filter((p) => p.in === "query");
  if (queries.length) {
    const value = fc.oneof(fc.string({ maxLength: 30, unit: "binary" }), fc.bigInt().map(String), fc.integer().map(String));
    await fc.assert(fc.asyncProperty(fc.constantFrom(...queries.map((q) => q.name)), value, async (name, v) => {
      const res = await send(o, `${o.template}?${name}=${encodeURIComponent(v)}`, undefined, authFor(o.template));
      if (res && res.status === 400 && !namedField(o, res).includes(name))
        fail(`a bad ${name} is not named`, o, `${o.template}?${name}=${v}`, res);
    }), fcOptions(Math.ceil(runs / 2)));
  }
  const statuses = [...(checker.seen.get(`${o.method.toUpperCase()} ${o.template}`) ?? [])].sort().join(" ");
  summary.push(`${o.method.toUpperCase()} ${o.template}: ${requests - before} requests, statuses ${statuses || "-"}`);
}

const health = await call(server.port, "GET", "/healthz").catch(() => ({ status: 0 }));
if (health.status !== 200) failures.push(`/healthz answered ${health.status} at the end`);
const running = server.running();
if (!running) failures.push(`the server stopped during the fuzz:\n${server.log().slice(-3000)}`);
await server.stop();
await sink.close();

console.log(`openapi fuzz: ${requests} requests (seed ${seed}, ${runs} runs per property)`);
for (const s of summary) console.log("  " + s);
if (failures.length) {
  console.error(`FAIL: ${failures.length} finding(s):`);
  for (const f of failures) console.error(" - " + f);
  process.exit(1);
}
