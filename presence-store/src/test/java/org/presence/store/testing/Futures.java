package org.presence.store.testing;

import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.error.StoreException;

/** Waiting for the stages the store and the gateway's services return, in tests. */
public final class Futures {
  private Futures() {}

  /** The value of {@code s}, waiting up to 10 s; any failure or timeout fails the test. */
  public static <T> T join(CompletionStage<T> s) {
    try {
      return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** The errno {@code s} failed with, waiting up to 10 s; success fails the test. */
  public static ErrorCode failure(CompletionStage<?> s) {
    try {
      s.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ProtocolException p) {
        return p.code();
      }
      throw new AssertionError("failed with something other than an errno", e.getCause());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("did not fail");
  }

  /**
   * The store's failure {@code s} ended with, waiting up to 10 s: a {@link StoreException} (its
   * errno and detail); success, or a failure of another kind, fails the test.
   */
  public static StoreException storeFailure(CompletionStage<?> s) {
    try {
      s.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof StoreException x) {
        return x;
      }
      throw new AssertionError(
          "failed with something other than the store's failure", e.getCause());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("completed, expected a failure");
  }
}
