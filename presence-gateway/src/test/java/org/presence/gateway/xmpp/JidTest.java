package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.presence.store.permission.Puids;

/** PUIDs as JID localparts, and JID syntax. */
class JidTest {
  @Test
  void aPuidSurvivesTheLowerCasingOfXmppLibraries() {
    assertThat(Jid.localpart("aB3-xY_z")).isEqualTo("a.b3-x.y_z");
    for (int i = 0; i < 200; i++) {
      String puid = Puids.generate();
      String local = Jid.localpart(puid);
      assertThat(local).isLowerCase().doesNotContain("@", "/");
      assertThat(Jid.puid(local)).isEqualTo(puid);
      assertThat(Jid.puid(local.toUpperCase(java.util.Locale.ROOT))).isEqualTo(puid);
    }
  }

  @Test
  void localpartsThatNoPuidMakes_areRefused() {
    assertThat(Jid.puid("abc.")).isNull();
    assertThat(Jid.puid("a.1")).isNull();
    assertThat(Jid.puid("a+b")).isNull();
    assertThat(Jid.puid("")).isNull();
  }

  @Test
  void jidSyntax() {
    assertThat(Jid.valid("a@presence.test")).isTrue();
    assertThat(Jid.valid("a@presence.test/r 1")).isFalse();
    assertThat(Jid.valid("a b@presence.test")).isFalse();
    assertThat(Jid.valid("a@b@presence.test")).isFalse();
    assertThat(Jid.valid("@presence.test")).isFalse();
    assertThat(Jid.valid("a@.presence.test")).isFalse();
    assertThat(Jid.valid("presence.test")).isTrue();
  }

  /** RFC 7622 §3: each part is at most 1023 bytes of UTF-8, not characters. */
  @Test
  void jidParts_areAtMost1023Bytes() {
    assertThat(Jid.valid("a".repeat(1023) + "@presence.test/" + "r".repeat(1023))).isTrue();
    assertThat(Jid.valid("a".repeat(1024) + "@presence.test")).isFalse();
    assertThat(Jid.valid("a".repeat(3000) + "@presence.test")).isFalse();
    assertThat(Jid.valid("a@presence.test/" + "r".repeat(2000))).isFalse();
    assertThat(Jid.valid("\u00e9".repeat(600) + "@presence.test")).isFalse();
    assertThat(Jid.valid("a@presence.test/\u202e")).isFalse();
  }
}
