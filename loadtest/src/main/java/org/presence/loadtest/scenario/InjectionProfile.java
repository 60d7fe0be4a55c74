package org.presence.loadtest.scenario;

import java.time.Duration;
import java.util.List;

/**
 * A population's injection steps run one after another: the schedule of every user's start. The
 * {@link #slice} of one injector process holds every n-th user, so n processes together start the
 * same users at the same times as one process would.
 */
public final class InjectionProfile {
  private final List<Injection> steps;
  private final long[] firstUser;
  private final long[] stepStartNanos;
  private final long users;
  private final Duration duration;

  /** The steps in order. */
  public InjectionProfile(List<Injection> steps) {
    this.steps = List.copyOf(steps);
    this.firstUser = new long[this.steps.size()];
    this.stepStartNanos = new long[this.steps.size()];
    long u = 0;
    long t = 0;
    for (int i = 0; i < this.steps.size(); i++) {
      firstUser[i] = u;
      stepStartNanos[i] = t;
      u += this.steps.get(i).users();
      t += this.steps.get(i).duration().toNanos();
    }
    this.users = u;
    this.duration = Duration.ofNanos(t);
  }

  /** The steps. */
  public List<Injection> steps() {
    return steps;
  }

  /** Users started over the whole profile. */
  public long users() {
    return users;
  }

  /** Time from the first step's start to the last step's end. */
  public Duration duration() {
    return duration;
  }

  /** When user {@code i} (0 ≤ i &lt; users) starts, nanoseconds from the profile's start. */
  public long offsetNanos(long i) {
    if (i < 0 || i >= users) {
      throw new IndexOutOfBoundsException("user " + i + " of " + users);
    }
    int step = steps.size() - 1;
    while (firstUser[step] > i || steps.get(step).users() == 0) {
      step--;
    }
    return stepStartNanos[step] + steps.get(step).offsetNanos(i - firstUser[step]);
  }

  /** The users of injector {@code index} of {@code count}: {@code index, index+count, ...}. */
  public long sliceSize(int index, int count) {
    if (users <= index) {
      return 0;
    }
    return (users - index + count - 1) / count;
  }
}
