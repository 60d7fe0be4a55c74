package org.presence.loadtest.scenario;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.IntPredicate;

/**
 * Runs a list of actions for one user, in order, again and again while {@code again} says so. It
 * loops instead of recursing when steps complete at once, and resumes on the user's event loop when
 * they complete later, so neither long scenarios nor many users grow the stack.
 */
final class Stepper {
  private final VirtualUser user;
  private final List<Action> actions;
  private final IntPredicate again;
  private final CompletableFuture<Void> done = new CompletableFuture<>();
  private int index;
  private int iteration;

  private Stepper(VirtualUser user, List<Action> actions, IntPredicate again) {
    this.user = user;
    this.actions = actions;
    this.again = again;
  }

  /** Runs {@code actions} once. */
  static CompletionStage<Void> once(VirtualUser user, List<Action> actions) {
    return loop(user, actions, i -> false);
  }

  /**
   * Runs {@code actions}; after iteration {@code i} (0-based) runs them again while {@code
   * again.test(i + 1)}.
   */
  static CompletionStage<Void> loop(VirtualUser user, List<Action> actions, IntPredicate again) {
    Stepper s = new Stepper(user, actions, again);
    s.next();
    return s.done;
  }

  private void next() {
    while (true) {
      if (user.stopping()) {
        done.complete(null);
        return;
      }
      if (index == actions.size()) {
        iteration++;
        if (actions.isEmpty() || !again.test(iteration)) {
          done.complete(null);
          return;
        }
        index = 0;
      }
      Action a = actions.get(index++);
      CompletableFuture<Void> f;
      try {
        f = a.execute(user).toCompletableFuture();
      } catch (RuntimeException e) {
        done.completeExceptionally(e);
        return;
      }
      if (!f.isDone()) {
        f.whenComplete(
            (v, e) ->
                user.loop()
                    .execute(
                        () -> {
                          if (e != null) {
                            done.completeExceptionally(e);
                          } else {
                            next();
                          }
                        }));
        return;
      }
      if (f.isCompletedExceptionally()) {
        f.whenComplete((v, e) -> done.completeExceptionally(e));
        return;
      }
    }
  }
}
