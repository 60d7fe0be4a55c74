// A webhook receiver in one file: SECRET=<webhook_secret> node examples/webhook.js, then set the
// application's webhook to http://127.0.0.1:8001/hook (see README.md).
import http from 'node:http';
import { webhookMiddleware } from '../src/index.js';

http
  .createServer(
    webhookMiddleware(process.env.SECRET, (req, res) => {
      for (const { uid, status } of req.presence.changes) console.log(`${uid} is ${status}`);
      res.statusCode = 204;
      res.end();
    }),
  )
  .listen(8001, '127.0.0.1', () => console.log('webhook receiver on http://127.0.0.1:8001/hook'));
