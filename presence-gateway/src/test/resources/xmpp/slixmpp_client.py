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

With --sm it enables stream management (XEP-0198, slixmpp's xep_0198 plugin) and also reports

  {"event": "sm_enabled", "id": ..., "resume": ...}
  {"event": "dropped"}                  (after the drop command: the TCP connection was cut)
  {"event": "resumed", "handled": ...}  (the stream was resumed after a reconnect)
  {"event": "sm_failed"}                (the resumption was refused; a fresh session follows)

Commands come as JSON lines on stdin:

  {"cmd": "notify", "to": jid, "body": ..., "url": ..., "receipt": true}
  {"cmd": "drop"}   (--sm: cut the TCP connection without closing the stream, then reconnect)
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
    def __init__(self, jid, password, direct_tls, sm, address):
        super().__init__(jid, password)
        self.direct_tls = direct_tls
        self.address = address
        self.dropping = False
        self.commanding = False
        if sm:
            self.register_plugin("xep_0198")
            self.plugin["xep_0198"].window = 1
            self.add_event_handler(
                "sm_enabled",
                lambda st: emit(event="sm_enabled", id=st["id"], resume=st["resume"]),
            )
            self.add_event_handler(
                "session_resumed",
                lambda _: emit(event="resumed", handled=self.plugin["xep_0198"].handled),
            )
            self.add_event_handler("sm_failed", lambda _: emit(event="sm_failed"))
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
        if not self.commanding:
            self.commanding = True
            asyncio.ensure_future(self.commands())

    def connect_again(self):
        self.connect(
            address=self.address,
            use_ssl=self.direct_tls,
            force_starttls=not self.direct_tls,
            disable_starttls=self.direct_tls,
        )

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
        if self.dropping:
            self.dropping = False
            emit(event="dropped")
            self.connect_again()
            return
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
            elif cmd["cmd"] == "drop":
                self.dropping = True
                self.transport.abort()
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
    a.add_argument("--sm", action="store_true", help="stream management (XEP-0198)")
    args = a.parse_args()
    app = App(
        args.jid,
        os.environ["PRESENCE_XMPP_PASSWORD"],
        args.direct_tls,
        args.sm,
        (args.host, args.port),
    )
    app.ca_certs = args.ca
    app.connect_again()
    app.loop.run_until_complete(asyncio.wait_for(app.done, 120))


if __name__ == "__main__":
    main()
