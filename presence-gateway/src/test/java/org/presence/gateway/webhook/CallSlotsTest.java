package org.presence.gateway.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The order in which waiting webhook calls get the node's slots. */
class CallSlotsTest {
  private final List<String> started = new ArrayList<>();

  private Runnable call(String name) {
    return () -> started.add(name);
  }

  @Test
  void waitingCalls_startInOrder_developersTakingTurns() {
    CallSlots slots = new CallSlots(1, 1, Runnable::run);
    slots.request("A", call("a1"));
    slots.request("A", call("a2"));
    slots.request("A", call("a3"));
    slots.request("B", call("b1"));
    slots.request("C", call("c1"));
    assertThat(started).containsExactly("a1");
    for (String owner : List.of("A", "A", "B", "C", "A")) {
      slots.release(owner);
    }
    // A waited first and goes first; then B and C have their turns before A's third call.
    assertThat(started).containsExactly("a1", "a2", "b1", "c1", "a3");
    assertThat(slots.inFlight()).isZero();
    assertThat(slots.waiting()).isZero();
  }

  @Test
  void oneDevelopersCalls_neverTakeMoreThanTheirShare() {
    CallSlots slots = new CallSlots(3, 2, Runnable::run);
    for (int i = 0; i < 5; i++) {
      slots.request("slow-dev", call("s" + i));
    }
    slots.request("other", call("o1"));
    assertThat(started).containsExactly("s0", "s1", "o1");
    assertThat(slots.waiting()).isEqualTo(3);
    slots.release("other");
    assertThat(started).as("the freed slot is not the slow developer's third").hasSize(3);
    slots.release("slow-dev");
    assertThat(started).containsExactly("s0", "s1", "o1", "s2");
  }

  @Test
  void aWithdrawnCall_neverStarts() {
    CallSlots slots = new CallSlots(1, 1, Runnable::run);
    slots.request("A", call("a1"));
    CallSlots.Ticket t = slots.request("B", call("b1"));
    slots.request("C", call("c1"));
    assertThat(t.cancel()).isTrue();
    slots.release("A");
    assertThat(started).containsExactly("a1", "c1");
  }
}
