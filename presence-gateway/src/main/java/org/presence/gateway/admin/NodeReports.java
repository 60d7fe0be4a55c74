package org.presence.gateway.admin;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.presence.gateway.cluster.NodeLiveness;
import org.presence.gateway.config.ClusterConfig;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.id.SecureRandoms;
import org.presence.protocol.json.Json;
import org.presence.store.bus.PresenceBus;
import org.presence.store.cluster.NodeRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nodes of the cluster as the admin API lists them: the nodes holding a lease ({@link
 * NodeRegistry#alive}), each with the report it sends when asked over the bus (its lease, its open
 * connections by kind, its device sessions). Every node listens on {@link #REQUESTS}; the asking
 * node publishes a request naming a reply channel of its own and gathers replies for at most {@link
 * #WAIT_MS}. A node holding a lease that did not answer in time is listed as unreachable.
 */
final class NodeReports {
  private static final Logger LOG = LoggerFactory.getLogger(NodeReports.class);
  private static final ObjectMapper JSON = new ObjectMapper(Json.documents());

  /** Where every node hears report requests. */
  static final String REQUESTS = "presence.admin.report";

  /** Reply channels start with this. */
  static final String REPLIES = "presence.admin.reply.";

  /** How long the asking node waits for replies. */
  static final long WAIT_MS = 2000;

  /**
   * One node.
   *
   * @param node its id
   * @param leased whether it holds a lease now
   * @param report what it answered, or {@code null} when it did not in time
   */
  record Node(String node, boolean leased, JsonNode report) {}

  private final String nodeId;
  private final PresenceBus bus;
  private final NodeRegistry registry;
  private final NodeLiveness liveness;
  private final ClusterConfig cluster;
  private final GatewayMetrics metrics;
  private final IntSupplier deviceSessions;

  NodeReports(
      String nodeId,
      PresenceBus bus,
      NodeRegistry registry,
      NodeLiveness liveness,
      ClusterConfig cluster,
      GatewayMetrics metrics,
      IntSupplier deviceSessions) {
    this.nodeId = nodeId;
    this.bus = bus;
    this.registry = registry;
    this.liveness = liveness;
    this.cluster = cluster;
    this.metrics = metrics;
    this.deviceSessions = deviceSessions;
  }

  /** Listens for requests; completes once other nodes can ask this one. */
  CompletionStage<PresenceBus.Subscription> start() {
    return bus.subscribe(REQUESTS, (channel, message) -> answer(message));
  }

  private void answer(byte[] message) {
    String reply;
    try {
      JsonNode request = JSON.readTree(message);
      reply = request.path("reply").asText("");
    } catch (IOException e) {
      LOG.warn("ignoring malformed report request: {}", e.toString());
      return;
    }
    if (!reply.startsWith(REPLIES) || reply.length() > REPLIES.length() + 36) {
      return;
    }
    try {
      bus.publish(reply, report());
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot send the node report: {}", e.toString());
    }
  }

  /** A report request asking for replies on {@code replyChannel}: {@code {"reply":"..."}}. */
  static byte[] request(String replyChannel) {
    try {
      return JSON.writeValueAsBytes(Map.of("reply", replyChannel));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** This node's report. */
  byte[] report() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = Json.documents().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("node", nodeId);
      g.writeBooleanField("lease_ok", liveness == null || liveness.leaseOk());
      g.writeNumberField("lease_seconds", cluster.lease().toSeconds());
      g.writeNumberField("heartbeat_seconds", cluster.heartbeatInterval().toSeconds());
      g.writeObjectFieldStart("connections");
      for (Connections.Kind k : Connections.Kind.values()) {
        g.writeNumberField(k.label(), metrics.connectionsOpen(k.label()).getValue());
      }
      g.writeEndObject();
      g.writeNumberField("device_sessions", deviceSessions.getAsInt());
      g.writeEndObject();
    }
    return out.toByteArray();
  }

  /** Every node holding a lease or answering, by id. */
  CompletionStage<List<Node>> nodes() {
    String channel = REPLIES + SecureRandoms.uuid();
    Map<String, JsonNode> replies = new ConcurrentHashMap<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    return registry
        .alive()
        .thenCompose(
            alive ->
                bus.subscribe(
                        channel,
                        (c, m) -> {
                          try {
                            JsonNode r = JSON.readTree(m);
                            replies.put(r.path("node").asText(""), r);
                            if (replies.keySet().containsAll(alive)) {
                              done.complete(null);
                            }
                          } catch (IOException e) {
                            LOG.warn("ignoring malformed node report: {}", e.toString());
                          }
                        })
                    .thenCompose(
                        sub ->
                            bus.publish(REQUESTS, request(channel))
                                .thenCompose(
                                    v ->
                                        done.completeOnTimeout(
                                            null, WAIT_MS, TimeUnit.MILLISECONDS))
                                .whenComplete((v, e) -> sub.unsubscribe()))
                    .thenApply(
                        v -> {
                          Map<String, Node> out = new LinkedHashMap<>();
                          for (String n : alive.stream().sorted().toList()) {
                            out.put(n, new Node(n, true, replies.get(n)));
                          }
                          for (Map.Entry<String, JsonNode> e : replies.entrySet()) {
                            out.putIfAbsent(e.getKey(), new Node(e.getKey(), false, e.getValue()));
                          }
                          return new ArrayList<>(out.values());
                        }));
  }
}
