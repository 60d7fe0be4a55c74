/** A user's or a device's status. */
export type Status = 'online' | 'away' | 'unavailable' | 'offline';

/** A refusal by the node: act on `errno` (docs/errors.md), never on `reason`. */
export class PresenceError extends Error {
  constructor(errno: number, reason: string, httpStatus?: number);
  readonly errno: number;
  readonly reason: string;
  /** The HTTP status, or 0 on a WebSocket. */
  readonly httpStatus: number;
}

/** Exponential backoff with full jitter. */
export class Backoff {
  constructor(baseMs?: number, maxMs?: number);
  next(): number;
  reset(): void;
}

/** A user's presence as the application sees it. */
export interface Presence {
  uid: string;
  status: Status;
  message: string | null;
}

export interface Update extends Presence {
  seq: number;
}

/** Every user who is not offline, at update number `seq`; `fresh`: forget what you knew. */
export interface Snapshot {
  users: Presence[];
  seq: number;
  fresh: boolean;
}

/** One frame of a snapshot: its users, the seq it stands at, and whether it is the first or last. */
export interface SnapshotPage {
  users: Presence[];
  seq: number;
  fresh: boolean;
  first: boolean;
  last: boolean;
}

export interface Receipt {
  id: string;
  uid: string;
  state: 'delivered' | 'acted' | 'dismissed' | 'missed';
  at: number;
}

export interface Notification {
  uid: string;
  message: string;
  action: string;
  /** Seconds, 5 to 3600; default: the node's (60). */
  ttl?: number;
  receipts?: boolean;
}

export type ItemResult =
  | { ok: true; id: string; queueSize: number; dropped: string[] }
  | { ok: false; errno: number; reason: string };

export interface PostResult {
  result: 'OK' | 'PARTIAL' | 'KO';
  /** The fullest queue the batch touched; -1 when nothing was stored. */
  queueSize: number;
  results: ItemResult[];
}

export type Transport = 'auto' | 'websocket' | 'stream';

export interface AppClientOptions {
  /** The node, e.g. http://127.0.0.1:8080 */
  url: string;
  appId: number;
  key: string;
  /** Resume after this seq (a persisted `since`); default: start from a snapshot. */
  since?: number;
  /** Default 'auto': the WebSocket, or the stream when it cannot be opened. */
  transport?: Transport;
  /** Handlers may return promises: the next frame is handled after they settle. */
  onSnapshot?: (snapshot: Snapshot) => void | Promise<void>;
  /**
   * Each frame of a snapshot as it comes, before `onSnapshot` (all pages merged): apply a large
   * snapshot page by page. A `first` page starts a snapshot (one cut off by a lost connection
   * starts again from a first page on the next); `last` is its final frame.
   */
  onSnapshotPage?: (page: SnapshotPage) => void | Promise<void>;
  onUpdates?: (updates: Update[]) => void | Promise<void>;
  onReceipts?: (receipts: Receipt[]) => void | Promise<void>;
  onConnected?: (transport: 'websocket' | 'stream') => void;
  /** `retryInMs` null: the client stopped (errno 112, 130 or 132). */
  onDisconnected?: (cause: PresenceError, retryInMs: number | null) => void;
  backoff?: Backoff;
  /** Default 75 000: the node pings (or sends an empty line) every 30 s. */
  idleTimeoutMs?: number;
  /**
   * Default 30 000: how long a connection must stay up before the reconnect backoff starts again
   * from its first wait; connections that end sooner count as failed attempts.
   */
  resetBackoffAfterMs?: number;
  /**
   * Default 15 000: how long to wait for the WebSocket to open, or for the stream's answer (its
   * status and header), before the attempt counts as failed.
   */
  answerTimeoutMs?: number;
  /** Default 3. */
  rateLimitRetries?: number;
}

export class AppClient {
  constructor(options: AppClientOptions);
  /** The seq of the last update (or snapshot) handled; -1: none. Persist it to resume. */
  readonly since: number;
  /** Every user who is not offline. */
  users(): Map<string, Presence>;
  start(): this;
  close(): void;
  post(items: Notification[]): Promise<PostResult>;
}

export const SIGNATURE_HEADER: 'x-presence-signature';
export const DELIVERY_HEADER: 'x-presence-delivery';
export const SNAPSHOT_HEADER: 'x-presence-snapshot';
export const SNAPSHOT_SIGNATURE_HEADER: 'x-presence-snapshot-signature';

export function verifySignature(
  secret: string,
  body: Uint8Array | string,
  header: string | undefined | null,
  delivery?: string | undefined | null,
): boolean;

export function verifySnapshotSignature(
  secret: string,
  body: Uint8Array | string,
  header: string | undefined | null,
  delivery: string | undefined | null,
  snapshot: string | undefined | null,
): boolean;

export interface Delivery {
  appId: number;
  firstSeq: number;
  lastSeq: number;
}

export function parseDelivery(header: string | undefined | null): Delivery | null;

/** A part of a snapshot call (X-Presence-Snapshot): its number, from 1, and whether it is the last. */
export interface SnapshotPart {
  part: number;
  last: boolean;
}

export function parseSnapshotPart(header: string | undefined | null): SnapshotPart | null;

export interface WebhookCall {
  changes: { uid: string; status: Status }[];
  /**
   * A part of a snapshot call (delivery id `<appid>:0-<seq>`): the parts' `changes` together are every
   * user not offline; once the last part came, forget the others.
   */
  snapshot: boolean;
  /** For a snapshot call, which part (part 1 starts a snapshot); null for other calls. */
  snapshotPart: SnapshotPart | null;
  delivery: Delivery | null;
  body: Buffer;
}

type Req = import('node:http').IncomingMessage & { body?: unknown; presence?: WebhookCall };
type Res = import('node:http').ServerResponse;

export function webhookMiddleware(
  secret: string,
  handler?: ((req: Req, res: Res) => unknown) | null,
  options?: { maxBytes?: number },
): (req: Req, res: Res, next?: (err?: unknown) => void) => Promise<unknown>;
