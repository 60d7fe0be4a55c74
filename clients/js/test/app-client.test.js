// Runs against a real node: JsClientTest (presence-gateway) starts one, makes an application, a
// user's grant and a webhook, and runs `node --test` here with their details in the environment.
// By hand: PRESENCE_URL, PRESENCE_APP_ID, PRESENCE_APP_KEY, PRESENCE_PUID, PRESENCE_TOKEN (the
// granting user's identity token), PRESENCE_WEBHOOK_SECRET and PRESENCE_WEBHOOK_PORT.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import {
  AppClient,
  Backoff,
  PresenceError,
  parseDelivery,
  parseSnapshotPart,
  verifySignature,
  verifySnapshotSignature,
  webhookMiddleware,
} from '../src/index.js';

const env = process.env;
const skip = env.PRESENCE_URL ? false : 'PRESENCE_URL is not set: run through JsClientTest, or see the header';
const appId = Number(env.PRESENCE_APP_ID);
const fast = () => new Backoff(50, 400);

async function until(what, check, ms = 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A device of the granting user on the node's device channel, just enough to send statuses. */
class Device {
  async open() {
    let WS = globalThis.WebSocket;
    if (typeof WS !== 'function') WS = (await import('ws')).WebSocket;
    this.ws = new WS(`${env.PRESENCE_URL.replace(/^http/, 'ws')}/presence`);
    this.answers = [];
    this.notifications = [];
    this.ws.addEventListener('message', (e) => {
      const frame = JSON.parse(String(e.data));
      if (frame.notifications) this.notifications.push(...frame.notifications);
      else if (!frame.settings) this.answers.push(frame);
    });
    await new Promise((resolve, reject) => {
      this.ws.addEventListener('open', resolve);
      this.ws.addEventListener('error', reject);
    });
    this.ws.send(JSON.stringify({ type: 'connect', assertion: env.PRESENCE_TOKEN, device: 'js-test' }));
    const a = await until('the connect answer', () => this.answers.shift());
    assert.equal(a.result, true, JSON.stringify(a));
    this.session = a.session_id;
  }

  async status(status, message) {
    this.ws.send(JSON.stringify({ type: 'status', session_id: this.session, status, message }));
    const a = await until('the status answer', () => this.answers.shift());
    assert.equal(a.result, true, JSON.stringify(a));
  }

  close() {
    this.ws.close();
  }
}

let device;
let hookServer;
const hookCalls = [];

before(async () => {
  if (skip) return;
  device = new Device();
  await device.open();
  // The node's webhook calls land here from the start, so none fails and backs off.
  hookServer = http.createServer(
    webhookMiddleware(env.PRESENCE_WEBHOOK_SECRET, (req, res) => {
      hookCalls.push(req.presence);
      res.statusCode = 204;
      res.end();
    }),
  );
  await new Promise((resolve) => hookServer.listen(Number(env.PRESENCE_WEBHOOK_PORT), '127.0.0.1', resolve));
});

after(() => {
  device?.close();
  hookServer?.close();
});

test('the update channel: a snapshot, then updates, with the cursor and the merged view', { skip }, async () => {
  const snapshots = [];
  const updates = [];
  const transports = [];
  const app = new AppClient({
    url: env.PRESENCE_URL,
    appId,
    key: env.PRESENCE_APP_KEY,
    backoff: fast(),
    onSnapshot: (s) => snapshots.push(s),
    onUpdates: (u) => updates.push(...u),
    onConnected: (t) => transports.push(t),
  }).start();
  try {
    await until('the snapshot', () => snapshots.length === 1);
    assert.deepEqual(snapshots[0].users, []);
    await device.status('online', 'js one');
    await until('the update', () => updates.length === 1);
    assert.deepEqual(
      { uid: updates[0].uid, status: updates[0].status, message: updates[0].message },
      { uid: env.PRESENCE_PUID, status: 'online', message: 'js one' },
    );
    assert.equal(app.since, updates[0].seq);
    assert.deepEqual(app.users().get(env.PRESENCE_PUID), { uid: env.PRESENCE_PUID, status: 'online', message: 'js one' });
    assert.equal(transports[0], typeof globalThis.WebSocket === 'function' ? 'websocket' : transports[0]);
  } finally {
    app.close();
  }
});

test('the stream, and resuming from a persisted since without a snapshot', { skip }, async () => {
  const first = [];
  const a = new AppClient({
    url: env.PRESENCE_URL,
    appId,
    key: env.PRESENCE_APP_KEY,
    transport: 'stream',
    backoff: fast(),
    onSnapshot: (s) => first.push(s),
  }).start();
  await until('the snapshot', () => first.length === 1);
  assert.equal(first[0].users.length, 1);
  const saved = a.since;
  a.close();

  await device.status('away', 'js two');
  const snapshots = [];
  const updates = [];
  const b = new AppClient({
    url: env.PRESENCE_URL,
    appId,
    key: env.PRESENCE_APP_KEY,
    transport: 'stream',
    since: saved,
    backoff: fast(),
    onSnapshot: (s) => snapshots.push(s),
    // A slow handler: the next line is read only after it settles.
    onUpdates: async (u) => {
      await new Promise((r) => setTimeout(r, 20));
      updates.push(...u);
    },
  }).start();
  try {
    await until('the missed update', () => updates.length === 1);
    assert.equal(snapshots.length, 0);
    assert.equal(updates[0].status, 'away');
    assert.equal(updates[0].message, 'js two');
    assert.ok(updates[0].seq > saved);
    assert.equal(b.since, updates[0].seq);
  } finally {
    b.close();
  }
});

test('a wrong key stops the client with errno 112', { skip }, async () => {
  const seen = [];
  const app = new AppClient({
    url: env.PRESENCE_URL,
    appId,
    key: 'not-the-key',
    transport: 'stream',
    onDisconnected: (cause, retry) => seen.push({ cause, retry }),
  }).start();
  try {
    await until('the refusal', () => seen.length === 1);
    assert.ok(seen[0].cause instanceof PresenceError);
    assert.equal(seen[0].cause.errno, 112);
    assert.equal(seen[0].cause.httpStatus, 401);
    assert.equal(seen[0].retry, null);
  } finally {
    app.close();
  }
});

test('posting notifications: one result per item', { skip }, async () => {
  const app = new AppClient({ url: env.PRESENCE_URL, appId, key: env.PRESENCE_APP_KEY });
  const r = await app.post([
    { uid: env.PRESENCE_PUID, message: 'Hello from Node', action: 'https://example.com/open', receipts: true },
    { uid: 'nobody', message: 'Nobody', action: 'https://example.com/open' },
  ]);
  assert.equal(r.result, 'PARTIAL');
  assert.equal(r.results[0].ok, true);
  assert.match(r.results[0].id, /^[A-Za-z0-9_-]{22}$/);
  assert.ok(r.queueSize >= 1);
  assert.deepEqual({ ok: r.results[1].ok, errno: r.results[1].errno }, { ok: false, errno: 151 });
  const pushed = await until('the notification on the device', () =>
    device.notifications.find((n) => n.id === r.results[0].id),
  );
  assert.equal(pushed.message, 'Hello from Node');
  await assert.rejects(
    new AppClient({ url: env.PRESENCE_URL, appId, key: 'wrong' }).post([{ uid: 'x', message: 'm', action: 'https://e.x' }]),
    (e) => e instanceof PresenceError && e.errno === 112 && e.httpStatus === 401,
  );
});

test('webhook middleware: the node\'s real call is verified, a forged one refused', { skip }, async () => {
  await device.status('unavailable', 'js three');
  const call = await until('the webhook call', () =>
    hookCalls.find((c) => c.changes.some((ch) => ch.uid === env.PRESENCE_PUID && ch.status === 'unavailable')),
  );
  assert.equal(call.delivery.appId, appId);
  assert.ok(call.delivery.lastSeq >= call.delivery.firstSeq);

  const url = `http://127.0.0.1:${env.PRESENCE_WEBHOOK_PORT}/hook`;
  const body = JSON.stringify([[env.PRESENCE_PUID, 'online']]);
  const forged = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Presence-Signature': 'sha256=' + '0'.repeat(64) },
    body,
  });
  assert.equal(forged.status, 401);
  const unsigned = await fetch(url, { method: 'POST', body });
  assert.equal(unsigned.status, 401);
  const before = hookCalls.length;
  const signed = await fetch(url, {
    method: 'POST',
    headers: {
      'X-Presence-Signature':
        'sha256=' + createHmac('sha256', env.PRESENCE_WEBHOOK_SECRET).update(`${appId}:5-7\n`).update(body).digest('hex'),
      'X-Presence-Delivery': `${appId}:5-7`,
    },
    body,
  });
  assert.equal(signed.status, 204);
  assert.equal(hookCalls.length, before + 1);
});

test('webhook middleware in Express style: next() after a good signature, req.body as a Buffer', async () => {
  const secret = 's3cret';
  const mw = webhookMiddleware(secret);
  const body = Buffer.from('[["p1","away"]]');
  const sig = 'sha256=' + createHmac('sha256', secret).update('9:1-2\n').update(body).digest('hex');
  const run = (headers, raw) =>
    new Promise((resolve) => {
      const res = { statusCode: 200, headers: {}, setHeader(k, v) { this.headers[k] = v; }, end(b) { resolve({ res: this, body: b }); } };
      const req = { headers, body: raw, presence: undefined };
      mw(req, res, () => resolve({ req, next: true }));
    });
  const ok = await run({ 'x-presence-signature': sig, 'x-presence-delivery': '9:1-2' }, body);
  assert.equal(ok.next, true);
  assert.deepEqual(ok.req.presence.changes, [{ uid: 'p1', status: 'away' }]);
  assert.deepEqual(ok.req.presence.delivery, { appId: 9, firstSeq: 1, lastSeq: 2 });
  assert.equal(ok.req.presence.snapshot, false);
  // A snapshot call: delivery id from 0, its part signed on its own.
  const snapSig = 'sha256=' + createHmac('sha256', secret).update('9:0-7\n').update(body).digest('hex');
  const partSig = 'sha256=' + createHmac('sha256', secret).update('9:0-7\npart=1; last\n').update(body).digest('hex');
  const snapHeaders = { 'x-presence-signature': snapSig, 'x-presence-delivery': '9:0-7' };
  const snap = await run(
    { ...snapHeaders, 'x-presence-snapshot': 'part=1; last', 'x-presence-snapshot-signature': partSig },
    body,
  );
  assert.equal(snap.next, true);
  assert.equal(snap.req.presence.snapshot, true);
  assert.deepEqual(snap.req.presence.changes, [{ uid: 'p1', status: 'away' }]);
  assert.deepEqual(snap.req.presence.snapshotPart, { part: 1, last: true });
  assert.equal(ok.req.presence.snapshotPart, null);
  // Without the part and its signature (stripped, or a node older than them): refused.
  assert.equal((await run(snapHeaders, body)).res.statusCode, 401);
  const bad = await run({ 'x-presence-signature': sig, 'x-presence-delivery': '9:1-2' }, Buffer.from('[["p1","online"]]'));
  assert.equal(bad.res.statusCode, 401);
  // An old body under a newer delivery id (a replay moving the receiver's cursor on) is refused.
  const moved = await run({ 'x-presence-signature': sig, 'x-presence-delivery': '9:5-6' }, body);
  assert.equal(moved.res.statusCode, 401);
  assert.equal(verifySignature(secret, body, sig, '9:1-2'), true);
  assert.equal(verifySignature(secret, body, sig, undefined), false);
  assert.equal(verifySignature(secret, body, sig.slice(0, -1), '9:1-2'), false);
  const testCall = 'sha256=' + createHmac('sha256', secret).update('\n').update(body).digest('hex');
  assert.equal(verifySignature(secret, body, testCall), true);
  assert.equal(parseDelivery('nonsense'), null);
});

test('webhook middleware: a snapshot call in parts', async () => {
  const secret = 's3cret';
  const mw = webhookMiddleware(secret);
  const sign = (delivery, body, part) =>
    'sha256=' + createHmac('sha256', secret).update(`${delivery}\n`).update(part === undefined ? '' : `${part}\n`).update(body).digest('hex');
  // As the node sends a part: the call's signature, and the part's over its header too.
  const partHeaders = (delivery, body, header) => ({
    'x-presence-signature': sign(delivery, body),
    'x-presence-delivery': delivery,
    'x-presence-snapshot': header,
    'x-presence-snapshot-signature': sign(delivery, body, header),
  });
  const run = (headers, raw) =>
    new Promise((resolve) => {
      const res = { statusCode: 200, headers: {}, setHeader(k, v) { this.headers[k] = v; }, end(b) { resolve({ res: this, body: b }); } };
      const req = { headers, body: raw, presence: undefined };
      mw(req, res, () => resolve({ req, next: true }));
    });
  const part = async (header, pairs) => {
    const body = Buffer.from(JSON.stringify(pairs));
    return run(partHeaders('9:0-7', body, header), body);
  };
  const first = await part('part=1', [['p1', 'away'], ['p2', 'online']]);
  assert.equal(first.req.presence.snapshot, true);
  assert.deepEqual(first.req.presence.snapshotPart, { part: 1, last: false });
  const last = await part('part=2; last', [['p3', 'online']]);
  assert.equal(last.req.presence.snapshot, true);
  assert.deepEqual(last.req.presence.snapshotPart, { part: 2, last: true });
  assert.deepEqual(last.req.presence.changes, [{ uid: 'p3', status: 'online' }]);
  const empty = await part('part=1; last', []);
  assert.deepEqual(empty.req.presence.snapshotPart, { part: 1, last: true });
  assert.deepEqual(empty.req.presence.changes, []);
  // A snapshot whose part header is not one is refused.
  assert.equal((await part('part=0', [])).res.statusCode, 400);
  assert.equal((await part('last', [])).res.statusCode, 400);
  // A part's signature covers its part: sent again as the last one, or without its header, or
  // without its own signature, it is refused.
  const partBody = Buffer.from('[["p1","away"]]');
  const asFirst = partHeaders('9:0-7', partBody, 'part=1');
  assert.equal((await run(asFirst, partBody)).next, true);
  assert.equal((await run({ ...asFirst, 'x-presence-snapshot': 'part=1; last' }, partBody)).res.statusCode, 401);
  const { 'x-presence-snapshot': _part, ...noPart } = asFirst;
  assert.equal((await run(noPart, partBody)).res.statusCode, 401);
  const { 'x-presence-snapshot-signature': _sig, ...noPartSig } = asFirst;
  assert.equal((await run(noPartSig, partBody)).res.statusCode, 401);
  assert.equal(verifySnapshotSignature(secret, partBody, asFirst['x-presence-snapshot-signature'], '9:0-7', ' part=1 '), true);
  assert.equal(verifySnapshotSignature(secret, partBody, asFirst['x-presence-snapshot-signature'], '9:0-7'), false);
  // The call's own signature stays as it was (receivers that check only it keep working).
  assert.equal(verifySignature(secret, partBody, asFirst['x-presence-signature'], '9:0-7'), true);
  // An update call's part header means nothing.
  const body = Buffer.from('[]');
  const update = await run(
    { 'x-presence-signature': sign('9:8-9', body), 'x-presence-delivery': '9:8-9', 'x-presence-snapshot': 'part=2' },
    body,
  );
  assert.equal(update.req.presence.snapshotPart, null);
  assert.deepEqual(parseSnapshotPart(' part=12 ;  last '), { part: 12, last: true });
  assert.deepEqual(parseSnapshotPart('part=3'), { part: 3, last: false });
  assert.equal(parseSnapshotPart('part=3; lastly'), null);
  assert.equal(parseSnapshotPart(undefined), null);
});
