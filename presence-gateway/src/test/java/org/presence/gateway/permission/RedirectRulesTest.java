package org.presence.gateway.permission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

class RedirectRulesTest {
  @ParameterizedTest
  @ValueSource(
      strings = {
        "https://chat.example.com/cb",
        "http://chat.example.com/cb?x=1#frag",
        "https://m.chat.example.com/cb",
        "https://a.b.chat.example.com:8443/cb",
        "HTTPS://CHAT.EXAMPLE.COM/cb"
      })
  void check_whenOnTheDomainOrASubdomain_thenAllowed(String url) {
    assertThat(RedirectRules.check("chat.example.com", url)).isEqualTo(URI.create(url));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "https://evil.example.com/cb",
        "https://chat.example.com.evil.com/cb",
        "https://evilchat.example.com/cb",
        "https://example.com/cb",
        "https://user@chat.example.com/cb",
        "javascript://chat.example.com/%0aalert(1)",
        "//chat.example.com/cb",
        "chat.example.com/cb",
        "https://chat.example.com\\@evil.com/",
        "data:text/html,hi",
        "https://chat.example.com /cb"
      })
  void check_whenElsewhere_thenInvalidRedirect(String url) {
    assertThatThrownBy(() -> RedirectRules.check("chat.example.com", url))
        .isInstanceOfSatisfying(
            ProtocolException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REDIRECT));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "https://chat.example.com/cb?a=1&puid=attacker",
        "https://chat.example.com/cb?puid",
        "https://chat.example.com/cb?puid=",
        "https://chat.example.com/cb?p%75id=attacker",
        "https://chat.example.com/cb?a=1;puid=attacker",
        "https://chat.example.com/cb?error=x",
        "https://chat.example.com/cb?x=1&%65rror=x#top"
      })
  void check_whenTheQueryHasAParameterTheAnswerAdds_thenInvalidRedirectSayingWhich(String url) {
    String which = url.contains("rror") ? "error" : "puid";
    assertThatThrownBy(() -> RedirectRules.check("chat.example.com", url))
        .isInstanceOfSatisfying(
            ProtocolException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REDIRECT);
              assertThat(e.detail()).contains("already has a " + which + " query parameter");
            });
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "https://chat.example.com/cb?puids=1&my_error=2&PUID=3",
        "https://chat.example.com/cb?next=%2Fcb%3Fpuid%3D1",
        "https://chat.example.com/cb#puid=1",
        "https://chat.example.com/puid/error"
      })
  void check_whenPuidOrErrorIsOnlyPartOfANameAValueOrThePath_thenAllowed(String url) {
    assertThat(RedirectRules.check("chat.example.com", url)).isEqualTo(URI.create(url));
  }

  @Test
  void check_whenDomainHasAPort_thenOnlyThatPortAndNoSubdomainsOfAnAddress() {
    assertThat(RedirectRules.check("127.0.0.1:8080", "http://127.0.0.1:8080/cb")).isNotNull();
    assertThatThrownBy(() -> RedirectRules.check("127.0.0.1:8080", "http://127.0.0.1:8081/cb"))
        .isInstanceOf(ProtocolException.class);
    assertThatThrownBy(() -> RedirectRules.check("127.0.0.1:8080", "http://127.0.0.1/cb"))
        .isInstanceOf(ProtocolException.class);
    assertThatThrownBy(() -> RedirectRules.check("1.2.3.4", "http://x.1.2.3.4/cb"))
        .isInstanceOf(ProtocolException.class);
  }

  @Test
  void withParam_addsToTheQueryBeforeTheFragment() {
    assertThat(RedirectRules.withParam(URI.create("https://c.example.com/cb"), "puid", "a-b_c"))
        .isEqualTo("https://c.example.com/cb?puid=a-b_c");
    assertThat(
            RedirectRules.withParam(
                URI.create("https://c.example.com/cb?x=1#top"), "error", "access_denied"))
        .isEqualTo("https://c.example.com/cb?x=1&error=access_denied#top");
  }
}
