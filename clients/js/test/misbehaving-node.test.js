// The client against a node that misbehaves: a loopback server of the test's own (plain `http`
// for the stream, `net` for a WebSocket upgrade never answered or a bare close frame), so these
// run without a node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { AppClient, Backoff } from '../src/index.js';

async function until(what, check, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A stream endpoint answering each request with `serve(req, res)`; closes its connections on close. */
async function fakeNode(serve) {
  const sockets = new Set();
  const server = http.createServer(serve);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(resolve);
      }),
  };
}

/** A Backoff that counts its resets. */
class CountingBackoff extends Backoff {
  constructor(baseMs, maxMs) {
    super(baseMs, maxMs);
    this.resets = 0;
  }

  reset() {
    this.resets++;
    super.reset();
  }
}

const snapshotLine = JSON.stringify({ snapshot: [], seq: 0, done: true }) + '\n';

test('a node that ends every stream right after answering: the backoff keeps growing', async () => {
  let requests = 0;
  const node = await fakeNode((req, res) => {
    requests++;
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.end(snapshotLine);
  });
  const backoff = new CountingBackoff(1, 5);
  const connected = [];
  const app = new AppClient({
    url: node.url,
    appId: 1,
    key: 'k',
    transport: 'stream',
    backoff,
    onConnected: (t) => connected.push(t),
  }).start();
  try {
    await until('six connections', () => connected.length >= 6);
    // Each connection was answered, and none stayed up 30 s: every one counts as a failed attempt.
    assert.equal(backoff.resets, 0);
    assert.ok(backoff.attempt >= 5, `attempt ${backoff.attempt}`);
    assert.ok(requests >= 6);
  } finally {
    app.close();
    await node.close();
  }
});

test('a connection that stays up resetBackoffAfterMs starts the backoff afresh', async () => {
  const node = await fakeNode((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.write(snapshotLine);
    setTimeout(() => res.end(), 400);
  });
  const backoff = new CountingBackoff(1, 5);
  backoff.attempt = 7;
  const app = new AppClient({
    url: node.url,
    appId: 1,
    key: 'k',
    transport: 'stream',
    backoff,
    resetBackoffAfterMs: 100,
  }).start();
  try {
    await until('the reset', () => backoff.resets >= 1);
    assert.equal(backoff.attempt, 0);
  } finally {
    app.close();
    await node.close();
  }
});

test('a stream request never answered is a lost attempt after answerTimeoutMs', async () => {
  const node = await fakeNode(() => {
    /* takes the request, never answers */
  });
  const lost = [];
  const app = new AppClient({
    url: node.url,
    appId: 1,
    key: 'k',
    transport: 'stream',
    backoff: new Backoff(5_000, 5_000),
    idleTimeoutMs: 60_000,
    answerTimeoutMs: 200,
    onDisconnected: (cause, retry) => lost.push({ cause, retry }),
  }).start();
  try {
    await until('the lost attempt', () => lost.length >= 1, 5_000);
    assert.match(lost[0].cause.message, /No answer from the stream within 200 ms/);
    assert.equal(typeof lost[0].retry, 'number');
  } finally {
    app.close();
    await node.close();
  }
});

test('a stream line over 4 Mi characters ends the stream as lost with errno -5', async () => {
  const node = await fakeNode((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.write(snapshotLine);
    // A line without end: 5 Mi characters, then the connection is held open.
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 80; i++) res.write(chunk);
  });
  const lost = [];
  const snapshots = [];
  const app = new AppClient({
    url: node.url,
    appId: 1,
    key: 'k',
    transport: 'stream',
    backoff: new Backoff(5_000, 5_000),
    idleTimeoutMs: 60_000,
    onSnapshot: (s) => snapshots.push(s),
    onDisconnected: (cause, retry) => lost.push({ cause, retry }),
  }).start();
  try {
    await until('the lost stream', () => lost.length >= 1);
    assert.equal(snapshots.length, 1);
    assert.equal(lost[0].cause.errno, -5);
    assert.equal(typeof lost[0].retry, 'number');
  } finally {
    app.close();
    await node.close();
  }
});

test('a WebSocket upgrade never answered is a lost attempt after answerTimeoutMs', async (t) => {
  // JsClientTest runs Node with a WebSocket (Node 22, or --experimental-websocket on Node 20).
  assert.equal(typeof globalThis.WebSocket, 'function', 'no global WebSocket in this Node');
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s); // reads the upgrade request and never answers it
    s.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const lost = [];
  const app = new AppClient({
    url: `http://127.0.0.1:${server.address().port}`,
    appId: 1,
    key: 'k',
    transport: 'websocket',
    backoff: new Backoff(5_000, 5_000),
    answerTimeoutMs: 200,
    onDisconnected: (cause, retry) => lost.push({ cause, retry }),
  }).start();
  t.after(() => {
    app.close();
    for (const s of sockets) s.destroy();
    server.close();
  });
  await until('the lost attempt', () => lost.length >= 1, 5_000);
  assert.match(lost[0].cause.message, /did not open within 200 ms/);
  assert.equal(typeof lost[0].retry, 'number');
});

test('an onConnected or onDisconnected that throws or rejects: reported as a warning, the client keeps reconnecting', async () => {
  const node = await fakeNode((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.end(snapshotLine);
  });
  const warnings = [];
  const onWarning = (w) => {
    if (w.name === 'PresenceHandlerWarning') warnings.push(w.message);
  };
  const rejections = [];
  const onRejection = (e) => rejections.push(e);
  process.on('warning', onWarning);
  process.on('unhandledRejection', onRejection);
  let connects = 0;
  let losses = 0;
  const app = new AppClient({
    url: node.url,
    appId: 1,
    key: 'k',
    transport: 'stream',
    backoff: new Backoff(1, 5),
    onConnected: async () => {
      connects++;
      throw new Error('connected handler broke');
    },
    onDisconnected: () => {
      losses++;
      throw new Error('disconnected handler broke');
    },
  }).start();
  try {
    await until('three connections after throwing handlers', () => connects >= 3 && losses >= 3);
    await until('the warnings', () => warnings.some((m) => m.includes('onDisconnected')) && warnings.some((m) => m.includes('onConnected')));
    assert.deepEqual(rejections, []);
  } finally {
    app.close();
    await node.close();
    process.off('warning', onWarning);
    process.off('unhandledRejection', onRejection);
  }
});

/**
 * A WebSocket endpoint of a few lines: it answers the upgrade, and once the client's first frame
 * (the key) came, sends the connect answer and then a close frame with `closeCode` and no error
 * frame before it. Counts the upgrades.
 */
async function bareCloseNode(closeCode) {
  const sockets = new Set();
  const node = { upgrades: 0 };
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    let request = '';
    let upgraded = false;
    s.on('data', (chunk) => {
      if (upgraded) {
        // The key frame (masked, not read): answer it, then close without an error frame.
        const answer = Buffer.from('{"result":true}');
        s.write(Buffer.concat([Buffer.from([0x81, answer.length]), answer]));
        s.end(Buffer.from([0x88, 2, closeCode >> 8, closeCode & 0xff]));
        return;
      }
      request += chunk.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key: *(\S+)/i.exec(request)[1];
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      upgraded = true;
      node.upgrades++;
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  node.url = `http://127.0.0.1:${server.address().port}`;
  node.close = () => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  return node;
}

test('a bare close 1007 (text not UTF-8, no error frame before it) is read as errno -13, and the client reconnects', async (t) => {
  assert.equal(typeof globalThis.WebSocket, 'function', 'no global WebSocket in this Node');
  const node = await bareCloseNode(1007);
  const lost = [];
  const connected = [];
  const app = new AppClient({
    url: node.url,
    appId: 1,
    key: 'k',
    transport: 'websocket',
    backoff: new Backoff(1, 5),
    onConnected: (transport) => connected.push(transport),
    onDisconnected: (cause, retry) => lost.push({ cause, retry }),
  }).start();
  t.after(() => {
    app.close();
    node.close();
  });
  // As the Java client (DeviceClient.closeErrno, AppClient): −13 is a lost session, not a stop.
  await until('two lost connections', () => lost.length >= 2);
  assert.equal(connected[0], 'websocket');
  for (const { cause, retry } of lost) {
    assert.equal(cause.errno, -13, cause.message);
    assert.match(cause.message, /Closed by the node \(1007\)/);
    assert.equal(typeof retry, 'number');
  }
  assert.ok(node.upgrades >= 2, `upgrades ${node.upgrades}`);
});

test('onSnapshotPage: each frame as it comes, first and last marked, before onSnapshot; a cut snapshot starts again', async () => {
  let requests = 0;
  const line = (users, done) =>
    JSON.stringify({ snapshot: users.map((u) => ({ UID: u, status: 'online' })), seq: 5, fresh: false, done }) + '\n';
  const node = await fakeNode((req, res) => {
    requests++;
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    if (requests === 1) {
      // A snapshot cut off after its first page.
      res.end(line(['u1', 'u2'], false));
      return;
    }
    res.write(line(['u1'], false));
    res.write(line(['u3'], false));
    res.write(line(['u4'], true));
  });
  const pages = [];
  const order = [];
  const snapshots = [];
  const app = new AppClient({
    url: node.url,
    appId: 1,
    key: 'k',
    transport: 'stream',
    backoff: new Backoff(1, 5),
    onSnapshotPage: async (p) => {
      await new Promise((r) => setTimeout(r, 5));
      pages.push(p);
      order.push('page');
    },
    onSnapshot: (s) => {
      snapshots.push(s);
      order.push('snapshot');
    },
  }).start();
  try {
    await until('the snapshot', () => snapshots.length === 1);
    assert.equal(pages.length, 4);
    assert.deepEqual(pages.map((p) => [p.first, p.last]), [
      [true, false],
      [true, false],
      [false, false],
      [false, true],
    ]);
    assert.deepEqual(pages[0].users.map((u) => u.uid), ['u1', 'u2']);
    assert.equal(pages[3].seq, 5);
    assert.deepEqual(order, ['page', 'page', 'page', 'page', 'snapshot']);
    assert.deepEqual(snapshots[0].users.map((u) => u.uid), ['u1', 'u3', 'u4']);
    assert.equal(app.since, 5);
  } finally {
    app.close();
    await node.close();
  }
});
