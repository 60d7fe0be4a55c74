package org.presence.gateway.config;

import java.nio.file.Path;
import org.presence.store.config.StoreConfig;

/**
 * The whole, immutable configuration of a node, loaded once by {@link ConfigLoader} from defaults,
 * a file, environment variables and flags (flags over env over file). Components get only their own
 * part.
 *
 * @param nodeId this node's id in a cluster (unique per running node)
 * @param dataDir directory for node-local state: the embedded database, the development key
 * @param gateway network settings
 * @param limits input caps
 * @param store database and bus
 * @param identity identity token checks
 * @param logging log format and level
 * @param apps application registration and domain proof
 * @param outbound which addresses developer-given URLs may reach
 * @param web page sessions and sign-in
 * @param caches hot-read caches
 * @param device the device channel's timers and limits
 * @param push the push-server endpoint
 * @param updates the app update channel and stream
 * @param webhooks webhook calls to applications
 * @param notifications live notifications: the API's limits and the delivery
 * @param cluster node leases and the clean-up after dead nodes
 * @param grants caps and the rate limit of users' grants
 * @param admin the operator's port ({@code /metrics}, the admin API)
 * @param queries presence queries of applications
 * @param xmpp the XMPP interface for applications
 * @param pairing device pairing and the identity tokens Presence signs
 * @param tls TLS at the node's gateway and admin ports
 * @param otel OpenTelemetry trace export
 * @param settings the rate limit of changes of users' settings
 * @param retention how long data of users and devices that never come back is kept
 */
public record PresenceConfig(
    String nodeId,
    Path dataDir,
    GatewayConfig gateway,
    LimitsConfig limits,
    StoreConfig store,
    IdentityConfig identity,
    LoggingConfig logging,
    AppsConfig apps,
    OutboundConfig outbound,
    WebConfig web,
    CachesConfig caches,
    DeviceConfig device,
    PushConfig push,
    UpdatesConfig updates,
    WebhooksConfig webhooks,
    NotificationsConfig notifications,
    ClusterConfig cluster,
    GrantsConfig grants,
    AdminConfig admin,
    QueriesConfig queries,
    XmppConfig xmpp,
    PairingConfig pairing,
    TlsConfig tls,
    OtelConfig otel,
    SettingsConfig settings,
    RetentionConfig retention) {

  /** Whether this node runs the embedded default: no PostgreSQL and no Redis. */
  public boolean embedded() {
    return store.embeddedDatabase() && store.localBus();
  }

  /** The URL clients use to reach this node's gateway port, without a trailing slash. */
  public String baseUrl(int boundPort) {
    return gateway.baseUrl(boundPort, tls.enabled());
  }
}
