// The console's only door to the server. Every call carries the token the
// user typed, kept in this tab's sessionStorage (never a cookie, never a URL).

const TOKEN_KEY = 'switchyard.token';

/** Returns the token in use ('' when none). */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

/** Keeps `value` as the token of this tab ('' forgets it). */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer other than 2xx: `status` and the server's `error` text. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function headers(json) {
  const h = {};
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  if (json) h['Content-Type'] = 'application/json';
  return h;
}

/** Sends `method path` with an optional JSON body; resolves to the parsed answer (null when empty). */
export async function call(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  const text = await res.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!res.ok) {
    const message = parsed && typeof parsed.error === 'string' ? parsed.error : `HTTP ${res.status}`;
    throw new ApiError(res.status, message);
  }
  return parsed;
}

/**
 * Follows the Server-Sent Events at `path` through fetch (EventSource cannot
 * send a token). Calls onEvent(name, data) for each event and onStatus(up)
 * when the stream opens or drops; reconnects after `retryMs`. Returns a
 * function that stops it.
 */
export function follow(path, onEvent, onStatus, retryMs = 3000) {
  let stopped = false;
  let controller = null;
  let timer = null;

  const dispatch = (block) => {
    let name = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue; // comment: keep-alive
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') name = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0) return;
    let parsed;
    try {
      parsed = JSON.parse(data.join('\n'));
    } catch {
      return;
    }
    onEvent(name, parsed);
  };

  const run = async () => {
    controller = new AbortController();
    try {
      const res = await fetch(path, {
        headers: headers(false),
        cache: 'no-store',
        credentials: 'omit',
        signal: controller.signal,
      });
      if (!res.ok || !res.body) throw new ApiError(res.status, `stream answered ${res.status}`);
      onStatus(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (e) {
      if (stopped) return;
    }
    if (stopped) return;
    onStatus(false);
    timer = setTimeout(run, retryMs);
  };

  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (controller) controller.abort();
  };
}
