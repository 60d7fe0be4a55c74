package org.presence.store.cluster;

class LocalNodeRegistryTest extends NodeRegistryContract {
  /** Every node of one process shares the process's registry. */
  private final LocalNodeRegistry shared = new LocalNodeRegistry();

  @Override
  protected NodeRegistry open() {
    return shared;
  }

  @Override
  protected void closeAll() {}
}
