package org.presence.gateway.config;

/**
 * Log output.
 *
 * @param format {@code text} (human-readable, the default) or {@code json} (one mozlog object per
 *     line)
 * @param level root level: {@code TRACE}, {@code DEBUG}, {@code INFO}, {@code WARN} or {@code
 *     ERROR}
 */
public record LoggingConfig(Format format, String level) {
  /** Log line format. */
  public enum Format {
    TEXT,
    JSON
  }
}
