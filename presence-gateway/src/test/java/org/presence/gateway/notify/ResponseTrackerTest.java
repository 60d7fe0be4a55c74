package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.presence.store.queue.Notification;

/** What a node remembers of the notifications it delivered, for the devices' answers. */
class ResponseTrackerTest {
  private static final long NOW = 1_700_000_000_000L;

  private static Notification note(String id, long expiresAt, boolean receipts) {
    return new Notification(
        id,
        5,
        "puid",
        "App",
        "m",
        "https://x.example",
        Instant.ofEpochMilli(NOW - 1000),
        Instant.ofEpochMilli(expiresAt),
        receipts);
  }

  @Test
  void answer_whenDeliveredToTheUser_thenFirstAnswerOnce_laterAcceptedSilently() {
    ResponseTracker t = new ResponseTracker(1000);
    t.delivered("alice", note("a", NOW + 60_000, true), NOW);
    List<String> unknown = new ArrayList<>();
    assertThat(t.answer("alice", List.of("a"), NOW, unknown))
        .singleElement()
        .satisfies(
            x -> {
              assertThat(x.id).isEqualTo("a");
              assertThat(x.puid).isEqualTo("puid");
              assertThat(x.appId).isEqualTo(5);
              assertThat(x.receipts).isTrue();
            });
    assertThat(t.answer("alice", List.of("a"), NOW, unknown)).isEmpty();
    assertThat(unknown).isEmpty();
  }

  @Test
  void answer_whenAnotherUserOrNeverDeliveredOrExpired_thenUnknown() {
    ResponseTracker t = new ResponseTracker(1000);
    t.delivered("alice", note("a", NOW + 5_000, false), NOW);
    t.delivered("alice", note("missed", NOW - 1, true), NOW);
    List<String> unknown = new ArrayList<>();
    assertThat(t.answer("bob", List.of("a"), NOW, unknown)).isEmpty();
    assertThat(t.answer("alice", List.of("nope", "missed"), NOW, unknown)).isEmpty();
    assertThat(t.answer("alice", List.of("a"), NOW + 5_000, unknown)).isEmpty();
    assertThat(unknown).containsExactly("a", "nope", "missed", "a");
  }

  @Test
  void sweep_forgetsExpired_andCapacityDropsTheOldest() {
    ResponseTracker t = new ResponseTracker(16 * 2);
    t.delivered("u", note("short", NOW + 10, false), NOW);
    t.delivered("u", note("long", NOW + 60_000, false), NOW);
    t.sweep(NOW + 10);
    assertThat(t.size()).isEqualTo(1);
    // Far more than the capacity: the tracker stays bounded and keeps the newest.
    for (int i = 0; i < 1000; i++) {
      t.delivered("u", note("n" + i, NOW + 60_000, false), NOW);
    }
    assertThat(t.size()).isLessThanOrEqualTo(32);
    List<String> unknown = new ArrayList<>();
    assertThat(t.answer("u", List.of("n999"), NOW, unknown)).hasSize(1);
    assertThat(t.answer("u", List.of("n0"), NOW, unknown)).isEmpty();
    assertThat(unknown).containsExactly("n0");
  }
}
