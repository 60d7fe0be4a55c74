package org.presence.store.error;

/**
 * Start-up failed because of one setting: an unparsable URL, an unreachable server, a locked data
 * directory. The command line prints {@code setting: message} on one line and exits non-zero.
 */
public class StartupException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String setting;

  public StartupException(String setting, String message, Throwable cause) {
    super(message, cause);
    this.setting = setting;
  }

  public StartupException(String setting, String message) {
    this(setting, message, null);
  }

  /** The configuration key at fault, for example {@code store.redis.url}. */
  public String setting() {
    return setting;
  }
}
