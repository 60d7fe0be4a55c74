// The client against a node that misbehaves: a loopback server of the test's own (plain `http`
// for the stream), so these run without a node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
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
