package org.presence.store.cluster;

class LocalNodeRegistryTest extends NodeRegistryContract {
  @Override
  protected NodeRegistry open() {
    return new LocalNodeRegistry();
  }

  @Override
  protected void closeAll() {}
}
