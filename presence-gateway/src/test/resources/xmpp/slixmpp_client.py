"""An application's XMPP client for the tests, on slixmpp (Debian's python3-slixmpp).

Driven by XmppSlixmppTest: logs in as the application (the API key comes in the environment
variable PRESENCE_XMPP_PASSWORD, never on the command line), trusting only the certificate given
with --ca, over STARTTLS or, with --direct-tls, TLS from the first byte (XEP-0368). It then gets
the roster, sends its initial presence and reports what it sees as JSON lines on stdout:

  {"event": "session", "jid": ..., "tls": ..., "direct_tls": ...}
  {"event": "roster", "items": {jid: name, ...}}
  {"event": "roster_push", "jid": ..., "subscription": ...}
  {"event": "presence", "from": ..., "type": ..., "show": ..., "status": ...}
  {"event": "message", "from": ..., "type": ..., "receipt": ..., "error": ...}
  {"event": "sent", "id": ...}
  {"event": "failed", "reason": ...}
  {"event": "disconnected"}

Commands come as JSON lines on stdin:

  {"cmd": "notify", "to": jid, "body": ..., "url": ..., "receipt": true}
  {"cmd": "quit"}
"""

import argparse
import asyncio
import json
import os
import sys

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class App(slixmpp.ClientXMPP):
    def __init__(self, jid, password, direct_tls):
        super().__init__(jid, password)
        self.direct_tls = direct_tls
        self.register_plugin("xep_0066")  # out-of-band data: the action URL
        self.register_plugin("xep_0184")  # receipts
        self.register_plugin("xep_0199")  # ping
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("failed_auth", lambda _: emit(event="failed", reason="auth"))
        self.add_event_handler("roster_update", self.roster_update)
        self.add_event_handler("presence", self.presence)
        # Every message stanza: slixmpp's "message" event only has those with a body, and receipts
        # and errors have none.
        self.register_handler(Callback("every message", StanzaPath("message"), self.message))
        self.add_event_handler("disconnected", self.gone)
        self.done = asyncio.get_event_loop().create_future()

    async def start(self, _):
        emit(
            event="session",
            jid=str(self.boundjid),
            tls=self.transport.get_extra_info("ssl_object") is not None,
            direct_tls=self.direct_tls,
        )
        await self.get_roster()
        items = {
            str(jid): self.client_roster[jid]["name"] for jid in self.client_roster.keys()
        }
        emit(event="roster", items=items)
        self.send_presence()
        asyncio.ensure_future(self.commands())

    def roster_update(self, iq):
        if iq["type"] != "set":
            return
        for jid, item in iq["roster"]["items"].items():
            emit(event="roster_push", jid=str(jid), subscription=item["subscription"])

    def presence(self, p):
        if p["from"].bare == self.boundjid.bare:
            return
        emit(
            event="presence",
            **{
                "from": p["from"].bare,
                "type": p["type"] if p["type"] == "unavailable" else "available",
                "show": p["show"] or None,
                "status": p["status"] or None,
            },
        )

    def message(self, m):
        emit(
            event="message",
            **{
                "from": m["from"].bare,
                "type": m["type"],
                "receipt": m["receipt"] or None,
                "error": m["error"]["condition"] if m["type"] == "error" else None,
            },
        )

    def gone(self, _):
        emit(event="disconnected")
        if not self.done.done():
            self.done.set_result(None)

    async def commands(self):
        loop = asyncio.get_event_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = json.loads(line)
            if cmd["cmd"] == "notify":
                m = self.make_message(mto=cmd["to"], mbody=cmd["body"], mtype="headline")
                m["oob"]["url"] = cmd["url"]
                if cmd.get("receipt"):
                    m["request_receipt"] = True
                m["id"] = cmd.get("id") or m["id"]
                m.send()
                emit(event="sent", id=m["id"])
            elif cmd["cmd"] == "quit":
                break
        self.disconnect()


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--host", required=True)
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--jid", required=True)
    a.add_argument("--ca", required=True, help="PEM certificate to trust (the node's)")
    a.add_argument("--direct-tls", action="store_true")
    args = a.parse_args()
    app = App(args.jid, os.environ["PRESENCE_XMPP_PASSWORD"], args.direct_tls)
    app.ca_certs = args.ca
    app.connect(
        address=(args.host, args.port),
        use_ssl=args.direct_tls,
        force_starttls=not args.direct_tls,
        disable_starttls=args.direct_tls,
    )
    app.loop.run_until_complete(asyncio.wait_for(app.done, 120))


if __name__ == "__main__":
    main()
