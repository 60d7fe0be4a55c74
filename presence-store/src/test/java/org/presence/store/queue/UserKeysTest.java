package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Cache;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class UserKeysTest {
  @Test
  void of_isStableAndFixedLength_aKeyUnusedForTheIdleTimeIsDropped_oneInUseStays() {
    assertThat(UserKeys.of("dev:ada@example.com"))
        .isEqualTo(UserKeys.of("dev:ada@example.com"))
        .isEqualTo(UserKeys.compute("dev:ada@example.com"))
        .hasSize(43)
        .doesNotContain("ada");
    assertThat(UserKeys.cached("dev:ada@example.com")).isTrue();

    AtomicLong nanos = new AtomicLong();
    Cache<String, String> keys = UserKeys.cache(nanos::get);
    keys.get("idle", UserKeys::compute);
    keys.get("busy", UserKeys::compute);
    long half = UserKeys.IDLE.toNanos() / 2 + 1;
    nanos.addAndGet(half);
    keys.getIfPresent("busy");
    nanos.addAndGet(half);
    keys.cleanUp();
    assertThat(keys.getIfPresent("idle")).as("unused for the idle time").isNull();
    assertThat(keys.getIfPresent("busy")).isEqualTo(UserKeys.compute("busy"));
  }
}
