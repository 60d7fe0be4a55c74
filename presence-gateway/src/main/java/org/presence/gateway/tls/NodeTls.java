package org.presence.gateway.tls;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslHandler;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.config.TlsConfig;
import org.presence.store.error.StartupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS at the node's gateway and admin ports ({@code tls.*}, docs/operations.md#tls-at-the-node):
 * the current certificate and key as a server context, handing each new connection its {@link
 * SslHandler}, and a daemon thread ({@code tls-reload}) that reads both files every {@code
 * tls.reload-interval}. A changed pair that loads replaces the context for the connections opened
 * after it; connections already open keep theirs. A pair that does not load is logged once (WARN)
 * and the old one kept; at start it stops the node instead.
 *
 * <p>Metrics: {@code presence.tls.reloads} (pairs taken into use after the start), {@code
 * presence.tls.reload_failures} (changed pairs refused) and {@code
 * presence.tls.certificate_not_after} (the current certificate's expiry, Unix seconds).
 */
public final class NodeTls implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NodeTls.class);

  private final Path certFile;
  private final Path keyFile;
  private final ScheduledExecutorService timer;
  private final Counter reloads = new Counter();
  private final Counter reloadFailures = new Counter();
  private volatile CertificateFiles current;
  // The bytes of the last pair refused, so that a bad pair is logged once, not at every check.
  private byte[][] refused;

  private NodeTls(Path certFile, Path keyFile, CertificateFiles first) {
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.current = first;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "tls-reload");
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Loads {@code tls.cert} and {@code tls.key} and starts re-reading them; {@code null} when TLS is
   * off.
   *
   * @throws StartupException naming the setting when a file is missing, unreadable, not PEM, or the
   *     key is not the certificate's
   */
  public static NodeTls start(TlsConfig config) {
    if (!config.enabled()) {
      return null;
    }
    Path cert = Path.of(config.cert());
    Path key = Path.of(config.key());
    CertificateFiles first;
    try {
      byte[][] files = CertificateFiles.read(cert, key);
      first = CertificateFiles.load(files[0], files[1]);
    } catch (CertificateFiles.BadFiles e) {
      throw new StartupException(e.setting, e.getMessage(), e);
    }
    NodeTls tls = new NodeTls(cert, key, first);
    long every = config.reloadInterval().toMillis();
    tls.timer.scheduleWithFixedDelay(tls::reload, every, every, TimeUnit.MILLISECONDS);
    LOG.info(
        "TLS ({}) with the certificate of {} (expires {}), checked for changes every {}",
        TlsPolicy.provider(),
        first.certificate.getSubjectX500Principal().getName(),
        first.notAfter(),
        config.reloadInterval());
    return tls;
  }

  /** Registers the metrics under {@code presence.tls}. */
  public void register(MetricRegistry registry) {
    registry.register("presence.tls.reloads", reloads);
    registry.register("presence.tls.reload_failures", reloadFailures);
    registry.register(
        "presence.tls.certificate_not_after",
        (Gauge<Long>) () -> current.notAfter().getEpochSecond());
  }

  /** A TLS handler for a new server connection, with the current certificate. */
  public SslHandler newHandler(ByteBufAllocator alloc) {
    return current.context.newHandler(alloc);
  }

  /**
   * The first handler of a new connection to a TLS port, named {@code name}: it becomes the TLS
   * handler (current certificate) when the client speaks TLS, and answers plain HTTP with a 400 and
   * a close otherwise.
   */
  public io.netty.channel.ChannelHandler newConnectionHandler(String name) {
    return new TlsOnly(this, current.context, name);
  }

  /** Reads both files and takes a changed pair into use if it loads; runs on {@code tls-reload}. */
  void reload() {
    try {
      byte[][] files;
      try {
        files = CertificateFiles.read(certFile, keyFile);
      } catch (CertificateFiles.BadFiles e) {
        refuse(null, e);
        return;
      }
      if (current.sameAs(files)) {
        refused = null;
        return;
      }
      if (refused != null
          && refused.length == 2
          && Arrays.equals(refused[0], files[0])
          && Arrays.equals(refused[1], files[1])) {
        return;
      }
      try {
        CertificateFiles next = CertificateFiles.load(files[0], files[1]);
        current = next;
        refused = null;
        reloads.inc();
        LOG.info(
            "TLS certificate reloaded: {} (expires {}); new connections use it",
            next.certificate.getSubjectX500Principal().getName(),
            next.notAfter());
      } catch (CertificateFiles.BadFiles e) {
        refuse(files, e);
      }
    } catch (RuntimeException e) {
      // The timer must keep running whatever one check meets.
      LOG.warn("TLS certificate check failed; keeping the current certificate", e);
    }
  }

  private void refuse(byte[][] files, CertificateFiles.BadFiles e) {
    boolean logged = refused != null && files == null && refused.length == 0;
    refused = files == null ? new byte[0][] : files;
    if (!logged) {
      reloadFailures.inc();
      LOG.warn(
          "TLS certificate not reloaded, keeping the current one: {}: {}",
          e.setting,
          e.getMessage());
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
