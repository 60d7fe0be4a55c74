package org.presence.store.app;

import java.util.Objects;

/**
 * What a developer gives to register an application, plus the verification key the service made.
 * Field limits are checked by the caller before this is built.
 */
public record NewApplication(
    String name,
    String domain,
    String description,
    String ownerSub,
    String ownerEmail,
    String verificationKey) {
  public NewApplication {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(domain, "domain");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(ownerSub, "ownerSub");
    Objects.requireNonNull(ownerEmail, "ownerEmail");
    Objects.requireNonNull(verificationKey, "verificationKey");
  }
}
