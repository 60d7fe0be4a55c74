// A webhook receiver in one file: SECRET=<webhook_secret> node examples/webhook.js, then set the
// application's webhook to http://127.0.0.1:8001/hook (see README.md). It keeps who is not offline.
import http from 'node:http';
import { webhookMiddleware } from '../src/index.js';

let users = new Map(); // uid -> status, every user not offline
let incoming = null; // the snapshot being received in parts, or null
let expected = 0; // the part that should come next

http
  .createServer(
    webhookMiddleware(process.env.SECRET, (req, res) => {
      const { changes, snapshot, snapshotPart } = req.presence;
      if (snapshot) {
        // A snapshot comes in parts, one after the other; part 1 starts it (again, after a part
        // failed). A part that does not follow the one before (this receiver restarted in between)
        // is refused: the node then sends the snapshot again from part 1.
        if (snapshotPart.part === 1) {
          incoming = new Map();
        } else if (incoming === null || snapshotPart.part !== expected) {
          res.statusCode = 409;
          res.end();
          return;
        }
        for (const { uid, status } of changes) incoming.set(uid, status);
        expected = snapshotPart.part + 1;
        if (snapshotPart.last) {
          // Every user not listed in the parts is offline.
          for (const uid of users.keys()) if (!incoming.has(uid)) console.log(`${uid} is offline`);
          for (const [uid, status] of incoming) console.log(`${uid} is ${status}`);
          users = incoming;
          incoming = null;
        }
      } else {
        for (const { uid, status } of changes) {
          console.log(`${uid} is ${status}`);
          if (status === 'offline') users.delete(uid);
          else users.set(uid, status);
        }
      }
      res.statusCode = 204;
      res.end();
    }),
  )
  .listen(8001, '127.0.0.1', () => console.log('webhook receiver on http://127.0.0.1:8001/hook'));
