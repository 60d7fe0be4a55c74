package org.presence.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * {@link AppClient.Listener#onSnapshotPage}: each frame of a snapshot is handed over as it comes,
 * marked first and last, before the merged {@link AppClient.Snapshot}; a snapshot cut off by a lost
 * connection starts again from a first page, and the merged one holds only the completed snapshot.
 */
class AppClientSnapshotPagesTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private static String page(String users, long seq, boolean done) {
    return "{\"snapshot\":["
        + users
        + "],\"seq\":"
        + seq
        + ",\"fresh\":false,\"done\":"
        + done
        + "}";
  }

  private static String user(String uid, String status) {
    return "{\"UID\":\"" + uid + "\",\"status\":\"" + status + "\"}";
  }

  @Test
  void pagesComeAsTheyAreRead_firstAndLastMarked_andACutSnapshotStartsAgain() throws Exception {
    try (FakeNode node =
        FakeNode.start(
            (c, n) -> {
              c.readText();
              c.sendText("{\"result\":true}");
              if (n == 1) {
                // A snapshot cut off after its first page.
                c.sendText(page(user("u1", "online") + "," + user("u2", "away"), 4, false));
                c.sendClose(1011, "");
                c.drain();
                return;
              }
              c.sendText(page(user("u1", "online"), 5, false));
              c.sendText(page(user("u3", "away"), 5, false));
              c.sendText(page(user("u4", "online"), 5, true));
              c.drain();
            })) {
      List<AppClient.SnapshotPage> pages = new CopyOnWriteArrayList<>();
      List<AppClient.Snapshot> snapshots = new CopyOnWriteArrayList<>();
      List<String> order = new CopyOnWriteArrayList<>();
      AppClient.Listener events =
          new AppClient.Listener() {
            @Override
            public void onSnapshotPage(AppClient.SnapshotPage page) {
              pages.add(page);
              order.add("page");
            }

            @Override
            public void onSnapshot(AppClient.Snapshot snapshot) {
              snapshots.add(snapshot);
              order.add("snapshot");
            }
          };
      try (AppClient app =
          AppClient.builder(node.uri(), 7, "key")
              .transport(AppClient.Transport.WEBSOCKET)
              .backoff(new Backoff(Duration.ofMillis(5), Duration.ofMillis(20)))
              .listener(events)
              .start()) {
        await().atMost(WAIT).until(() -> snapshots.size() == 1);
        assertThat(pages).hasSize(4);
        assertThat(pages.get(0).first()).isTrue();
        assertThat(pages.get(0).last()).isFalse();
        assertThat(pages.get(0).users())
            .extracting(AppClient.Presence::uid)
            .containsExactly("u1", "u2");
        // The next connection's snapshot starts again.
        assertThat(pages.get(1).first()).isTrue();
        assertThat(pages.get(1).users()).extracting(AppClient.Presence::uid).containsExactly("u1");
        assertThat(pages.get(2).first()).isFalse();
        assertThat(pages.get(2).last()).isFalse();
        assertThat(pages.get(3).last()).isTrue();
        assertThat(pages.get(3).seq()).isEqualTo(5);
        assertThat(order).containsExactly("page", "page", "page", "page", "snapshot");
        assertThat(snapshots.get(0).users())
            .extracting(AppClient.Presence::uid)
            .containsExactly("u1", "u3", "u4");
        assertThat(app.since()).isEqualTo(5);
      }
    }
  }
}
