package org.presence.store.app;

import java.time.Instant;
import java.util.Objects;

/**
 * A registered application, as stored. The API key itself is never stored: only its hash.
 *
 * @param id the application id: a positive integer, unique, never reused
 * @param name display name shown to users on the consent page
 * @param domain the domain the developer proves they own
 * @param description free text shown on the consent page
 * @param ownerSub identity ({@code sub}) of the developer who registered it
 * @param ownerEmail the developer's email at registration, for display
 * @param state registered, verified or active
 * @param verificationKey the 1024-character key to serve at {@code http://<domain>/__presence}
 * @param apiKeyHash hex SHA-256 of the current API key, or {@code null} when not active
 * @param webhookUrl where batched presence updates are POSTed, or {@code null}
 * @param webhookSecret key of the HMAC-SHA256 signature on webhook calls, or {@code null}
 * @param createdAt when it was registered
 * @param updatedAt when it last changed
 * @param suspended whether the operator suspended it: it has no key (state verified) and only the
 *     operator's resume gives it one
 */
public record Application(
    long id,
    String name,
    String domain,
    String description,
    String ownerSub,
    String ownerEmail,
    AppState state,
    String verificationKey,
    String apiKeyHash,
    String webhookUrl,
    String webhookSecret,
    Instant createdAt,
    Instant updatedAt,
    boolean suspended) {

  public Application {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(domain, "domain");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(ownerSub, "ownerSub");
    Objects.requireNonNull(ownerEmail, "ownerEmail");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(verificationKey, "verificationKey");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(updatedAt, "updatedAt");
  }

  /** Whether the application has a working API key. */
  public boolean active() {
    return state == AppState.ACTIVE && apiKeyHash != null;
  }

  /** Whether the domain has been proven (verified or active). */
  public boolean domainVerified() {
    return state != AppState.REGISTERED;
  }
}
