package org.presence.store.error;

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
}
