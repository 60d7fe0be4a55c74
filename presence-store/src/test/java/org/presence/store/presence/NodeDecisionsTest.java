package org.presence.store.presence;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateBatchCodec;

/**
 * Which hashes a node decides on (plain ones: devices shown to every application, no audience of an
 * application's own, a write token), and which updates it leaves to the script. That its decisions
 * equal the script's is shown against a real Redis (RedisStatusBatchesIT).
 */
class NodeDecisionsTest {
  private static final String SESSION = UUID.randomUUID().toString();

  private static List<Object> flat(String... fieldsAndValues) {
    List<Object> out = new ArrayList<>();
    for (String s : fieldsAndValues) {
      out.add(s.getBytes(StandardCharsets.UTF_8));
    }
    return out;
  }

  private static NodeDecisions.Hash plain() {
    return NodeDecisions.parse(
        flat(
            "d:phone",
            "{\"s\":\"online\",\"o\":\"" + SESSION + "\",\"n\":\"n1\",\"u\":1764892800123}",
            "p:0",
            "{\"s\":\"online\",\"v\":\"1764892800123000\"}",
            "v",
            "1764892800123000",
            "mo",
            "working",
            "w",
            "r1.2.3"));
  }

  @Test
  void aPlainHash_isRead() {
    NodeDecisions.Hash h = plain();
    assertThat(h).isNotNull();
    assertThat(h.w()).isEqualTo("r1.2.3");
    assertThat(h.version()).isEqualTo(1764892800123000L);
    assertThat(h.mo()).isEqualTo("working");
    assertThat(h.ma()).isEmpty();
    assertThat(h.allStatus()).isEqualTo("online");
    assertThat(h.allMessage()).isNull();
    assertThat(h.devices().get("phone"))
        .isEqualTo(new NodeDecisions.Device("online", null, SESSION, "n1", 1764892800123L));
  }

  @Test
  void aHashTheScriptMustDecideOn_isNotPlain() {
    String device = "{\"s\":\"online\",\"o\":\"\",\"n\":\"\",\"u\":5}";
    // No write token (written by a version before it).
    assertThat(NodeDecisions.parse(flat("d:phone", device))).isNull();
    // A device naming applications, or showing them what it showed earlier.
    assertThat(
            NodeDecisions.parse(
                flat("d:phone", "{\"s\":\"online\",\"a\":\"7\",\"u\":5}", "w", "r1.1.1")))
        .isNull();
    assertThat(
            NodeDecisions.parse(
                flat(
                    "d:phone",
                    "{\"s\":\"online\",\"u\":5,\"e\":{\"0\":{\"s\":\"away\",\"u\":4}}}",
                    "w",
                    "r1.1.1")))
        .isNull();
    // An application's own audience.
    assertThat(NodeDecisions.parse(flat("d:phone", device, "p:7", "{\"s\":\"online\"}", "w", "r")))
        .isNull();
    // A field it does not know, a time that is not a whole number of milliseconds.
    assertThat(NodeDecisions.parse(flat("d:phone", device, "x", "1", "w", "r"))).isNull();
    assertThat(NodeDecisions.parse(flat("d:phone", "{\"s\":\"online\",\"u\":5.5}", "w", "r1.1.1")))
        .isNull();
    // A value in a device or the shared view that is not a string or a number (a later version's
    // field, a null): the node's writes would drop or change it.
    for (String v : new String[] {"{\"k\":1}", "[1]", "null", "true"}) {
      String odd = "{\"s\":\"online\",\"o\":\"\",\"n\":\"\",\"u\":5,\"m\":" + v + "}";
      assertThat(NodeDecisions.parse(flat("d:phone", odd, "w", "r"))).as(v).isNull();
      String view = "{\"s\":\"online\",\"v\":\"5\",\"m\":" + v + "}";
      assertThat(NodeDecisions.parse(flat("d:phone", device, "p:0", view, "w", "r")))
          .as(v)
          .isNull();
    }
    assertThat(NodeDecisions.parse(flat("d:phone", device, "w", "r"))).isNotNull();
  }

  @Test
  void anUpdate_isDecidedAsTheScriptWould() {
    NodeDecisions d = new NodeDecisions(10);
    NodeDecisions.Plan p =
        d.decide(plain(), "phone", SESSION, PresenceStatus.AWAY, null, null, null, 1764892900000L);
    assertThat(p).isNotNull();
    // Away with no message of the device's and no away message of the user's: none.
    assertThat(p.update())
        .isEqualTo(
            new PresenceUpdate(
                true,
                List.of(new PresenceChange(0, PresenceStatus.AWAY, null, 1764892900000000L)),
                ApplicationIds.NONE));
    assertThat(p.writes())
        .contains("p:0", "{\"s\":\"away\",\"v\":\"1764892900000000\"}", "v", "1764892900000000");
    String token = p.writes()[p.writes().length - 1];
    assertThat(p.writes()[p.writes().length - 2]).isEqualTo("w");
    assertThat(token).startsWith("n").isEqualTo(p.after().w());
    // Back online a millisecond later: the user's custom status comes back with it.
    NodeDecisions.Plan q =
        d.decide(
            p.after(), "phone", SESSION, PresenceStatus.ONLINE, null, null, null, 1764892900001L);
    assertThat(q.update().changes())
        .containsExactly(
            new PresenceChange(0, PresenceStatus.ONLINE, "working", 1764892900001000L));
    assertThat(q.after().w()).isNotEqualTo(token);
    // The same status again: only the device's entry and the token are written.
    NodeDecisions.Plan same =
        d.decide(
            q.after(), "phone", SESSION, PresenceStatus.ONLINE, null, null, null, 1764892900002L);
    assertThat(same.update()).isEqualTo(PresenceUpdate.UNCHANGED);
    assertThat(same.writes()).hasSize(4);
  }

  @Test
  void aDevicesEntry_isJsonThatReadsBackAsWritten() throws Exception {
    String message = "say \"hi\" \\ \u0001\u001f\u007f é 🎉 \u2028";
    NodeDecisions.Device d = new NodeDecisions.Device("away", message, SESSION, "n\"1", 42);
    String json = NodeDecisions.deviceJson(d);
    try (com.fasterxml.jackson.core.JsonParser p =
        org.presence.protocol.json.Json.documents().createParser(json)) {
      java.util.Map<String, String> f = new java.util.HashMap<>();
      assertThat(p.nextToken()).isEqualTo(com.fasterxml.jackson.core.JsonToken.START_OBJECT);
      while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
        String name = p.currentName();
        p.nextToken();
        f.put(name, p.getText());
      }
      assertThat(f)
          .containsExactlyInAnyOrderEntriesOf(
              java.util.Map.of("s", "away", "m", message, "o", SESSION, "n", "n\"1", "u", "42"));
    }
    NodeDecisions.Hash h =
        NodeDecisions.parse(
            flat("d:x", json, "p:0", NodeDecisions.viewJson("away", message, "7"), "w", "r"));
    assertThat(h.devices().get("x")).isEqualTo(d);
    assertThat(h.allMessage()).isEqualTo(message);
  }

  /**
   * The document of an update the node maps to an application's log reads back as the update, with
   * the characters JSON must escape and without a message.
   */
  @Test
  void anUpdatesDocument_readsBackAsTheUpdate() throws Exception {
    String message = "say \"hi\" \\ \u0001\u001f\u007f é 🎉 \u2028";
    for (String m : new String[] {message, ""}) {
      byte[] doc =
          NodeDecisions.updateJson("pu-id_1", "away", m, 1764892800123001L)
              .getBytes(StandardCharsets.UTF_8);
      AppUpdate u = AppUpdateBatchCodec.decodeDocument(5, Instant.EPOCH, doc, 0, doc.length);
      assertThat(u)
          .isEqualTo(
              new AppUpdate(
                  5, "pu-id_1", PresenceStatus.AWAY, m, 1764892800123001L, Instant.EPOCH));
    }
  }

  @Test
  void whatOnlyTheScriptDecides_isLeftToIt() {
    NodeDecisions d = new NodeDecisions(10);
    NodeDecisions.Hash h = plain();
    long now = 1764892900000L;
    PresenceStatus away = PresenceStatus.AWAY;
    // Another session, an update naming applications, new user messages, a lone surrogate.
    String other = UUID.randomUUID().toString();
    assertThat(d.decide(h, "phone", other, away, null, null, null, now)).isNull();
    assertThat(d.decide(h, "phone", SESSION, away, null, ApplicationIds.of(7), null, now)).isNull();
    assertThat(d.decide(h, "phone", SESSION, away, null, null, new UserMessages("x", null), now))
        .isNull();
    assertThat(d.decide(h, "phone", SESSION, away, "a\uD800", null, null, now)).isNull();
    // The same messages as stored, and a push without a session: decided.
    assertThat(
            d.decide(h, "phone", SESSION, away, "🎉", null, new UserMessages("working", null), now))
        .isNotNull();
    assertThat(d.decide(h, "tablet", "", away, null, null, null, now)).isNotNull();
    // Two devices tied on status and time: the script's string order breaks the tie.
    NodeDecisions.Plan laptop = d.decide(h, "laptop", "", away, "l", null, null, now);
    assertThat(d.decide(laptop.after(), "phone", SESSION, away, "p", null, null, now)).isNull();
  }

  @Test
  void aUsersDecision_replacesTheHashHeld_andOneLeftToTheScriptForgetsIt() {
    NodeDecisions d = new NodeDecisions(10);
    long now = 1764892900000L;
    assertThat(d.decide("u", "phone", SESSION, PresenceStatus.AWAY, null, null, null, now))
        .as("no hash held")
        .isNull();
    d.read(
        "u",
        flat(
            "d:phone",
            "{\"s\":\"online\",\"o\":\"" + SESSION + "\",\"n\":\"n1\",\"u\":1764892800123}",
            "w",
            "r1.2.3"));
    NodeDecisions.Plan p =
        d.decide("u", "phone", SESSION, PresenceStatus.AWAY, null, null, null, now);
    assertThat(p.read()).isEqualTo("r1.2.3");
    assertThat(d.hash("u")).isSameAs(p.after());
    NodeDecisions.Plan q =
        d.decide("u", "phone", SESSION, PresenceStatus.ONLINE, null, null, null, now + 1);
    assertThat(q.read()).isEqualTo(p.after().w());
    // An update naming applications is the script's to decide, and to write.
    assertThat(
            d.decide(
                "u", "phone", SESSION, PresenceStatus.AWAY, null, ApplicationIds.of(7), null, now))
        .isNull();
    assertThat(d.hash("u")).isNull();
  }

  @Test
  void aHashThatIsNotPlain_isAskedForAgainAfterSomeUpdates() {
    NodeDecisions d = new NodeDecisions(10);
    assertThat(d.wantsHash("u", null)).isTrue();
    assertThat(d.wantsHash("u", ApplicationIds.of(7))).isFalse();
    d.read("u", flat("d:phone", "{\"s\":\"online\",\"a\":\"7\",\"u\":5}", "w", "r1.1.1"));
    assertThat(d.hash("u")).isNull();
    int asked = 0;
    for (int i = 0; i <= NodeDecisions.NOT_PLAIN_UPDATES; i++) {
      if (d.wantsHash("u", null)) {
        asked++;
      }
    }
    assertThat(asked).isEqualTo(1);
    d.read("u", flat("d:phone", "{\"s\":\"online\",\"u\":5}", "w", "r1.1.2"));
    assertThat(d.hash("u")).isNotNull();
    // A value that is not what presence.lua writes: left to the script, nothing thrown.
    d.read("u", flat("d:phone", "not json", "w", "r1.1.3"));
    assertThat(d.hash("u")).isNull();
    assertThat(d.wantsHash("u", null)).isFalse();
  }
}
