package org.presence.loadtest.scenario;

import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.presence.loadtest.metrics.Clock;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.metrics.Stamp;
import org.presence.loadtest.targets.AppChannel;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.targets.DeviceChannel;
import org.presence.loadtest.targets.NotificationApi;
import org.presence.loadtest.targets.Reply;
import org.presence.loadtest.targets.VirtualApp;
import org.presence.loadtest.targets.VirtualDevice;

/**
 * The built-in actions. Each records its own latency and counters; see {@link Metrics} for the
 * names.
 */
public final class Actions {
  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  private Actions() {}

  /** A step from a description, channels and a body. */
  static Action of(
      String description,
      Set<Action.Channel> requires,
      Function<VirtualUser, CompletionStage<Void>> body) {
    return new Action() {
      @Override
      public CompletionStage<Void> execute(VirtualUser user) {
        return body.apply(user);
      }

      @Override
      public String describe() {
        return description;
      }

      @Override
      public Set<Action.Channel> requires() {
        return requires;
      }
    };
  }

  /** Opens the device connection and session; records {@link Metrics#CONNECT}. */
  public static Action connect() {
    return of(
        "connect",
        EnumSet.of(Action.Channel.DEVICES),
        u -> {
          DeviceChannel channel = u.context().target().devices().orElseThrow();
          VirtualUser.Connection in = u.inbound(Metrics.NOTIFY);
          VirtualDevice d = channel.newDevice(u.loop(), in);
          u.device(d);
          long start = Clock.micros();
          return d.connect(u.deviceIdentity())
              .thenRun(
                  () -> {
                    u.metrics().record(Metrics.CONNECT, Clock.micros() - start);
                    in.opened();
                  });
        });
  }

  /**
   * Sends a status (chosen per send by {@code status}) whose message is a stamp; records {@link
   * Metrics#ACK} when the channel acknowledges. A refusal that keeps the session is counted and the
   * user goes on; one that loses it ends the user.
   */
  public static Action sendStatus(Function<VirtualUser, String> status) {
    return of(
        "send status",
        EnumSet.of(Action.Channel.DEVICES),
        u -> {
          VirtualDevice d = u.device();
          if (d == null || !d.isOpen()) {
            return CompletableFuture.failedFuture(new ClientException("not-connected", "send"));
          }
          long start = Clock.micros();
          return d.sendStatus(status.apply(u), Stamp.of(start))
              .thenCompose(r -> afterReply(u, r, Metrics.ACK, start));
        });
  }

  /**
   * A frame or request reached the server (written, and answered where the channel answers): one
   * {@link Metrics#SENT}, however many items it carried; one that failed is its error instead.
   */
  private static CompletionStage<Void> afterReply(
      VirtualUser u, Reply r, String metric, long start) {
    u.metrics().count(Metrics.SENT);
    if (r.acked() && r.ok()) {
      u.metrics().record(metric, Clock.micros() - start);
      return DONE;
    }
    if (r.ok()) {
      return DONE;
    }
    if (r.sessionLost()) {
      return CompletableFuture.failedFuture(ClientException.errno(r.errno(), r.reason()));
    }
    u.metrics().error(ClientException.errnoKind(r.errno()));
    return DONE;
  }

  /** Opens the app connection and subscribes; records {@link Metrics#SUBSCRIBE}. */
  public static Action subscribe() {
    return of(
        "subscribe",
        EnumSet.of(Action.Channel.APPS),
        u -> {
          AppChannel channel = u.context().target().apps().orElseThrow();
          VirtualUser.Connection in = u.inbound(Metrics.UPDATE);
          VirtualApp a = channel.newApp(u.loop(), in);
          u.app(a);
          long start = Clock.micros();
          return a.subscribe(u.appIndex())
              .thenRun(
                  () -> {
                    u.metrics().record(Metrics.SUBSCRIBE, Clock.micros() - start);
                    in.opened();
                  });
        });
  }

  /** Posts a stamped notification batch; records {@link Metrics#POST}. */
  public static Action post(Function<VirtualUser, List<Long>> recipients) {
    return of(
        "post notifications",
        EnumSet.of(Action.Channel.NOTIFICATIONS),
        u -> {
          NotificationApi api = u.context().target().notifications().orElseThrow();
          long start = Clock.micros();
          List<Long> to = recipients.apply(u);
          return api.post(u.loop(), u.appIndex(), to, Stamp.of(start))
              .thenCompose(r -> afterReply(u, r, Metrics.POST, start));
        });
  }

  /** Waits for {@code frames} more pushed frames, failing with {@code receive-timeout}. */
  public static Action receive(long frames, Duration timeout) {
    return of("receive " + frames, Set.of(), u -> u.awaitFrames(frames, timeout));
  }

  /** Closes whatever the user has open. */
  public static Action disconnect() {
    return of(
        "disconnect",
        Set.of(),
        u -> {
          CompletableFuture<Void> d =
              u.device() != null && u.device().isOpen()
                  ? u.device().disconnect().toCompletableFuture()
                  : DONE;
          CompletableFuture<Void> a =
              u.app() != null && u.app().isOpen()
                  ? u.app().disconnect().toCompletableFuture()
                  : DONE;
          return CompletableFuture.allOf(d, a);
        });
  }

  /** Waits between {@code min} and {@code max} (uniformly); ends early when the run stops. */
  public static Action pause(String description, Duration min, Duration max) {
    if (max.compareTo(min) < 0) {
      throw new IllegalArgumentException("pause: max < min");
    }
    return of(
        description,
        Set.of(),
        u -> {
          long lo = min.toNanos();
          long hi = max.toNanos();
          long n = hi == lo ? lo : ThreadLocalRandom.current().nextLong(lo, hi + 1);
          return u.sleep(Duration.ofNanos(n));
        });
  }

  /** Waits until the run ends. */
  public static Action holdUntilEnd() {
    return of("hold until the end", Set.of(), u -> u.sleep(null));
  }

  /** Runs {@code body} {@code times} times. */
  public static Action repeat(int times, List<Action> body) {
    return of(
        "repeat " + times + " " + describe(body),
        union(body),
        u -> times <= 0 ? DONE : Stepper.loop(u, body, i -> i < times));
  }

  /** Runs {@code body} until {@code d} has passed since the loop began. */
  public static Action during(Duration d, List<Action> body) {
    return of(
        "during " + Dsl.format(d) + " " + describe(body),
        union(body),
        u -> {
          long end = System.nanoTime() + d.toNanos();
          return Stepper.loop(u, body, i -> System.nanoTime() < end);
        });
  }

  /** Fails the user unless {@code check} holds. */
  public static Action check(Check check) {
    return of(
        "check " + check.name(),
        Set.of(),
        u ->
            check.condition().test(u)
                ? DONE
                : CompletableFuture.failedFuture(
                    new ClientException("check " + check.name(), "failed")));
  }

  private static Set<Action.Channel> union(List<Action> body) {
    Set<Action.Channel> out = EnumSet.noneOf(Action.Channel.class);
    body.forEach(a -> out.addAll(a.requires()));
    return out;
  }

  private static String describe(List<Action> body) {
    return "[" + String.join(", ", body.stream().map(Action::describe).toList()) + "]";
  }
}
