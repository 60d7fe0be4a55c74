package org.presence.store.limit;

class LocalConnectionCountsTest extends ConnectionCountsContract {
  @Override
  protected ConnectionCounts open() {
    return new LocalConnectionCounts();
  }

  /** One process is the whole deployment. */
  @Override
  protected ConnectionCounts otherNode(ConnectionCounts first) {
    return first;
  }

  @Override
  protected void closeAll() {}
}
