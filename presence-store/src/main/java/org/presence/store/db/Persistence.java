package org.presence.store.db;

import java.util.concurrent.CompletionStage;
import org.presence.store.app.AppRepository;
import org.presence.store.jdbi.Db;
import org.presence.store.permission.GrantRepository;
import org.presence.store.user.UserSettingsRepository;

/**
 * Where apps, grants, PUIDs and user settings live. Two implementations: {@link
 * EmbeddedPersistence} (an H2 file in the data directory, the zero-server default) and {@link
 * PostgresPersistence} (the cluster configuration). One contract test suite runs against both.
 */
public interface Persistence extends AutoCloseable {
  /** {@code "embedded"} or {@code "postgresql"}, for logs, metrics and the heartbeat. */
  String kind();

  /** Registered applications. */
  AppRepository apps();

  /** Users' grants to applications and their PUIDs. */
  GrantRepository grants();

  /** Users' presence policy and custom messages. */
  UserSettingsRepository settings();

  /** The async database runner, for repositories added by other packages. */
  Db db();

  /** Completes normally when the database answers a trivial query. */
  CompletionStage<Void> ping();

  @Override
  void close();
}
