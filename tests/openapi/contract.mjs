// Checks the real server against docs/openapi.yaml: a representative
// request to every endpoint, success and error cases, each answer's status
// listed in the document and its body matching the documented schema.
//   node contract.mjs <build dir>
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { call, callFirstEvent, docPath, findBinary, repoRoot, isPushPath, loadDocument, ResponseChecker, startEtcd, startServer, startSink } from "./lib.mjs";

const bin = findBinary(process.argv[2]);
const doc = loadDocument();
const checker = new ResponseChecker(doc);
const problems = [];
const admin = "openapi-admin-token-0123456789abcdef";
const publisher = "openapi-publish-token-0123456789abcdef";

const sink = await startSink();
const main = await startServer(
  bin,
  `[pull]\nfile_max_age_ms = 200\n[push]\ngateway_url = "${sink.url("/gateway")}"\n`,
);
const secured = await startServer(bin, `[auth]\nadmin_tokens = ["${admin}"]\npublish_tokens = ["${publisher}"]\n`);
// Gives events up after 1 s, so that dead letters exist to replay and drop.
const dying = await startServer(bin, `[retry]\ninitial_ms = 50\nmax_ms = 200\nmax_age = "1s"\n`);

// Sends `method template` (placeholders filled from `params`), checks the
// answer against the document and, when given, that its status is `want`.
async function req(server, method, template, { params = {}, query = "", want, ...options } = {}) {
  const target = template.replace(/\{(\w+)\}/g, (_, p) => encodeURIComponent(params[p])) + query;
  const res = await call(server.port, method, target, options);
  for (const p of checker.check(method, template, res)) problems.push(p);
  if (want !== undefined && res.status !== want)
    problems.push(`${method} ${target}: status ${res.status}, want ${want}: ${res.body.slice(0, 300)}`);
  return res;
}
const json = (res) => JSON.parse(res.body);
// Asserts that an error names `field` (in "field" or, on the push paths, at
// the start of "message").
function names(res, template, field) {
  const body = JSON.parse(res.body);
  const where = isPushPath(template) ? body.message : body.field;
  if (!where || !where.includes(field))
    problems.push(`${template} ${res.status}: error does not name ${field}: ${res.body}`);
}

try {
  const m = main;
  // -- operations and the document itself
  await req(m, "GET", "/healthz", { want: 200 });
  await req(m, "GET", "/readyz", { want: 200 });
  await req(m, "GET", "/metrics", { want: 200 });
  // -- cluster mode: a single node has no cluster (404); a node of its own
  // with one etcd answers 200 (docs/cluster.md)
  await req(m, "GET", "/v1/cluster", { want: 404 });
  const etcd = await startEtcd();
  if (!etcd) problems.push("GET /v1/cluster needs /usr/bin/etcd (scripts/setup installs etcd-server)");
  else {
    const clustered = await startServer(bin, `[cluster]\nnode = "c1"\nlisten = "127.0.0.1:7199"\n` +
      `etcd = ["${etcd.url}"]\npartitions = 4\nreplicas = 1\nmin_insync = 1\npreview = true\n`);
    try {
      // The controller places the partitions a moment after the node joined.
      const deadline = Date.now() + 30000;
      let placed = false;
      while (!placed && Date.now() < deadline) {
        const r = await call(clustered.port, "GET", "/v1/cluster");
        const parts = r.status === 200 ? JSON.parse(r.body).partitions : [];
        placed = parts.length === 4 && parts.every((p) => p.primary === "c1");
        if (!placed) await new Promise((r) => setTimeout(r, 50));
      }
      if (!placed) problems.push(`GET /v1/cluster: the clustered node never placed its partitions; its log:\n${clustered.log()}`);
      const c = json(await req(clustered, "GET", "/v1/cluster", { want: 200 }));
      if (c.node !== "c1" || c.members.length !== 1 || c.members[0].state !== "up" || c.partitions.length !== 4)
        problems.push(`GET /v1/cluster on a one-node cluster: ${JSON.stringify(c)}`);
    } finally {
      await clustered.stop();
      await etcd.stop();
    }
  }
  const served = await req(m, "GET", "/openapi.yaml", { want: 200 });
  if (served.body !== readFileSync(docPath, "utf8"))
    problems.push("GET /openapi.yaml does not serve docs/openapi.yaml byte for byte (rebuild?)");
  // -- the console's files
  await req(m, "GET", "/console", { want: 308 });
  await req(m, "GET", "/console/", { want: 200 });
  await req(m, "GET", "/console/{file}", { params: { file: "app.js" }, want: 200 });
  await req(m, "GET", "/console/{file}", { params: { file: "console.css" }, want: 200 });
  await req(m, "GET", "/console/{file}", { params: { file: "other.js" }, want: 404 });
  const backups = mkdtempSync(join(tmpdir(), "switchyard-openapi-backup-"));
  try {
    await req(m, "POST", "/v1/admin/backup", { body: { path: join(backups, "b1") }, want: 200 });
    await req(m, "POST", "/v1/admin/backup", { body: { path: join(backups, "b1") }, want: 409 });
    await req(m, "POST", "/v1/admin/backup", { body: { path: "relative" }, want: 422 });
    await req(m, "POST", "/v1/admin/backup", { body: { path: 7 }, want: 400 });
  } finally {
    rmSync(backups, { recursive: true, force: true });
  }

  // -- event types
  let r = await req(m, "POST", "/v1/eventtype", {
    body: { code: "cartPurchase", name: "Cart purchase", namespace: "acme",
            attributes: [{ name: "orderTotal", type: "number" }, { name: "giftWrap", type: "boolean" }] },
    want: 201,
  });
  await req(m, "POST", "/v1/eventtype", { body: { code: "cartPurchase", name: "Cart purchase", namespace: "acme",
    attributes: [{ name: "orderTotal", type: "number" }, { name: "giftWrap", type: "boolean" }] }, want: 200 });
  await req(m, "POST", "/v1/eventtype", { body: { code: "pageView", name: "Page view" }, want: 201 });
  r = await req(m, "POST", "/v1/eventtype", { body: { name: "x" }, want: 422 });
  names(r, "/v1/eventtype", "code");
  r = await req(m, "POST", "/v1/eventtype", { body: { code: "x", name: "y", version: "2" }, want: 400 });
  names(r, "/v1/eventtype", "version");
  await req(m, "POST", "/v1/eventtype", { body: "{", want: 400 });
  await req(m, "POST", "/v1/eventtype", { body: "{}", headers: { "Content-Type": "text/plain" }, want: 415 });
  await req(m, "POST", "/v1/eventtype", { body: { code: "x", name: "y" },
    headers: { Origin: "https://evil.example" }, want: 403 });
  await req(m, "GET", "/v1/eventtype", { want: 200 });
  await req(m, "DELETE", "/v1/eventtype/{code}", { params: { code: "pageView" }, want: 200 });
  r = await req(m, "DELETE", "/v1/eventtype/{code}", { params: { code: "pageView" }, want: 200 });
  if (r.body !== "false") problems.push(`second DELETE of an event type answered ${r.body}, want false`);

  // -- native subscriptions, verified through the sink
  r = await req(m, "POST", "/v1/subscriptions", {
    body: { service: "shop", url: sink.url("/hook"), types: ["acme.*"], country: "NO" }, want: 201 });
  const sub = json(r);
  sink.answerChallenges("/hook", sub.privateKey);
  await req(m, "POST", "/v1/subscriptions/{id}/pause", { params: { id: sub.id }, want: 409 });
  await req(m, "POST", "/v1/subscriptions/{id}/activate", { params: { id: sub.id }, want: 409 });
  r = await req(m, "POST", "/v1/subscriptions", { body: { service: "x", url: sink.url("/nokey") }, want: 201 });
  await req(m, "POST", "/v1/subscriptions/{id}/verify", { params: { id: json(r).id }, want: 422 });
  await req(m, "POST", "/v1/subscriptions/{id}/verify", { params: { id: sub.id }, want: 200 });
  await req(m, "POST", "/v1/subscriptions/{id}/pause", { params: { id: sub.id }, want: 200 });
  await req(m, "POST", "/v1/subscriptions/{id}/activate", { params: { id: sub.id }, want: 200 });
  await req(m, "GET", "/v1/subscriptions", { want: 200 });
  r = await req(m, "GET", "/v1/subscriptions", { query: "?state=active&limit=1", want: 200 });
  r = await req(m, "GET", "/v1/subscriptions", { query: "?state=sleeping", want: 400 });
  names(r, "/v1/subscriptions", "state");
  r = await req(m, "GET", "/v1/subscriptions", { query: "?limt=1", want: 400 });
  names(r, "/v1/subscriptions", "limt");
  r = await req(m, "POST", "/v1/subscriptions", { body: { service: "s", url: sink.url("/h"), type: ["a.*"] }, want: 422 });
  names(r, "/v1/subscriptions", "type");
  r = await req(m, "PATCH", "/v1/subscriptions/{id}", { params: { id: sub.id }, body: { contry: "NO" }, want: 422 });
  names(r, "/v1/subscriptions/{id}", "contry");
  await req(m, "POST", "/v1/subscriptions", { body: { service: "s", url: sink.url("/h"),
    privateKey: "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=" }, want: 201 });
  r = await req(m, "POST", "/v1/subscriptions", { body: { service: "s", url: sink.url("/h"), privateKey: "whsec_AAAA" }, want: 422 });
  names(r, "/v1/subscriptions", "privateKey");
  await req(m, "GET", "/v1/subscriptions/{id}", { params: { id: sub.id }, want: 200 });
  await req(m, "GET", "/v1/subscriptions/{id}", { params: { id: "sub_nope" }, want: 404 });
  await req(m, "PATCH", "/v1/subscriptions/{id}", { params: { id: sub.id },
    body: { max_in_flight: 1, country: null, auth: { authType: "Basic", userId: "u", password: "p" } }, want: 200 });
  r = await req(m, "PATCH", "/v1/subscriptions/{id}", { params: { id: sub.id }, body: { delivery: "pull" }, want: 422 });
  names(r, "/v1/subscriptions/{id}", "delivery");
  r = await req(m, "PATCH", "/v1/subscriptions/{id}", { params: { id: sub.id }, body: { max_in_flight: "1" }, want: 400 });
  names(r, "/v1/subscriptions/{id}", "max_in_flight");
  await req(m, "PATCH", "/v1/subscriptions/{id}", { params: { id: "sub_nope" }, body: { service: "x" }, want: 404 });
  r = await req(m, "POST", "/v1/subscriptions", { body: { url: sink.url("/hook") }, want: 422 });
  names(r, "/v1/subscriptions", "service");
  r = await req(m, "POST", "/v1/subscriptions", { body: { service: "s", url: "ftp://x" }, want: 422 });
  names(r, "/v1/subscriptions", "url");
  r = await req(m, "POST", "/v1/subscriptions", { body: { service: "s", url: sink.url("/h"), types: [7] }, want: 400 });
  names(r, "/v1/subscriptions", "types");
  await req(m, "POST", "/v1/subscriptions", { body: "[]", want: 400 });
  await req(m, "POST", "/v1/subscriptions", { body: { service: "s", url: sink.url("/h"),
    auth: { authType: "OAuth", authURL: sink.url("/token"), clientID: "c", clientSecret: "s", refreshToken: "r" } }, want: 201 });
  await req(m, "POST", "/v1/subscriptions", { body: { service: "s", url: sink.url("/h"),
    auth: { authType: "OAuthRefreshTokenOnly", authURL: sink.url("/token"), supplierKey: "k", refreshToken: "r" } }, want: 201 });
  await req(m, "POST", "/v1/subscriptions", { body: { service: "s", url: sink.url("/h"), verification: "skip",
    auth: { authType: "APIKey", APIKey: "k" } }, want: 201 });

  // -- publishing
  await req(m, "POST", "/v1/events", { body: { type: "acme.cartPurchase", country: "NO", data: { total: 1 } }, want: 202 });
  await req(m, "POST", "/v1/events", { body: [{ type: "a.b", id: "order-7" }, { type: "a.c", data: { k: "v" } }], want: 202 });
  r = await req(m, "POST", "/v1/events", { body: [{ type: "a.b" }, { type: "a.b", country: "no" }], want: 422 });
  names(r, "/v1/events", "country");
  if (json(r).index !== 1) problems.push(`a batch's bad event is not named by index 1: ${r.body}`);
  r = await req(m, "POST", "/v1/events", { body: { data: {} }, want: 422 });
  names(r, "/v1/events", "type");
  r = await req(m, "POST", "/v1/events", { body: { type: 5 }, want: 400 });
  names(r, "/v1/events", "type");
  await req(m, "POST", "/v1/events", { body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), want: 400 });
  await req(m, "POST", "/v1/events", { body: "[".repeat(200) + "]".repeat(200), want: 400 });
  await req(m, "POST", "/v1/events", { body: `{"type":"${"a".repeat(1100000)}"}`, want: 413 });
  await req(m, "POST", "/v1/events", { body: "{}", headers: { "X-Big": "x".repeat(20000) }, want: 431 });
  await req(m, "POST", "/v1/event", {
    body: { channel: "web", identifiers: [{ name: "email", value: "ann@example.com" }],
            events: [{ code: "cartPurchase", timestamp: "2015-02-28T20:16:12Z",
                       attributes: [{ name: "orderTotal", value: "125.53" }] }] }, want: 202 });
  await req(m, "POST", "/v1/event", {
    body: { provider: "Acoustic", channel: "email", eventbatch: [{ identifiers: [{ name: "email", value: "c@example.com" }],
            events: [{ code: "cartPurchase" }] }] }, want: 202 });
  r = await req(m, "POST", "/v1/event", {
    body: { channel: "web", identifiers: [{ name: "email", value: "a@b.c" }], events: [{ code: "nope", timestamp: "2015-02-28T20:16:12Z" }] }, want: 400 });
  names(r, "/v1/event", "events[0].code");
  await req(m, "GET", "/v1/eventtype/subscribed", { want: 200 });
  r = await req(m, "GET", "/v1/eventtype/subscribed/producer", { want: 200 });
  if (!json(r).some((t) => t.code === "cartPurchase")) problems.push(`cartPurchase not listed as subscribed: ${r.body}`);

  // -- the console's API: attempts, key rotation, the live stream
  await req(m, "GET", "/v1/subscriptions/{id}/attempts", { params: { id: sub.id }, want: 200 });
  await req(m, "GET", "/v1/subscriptions/{id}/attempts", { params: { id: sub.id }, query: "?limit=5", want: 200 });
  r = await req(m, "GET", "/v1/subscriptions/{id}/attempts", { params: { id: sub.id }, query: "?limit=500", want: 400 });
  names(r, "/v1/subscriptions/{id}/attempts", "limit");
  await req(m, "GET", "/v1/subscriptions/{id}/attempts", { params: { id: "sub_nope" }, want: 404 });
  await req(m, "POST", "/v1/subscriptions/{id}/rotate-keys", { params: { id: sub.id }, body: { grace_seconds: 60 }, want: 200 });
  await req(m, "POST", "/v1/subscriptions/{id}/rotate-keys", { params: { id: sub.id }, want: 200 });
  r = await req(m, "POST", "/v1/subscriptions/{id}/rotate-keys", { params: { id: sub.id }, body: { grace_seconds: -1 }, want: 422 });
  names(r, "/v1/subscriptions/{id}/rotate-keys", "grace_seconds");
  r = await req(m, "POST", "/v1/subscriptions/{id}/rotate-keys", { params: { id: sub.id }, body: { grace: 1 }, want: 422 });
  names(r, "/v1/subscriptions/{id}/rotate-keys", "grace");
  await req(m, "POST", "/v1/subscriptions/{id}/rotate-keys", { params: { id: "sub_nope" }, want: 404 });
  for (const [query, want] of [["", 200], [`?subscription=${encodeURIComponent(sub.id)}`, 200],
                               ["?subscription=sub_nope", 404], ["?subscriptions=x", 400]]) {
    const res = await callFirstEvent(m.port, "/v1/stream" + query);
    for (const p of checker.check("GET", "/v1/stream", res)) problems.push(p);
    if (res.status !== want) problems.push(`GET /v1/stream${query}: status ${res.status}, want ${want}: ${res.body.slice(0, 300)}`);
  }
  {
    const res = await callFirstEvent(secured.port, "/v1/stream");
    for (const p of checker.check("GET", "/v1/stream", res)) problems.push(p);
    if (res.status !== 401) problems.push(`GET /v1/stream without a token: ${res.status}, want 401`);
  }

  // -- dead letters, purge, delete
  await req(m, "GET", "/v1/subscriptions/{id}/dead-letters", { params: { id: sub.id }, want: 200 });
  await req(m, "GET", "/v1/subscriptions/{id}/dead-letters", { params: { id: "sub_nope" }, want: 404 });
  await req(m, "POST", "/v1/subscriptions/{id}/dead-letters/replay", { params: { id: sub.id }, want: 200 });
  await req(m, "POST", "/v1/subscriptions/{id}/dead-letters/replay", { params: { id: "sub_nope" }, want: 404 });
  {
    // Port 1 refuses every connection: the event dies after retry.max_age.
    r = await req(dying, "POST", "/v1/subscriptions", {
      body: { service: "dead", url: "http://127.0.0.1:1/dead", verification: "skip" }, want: 201 });
    const dead = json(r);
    await req(dying, "POST", "/v1/events", { body: { type: "a.dead" }, want: 202 });
    let letters = [];
    for (const deadline = Date.now() + 20000; Date.now() < deadline && letters.length === 0;) {
      letters = json(await req(dying, "GET", "/v1/subscriptions/{id}/dead-letters", { params: { id: dead.id }, want: 200 }));
      if (letters.length === 0) await new Promise((res) => setTimeout(res, 100));
    }
    if (letters.length !== 1) problems.push(`no dead letter appeared within 20 s: ${JSON.stringify(letters)}`);
    else
      await req(dying, "POST", "/v1/subscriptions/{id}/dead-letters/{event_id}/replay",
                { params: { id: dead.id, event_id: letters[0].id }, want: 200 });
    await req(dying, "POST", "/v1/subscriptions/{id}/dead-letters/{event_id}/replay",
              { params: { id: dead.id, event_id: "evt_nope" }, want: 404 });
    await req(dying, "DELETE", "/v1/subscriptions/{id}/dead-letters", { params: { id: dead.id }, want: 200 });
    await req(dying, "DELETE", "/v1/subscriptions/{id}/dead-letters", { params: { id: "sub_nope" }, want: 404 });
  }
  await req(m, "POST", "/v1/subscriptions/{id}/purge", { params: { id: sub.id }, want: 200 });
  await req(m, "POST", "/v1/subscriptions/{id}/purge", { params: { id: "sub_nope" }, want: 404 });
  await req(m, "POST", "/v1/subscriptions/{id}/verify", { params: { id: "sub_nope" }, want: 404 });
  await req(m, "POST", "/v1/subscriptions/{id}/pause", { params: { id: "sub_nope" }, want: 404 });
  await req(m, "POST", "/v1/subscriptions/{id}/activate", { params: { id: "sub_nope" }, want: 404 });
  // A url change rotates the keys and shows the new private key.
  r = await req(m, "PATCH", "/v1/subscriptions/{id}", { params: { id: sub.id }, body: { url: sink.url("/hook2") }, want: 200 });
  if (!json(r).privateKey) problems.push(`PATCH of url does not show the new privateKey: ${r.body}`);
  await req(m, "DELETE", "/v1/subscriptions/{id}", { params: { id: sub.id }, want: 204 });
  await req(m, "DELETE", "/v1/subscriptions/{id}", { params: { id: sub.id }, want: 204 });

  // -- dashboard facade
  r = await req(m, "POST", "/dashboard/v1/notifications", {
    body: { Url: sink.url("/dash"), Country: "NO", Event: "REGISTER" }, want: 201 });
  const dash = json(r).id;
  r = await req(m, "POST", "/dashboard/v1/notifications", { body: {}, want: 422 });
  names(r, "/dashboard/v1/notifications", "url");
  r = await req(m, "POST", "/dashboard/v1/notifications", { body: { url: sink.url("/d"), country: "NO", event: "NOPE" }, want: 422 });
  names(r, "/dashboard/v1/notifications", "event");
  await req(m, "GET", "/dashboard/v1/notifications", { want: 200 });
  await req(m, "GET", "/dashboard/v1/notifications/{id}", { params: { id: dash }, want: 200 });
  await req(m, "GET", "/dashboard/v1/notifications/{id}", { params: { id: "1" }, want: 404 });
  await req(m, "DELETE", "/dashboard/v1/notifications/{id}", { params: { id: dash }, want: 204 });
  await req(m, "DELETE", "/dashboard/v1/notifications/{id}", { params: { id: dash }, want: 204 });

  // -- the watcher
  await req(m, "GET", "/v1/subscription/notification", { want: 404 });
  await req(m, "PUT", "/v1/subscription/notification", { body: { notificationKey: "acct-7",
    notificationURL: sink.url("/changes"), authentication: { authType: "APIKey", APIKey: "k-123" } }, want: 201 });
  await req(m, "PUT", "/v1/subscription/notification", { body: { notificationURL: sink.url("/changes") }, want: 200 });
  await req(m, "GET", "/v1/subscription/notification", { want: 200 });
  r = await req(m, "PUT", "/v1/subscription/notification", { body: { notificationKey: "k" }, want: 422 });
  names(r, "/v1/subscription/notification", "notificationURL");
  await req(m, "DELETE", "/v1/subscription/notification", { want: 204 });
  await req(m, "DELETE", "/v1/subscription/notification", { want: 204 });

  // -- push
  await req(m, "POST", "/v1/association/create", { body: { appId: "com.empresa.miapp", token: "tok-1",
    association: { cellphone: "573141234567", email: "usuario@empresa.com" }, deviceType: "Android" }, want: 200 });
  r = await req(m, "POST", "/v1/association/create", { body: { token: "tok-1", association: {} }, want: 400 });
  names(r, "/v1/association/create", "association");
  r = await req(m, "POST", "/v1/association/create", { body: { token: "t", association: { cellphone: "12" } }, want: 400 });
  names(r, "/v1/association/create", "association.cellphone");
  await req(m, "POST", "/v1/association/create", { body: "{}", headers: { "Content-Type": "text/plain" }, want: 415 });
  await req(m, "POST", "/v1/association/create", { body: "{}", headers: { "Sec-Fetch-Site": "cross-site" }, want: 403 });
  await req(m, "POST", "/v1/notification/sendToList", { body: { tokens: ["tok-2"],
    tokensByAssociation: { appId: "com.empresa.miapp", deviceTypesToSend: ["ANDROID"], cellphones: ["573141234567"] },
    notification: { title: "t", message: "m", imageUrl: "https://dominio.com/i.png" }, data: { k: "v" } }, want: 200 });
  r = await req(m, "POST", "/v1/notification/sendToList", {
    body: { tokens: ["t"], notification: { title: "a", message: "b" }, data: { "gcm.x": "1" } }, want: 400 });
  names(r, "/v1/notification/sendToList", "data.gcm.x");

  // -- pull subscription and its event files
  r = await req(m, "POST", "/v1/subscriptions", { body: { service: "warehouse", types: ["pull.**"], delivery: "pull" }, want: 201 });
  const pull = json(r);
  if (!pull.accessKey) problems.push(`a pull subscription's 201 has no accessKey: ${r.body}`);
  const key = { Authorization: `Bearer ${pull.accessKey}` };
  await req(m, "POST", "/v1/events", { body: [{ type: "pull.a" }, { type: "pull.b" }], want: 202 });
  let files = [];
  for (const deadline = Date.now() + 20000; Date.now() < deadline && files.length === 0;) {
    files = json(await req(m, "GET", "/v1/eventfiles", { headers: key, want: 200 }));
    if (files.length === 0) await new Promise((res) => setTimeout(res, 50));
  }
  if (files.length === 0) problems.push("no event file was sealed within 20 s (pull.file_max_age_ms = 200)");
  await req(m, "GET", "/v1/eventfiles", { headers: key, query: "?numFiles=1", want: 200 });
  r = await req(m, "GET", "/v1/eventfiles", { headers: key, query: "?numFiles=x", want: 400 });
  names(r, "/v1/eventfiles", "numFiles");
  await req(m, "GET", "/v1/eventfiles", { want: 401 });
  await req(m, "GET", "/v1/eventfiles", { headers: { Authorization: "Bearer ak_unknown" }, want: 401 });
  if (files.length) {
    r = await req(m, "GET", "/v1/eventfiles/{name}", { params: { name: files[0] }, headers: key, want: 200 });
    if (r.body.trim().split("\n").length !== 2) problems.push(`the event file does not hold the two events: ${r.body}`);
    await req(m, "DELETE", "/v1/eventfiles/{name}", { params: { name: files[0] }, headers: key, want: 204 });
  }
  await req(m, "GET", "/v1/eventfiles/{name}", { params: { name: "nope" }, headers: key, want: 404 });
  await req(m, "DELETE", "/v1/eventfiles/{name}", { params: { name: "nope" }, headers: key, want: 404 });

  // -- with tokens: 401s in both shapes, a publish token's limits (403), 503 without a gateway
  const s = secured;
  const bearer = (t) => ({ Authorization: `Bearer ${t}` });
  await req(s, "GET", "/healthz", { want: 200 });
  await req(s, "GET", "/readyz", { want: 200 });
  await req(s, "GET", "/console/", { want: 200 }); // the page is public; its API calls are not
  await req(s, "GET", "/openapi.yaml", { want: 401 });
  await req(s, "GET", "/openapi.yaml", { headers: bearer(admin), want: 200 });
  await req(s, "GET", "/metrics", { want: 401 });
  await req(s, "GET", "/v1/subscriptions", { headers: bearer("wrong-token-wrong-token-wrong"), want: 401 });
  // A valid token without the scope: 403 saying what it may do.
  await req(s, "GET", "/v1/subscriptions", { headers: bearer(publisher), want: 403 });
  await req(s, "POST", "/v1/events", { body: { type: "a.b" }, headers: bearer(publisher), want: 202 });
  await req(s, "POST", "/v1/association/create", { body: { token: "t", association: { email: "a@b.co" } }, want: 401 });
  await req(s, "POST", "/v1/notification/sendToList", { body: { tokens: ["t"], notification: { title: "a", message: "b" } },
    headers: bearer(publisher), want: 503 });
  await req(s, "GET", "/v1/eventtype", { headers: { ...bearer(admin), Host: "rebound.example" }, want: 200 });

  // -- every documented path answers 405 to the methods it does not list, with
  //    Allow naming exactly the documented ones: the document misses no method.
  const verbs = ["GET", "POST", "PUT", "PATCH", "DELETE"];
  for (const [template, item] of Object.entries(doc.paths)) {
    const target = template.replace(/\{(\w+)\}/g, "x");
    // A concrete path may also match a template (/v1/eventtype/subscribed
    // and /v1/eventtype/{code}): the server allows the union.
    const matching = Object.keys(doc.paths).filter((t) =>
      new RegExp("^" + t.replace(/[.]/g, "\\.").replace(/\{\w+\}/g, "[^/]+") + "$").test(target));
    const listed = verbs.filter((v) => matching.some((t) => doc.paths[t][v.toLowerCase()]));
    for (const v of verbs.filter((x) => !listed.includes(x))) {
      const res = await call(m.port, v, target, v === "GET" || v === "DELETE" ? {} : { body: "{}" });
      const allow = (res.headers.allow ?? "").split(",").map((x) => x.trim()).filter(Boolean).sort();
      if (res.status !== 405 || allow.join() !== [...listed].sort().join())
        problems.push(`${v} ${target}: ${res.status} Allow "${res.headers.allow}", want 405 with Allow ${listed.join(", ")}`);
      else
        for (const p of checker.checkAgainst(`${v} ${template}`, doc.components.responses.Forbidden, res)) problems.push(p);
    }
  }
  // Paths the server routes that the document does not know: every path the
  // handlers' sources spell (a literal, or a variable + a literal suffix) is
  // probed with a method no route has; a 405 means the server routes it.
  const apiDir = join(repoRoot, "api");
  const sources = readdirSync(apiDir).filter((f) => f.endsWith(".cpp"))
    .map((f) => readFileSync(join(apiDir, f), "utf8")).join("\n");
  const vars = {};
  for (const [, name, value] of sources.matchAll(/(\w+)\s*=\s*"(\/[^"]*)"/g)) vars[name] = value;
  const candidates = new Set();
  for (const [, path] of sources.matchAll(/"(\/[A-Za-z0-9_.{}\/-]+)"/g)) candidates.add(path);
  for (const [, name, suffix] of sources.matchAll(/(\w+)\s*\+\s*"(\/[^"]*)"/g))
    if (vars[name]) candidates.add(vars[name] + suffix);
  const templateOf = (target) => Object.keys(doc.paths).filter((t) =>
    new RegExp("^" + t.replace(/[.]/g, "\\.").replace(/\{\w+\}/g, "[^/]+") + "$").test(target));
  for (const path of candidates) {
    const target = path.replace(/\{\w+\}/g, "x");
    const res = await call(m.port, "PROPFIND", target);
    if (res.status !== 405) continue;
    const documented = templateOf(target);
    const undocumented = (res.headers.allow ?? "").split(",").map((x) => x.trim())
      .filter((v) => !documented.some((t) => doc.paths[t][v.toLowerCase()]));
    if (undocumented.length)
      problems.push(`the server routes ${undocumented.join(", ")} ${path}, which docs/openapi.yaml does not describe`);
  }
  if (candidates.size < 20) problems.push(`found only ${candidates.size} paths in api/*.cpp: the source scan is broken`);

  const unknown = await call(m.port, "GET", "/v1/nothing-here");
  if (unknown.status !== 404) problems.push(`GET /v1/nothing-here: ${unknown.status}, want 404`);

  // -- every operation of the document was called and answered 2xx (a redirect 3xx) at least once
  for (const [template, item] of Object.entries(doc.paths))
    for (const method of Object.keys(item).filter((k) => verbs.includes(k.toUpperCase()))) {
      const seen = checker.seen.get(`${method.toUpperCase()} ${template}`);
      // Success is 2xx; for an operation that documents no 2xx (a redirect), its 3xx.
      const codes = Object.keys(item[method].responses ?? {});
      const top = codes.some((c) => c.startsWith("2")) ? 300 : 400;
      if (!seen || ![...seen].some((st) => st >= 200 && st < top))
        problems.push(`${method.toUpperCase()} ${template} was never answered 2xx (3xx for a redirect) by this test`);
    }
  assert.ok(main.running() && secured.running() && dying.running(), "a server stopped during the test");
} finally {
  await main.stop();
  await secured.stop();
  await dying.stop();
  await sink.close();
}

if (problems.length) {
  console.error(`FAIL: ${problems.length} mismatch(es) between the server and docs/openapi.yaml:`);
  for (const p of problems) console.error(" - " + p);
  process.exit(1);
}
let calls = 0;
for (const s of checker.seen.values()) calls += s.size;
console.log(`openapi contract: ${checker.seen.size} operations, ${calls} (operation, status) pairs, all as documented`);
