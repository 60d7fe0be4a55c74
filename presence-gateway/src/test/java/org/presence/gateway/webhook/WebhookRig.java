package org.presence.gateway.webhook;

import com.codahale.metrics.MetricRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.app.AppCache;
import org.presence.gateway.config.CachesConfig;
import org.presence.gateway.config.OutboundConfig;
import org.presence.gateway.config.WebhooksConfig;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.fanout.SnapshotReader;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.outbound.AddressPolicy;
import org.presence.gateway.outbound.GuardedHttpClient;
import org.presence.gateway.testing.CountingAppRepository;
import org.presence.gateway.testing.EmbeddedStore;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.updates.LocalAppUpdateLog;
import org.presence.store.updates.LocalWebhookState;

/**
 * A {@link WebhookDispatcher} as the webhook tests build it: an embedded store under a test's
 * directory, the applications read through a cache over a repository that counts its reads, a local
 * update log (published by {@link #publisher}), webhook state and presence, and metrics in {@link
 * #registry}. Closing it closes the dispatcher (when made), the HTTP client and the store.
 */
final class WebhookRig implements AutoCloseable {
  final EmbeddedStore store;
  final CountingAppRepository counted;
  final AppCache apps;
  final GuardedHttpClient http;
  final LocalAppUpdateLog log = new LocalAppUpdateLog();
  final LocalWebhookState state = new LocalWebhookState();
  final LocalPresenceStateStore presence = new LocalPresenceStateStore();
  final MetricRegistry registry = new MetricRegistry();
  final AppUpdatePublisher publisher;
  private WebhookDispatcher webhooks;

  /** Opens the store under {@code dir}; {@code allowLoopback}: whether webhooks may be local. */
  WebhookRig(Path dir, boolean allowLoopback) throws Exception {
    store = EmbeddedStore.open(dir);
    counted = new CountingAppRepository(store.db.apps());
    apps =
        new AppCache(
            counted.apps, new CachesConfig.Spec(1000, Duration.ofMinutes(5)), store.invalidations);
    OutboundConfig outbound =
        new OutboundConfig(allowLoopback, false, false, Duration.ofSeconds(2), 2);
    http = new GuardedHttpClient(outbound, new AddressPolicy(outbound));
    publisher = new AppUpdatePublisher(log, store.bus);
  }

  /**
   * The dispatcher of node-1 with {@code config}, its snapshots read from {@code snapshotState},
   * listening to {@link #publisher}; not started.
   */
  WebhookDispatcher dispatcher(WebhooksConfig config, PresenceStateStore snapshotState) {
    webhooks =
        new WebhookDispatcher(
            config,
            "node-1",
            state,
            log,
            apps,
            counted.apps,
            new SnapshotReader(store.db.grants(), snapshotState),
            http,
            new GatewayMetrics(registry));
    publisher.addListener(webhooks);
    return webhooks;
  }

  /** {@code s}'s result, waiting at most 20 s. */
  static <T> T done(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    try {
      if (webhooks != null) {
        webhooks.close();
      }
      http.close();
    } finally {
      store.close();
    }
  }
}
