// What the OpenAPI checks share: the document, an ajv that validates against
// its schemas, the real switchyard binary on 127.0.0.1 port 0 with a
// temporary data dir, an HTTP client that sends any bytes, a loopback sink,
// and the check of one response against the document.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import YAML from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../..");
export const docPath = join(repoRoot, "docs/openapi.yaml");

/// Returns the parsed document.
export function loadDocument(path = docPath) {
  return YAML.parse(readFileSync(path, "utf8"));
}

const defsId = "https://switchyard.invalid/openapi";

// Rewrites every "#/components/schemas/X" into a reference ajv resolves
// against the registered components.
function rewriteRefs(node) {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node && typeof node === "object") {
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string" && v.startsWith("#/components/schemas/"))
        out[k] = defsId + "#/$defs/" + v.slice("#/components/schemas/".length);
      else out[k] = rewriteRefs(v);
    }
    return out;
  }
  return node;
}

/// Returns an ajv (JSON Schema 2020-12, strict) knowing the document's
/// components; `compile` takes schemas as the document writes them.
export function makeAjv(doc) {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  // OpenAPI's own schema keywords, which JSON Schema does not know.
  ajv.addVocabulary(["example", "discriminator", "xml", "externalDocs"]);
  ajv.addSchema({ $id: defsId, $defs: rewriteRefs(doc.components.schemas) });
  const compile = ajv.compile.bind(ajv);
  const cache = new Map();
  ajv.compile = (schema) => {
    if (!cache.has(schema)) cache.set(schema, compile(rewriteRefs(schema)));
    return cache.get(schema);
  };
  return ajv;
}

/// Returns `node` with its `$ref` (to #/components/...) followed.
export function deref(doc, node) {
  while (node && node.$ref) {
    const parts = node.$ref.replace(/^#\//, "").split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    node = parts.reduce((n, p) => n[p], doc);
  }
  return node;
}

// -- the server ---------------------------------------------------------------

/// Returns the switchyard binary of `buildDir`.
export function findBinary(buildDir) {
  if (!buildDir) throw new Error("pass the build directory (holding app/switchyard)");
  const bin = join(resolve(buildDir), "app", "switchyard");
  if (!existsSync(bin)) throw new Error(`no switchyard binary at ${bin}`);
  return bin;
}

/// Starts `switchyard serve` on 127.0.0.1:0 with a fresh data dir and
/// `extraToml`; resolves once /readyz answers 200.
export async function startServer(bin, extraToml = "") {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-openapi-"));
  const config = join(dir, "test.toml");
  writeFileSync(
    config,
    `[server]\nlisten = "127.0.0.1:0"\nio_threads = 2\nactor_threads = 2\n` +
      `[storage]\ndata_dir = "${dir}/data"\n${extraToml}\n`,
  );
  const child = spawn(bin, ["serve", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const port = await new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`switchyard did not log its port:\n${log}`)), 60000);
    const onData = (chunk) => {
      log += chunk;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`switchyard exited (${code ?? signal}) at start-up:\n${log}`));
    });
  });
  const server = {
    port,
    child,
    log: () => log,
    running: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (server.running()) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  child.removeAllListeners("exit");
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    const r = await call(port, "GET", "/readyz").catch(() => null);
    if (r && r.status === 200) return server;
    await new Promise((r) => setTimeout(r, 20));
  }
  await server.stop();
  throw new Error(`switchyard never became ready:\n${log}`);
}

/// Sends one request on its own connection and resolves {status, headers,
/// body (string), raw (Buffer)}; `body` may be a string, a Buffer or an
/// object (sent as JSON). Rejects on a connection error or after `timeoutMs`.
export function call(port, method, target, { body, headers = {}, timeoutMs = 30000 } = {}) {
  return new Promise((resolveCall, reject) => {
    let payload = body;
    const h = { ...headers };
    if (payload !== undefined && typeof payload !== "string" && !Buffer.isBuffer(payload)) {
      payload = JSON.stringify(payload);
    }
    if (payload !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === "content-type"))
      h["Content-Type"] = "application/json";
    if (payload !== undefined) h["Content-Length"] = Buffer.byteLength(payload);
    const req = http.request(
      { host: "127.0.0.1", port, method, path: target, headers: h, agent: false },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          clearTimeout(timer);
          const raw = Buffer.concat(chunks);
          resolveCall({ status: res.statusCode, headers: res.headers, raw, body: raw.toString("utf8") });
        });
        res.on("error", reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${target}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/// Sends GET `target`, reads the answer until its body holds a first
/// Server-Sent Event (or ends), then closes the connection: for
/// text/event-stream answers, which never end by themselves.
export function callFirstEvent(port, target, { headers = {}, timeoutMs = 30000 } = {}) {
  return new Promise((resolveCall, reject) => {
    let done = false;
    const req = http.request({ host: "127.0.0.1", port, method: "GET", path: target, headers, agent: false }, (res) => {
      const chunks = [];
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const raw = Buffer.concat(chunks);
        resolveCall({ status: res.statusCode, headers: res.headers, raw, body: raw.toString("utf8") });
        req.destroy();
      };
      res.on("data", (c) => {
        chunks.push(c);
        if (Buffer.concat(chunks).includes("\n\n")) finish();
      });
      res.on("end", finish);
      res.on("error", (e) => { if (!done) reject(e); });
    });
    const timer = setTimeout(() => req.destroy(new Error(`GET ${target}: no event within ${timeoutMs} ms`)), timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      if (!done) reject(e);
    });
    req.end();
  });
}

/// Starts a loopback HTTP receiver: answers Notificare's verification
/// challenge for the urls whose private key it was given, and 200 to the rest.
export async function startSink() {
  const keys = new Map(); // path → privateKey
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    req.on("end", () => {
      const url = new URL(req.url, "http://127.0.0.1");
      const challenge = url.searchParams.get("challenge");
      const key = keys.get(url.pathname);
      if (req.method === "GET" && challenge !== null && key) {
        res.end(createHmac("sha256", key).update(challenge).digest("base64"));
        return;
      }
      res.end("ok");
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const port = server.address().port;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    answerChallenges: (path, privateKey) => keys.set(path, privateKey),
    requests: () => requests,
    close: () => new Promise((r) => server.close(r)),
  };
}

// -- checking responses against the document ---------------------------------

/// Checks responses against the document; each check returns a list of
/// problems ([] when the response conforms).
export class ResponseChecker {
  constructor(doc) {
    this.doc = doc;
    this.ajv = makeAjv(doc);
    this.seen = new Map(); // "METHOD /template" → Set of statuses
  }

  /// Returns the operation object, or undefined.
  operation(method, template) {
    return this.doc.paths[template]?.[method.toLowerCase()];
  }

  /// Returns the problems of `res` as an answer to `method template`.
  check(method, template, res) {
    const key = `${method.toUpperCase()} ${template}`;
    const op = this.operation(method, template);
    if (!op) return [`${key} is not in the document`];
    if (!this.seen.has(key)) this.seen.set(key, new Set());
    this.seen.get(key).add(res.status);
    const documented = op.responses[String(res.status)];
    if (!documented)
      return [`${key} answered ${res.status}, which the document does not list (${Object.keys(op.responses).join(", ")}): ${res.body.slice(0, 300)}`];
    return this.checkAgainst(key, deref(this.doc, documented), res);
  }

  /// Returns the problems of `res` against the response object `resp`.
  checkAgainst(key, resp, res) {
    const problems = [];
    for (const [name, h] of Object.entries(resp.headers ?? {})) {
      const header = deref(this.doc, h);
      if (header.required && res.headers[name.toLowerCase()] === undefined)
        problems.push(`${key} ${res.status} lacks the required header ${name}`);
    }
    const content = resp.content ?? {};
    const types = Object.keys(content);
    if (types.length === 0) {
      if (res.raw.length !== 0) problems.push(`${key} ${res.status} has a body the document does not describe: ${res.body.slice(0, 200)}`);
      return problems;
    }
    const got = (res.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (!types.includes(got)) {
      problems.push(`${key} ${res.status} has Content-Type "${got}", the document lists ${types.join(", ")}`);
      return problems;
    }
    const media = content[got];
    if (!media.schema) return problems;
    let value = res.body;
    if (got === "application/json") {
      try {
        value = JSON.parse(res.body);
      } catch (e) {
        problems.push(`${key} ${res.status} body is not JSON (${e.message}): ${res.body.slice(0, 200)}`);
        return problems;
      }
    }
    const validate = this.ajv.compile(media.schema);
    if (!validate(value))
      problems.push(`${key} ${res.status} body does not match the document: ${this.ajv.errorsText(validate.errors)}; body: ${res.body.slice(0, 300)}`);
    return problems;
  }
}

/// Returns true when `template` names a push path (its own error shape).
export function isPushPath(template) {
  return template === "/v1/association/create" || template === "/v1/notification/sendToList";
}

// -- etcd, for cluster mode -----------------------------------------------------

// Returns a free loopback port (bound and released).
async function freePort() {
  const net = await import("node:net");
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/// Starts Debian's etcd (scripts/setup installs etcd-server) on free
/// loopback ports with a fresh data dir; resolves to {url, stop} once it
/// answers, or to null when /usr/bin/etcd is missing.
export async function startEtcd() {
  const bin = "/usr/bin/etcd";
  if (!existsSync(bin)) return null;
  const dir = mkdtempSync(join(tmpdir(), "switchyard-openapi-etcd-"));
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const child = spawn(bin, ["--name", "t", "--data-dir", join(dir, "etcd"),
    "--listen-client-urls", client, "--advertise-client-urls", client,
    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
    "--initial-cluster", `t=${peer}`], { stdio: "ignore" });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const ok = await fetch(`${client}/v3/kv/range`, { method: "POST", body: '{"key":"L3JlYWR5"}' })
      .then((r) => r.status === 200).catch(() => false);
    if (ok) return { url: client, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error("etcd did not answer within 30 s");
}
