// The browser test of the console (docs/console.md): Debian's chromium,
// driven by playwright-core, against the real switchyard binary with an
// admin token and the SDK receiver of tests/integration/node as the webhook.
// It signs in, creates a subscription to the receiver, verifies it,
// publishes, watches `delivered` rise, pauses, purges, activates, opens the
// attempts, checks that a hostile service name renders as text, deletes,
// and saves a screenshot. Any console error or CSP violation fails it,
// except the two 401s the sign-in step provokes on purpose.
//
// usage: node console.mjs <build dir>    (exit 77 = skipped: no chromium or npm packages)
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const buildDir = resolve(process.argv[2] || join(repo, "build"));
const chromiumPath = process.env.SWITCHYARD_CHROMIUM || "/usr/bin/chromium";
const receiverDir = join(repo, "tests/integration/node");

function skip(why) {
  console.log(`SKIPPED: ${why}`);
  process.exit(77);
}
if (!existsSync(join(here, "node_modules", "playwright-core"))) skip("tests/browser/node_modules is missing: run scripts/setup");
if (!existsSync(join(receiverDir, "node_modules"))) skip("tests/integration/node/node_modules is missing: run scripts/setup");
if (!existsSync(chromiumPath)) skip(`no chromium at ${chromiumPath}: scripts/setup installs Debian's chromium`);
const { chromium } = await import("playwright-core");

const TOKEN = "console-browser-test-token-0123456789";
const deadlineMs = 20000; // every wait below is bounded by this
const cleanup = [];
let failures = 0;

function check(ok, what) {
  if (ok) console.log(`ok - ${what}`);
  else {
    failures++;
    console.log(`not ok - ${what}`);
  }
}

/** Starts `command args`, resolves with the child and the first match of `pattern` in its output. */
function start(command, args, pattern, options = {}) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  cleanup.push(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"));
  let out = "";
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${out}`)), 60000);
    const onData = (chunk) => {
      out += chunk;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveStart({ child, match: m, output: () => out });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code, signal) => reject(new Error(`${command} exited (${code ?? signal}):\n${out}`)));
  });
}

async function api(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function until(what, probe) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const dir = mkdtempSync(join(tmpdir(), "switchyard-browser-"));
cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
let browser;
try {
  writeFileSync(
    join(dir, "test.toml"),
    `[server]\nlisten = "127.0.0.1:0"\nio_threads = 1\nactor_threads = 2\n` +
      `[storage]\ndata_dir = "${dir}/data"\n[auth]\nadmin_tokens = ["${TOKEN}"]\n`,
  );
  const server = await start(join(buildDir, "app", "switchyard"), ["serve", "--config", join(dir, "test.toml")], /listening on 127\.0\.0\.1:(\d+)/);
  const base = `http://127.0.0.1:${server.match[1]}`;
  const receiver = await start("node", [join(receiverDir, "receiver.js")], /port (\d+)/, { cwd: receiverDir });
  const hook = `http://127.0.0.1:${receiver.match[1]}`;

  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const problems = [];
  let allowed401 = 0;
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    if (/status of 401/.test(msg.text())) allowed401++;
    else problems.push(`console error: ${msg.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  page.setDefaultTimeout(deadlineMs);
  const id = (name) => page.getByTestId(name);

  // Sign in: a wrong token is refused with a message, the right one opens the console.
  const response = await page.goto(`${base}/console/`);
  const csp = response.headers()["content-security-policy"] || "";
  check(csp.includes("default-src 'none'") && csp.includes("script-src 'self'"), "the console is served with its CSP");
  await id("login-token").waitFor();
  await id("login-token").fill("not-the-token-but-long-enough-000");
  await id("login-submit").click();
  await id("login-error").waitFor();
  check((await id("login-error").textContent()).includes("401"), "a wrong token shows login-error naming 401");
  await id("login-token").fill(TOKEN);
  await id("login-submit").click();
  await id("new-subscription").waitFor();
  check(await id("login-error").isHidden(), "the right token opens the console");
  check(!(await page.evaluate(() => document.cookie)) && !page.url().includes(TOKEN), "the token is in no cookie and no url");

  // Create a subscription to the SDK receiver and give it the keys shown once.
  await id("new-subscription").click();
  await id("sub-service").fill("Console test");
  await id("sub-url").fill(`${hook}/hook`);
  await id("sub-types").fill("re.notifica.event.custom.*");
  await id("sub-create").click();
  await id("secret-private-key").waitFor();
  const privateKey = (await id("secret-private-key").textContent()).trim();
  const publicKey = (await id("secret-public-key").textContent()).trim();
  check(privateKey.startsWith("whsec_") && publicKey.length > 0, "the keys are shown after creation");
  await id("secrets-close").click();
  check(await id("secret-private-key").isHidden(), "the keys can be put away");
  await fetch(`${hook}/configure`, { method: "POST", body: JSON.stringify({ privateKey, publicKey }) });
  const row = page.getByTestId("subscription-row").filter({ hasText: "Console test" });
  await row.waitFor();
  const subId = await row.getAttribute("data-id");
  check((await row.getByTestId("state").textContent()) === "pending_verification", "a new subscription is pending_verification");

  // Verify through the SDK's challenge answer, then publish from the console.
  await row.getByTestId("verify").click();
  await until("state active", async () => (await row.getByTestId("state").textContent()) === "active");
  check(true, "verify makes it active");
  await id("event-type").fill("re.notifica.event.custom.Console");
  await id("event-data").fill('{"from":"the console"}');
  await id("event-send").click();
  await until("toast naming the publish", async () => (await id("toast").textContent()).includes("Published"));
  await until("delivered 1 in the row", async () => Number(await row.getByTestId("delivered").textContent()) >= 1);
  check(true, "delivered rises to 1 live");
  const results = await until("the receiver's result", async () => {
    const r = await (await fetch(`${hook}/results`)).json();
    return r.length >= 1 ? r : undefined;
  });
  check(results[0].type === "re.notifica.event.custom.Console" && results[0].notificare && results[0].standard,
    "the receiver validated both signatures of the delivery");
  await until("p50 as a number", async () => /^\d+(\.\d+)?$/.test(await row.getByTestId("p50").textContent()));
  check(true, "p50 shows the delivery's latency");

  // Pause: events queue; purge drops them after a confirmation; activate.
  await row.getByTestId("pause").click();
  await until("state paused", async () => (await row.getByTestId("state").textContent()) === "paused");
  await id("event-send").click();
  await until("queued 1 while paused", async () => Number(await row.getByTestId("queued").textContent()) === 1);
  check(true, "a paused subscription queues the next event");
  await row.getByTestId("purge").click();
  await id("confirm-yes").click();
  await until("queued 0 after purge", async () => Number(await row.getByTestId("queued").textContent()) === 0);
  await until("the purge's toast", async () => (await id("toast").textContent()).includes("Purged 1"));
  check(true, "purge asks first and says how many it dropped");
  await row.getByTestId("activate").click();
  await until("state active again", async () => (await row.getByTestId("state").textContent()) === "active");
  check(true, "activate makes it active again");

  // Recent attempts of the subscription.
  await row.getByTestId("details").click();
  const attempt = page.getByTestId("attempt-row").first();
  await attempt.waitFor();
  check((await attempt.textContent()).includes("200"), "the details show the attempt with status 200");

  // A hostile service name renders as text.
  const hostile = '<img src=x onerror="window.__xss=1">';
  const created = await api(base, "POST", "/v1/subscriptions", { service: hostile, url: `${hook}/other` });
  check(created.status === 201, "a subscription with a hostile name is created through the API");
  const hostileRow = page.locator(`[data-testid="subscription-row"][data-id="${created.body.id}"]`);
  await hostileRow.waitFor();
  check((await hostileRow.locator(".service").textContent()) === hostile, "the hostile name is shown as text");
  check((await hostileRow.locator("img").count()) === 0 && !(await page.evaluate(() => window.__xss)), "it made no element and ran nothing");

  // Delete asks first, then the row goes.
  await hostileRow.getByTestId("delete").click();
  await id("confirm-yes").click();
  await hostileRow.waitFor({ state: "detached" });
  check((await api(base, "GET", `/v1/subscriptions/${created.body.id}`)).status === 404, "delete removes the subscription");

  await page.screenshot({ path: join(buildDir, "console.png"), fullPage: true });
  console.log(`screenshot: ${join(buildDir, "console.png")}`);
  check(problems.length === 0, `no console error and no CSP violation${problems.length ? `:\n  ${problems.join("\n  ")}` : ""}`);
  check(allowed401 <= 2, `only the sign-in step's 401s were logged (${allowed401})`);
  check((await api(base, "GET", `/v1/subscriptions/${subId}`)).body.state === "active", "the server agrees: active");
} catch (e) {
  failures++;
  console.log(`not ok - ${e.stack || e}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  for (const f of cleanup.reverse()) {
    try {
      f();
    } catch {}
  }
}
console.log(failures === 0 ? "browser test passed" : `browser test: ${failures} failure(s)`);
process.exit(failures === 0 ? 0 : 1);
