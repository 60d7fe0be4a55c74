package org.presence.store.app;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Registered applications. Every method runs off the caller's thread; state changes are conditional
 * on the current state, so two concurrent changes cannot both win.
 */
public interface AppRepository {
  /**
   * Stores a new application in state {@link AppState#REGISTERED} and returns it with its id; when
   * {@code app} has a {@linkplain NewApplication#registerKey register key} its owner already made
   * an application with (on any node, concurrently or before), returns that application instead and
   * stores nothing.
   */
  CompletionStage<Application> create(NewApplication app);

  /**
   * {@link #create}, only while {@code app}'s owner has fewer than {@code maxPerOwner}
   * applications: empty, storing nothing, when the owner has that many already, unless {@code
   * app}'s register key is one the owner used (that application is the answer, whatever the count).
   * The count and the insert run in one transaction holding the owner's lock, so concurrent
   * registrations of one owner, on any node, never pass the limit together.
   */
  CompletionStage<Optional<Application>> createWithin(NewApplication app, int maxPerOwner);

  /** The application with this id, if any. */
  CompletionStage<Optional<Application>> find(long id);

  /**
   * The applications with these ids that exist, by id, read in one database call (the ids in slices
   * of at most {@link #FIND_ALL_SLICE}, one statement each); an id with no application has no
   * entry. Lists of grants and fan-outs to many applications use this instead of one {@link #find}
   * each.
   */
  CompletionStage<Map<Long, Application>> findAll(Collection<Long> ids);

  /** How many ids one statement of {@link #findAll} names at most. */
  int FIND_ALL_SLICE = 500;

  /** The applications registered by this developer, oldest first. */
  CompletionStage<List<Application>> listByOwner(String ownerSub);

  /**
   * Records a successful domain proof: a registered application becomes verified; a verified or
   * active one stays as it is. Empty when there is no such application.
   */
  CompletionStage<Optional<Application>> markVerified(long id);

  /**
   * Sets the API key hash of a verified or active application (activation, or regeneration, which
   * makes the old key stop working at once) and makes it active. Empty when the application does
   * not exist, is not verified, or is {@linkplain #suspend suspended}.
   */
  CompletionStage<Optional<Application>> activate(long id, String apiKeyHash);

  /** Drops the API key of an active application and returns it to verified. */
  CompletionStage<Optional<Application>> deactivate(long id);

  /**
   * The operator's suspension: drops the API key of a verified or active application, leaves it
   * verified and marks it suspended, so that {@link #activate} refuses it until {@link #resume};
   * whether it was active is kept. Empty when the application does not exist, is only registered,
   * or is suspended already.
   */
  CompletionStage<Optional<Application>> suspend(long id);

  /**
   * Lifts the operator's suspension and puts the application back as it was: active again with the
   * key of hash {@code apiKeyHash} when it was active when suspended, else verified without a key
   * ({@code apiKeyHash} unused). Empty when the application does not exist or is not suspended.
   */
  CompletionStage<Optional<Application>> resume(long id, String apiKeyHash);

  /**
   * The applications with a webhook URL (in any state), in id order, after {@code afterId}, at most
   * {@code limit}: the webhook sender's start-up looks at each.
   */
  CompletionStage<List<Application>> listWithWebhook(long afterId, int limit);

  /** Sets (or, with {@code null}s, clears) the webhook URL and its signing secret. */
  CompletionStage<Optional<Application>> setWebhook(long id, String url, String secret);
}
