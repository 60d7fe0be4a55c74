package org.presence.loadtest.scenario;

import java.util.List;

/**
 * An anonymous sequence of steps, for loop bodies and reuse; start one with {@link Dsl#chain()}.
 */
public final class ChainBuilder extends Steps<ChainBuilder> {
  ChainBuilder(List<Action> actions) {
    super(actions);
  }

  @Override
  ChainBuilder with(List<Action> more) {
    return new ChainBuilder(more);
  }
}
