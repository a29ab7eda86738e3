// The switchyard console: subscriptions with live stats, the actions of the
// Notificare dashboard, a test publisher, recent attempts and dead letters.
// Untrusted text (service names, urls, errors, event data) only ever goes
// into textContent, never into HTML.

import { ApiError, call, follow, setToken, token } from './api.js';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const SAMPLES = 120; // rate samples kept per subscription (about two minutes)
const POLL_MS = 2000; // refresh period while the live stream is unavailable

const subs = new Map(); // id → { view, row, cells, buttons, spark, samples, last }
let selected = null; // id of the subscription whose details are open
let stopStream = null;
let pollTimer = null;
let detailsTimer = null;
let reloadPending = false;

/** Makes an element; strings among `children` become text nodes. */
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'testid') e.dataset.testid = v;
    else if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

let toastTimer = null;
/** Shows `message` (as text) for a few seconds. */
function toast(message, isError = false) {
  const t = $('toast');
  t.textContent = message;
  t.className = isError ? 'toast error' : 'toast';
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 6000);
}

function failed(e) {
  toast(e instanceof ApiError ? `${e.status}: ${e.message}` : String(e.message || e), true);
}

/** Asks before a destructive action; resolves to true on "Yes". */
function confirmAction(text) {
  return new Promise((resolve) => {
    const box = $('confirm');
    $('confirm-text').textContent = text;
    box.hidden = false;
    const done = (answer) => {
      box.hidden = true;
      $('confirm-yes').removeEventListener('click', yes);
      $('confirm-no').removeEventListener('click', no);
      resolve(answer);
    };
    const yes = () => done(true);
    const no = () => done(false);
    $('confirm-yes').addEventListener('click', yes);
    $('confirm-no').addEventListener('click', no);
  });
}

const dash = (v) => (v === null || v === undefined ? '–' : String(v));
const enc = encodeURIComponent;
const clock = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : d.toLocaleTimeString();
};

// ---- sparklines ----------------------------------------------------------

function sparkline(container, samples, width, height) {
  container.replaceChildren();
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const top = Math.max(1, ...samples.map((s) => Math.max(s.ok, s.fail)));
  const axis = document.createElementNS(SVG, 'line');
  axis.setAttribute('class', 'axis');
  axis.setAttribute('x1', '0');
  axis.setAttribute('x2', String(width));
  axis.setAttribute('y1', String(height - 0.5));
  axis.setAttribute('y2', String(height - 0.5));
  svg.append(axis);
  for (const key of ['ok', 'fail']) {
    const points = samples.map((s, i) => {
      // The newest sample at the right edge; older ones scroll left.
      const x = width - ((samples.length - 1 - i) * width) / (SAMPLES - 1);
      const y = height - 1 - (s[key] / top) * (height - 2);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    if (points.length === 0) continue;
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('class', key);
    line.setAttribute('points', points.join(' '));
    svg.append(line);
  }
  container.append(svg);
}

// Turns cumulative counters into per-second rates.
function sample(entry, stats) {
  const now = performance.now();
  const delivered = stats.delivered ?? 0;
  const fails = stats.failed_attempts ?? 0;
  if (entry.last) {
    const dt = (now - entry.last.t) / 1000;
    if (dt >= 0.5) {
      entry.samples.push({
        ok: Math.max(0, delivered - entry.last.delivered) / dt,
        fail: Math.max(0, fails - entry.last.fails) / dt,
      });
      if (entry.samples.length > SAMPLES) entry.samples.shift();
      entry.last = { t: now, delivered, fails };
    }
  } else {
    entry.last = { t: now, delivered, fails };
  }
}

// ---- the subscription table ------------------------------------------------

function actionButton(name, label, handler, danger = false) {
  return el('button', { type: 'button', testid: name, class: danger ? 'quiet danger' : 'quiet', onclick: handler }, label);
}

function makeRow(id) {
  const cells = {
    service: el('div', { class: 'service' }),
    url: el('div', { class: 'url' }),
    state: el('span', { testid: 'state', class: 'state' }),
    delivered: el('td', { testid: 'delivered', class: 'num' }),
    queued: el('td', { testid: 'queued', class: 'num' }),
    failed: el('td', { testid: 'failed', class: 'num' }),
    p50: el('td', { testid: 'p50', class: 'num' }),
    p99: el('td', { testid: 'p99', class: 'num' }),
  };
  const spark = el('div', { class: 'spark', testid: 'sparkline' });
  const buttons = {
    verify: actionButton('verify', 'Verify', () => act(id, 'verify')),
    pause: actionButton('pause', 'Pause', () => act(id, 'pause')),
    activate: actionButton('activate', 'Activate', () => act(id, 'activate')),
    purge: actionButton('purge', 'Purge', () => act(id, 'purge'), true),
    delete: actionButton('delete', 'Delete', () => act(id, 'delete'), true),
    details: actionButton('details', 'Details', () => openDetails(id)),
  };
  const row = el(
    'tr',
    { testid: 'subscription-row', 'data-id': id },
    el('td', {}, cells.service, cells.url),
    el('td', {}, cells.state),
    cells.delivered,
    cells.queued,
    cells.failed,
    cells.p50,
    cells.p99,
    el('td', {}, spark),
    el('td', {}, el('div', { class: 'actions' }, ...Object.values(buttons))),
  );
  return { row, cells, buttons, spark, samples: [], last: null, view: null };
}

function render(entry) {
  const v = entry.view;
  const s = v.stats || {};
  entry.cells.service.textContent = v.service || '(no service name)';
  entry.cells.url.textContent = v.url || (v.delivery === 'pull' ? 'pull subscription' : '');
  entry.cells.state.textContent = v.state;
  entry.cells.state.className = `state ${v.state}`;
  entry.cells.delivered.textContent = dash(s.delivered);
  entry.cells.queued.textContent = dash(s.queued);
  entry.cells.failed.textContent = dash(s.failed_attempts);
  entry.cells.p50.textContent = dash(s.latency_ms?.p50);
  entry.cells.p99.textContent = dash(s.latency_ms?.p99);
  entry.buttons.verify.disabled = v.state !== 'pending_verification';
  entry.buttons.pause.disabled = v.state !== 'active';
  entry.buttons.activate.disabled = v.state !== 'paused';
  sparkline(entry.spark, entry.samples, 120, 26);
  if (selected === v.id) renderDetailsHead();
}

/** Adds or refreshes one subscription from its JSON (the list or the stream). */
function upsert(view) {
  let entry = subs.get(view.id);
  if (!entry) {
    entry = makeRow(view.id);
    subs.set(view.id, entry);
    $('subscriptions').append(entry.row);
  }
  entry.view = { ...(entry.view || {}), ...view };
  if (view.stats) sample(entry, view.stats);
  render(entry);
  $('empty').hidden = subs.size > 0;
}

function removeMissing(ids) {
  for (const [id, entry] of subs) {
    if (ids.has(id)) continue;
    entry.row.remove();
    subs.delete(id);
    if (selected === id) closeDetails();
  }
  $('empty').hidden = subs.size > 0;
}

async function loadSubscriptions() {
  const list = await call('GET', '/v1/subscriptions');
  for (const v of list) upsert(v);
  removeMissing(new Set(list.map((v) => v.id)));
}

function reloadSoon() {
  if (reloadPending) return;
  reloadPending = true;
  setTimeout(() => {
    reloadPending = false;
    loadSubscriptions().catch(() => {});
  }, 100);
}

// ---- actions -------------------------------------------------------------

async function act(id, action) {
  const entry = subs.get(id);
  const name = entry?.view?.service || id;
  try {
    if (action === 'purge') {
      if (!(await confirmAction(`Purge every queued event of “${name}”? They are dropped, not delivered.`))) return;
      const r = await call('POST', `/v1/subscriptions/${enc(id)}/purge`);
      toast(`Purged ${r?.purged ?? 0} queued events of ${name}`);
    } else if (action === 'delete') {
      if (!(await confirmAction(`Delete “${name}” and drop its queue?`))) return;
      await call('DELETE', `/v1/subscriptions/${enc(id)}`);
      toast(`Deleted ${name}`);
    } else {
      const v = await call('POST', `/v1/subscriptions/${enc(id)}/${action}`);
      if (v && v.id) upsert(v);
      const said = { verify: 'verified: now active', pause: 'paused', activate: 'active again' };
      toast(`${name} ${said[action]}`);
    }
  } catch (e) {
    failed(e);
  }
  reloadSoon();
}

async function createSubscription() {
  const body = { service: $('sub-service').value.trim(), url: $('sub-url').value.trim() };
  const types = $('sub-types').value.split(/[\s,]+/).filter((t) => t.length > 0);
  if (types.length > 0) body.types = types;
  const country = $('sub-country').value.trim();
  if (country) body.country = country;
  try {
    const v = await call('POST', '/v1/subscriptions', body);
    upsert(v);
    showSecrets('Copy these keys now: the private key is not shown again.', v);
    toast(`Created ${v.service}: verify it once the endpoint holds the key`);
    $('create').hidden = true;
    for (const f of ['sub-service', 'sub-url', 'sub-types', 'sub-country']) $(f).value = '';
  } catch (e) {
    failed(e);
  }
}

function showSecrets(title, v) {
  $('secrets-title').textContent = title;
  $('secret-private-key').textContent = v.privateKey || '';
  $('secret-public-key').textContent = v.publicKey || '';
  $('secrets').hidden = false;
}

async function publishEvent() {
  let data;
  try {
    data = JSON.parse($('event-data').value || '{}');
  } catch (e) {
    return toast(`data is not valid JSON: ${e.message}`, true);
  }
  const event = { type: $('event-type').value.trim(), data };
  const country = $('event-country').value.trim();
  if (country) event.country = country;
  try {
    const r = await call('POST', '/v1/events', event);
    toast(`Published ${event.type} as ${r?.ids?.[0] ?? '?'}`);
  } catch (e) {
    failed(e);
  }
}

// ---- details: attempts, dead letters, the large sparkline ------------------

function renderDetailsHead() {
  const entry = subs.get(selected);
  if (!entry) return;
  const v = entry.view;
  $('details-title').textContent = v.service || v.id;
  $('details-url').textContent = `${v.id} · ${v.url || ''}`;
  const s = v.stats || {};
  const detail = [s.state_detail, s.last_error ? `last error: ${s.last_error}` : null].filter(Boolean);
  $('details-detail').textContent = detail.join(' · ');
  sparkline($('details-spark'), entry.samples, 600, 90);
}

function openDetails(id) {
  selected = id;
  $('details').hidden = false;
  renderDetailsHead();
  refreshDetails();
  clearInterval(detailsTimer);
  detailsTimer = setInterval(refreshDetails, POLL_MS);
}

function closeDetails() {
  selected = null;
  clearInterval(detailsTimer);
  $('details').hidden = true;
}

async function refreshDetails() {
  const id = selected;
  if (!id) return;
  const [attempts, dead] = await Promise.allSettled([
    call('GET', `/v1/subscriptions/${enc(id)}/attempts?limit=20`),
    call('GET', `/v1/subscriptions/${enc(id)}/dead-letters?limit=50`),
  ]);
  if (selected !== id) return;
  const body = $('attempts');
  if (attempts.status === 'fulfilled') {
    const rows = (attempts.value?.attempts || []).map((a) =>
      el(
        'tr',
        { testid: 'attempt-row' },
        el('td', { text: clock(a.at) }),
        el('td', { text: a.type || a.event_id }),
        el('td', { class: 'num', text: dash(a.attempt) }),
        el('td', { class: `num ${a.status >= 200 && a.status < 300 ? 'status-ok' : 'status-fail'}`, text: a.status ? String(a.status) : '—' }),
        el('td', { class: 'num', text: dash(a.duration_ms) }),
        el('td', { class: 'excerpt', text: a.error || a.response_excerpt || '' }),
      ),
    );
    body.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '6', class: 'muted', text: 'No attempts since the server started.' }))]));
  } else {
    body.replaceChildren(el('tr', {}, el('td', { colspan: '6', class: 'error', text: attempts.reason.message })));
  }
  const dl = $('dead-letters');
  if (dead.status === 'fulfilled') {
    const list = Array.isArray(dead.value) ? dead.value : dead.value?.dead_letters || [];
    const rows = list.map((d) =>
      el(
        'tr',
        { testid: 'dead-letter-row', 'data-id': d.id },
        el('td', { class: 'excerpt', text: d.id }),
        el('td', { text: d.type }),
        el('td', { text: [d.reason, d.last_error, d.attempts ? `${d.attempts} attempts` : null].filter(Boolean).join(' · ') }),
        el('td', {}, actionButton('dead-letter-replay', 'Replay', () => replayOne(id, d.id))),
      ),
    );
    dl.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '4', class: 'muted', text: 'No dead letters.' }))]));
  } else {
    dl.replaceChildren(el('tr', {}, el('td', { colspan: '4', class: 'error', text: dead.reason.message })));
  }
}

async function replayOne(id, eventId) {
  try {
    await call('POST', `/v1/subscriptions/${enc(id)}/dead-letters/${enc(eventId)}/replay`);
    toast(`Requeued ${eventId}`);
  } catch (e) {
    failed(e);
  }
  refreshDetails();
}

async function replayAll() {
  try {
    const r = await call('POST', `/v1/subscriptions/${enc(selected)}/dead-letters/replay`);
    toast(`Requeued ${r?.replayed ?? 0} dead letters`);
  } catch (e) {
    failed(e);
  }
  refreshDetails();
}

async function dropAll() {
  if (!(await confirmAction('Drop every dead letter of this subscription? They cannot be replayed after.'))) return;
  try {
    const r = await call('DELETE', `/v1/subscriptions/${enc(selected)}/dead-letters`);
    toast(`Dropped ${r?.dropped ?? 0} dead letters`);
  } catch (e) {
    failed(e);
  }
  refreshDetails();
}

async function rotateKeys() {
  const id = selected;
  if (!(await confirmAction('Rotate the keys? For 24 hours deliveries carry signatures with both the old and the new key.'))) return;
  try {
    const v = await call('POST', `/v1/subscriptions/${enc(id)}/rotate-keys`, { grace_seconds: 86400 });
    showSecrets('New keys: give the private key to the receiver within 24 hours; it is not shown again.', v);
    toast('Keys rotated');
  } catch (e) {
    failed(e);
  }
}

// ---- live updates: the stream, or polling while it is unavailable ---------

function setConnection(mode) {
  const c = $('connection');
  c.className = `connection ${mode}`;
  c.textContent = { live: 'live', polling: 'polling every 2 s', down: 'server unreachable' }[mode];
}

function startPolling() {
  if (pollTimer) return;
  pollTimer = setInterval(() => {
    loadSubscriptions()
      .then(() => setConnection('polling'))
      .catch(() => setConnection('down'));
  }, POLL_MS);
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}

function onStreamEvent(name, data) {
  if (name === 'stats') {
    const list = data.subscriptions || [];
    let unknown = false;
    for (const s of list) {
      if (subs.has(s.id)) upsert(s);
      else unknown = true;
    }
    if (unknown || list.length !== subs.size) reloadSoon();
  } else if (name === 'state') {
    reloadSoon();
  } else if (name === 'attempt' && data.subscription === selected) {
    clearTimeout(onStreamEvent.timer);
    onStreamEvent.timer = setTimeout(refreshDetails, 300);
  }
}

function startLive() {
  if (stopStream) stopStream();
  setConnection('polling');
  startPolling();
  stopStream = follow('/v1/stream', onStreamEvent, (up) => {
    if (up) {
      stopPolling();
      setConnection('live');
    } else {
      setConnection('polling');
      startPolling();
    }
  });
}

function stopLive() {
  if (stopStream) stopStream();
  stopStream = null;
  stopPolling();
}

// ---- sign-in and start ---------------------------------------------------

function showLogin() {
  stopLive();
  $('main').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('login-token').focus();
}

function showMain() {
  $('login').hidden = true;
  $('main').hidden = false;
  $('logout').hidden = !token();
  startLive();
}

async function signIn() {
  const error = $('login-error');
  error.hidden = true;
  setToken($('login-token').value.trim());
  try {
    await loadSubscriptions();
    $('login-token').value = '';
    showMain();
  } catch (e) {
    setToken('');
    error.textContent =
      e instanceof ApiError && e.status === 401
        ? 'The server refused this token (401): use one of auth.admin_tokens.'
        : e instanceof ApiError && e.status === 403
          ? 'This token may not manage subscriptions (403): use an admin token.'
          : `Could not sign in: ${e.message}`;
    error.hidden = false;
  }
}

function wire() {
  $('login-submit').addEventListener('click', signIn);
  $('login-token').addEventListener('keydown', (e) => e.key === 'Enter' && signIn());
  $('logout').addEventListener('click', () => {
    setToken('');
    showLogin();
  });
  $('new-subscription').addEventListener('click', () => {
    $('create').hidden = false;
    $('sub-service').focus();
  });
  $('sub-cancel').addEventListener('click', () => ($('create').hidden = true));
  $('sub-create').addEventListener('click', createSubscription);
  $('secrets-close').addEventListener('click', () => ($('secrets').hidden = true));
  $('event-send').addEventListener('click', publishEvent);
  $('details-close').addEventListener('click', closeDetails);
  $('rotate-keys').addEventListener('click', rotateKeys);
  $('dead-letters-replay').addEventListener('click', replayAll);
  $('dead-letters-drop').addEventListener('click', dropAll);
}

async function boot() {
  wire();
  try {
    await loadSubscriptions();
    showMain();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return showLogin();
    showMain();
    failed(e);
  }
}

boot();
