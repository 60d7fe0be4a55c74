package org.presence.gateway.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.gateway.webhook.WebhookRig.done;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.WebhooksConfig;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.testing.CountingAppRepository;
import org.presence.gateway.testing.EmbeddedStore;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;
import org.presence.store.updates.AppUpdate;

/**
 * One user's change reaching many applications (a user with many grants going offline) looks the
 * applications up together: one database read for all those the cache does not hold, not one each
 * (which filled the database queue, probe-scale H3); then the senders of those whose webhook may be
 * called start, and no other.
 */
class WebhookFanOutTest {
  private static final long UNKNOWN = 987_654_321L;

  @TempDir Path dir;
  private WebhookRig rig;
  private EmbeddedStore store;
  private CountingAppRepository counted;
  private WebhookDispatcher webhooks;
  private AppUpdatePublisher publisher;

  @BeforeEach
  void open() throws Exception {
    rig = new WebhookRig(dir, false);
    store = rig.store;
    counted = rig.counted;
    publisher = rig.publisher;
    webhooks =
        rig.dispatcher(
            new WebhooksConfig(
                Duration.ofMinutes(1),
                Duration.ofSeconds(2),
                65_536,
                1000,
                Duration.ofMinutes(5),
                8,
                Duration.ofMinutes(1),
                Duration.ofMinutes(5),
                4,
                Duration.ofSeconds(5),
                1,
                1,
                1 << 20),
            rig.presence);
  }

  @AfterEach
  void close() {
    rig.close();
  }

  @Test
  void anUpdateForFortyApplications_looksThemUpInOneRead_andStartsTheCallableSenders()
      throws Exception {
    List<Long> callable = new ArrayList<>();
    List<Long> not = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      Application a =
          done(
              store
                  .db
                  .apps()
                  .create(
                      new NewApplication(
                          "Hooked " + i,
                          "hooked" + i + ".example",
                          "d",
                          "dev:o" + (i % 3),
                          "o@example.com",
                          "k")));
      long id = a.id();
      done(store.db.apps().markVerified(id));
      done(store.db.apps().activate(id, "h" + i));
      switch (i % 4) {
        case 1 -> not.add(id); // active, no webhook
        case 2 -> {
          // a webhook, but deactivated
          done(store.db.apps().setWebhook(id, "https://hooked" + i + ".example/h", "s" + i));
          done(store.db.apps().deactivate(id));
          not.add(id);
        }
        default -> {
          done(store.db.apps().setWebhook(id, "https://hooked" + i + ".example/h", "s" + i));
          callable.add(id);
        }
      }
    }
    not.add(UNKNOWN);
    Map<Long, List<AppUpdate.New>> offline = new HashMap<>();
    int n = 0;
    for (long id : concat(callable, not)) {
      offline.put(
          id,
          List.of(
              new AppUpdate.New(
                  "puid-" + n++, PresenceStatus.OFFLINE, "", 1, AppUpdate.Kind.CHANGE)));
    }

    done(publisher.publishAll(offline));

    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(() -> assertThat(callable).allMatch(webhooks::sending));
    assertThat(not).noneMatch(webhooks::sending);
    // One read for the 41 applications; the senders read them from the cache since.
    assertThat(counted.reads).hasSize(1);
    assertThat(counted.reads.get(0).method()).isEqualTo("findAll");
    assertThat(counted.reads.get(0).ids())
        .containsExactlyInAnyOrderElementsOf(concat(callable, not));
  }

  private static List<Long> concat(List<Long> a, List<Long> b) {
    List<Long> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
