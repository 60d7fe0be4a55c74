package org.presence.store.error;

import java.util.concurrent.CompletionException;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * A store operation that failed for a reason the caller answers with an {@link ErrorCode}: a
 * backend that did not answer ({@link ErrorCode#BACKEND_UNAVAILABLE}), a full pool ({@link
 * ErrorCode#SERVER_BUSY}), or a refused change (a unique key taken, say).
 */
public class StoreException extends ProtocolException {
  private static final long serialVersionUID = 1L;

  public StoreException(ErrorCode code, String detail) {
    super(code, detail);
  }

  public StoreException(ErrorCode code, String detail, Throwable cause) {
    super(code, detail, cause);
  }

  /**
   * What a read of {@code what} that failed with {@code failure} (as a stage hands it over, maybe
   * wrapped) answers: the store's own exception, else {@code BACKEND_UNAVAILABLE} naming {@code
   * what}; wrapped as a stage's failure.
   */
  public static CompletionException unavailable(Throwable failure, String what) {
    Throwable e =
        failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    return new CompletionException(
        e instanceof StoreException
            ? e
            : new StoreException(ErrorCode.BACKEND_UNAVAILABLE, what + " unavailable", e));
  }
}
