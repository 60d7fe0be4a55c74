package org.presence.gateway.architecture;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.presence.store.testing.PresenceBlockHoundIntegration;

/**
 * Every entry of the tests' BlockHound allow-list names a method that exists on this classpath. An
 * entry names a library's internals (Lettuce's {@code lambda$apply$4} among them); after an upgrade
 * renames one, this test says which, instead of the wait it allowed failing some other test now and
 * then.
 */
class BlockHoundAllowListTest {
  @Test
  void everyAllowedMethod_existsInTheLibrariesOnTheClasspath() throws Exception {
    var allowed = PresenceBlockHoundIntegration.allowed();
    assertThat(allowed).hasSizeGreaterThan(5);
    for (List<String> entry : allowed) {
      Class<?> type = Class.forName(entry.get(0), false, getClass().getClassLoader());
      assertThat(Arrays.stream(type.getDeclaredMethods()).map(Method::getName))
          .as("%s.%s", entry.get(0), entry.get(1))
          .contains(entry.get(1));
    }
  }
}
