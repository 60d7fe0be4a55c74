package org.presence.store.app;

import java.util.Objects;

/**
 * What a developer gives to register an application, plus the verification key the service made.
 * Field limits are checked by the caller before this is built. {@code registerKey}, when not null,
 * names the sending that asked for it (the Register form's id): the same owner's second {@link
 * AppRepository#create} with it makes nothing new.
 */
public record NewApplication(
    String name,
    String domain,
    String description,
    String ownerSub,
    String ownerEmail,
    String verificationKey,
    String registerKey) {
  /** The longest register key stored. */
  public static final int MAX_REGISTER_KEY = 64;

  /** An application asked for without a register key: each such call makes one. */
  public NewApplication(
      String name,
      String domain,
      String description,
      String ownerSub,
      String ownerEmail,
      String verificationKey) {
    this(name, domain, description, ownerSub, ownerEmail, verificationKey, null);
  }

  public NewApplication {
    if (registerKey != null && (registerKey.isEmpty() || registerKey.length() > MAX_REGISTER_KEY)) {
      throw new IllegalArgumentException("registerKey: 1 to " + MAX_REGISTER_KEY + " characters");
    }
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(domain, "domain");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(ownerSub, "ownerSub");
    Objects.requireNonNull(ownerEmail, "ownerEmail");
    Objects.requireNonNull(verificationKey, "verificationKey");
  }
}
