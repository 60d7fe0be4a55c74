// Presence client for Node AppServices (docs/clients.md). No dependencies: Node's global fetch,
// and the global WebSocket where Node has one (22+, or 20 with --experimental-websocket), else the
// optional `ws` package, else the long-held HTTP stream, which carries the same frames.
import { createHmac, createHash, timingSafeEqual } from 'node:crypto';

/** A refusal by the node: act on `errno` (docs/errors.md), never on `reason`. */
export class PresenceError extends Error {
  constructor(errno, reason, httpStatus = 0) {
    super(`${errno ? `errno ${errno}: ` : ''}${reason}${httpStatus ? ` (HTTP ${httpStatus})` : ''}`);
    this.name = 'PresenceError';
    this.errno = errno;
    this.reason = reason;
    this.httpStatus = httpStatus;
  }
}

const INVALID_API_KEY = 112;
const UNKNOWN_APP = 130;
const APP_NOT_ACTIVE = 132;
const INVALID_SINCE = 190;
const APP_RATE_LIMITED = 172;
const FRAME_TOO_LARGE = -5;
const STATUSES = new Set(['online', 'away', 'unavailable', 'offline']);
// The longest stream line taken, in characters: the WebSocket path's frame cap (the Java client's).
const MAX_LINE_CHARS = 4 * 1024 * 1024;

/** Exponential backoff with full jitter: the n-th wait is uniform in [0, min(max, base * 2^n)]. */
export class Backoff {
  constructor(baseMs = 500, maxMs = 30_000) {
    this.baseMs = Math.max(1, baseMs);
    this.maxMs = Math.max(this.baseMs, maxMs);
    this.attempt = 0;
  }

  next() {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(Math.random() * (ceiling + 1));
  }

  reset() {
    this.attempt = 0;
  }
}

function httpBase(url) {
  const u = new URL(url);
  if (u.protocol === 'ws:') u.protocol = 'http:';
  if (u.protocol === 'wss:') u.protocol = 'https:';
  return u.href.replace(/\/+$/, '');
}

function wsBase(url) {
  return httpBase(url).replace(/^http/, 'ws');
}

async function webSocketClass() {
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket;
  try {
    const mod = await import('ws');
    return mod.WebSocket ?? mod.default;
  } catch {
    return null;
  }
}

/**
 * The errno a close code stands for when no error frame came before it (docs/errors.md), as the
 * Java client reads it: 1001 is −3 (the node is draining), 1007 −13 (text that is not UTF-8);
 * anything else none (0).
 */
function closeErrno(code) {
  if (code === 1001) return -3;
  if (code === 1007) return -13;
  return 0;
}

function presenceOf(item) {
  if (!item || typeof item.UID !== 'string' || !STATUSES.has(item.status)) return null;
  return { uid: item.UID, status: item.status, message: typeof item.message === 'string' ? item.message : null };
}

/**
 * An AppService's connection: the update channel (snapshot, then updates in `seq` order, receipts),
 * kept open with reconnects and a resumable cursor, and notification posting.
 */
export class AppClient {
  /**
   * @param {object} options see index.d.ts
   */
  constructor({
    url,
    appId,
    key,
    since = -1,
    transport = 'auto',
    onSnapshot = () => {},
    onSnapshotPage = () => {},
    onUpdates = () => {},
    onReceipts = () => {},
    onConnected = () => {},
    onDisconnected = () => {},
    backoff = new Backoff(),
    idleTimeoutMs = 75_000,
    resetBackoffAfterMs = 30_000,
    answerTimeoutMs = 15_000,
    rateLimitRetries = 3,
  }) {
    if (!url || !appId || !key) throw new TypeError('url, appId and key are required');
    this.url = httpBase(url);
    this.appId = appId;
    this.key = key;
    this.transport = transport;
    this.handlers = { onSnapshot, onSnapshotPage, onUpdates, onReceipts, onConnected, onDisconnected };
    this.backoff = backoff;
    this.idleTimeoutMs = idleTimeoutMs;
    this.resetBackoffAfterMs = resetBackoffAfterMs;
    this.answerTimeoutMs = answerTimeoutMs;
    this.rateLimitRetries = rateLimitRetries;
    this._since = since;
    this._users = new Map();
    this._pages = [];
    this._fresh = false;
    this._snapshotStarted = false;
    this._generation = 0;
    this._stopped = true;
    this._conn = null;
    this._timer = null;
    this._idle = null;
    this._stable = null;
  }

  /** The `seq` of the last update (or snapshot) handled; persist it to resume. -1: none. */
  get since() {
    return this._since;
  }

  /** Every user who is not offline: PUID → { uid, status, message }. */
  users() {
    return new Map(this._users);
  }

  /** Opens the update channel (and keeps it open until close()). */
  start() {
    this._stopped = false;
    this._attempt();
    this._idle = setInterval(() => {
      if (this._conn?.watched && Date.now() - this._heard > this.idleTimeoutMs) {
        this._lost(this._generation, new PresenceError(0, 'Node silent'));
      }
    }, Math.max(100, this.idleTimeoutMs / 4));
    this._idle.unref?.();
    return this;
  }

  /** Ends the connection and stops reconnecting. */
  close() {
    this._stopped = true;
    this._generation++;
    clearTimeout(this._timer);
    clearTimeout(this._stable);
    clearInterval(this._idle);
    this._drop();
  }

  _drop() {
    const c = this._conn;
    this._conn = null;
    this._pages = [];
    this._fresh = false;
    this._snapshotStarted = false;
    if (c) c.close();
  }

  async _attempt() {
    if (this._stopped) return;
    const gen = ++this._generation;
    this._heard = Date.now();
    this._open = false;
    this._lastError = null;
    if (this.transport !== 'stream') {
      const WS = await webSocketClass();
      if (gen !== this._generation) return;
      if (WS) {
        this._openSocket(gen, WS);
        return;
      }
      if (this.transport === 'websocket') {
        this._lost(gen, new PresenceError(0, 'No WebSocket in this Node: use Node 22, --experimental-websocket, or install ws'));
        return;
      }
    }
    this._openStream(gen);
  }

  _openSocket(gen, WS) {
    const ws = new WS(`${wsBase(this.url)}/${this.appId}`);
    let opened = false;
    // Frames are handled one after the other, each after the previous handler's promise settled.
    let chain = Promise.resolve();
    // The `ws` package reports the node's keepalive pings; a WHATWG WebSocket answers them unseen,
    // so only the former is watched for silence.
    // Until it opens, at most answerTimeoutMs: a server that takes the connection and never answers
    // the upgrade is a failed attempt, not a wait forever.
    const opening = setTimeout(() => {
      if (!opened) this._lost(gen, new PresenceError(0, `The WebSocket did not open within ${this.answerTimeoutMs} ms`));
    }, this.answerTimeoutMs);
    opening.unref?.();
    this._conn = {
      watched: typeof ws.on === 'function',
      close: () => {
        clearTimeout(opening);
        try {
          ws.close(1000);
        } catch {
          /* already closed */
        }
      },
    };
    const on = (name, fn) => (ws.addEventListener ? ws.addEventListener(name, fn) : ws.on(name, fn));
    on('open', () => {
      opened = true;
      clearTimeout(opening);
      const hello = { key: this.key };
      if (this._since >= 0) hello.since = this._since;
      ws.send(JSON.stringify(hello));
    });
    on('message', (event) => {
      const data = event && event.data !== undefined ? event.data : event;
      chain = chain.then(async () => {
        if (gen !== this._generation) return;
        this._heard = Date.now();
        try {
          await this._frame(gen, typeof data === 'string' ? data : data.toString());
          this._heard = Date.now(); // a slow handler is not a silent node
        } catch (e) {
          this._lost(gen, e instanceof PresenceError ? e : new PresenceError(0, `Handler failed: ${e.message}`));
        }
      });
    });
    // The `ws` package reports pings through its EventEmitter side only.
    if (typeof ws.on === 'function') ws.on('ping', () => { this._heard = Date.now(); });
    on('error', () => {});
    on('close', (event) => {
      clearTimeout(opening);
      const code = typeof event === 'number' ? event : event?.code;
      chain = chain.then(() => {
        if (!opened && this.transport === 'auto' && gen === this._generation && code !== 1000) {
          // The upgrade was refused (or the socket never opened): try the stream. A node that is
          // down refuses the stream too, and the reconnect comes back to the socket.
          this._openStream(gen, true);
          return;
        }
        // Without an error frame before it, the close code is read as its errno (closeErrno).
        this._lost(gen, new PresenceError(closeErrno(code), `Closed by the node (${code})`));
      });
    });
  }

  async _openStream(gen, fallback = false) {
    const ctrl = new AbortController();
    this._conn = { watched: true, close: () => ctrl.abort() };
    const q = this._since >= 0 ? `?since=${this._since}` : '';
    // Until the answer's status and header, at most answerTimeoutMs: a server that takes the
    // request and never answers is a failed attempt, not a wait forever.
    let timedOut = false;
    const answer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, this.answerTimeoutMs);
    answer.unref?.();
    let res;
    try {
      res = await fetch(`${this.url}/${this.appId}/presence.json${q}`, {
        headers: { Authorization: `Bearer ${this.key}`, Accept: 'application/x-ndjson' },
        signal: ctrl.signal,
      });
    } catch (e) {
      this._lost(
        gen,
        new PresenceError(0, timedOut ? `No answer from the stream within ${this.answerTimeoutMs} ms` : `Cannot open the stream: ${e.message}`),
      );
      return;
    } finally {
      clearTimeout(answer);
    }
    if (gen !== this._generation) {
      ctrl.abort();
      return;
    }
    if (res.status !== 200) {
      this._lost(gen, await errorOf(res));
      return;
    }
    if (fallback) this.transport = 'stream';
    this._connected(gen, 'stream');
    const decoder = new TextDecoder();
    let buffered = '';
    let why = new PresenceError(0, 'Stream ended');
    try {
      // One chunk is read only after the previous one's lines were handled: a slow handler slows
      // the reads, and TCP the node.
      for await (const chunk of res.body) {
        if (gen !== this._generation) return;
        this._heard = Date.now();
        buffered += decoder.decode(chunk, { stream: true });
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          if (nl > MAX_LINE_CHARS) throw lineTooLong();
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) await this._frame(gen, line);
          this._heard = Date.now();
          if (gen !== this._generation) return;
        }
        // A line without its end is held only up to the cap (and one chunk more).
        if (buffered.length > MAX_LINE_CHARS) throw lineTooLong();
      }
    } catch (e) {
      why = e instanceof PresenceError ? e : new PresenceError(0, `Stream failed: ${e.message}`);
    }
    this._lost(gen, why);
  }

  _connected(gen, transport) {
    this._open = true;
    // The backoff starts afresh only once the connection has stayed up resetBackoffAfterMs: a node
    // that answers and ends the connection at once is retried with a growing wait, not at the
    // first wait forever.
    clearTimeout(this._stable);
    this._stable = setTimeout(() => {
      if (gen === this._generation && this._open) this.backoff.reset();
    }, this.resetBackoffAfterMs);
    this._stable.unref?.();
    this._notify('onConnected', transport);
  }

  /**
   * Calls the handler `name` (onConnected, onDisconnected): one that throws or rejects is reported
   * as a process warning and changes nothing else (the client keeps reconnecting; a rejection is
   * never left unhandled).
   */
  _notify(name, ...args) {
    const warn = (e) => process.emitWarning(`Presence AppClient: ${name} failed: ${e?.message ?? e}`, 'PresenceHandlerWarning');
    try {
      const r = this.handlers[name](...args);
      if (r && typeof r.then === 'function') r.then(undefined, warn);
    } catch (e) {
      warn(e);
    }
  }

  async _frame(gen, text) {
    let doc;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new PresenceError(10, 'Malformed frame from the node');
    }
    if (Array.isArray(doc)) {
      const updates = [];
      for (const item of doc) {
        const p = presenceOf(item);
        if (p && Number.isSafeInteger(item.seq) && item.seq > this._since) updates.push({ ...p, seq: item.seq });
      }
      if (!updates.length) return;
      for (const u of updates) {
        if (u.status === 'offline') this._users.delete(u.uid);
        else this._users.set(u.uid, { uid: u.uid, status: u.status, message: u.message });
      }
      await this.handlers.onUpdates(updates);
      if (gen === this._generation) this._since = updates[updates.length - 1].seq;
    } else if (doc && Array.isArray(doc.snapshot)) {
      const users = [];
      for (const item of doc.snapshot) {
        const p = presenceOf(item);
        if (p) users.push(p);
      }
      this._pages.push(...users);
      this._fresh ||= doc.fresh === true;
      const first = !this._snapshotStarted;
      this._snapshotStarted = true;
      const last = doc.done === true;
      await this.handlers.onSnapshotPage({ users, seq: doc.seq, fresh: this._fresh, first, last });
      if (!last || gen !== this._generation) return;
      this._snapshotStarted = false;
      const snapshot = { users: this._pages, seq: doc.seq, fresh: this._fresh };
      this._pages = [];
      this._fresh = false;
      this._users = new Map(snapshot.users.map((u) => [u.uid, u]));
      await this.handlers.onSnapshot(snapshot);
      if (gen === this._generation) this._since = snapshot.seq;
    } else if (doc && Array.isArray(doc.receipts)) {
      await this.handlers.onReceipts(doc.receipts.map((r) => ({ id: r.id, uid: r.UID, state: r.state, at: r.at })));
    } else if (doc && doc.result === true) {
      if (!this._open) this._connected(gen, 'websocket');
    } else if (doc && typeof doc.errno === 'number') {
      this._lastError = new PresenceError(doc.errno, doc.reason ?? '');
    }
  }

  _lost(gen, cause) {
    if (gen !== this._generation || this._stopped) return;
    this._generation++;
    const why = this._lastError ?? cause;
    this._lastError = null;
    this._open = false;
    clearTimeout(this._stable);
    this._drop();
    if ([INVALID_API_KEY, UNKNOWN_APP, APP_NOT_ACTIVE].includes(why.errno)) {
      this._stopped = true;
      clearInterval(this._idle);
      this._notify('onDisconnected', why, null);
      return;
    }
    if (why.errno === INVALID_SINCE) this._since = -1;
    const wait = this.backoff.next();
    // The next attempt is set before the handler runs, so a handler that throws cannot stop it.
    this._timer = setTimeout(() => this._attempt(), wait);
    this._notify('onDisconnected', why, wait);
  }

  /**
   * Posts a batch of live notifications ({ uid, message, action, ttl?, receipts? }, 1–100). Resolves
   * with { result, queueSize, results[] } (one per item, in order); items and requests refused by
   * the rate limit (errno 172) are sent again after Retry-After, at most `rateLimitRetries` times.
   */
  async post(items) {
    if (!Array.isArray(items) || items.length === 0) throw new TypeError('at least one item');
    const results = new Array(items.length);
    let pending = items.map((_, i) => i);
    for (let round = 0; ; round++) {
      const body = JSON.stringify(
        pending.map((i) => {
          const n = items[i];
          const o = { UID: n.uid, message: n.message, action: n.action };
          if (n.ttl) o.ttl = n.ttl;
          if (n.receipts) o.receipts = true;
          return o;
        }),
      );
      const res = await fetch(`${this.url}/${this.appId}/notification`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.key}`, 'Content-Type': 'application/json' },
        body,
      });
      const retryAfterMs = Math.min(60, Math.max(0, Number(res.headers.get('retry-after') ?? 1) || 1)) * 1000;
      if (res.status === 429 && round < this.rateLimitRetries) {
        await res.arrayBuffer();
        await sleep(retryAfterMs);
        continue;
      }
      if (res.status !== 200) throw await errorOf(res);
      const ack = await res.json();
      if (!Array.isArray(ack.results) || ack.results.length !== pending.length) {
        throw new PresenceError(10, 'Unexpected answer from the node', res.status);
      }
      const limited = [];
      ack.results.forEach((r, k) => {
        const item =
          r.result === 'OK'
            ? { ok: true, id: r.id, queueSize: r.queue_size, dropped: r.dropped ?? [] }
            : { ok: false, errno: r.errno, reason: r.reason };
        results[pending[k]] = item;
        if (!item.ok && item.errno === APP_RATE_LIMITED) limited.push(pending[k]);
      });
      if (!limited.length || round >= this.rateLimitRetries) break;
      pending = limited;
      await sleep(retryAfterMs);
    }
    const ok = results.filter((r) => r.ok);
    return {
      result: ok.length === results.length ? 'OK' : ok.length === 0 ? 'KO' : 'PARTIAL',
      queueSize: ok.length ? Math.max(...ok.map((r) => r.queueSize)) : -1,
      results,
    };
  }
}

function lineTooLong() {
  return new PresenceError(FRAME_TOO_LARGE, `Stream line over ${MAX_LINE_CHARS} characters`);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function errorOf(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not the node's JSON error */
  }
  if (body && typeof body.errno === 'number') return new PresenceError(body.errno, body.reason ?? '', res.status);
  return new PresenceError(0, `HTTP ${res.status}`, res.status);
}

// -------------------------------------------------------------------------------------------------
// Webhooks

export const SIGNATURE_HEADER = 'x-presence-signature';
export const DELIVERY_HEADER = 'x-presence-delivery';
export const SNAPSHOT_HEADER = 'x-presence-snapshot';
export const SNAPSHOT_SIGNATURE_HEADER = 'x-presence-snapshot-signature';

/**
 * Whether `header` (X-Presence-Signature) is the HMAC-SHA256, with `secret`, of the call's
 * `delivery` (its X-Presence-Delivery value; empty or absent for a test call), a line feed and the
 * exact `body` bytes. The delivery id is signed so that an old body cannot come under a newer id.
 * Compared in constant time (digests of equal length, whatever the header holds).
 */
export function verifySignature(secret, body, header, delivery) {
  return matches(secret, body, header, delivery, null);
}

/**
 * Whether `header` (X-Presence-Snapshot-Signature) is the signature of the snapshot part with
 * `delivery`, `snapshot` (its X-Presence-Snapshot value) and `body`: the HMAC-SHA256 of the
 * delivery id, a line feed, the part header, a line feed and the body. False without a part
 * header. It covers the part header, so a captured part cannot be sent again as another part or as
 * the last one.
 */
export function verifySnapshotSignature(secret, body, header, delivery, snapshot) {
  return typeof snapshot === 'string' && matches(secret, body, header, delivery, snapshot.trim());
}

function matches(secret, body, header, delivery, part) {
  if (!secret) throw new TypeError('a webhook secret is required');
  const id = typeof delivery === 'string' ? delivery.trim() : '';
  const mac = createHmac('sha256', secret).update(id + '\n');
  if (part !== null) mac.update(part + '\n');
  const expected = 'sha256=' + mac.update(body).digest('hex');
  const given = typeof header === 'string' ? header.trim() : '';
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

/** Parses X-Presence-Delivery, `<appid>:<first seq>-<last seq>`; null when it is not one. */
export function parseDelivery(header) {
  const m = /^\s*(\d+):(\d+)-(\d+)\s*$/.exec(header ?? '');
  return m ? { appId: Number(m[1]), firstSeq: Number(m[2]), lastSeq: Number(m[3]) } : null;
}

/**
 * Parses X-Presence-Snapshot, `part=<n>` or `part=<n>; last` (a snapshot call's part, from 1), into
 * `{ part, last }`; null when it is not one.
 */
export function parseSnapshotPart(header) {
  const m = /^\s*part=(\d+)\s*(;\s*last\s*)?$/.exec(header ?? '');
  return m && Number(m[1]) >= 1 ? { part: Number(m[1]), last: m[2] !== undefined } : null;
}

/**
 * Middleware for plain `http` and Express: reads the raw body (or takes `req.body` when it is a
 * Buffer, as `express.raw()` leaves it), checks the signature, and answers 401 when it is wrong,
 * 400 when the body is not a list of [puid, status] pairs (or a snapshot call's X-Presence-Snapshot
 * is not a part), 413 over `maxBytes`. Otherwise it sets
 * `req.presence = { changes: [{ uid, status }], snapshot, snapshotPart, delivery, body }` and calls
 * `next()` (Express) or `handler(req, res)` (plain http). `snapshot` is true for every part of a
 * snapshot call (delivery id `<appid>:0-<seq>`), and `snapshotPart` is then `{ part, last }`: the
 * parts' `changes` together are every user not offline, and once the last part came a user not in
 * them is offline. Part 1 starts a snapshot (also when the node starts one again after a failed
 * part). A snapshot call whose X-Presence-Snapshot-Signature does not verify (or that has none,
 * as from a node older than that header) is answered 401. `snapshotPart` is null for other calls.
 */
export function webhookMiddleware(secret, handler, { maxBytes = 4 * 1024 * 1024 } = {}) {
  if (!secret) throw new TypeError('a webhook secret is required');
  return async (req, res, next) => {
    const refuse = (status, reason) => {
      res.statusCode = status;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ result: false, reason }));
    };
    let body;
    if (Buffer.isBuffer(req.body)) {
      body = req.body;
    } else {
      const chunks = [];
      let size = 0;
      try {
        for await (const chunk of req) {
          size += chunk.length;
          if (size > maxBytes) {
            refuse(413, 'Body too large');
            req.destroy();
            return;
          }
          chunks.push(chunk);
        }
      } catch {
        return;
      }
      body = Buffer.concat(chunks);
    }
    if (!verifySignature(secret, body, req.headers[SIGNATURE_HEADER], req.headers[DELIVERY_HEADER])) {
      refuse(401, 'Bad signature');
      return;
    }
    let changes;
    try {
      const pairs = JSON.parse(body.toString('utf8'));
      if (!Array.isArray(pairs)) throw new Error('not a list');
      changes = pairs.map((p) => {
        if (!Array.isArray(p) || typeof p[0] !== 'string' || !STATUSES.has(p[1])) throw new Error('not a pair');
        return { uid: p[0], status: p[1] };
      });
    } catch {
      refuse(400, 'Not a list of [puid, status] pairs');
      return;
    }
    const delivery = parseDelivery(req.headers[DELIVERY_HEADER]);
    const snapshot = delivery !== null && delivery.firstSeq === 0;
    let snapshotPart = null;
    if (snapshot) {
      // The part's own signature covers its part header: without it a captured part could come
      // again as another part, or as the last one.
      const header = req.headers[SNAPSHOT_HEADER];
      if (!verifySnapshotSignature(secret, body, req.headers[SNAPSHOT_SIGNATURE_HEADER], req.headers[DELIVERY_HEADER], header)) {
        refuse(401, 'Bad snapshot signature');
        return;
      }
      snapshotPart = parseSnapshotPart(header);
      if (snapshotPart === null) {
        refuse(400, 'Not a snapshot part');
        return;
      }
    }
    req.presence = { changes, snapshot, snapshotPart, delivery, body };
    if (handler) return handler(req, res);
    if (next) return next();
    res.statusCode = 204;
    res.end();
  };
}
