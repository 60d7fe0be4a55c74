package org.presence.store.updates;

class LocalWebhookStateTest extends WebhookStateContract {
  @Override
  protected WebhookState open() {
    return new LocalWebhookState();
  }

  @Override
  protected WebhookState peer(WebhookState state) {
    return state;
  }

  @Override
  protected void closeAll() {}
}
