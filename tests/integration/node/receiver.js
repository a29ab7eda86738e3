// A webhook receiver built the way switchyard's users build theirs: with
// Notificare's official Live API SDK and the Standard Webhooks library.
// Prints "port N" once listening on 127.0.0.1. Endpoints:
//   POST /configure {privateKey, publicKey}  keys the receiver (as users paste them)
//   GET  /hook?challenge=…                    the SDK answers the verification
//   POST /hook                                 both libraries validate the delivery
//   GET  /results                              what was validated so far
const http = require('http');
const Notificare = require('notificare-live-api-node');
const { Webhook } = require('standardwebhooks');

let liveApi = null;
let standard = null;
const results = [];

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'POST' && url.pathname === '/configure') {
      const keys = JSON.parse(raw);
      liveApi = new Notificare.LiveApi(keys.privateKey, keys.publicKey);
      standard = new Webhook(keys.privateKey);
      return send(res, 200, { ok: true });
    }
    if (req.method === 'GET' && url.pathname === '/results') return send(res, 200, results);
    if (url.pathname !== '/hook' || !liveApi) return send(res, 404, { error: 'not configured' });
    const publicKey = req.headers['x-notificare-public-key'];
    if (req.method === 'GET') {
      try {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return res.end(liveApi.httpGateway.verify(publicKey, url.searchParams.get('challenge')));
      } catch (e) {
        return send(res, 401, { error: String(e) });
      }
    }
    let notificareOk = false;
    let standardOk = false;
    try {
      notificareOk = liveApi.httpGateway.validate(publicKey, raw, req.headers['x-notificare-signature']);
    } catch (e) {
      notificareOk = false;
    }
    try {
      standard.verify(raw, {
        'webhook-id': req.headers['webhook-id'],
        'webhook-timestamp': req.headers['webhook-timestamp'],
        'webhook-signature': req.headers['webhook-signature'],
      });
      standardOk = true;
    } catch (e) {
      standardOk = false;
    }
    const event = JSON.parse(raw);
    results.push({ id: event.id, type: event.type, notificare: notificareOk, standard: standardOk });
    send(res, notificareOk && standardOk ? 200 : 400, { ok: notificareOk && standardOk });
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
