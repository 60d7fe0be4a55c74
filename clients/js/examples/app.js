// An AppService in one file: follows the application's users and welcomes each one who comes
// online with a live notification. APP_ID=... KEY=... node examples/app.js (see README.md)
import { AppClient } from '../src/index.js';

const app = new AppClient({
  url: process.env.PRESENCE_URL ?? 'http://127.0.0.1:8080',
  appId: Number(process.env.APP_ID),
  key: process.env.KEY,
  onSnapshot: (s) => console.log(`snapshot at ${s.seq}:`, s.users),
  onUpdates: async (updates) => {
    for (const u of updates) {
      console.log(`${u.uid} is ${u.status} ${u.message ?? ''} (seq ${u.seq})`);
      if (u.status === 'online') {
        const r = await app.post([{ uid: u.uid, message: 'Welcome back!', action: 'https://example.com/' }]);
        console.log('notification:', r.result);
      }
    }
  },
  onConnected: (t) => console.log(`connected over the ${t}`),
  onDisconnected: (e, retry) => console.log(`lost: ${e.message}; retry in ${retry} ms`),
}).start();
