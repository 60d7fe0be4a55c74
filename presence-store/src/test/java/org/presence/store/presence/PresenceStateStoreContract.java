package org.presence.store.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.protocol.model.PresenceStatus.AWAY;
import static org.presence.protocol.model.PresenceStatus.OFFLINE;
import static org.presence.protocol.model.PresenceStatus.ONLINE;
import static org.presence.protocol.model.PresenceStatus.UNAVAILABLE;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

/**
 * The behaviour every {@link PresenceStateStore} must have. Runs against the in-process store
 * ({@code LocalPresenceStateStoreTest}) and Redis ({@code RedisPresenceStateStoreIT}, where the
 * peer is a second connection, as a second node would have).
 */
public abstract class PresenceStateStoreContract {
  protected PresenceStateStore store;
  protected PresenceStateStore peer;
  private static final UUID S1 = UUID.fromString("00000000-0000-0000-0000-000000000001");
  private static final UUID S2 = UUID.fromString("00000000-0000-0000-0000-000000000002");
  private static final UUID S9 = UUID.fromString("00000000-0000-0000-0000-000000000009");

  /** The device cap the tests claim with, unless they test the cap. */
  private static final int MAX_DEVICES = 10;

  private String user;
  private long clock = 1_700_000_000_000L;

  protected abstract PresenceStateStore open();

  /** A second store on the same medium (the same instance for the in-process store). */
  protected abstract PresenceStateStore openPeer();

  @BeforeEach
  void openStores() {
    store = open();
    peer = openPeer();
    user = "user-" + UUID.randomUUID();
  }

  @AfterEach
  void closeStores() {
    if (peer != store) {
      peer.close();
    }
    store.close();
  }

  protected static <T> T join(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private long tick() {
    clock += 1000;
    return clock;
  }

  private Claim claim(PresenceStateStore s, String device, UUID session, String node) {
    return join(s.claim(user, device, session, node, MAX_DEVICES, tick()));
  }

  private PresenceUpdate set(
      PresenceStateStore s, String device, UUID session, PresenceStatus st, String msg) {
    return set(s, device, session, st, msg, null);
  }

  private PresenceUpdate set(
      PresenceStateStore s,
      String device,
      UUID session,
      PresenceStatus st,
      String msg,
      ApplicationIds apps) {
    return join(s.update(user, device, session, st, msg, apps, tick()));
  }

  private PresenceUpdate release(PresenceStateStore s, String device, UUID session) {
    return join(s.release(user, device, session, tick()));
  }

  /** The changes without versions, as {@code app:status:message}. */
  private static List<String> seen(PresenceUpdate u) {
    List<String> out = new ArrayList<>();
    for (PresenceChange c : u.changes()) {
      out.add(c.appId() + ":" + c.status().wireName() + ":" + c.message());
    }
    return out;
  }

  /**
   * A page of users read at once (snapshots, statistics) answers what each read alone answers, in
   * the page's order: users of many slots on a Redis Cluster, an unknown user, one named twice.
   */
  @Test
  void presenceOfAPage_isEachUsersPresence_inOrder() {
    List<String> users = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String u = user + "-" + i;
      users.add(u);
      if (i % 4 == 3) {
        continue;
      }
      join(store.claim(u, "phone", S1, "n", MAX_DEVICES, tick()));
      PresenceStatus st = i % 4 == 0 ? ONLINE : i % 4 == 1 ? AWAY : UNAVAILABLE;
      ApplicationIds apps = i % 5 == 0 ? ApplicationIds.of(7L) : null;
      join(store.update(u, "phone", S1, st, i % 2 == 0 ? "m" + i : null, apps, tick()));
    }
    users.add("nobody-" + user);
    users.add(users.get(0));
    List<UserPresence> page = join(peer.presence(users));
    assertThat(page).hasSize(users.size());
    for (int i = 0; i < users.size(); i++) {
      assertThat(page.get(i)).as(users.get(i)).isEqualTo(join(store.presence(users.get(i))));
    }
    assertThat(page.get(0).seenBy(7).status()).isEqualTo(ONLINE);
    assertThat(page.get(0).seenBy(8).status()).isEqualTo(OFFLINE);
    assertThat(page.get(1).allApps().status()).isEqualTo(AWAY);
    assertThat(page.get(3).allApps()).isEqualTo(PresenceView.OFFLINE);
    assertThat(join(store.presence(List.of()))).isEmpty();
  }

  @Test
  void claim_whenNewDevice_thenNoPreviousOwnerAndNoStatus() {
    assertThat(claim(store, "phone", S1, "node-a")).isEqualTo(Claim.NONE);
    DeviceState d = join(store.devices(user)).get("phone");
    assertThat(d.status()).isNull();
    assertThat(d.session()).isEqualTo(S1);
    assertThat(d.node()).isEqualTo("node-a");
    assertThat(join(store.presence(user)).allApps().status()).isEqualTo(OFFLINE);
  }

  @Test
  void claim_whenOwned_thenReturnsFormerOwnerAndKeepsStatus() {
    claim(store, "phone", S1, "node-a");
    set(store, "phone", S1, ONLINE, "hi");
    Claim c = claim(peer, "phone", S2, "node-b");
    assertThat(c.replaced()).isTrue();
    assertThat(c).isEqualTo(new Claim(S1, "node-a"));
    DeviceState d = join(store.devices(user)).get("phone");
    assertThat(d.status()).isEqualTo(ONLINE);
    assertThat(d.message()).isEqualTo("hi");
    assertThat(d.session()).isEqualTo(S2);
    assertThat(d.node()).isEqualTo("node-b");
  }

  @Test
  void update_byOwner_thenChangeOnceThenNoDuplicate() {
    claim(store, "phone", S1, "n");
    assertThat(seen(set(store, "phone", S1, ONLINE, null))).containsExactly("0:online:null");
    assertThat(set(store, "phone", S1, ONLINE, null).changes()).isEmpty();
    assertThat(set(peer, "phone", S1, ONLINE, null).changes()).isEmpty();
    assertThat(seen(set(store, "phone", S1, ONLINE, "lunch"))).containsExactly("0:online:lunch");
    assertThat(seen(set(peer, "phone", S1, AWAY, "lunch"))).containsExactly("0:away:lunch");
    assertThat(join(store.presence(user)).allApps().message()).isEqualTo("lunch");
  }

  @Test
  void update_byOtherSession_thenNotOwnerAndNothingChanges() {
    claim(store, "phone", S1, "n");
    set(store, "phone", S1, ONLINE, null);
    claim(store, "phone", S2, "n");
    assertThat(set(store, "phone", S1, AWAY, null)).isEqualTo(PresenceUpdate.NOT_OWNER);
    assertThat(set(store, "ghost", S9, AWAY, null)).isEqualTo(PresenceUpdate.NOT_OWNER);
    assertThat(join(store.presence(user)).allApps().status()).isEqualTo(ONLINE);
  }

  @Test
  void update_whenMultiDevice_thenMostAvailableWithItsMessage() {
    claim(store, "phone", S1, "a");
    claim(peer, "laptop", S2, "b");
    assertThat(seen(set(store, "phone", S1, AWAY, "phone msg")))
        .containsExactly("0:away:phone msg");
    assertThat(seen(set(peer, "laptop", S2, ONLINE, "laptop msg")))
        .containsExactly("0:online:laptop msg");
    // Less available than the laptop: nothing the audience sees changes.
    assertThat(set(store, "phone", S1, UNAVAILABLE, "x").changes()).isEmpty();
    assertThat(seen(set(peer, "laptop", S2, OFFLINE, "bye"))).containsExactly("0:unavailable:x");
    // Offline means no message, whatever the device said.
    assertThat(seen(set(store, "phone", S1, OFFLINE, "gone"))).containsExactly("0:offline:null");
  }

  @Test
  void update_whenEquallyAvailable_thenLatestMessageWins() {
    claim(store, "phone", S1, "a");
    claim(store, "laptop", S2, "a");
    set(store, "phone", S1, ONLINE, "first");
    assertThat(seen(set(store, "laptop", S2, ONLINE, "second"))).containsExactly("0:online:second");
    assertThat(seen(set(store, "phone", S1, ONLINE, "third"))).containsExactly("0:online:third");
  }

  @Test
  void release_byOwner_thenDeviceGoneAndChange() {
    claim(store, "phone", S1, "a");
    claim(store, "laptop", S2, "a");
    set(store, "phone", S1, ONLINE, null);
    set(store, "laptop", S2, AWAY, null);
    assertThat(seen(release(peer, "phone", S1))).containsExactly("0:away:null");
    assertThat(join(store.devices(user))).containsOnlyKeys("laptop");
    assertThat(seen(release(store, "laptop", S2))).containsExactly("0:offline:null");
    assertThat(join(store.devices(user))).isEmpty();
  }

  @Test
  void release_afterReclaim_thenNotOwnerAndNoFlap() {
    claim(store, "phone", S1, "a");
    set(store, "phone", S1, ONLINE, null);
    claim(peer, "phone", S2, "b");
    // The old socket's grace period ends after the device came back: nothing happens.
    assertThat(release(store, "phone", S1)).isEqualTo(PresenceUpdate.NOT_OWNER);
    assertThat(join(store.presence(user)).allApps().status()).isEqualTo(ONLINE);
    assertThat(set(peer, "phone", S2, ONLINE, null).changes()).isEmpty();
  }

  @Test
  void release_whenNeverUpdated_thenNoChange() {
    claim(store, "phone", S1, "a");
    assertThat(release(store, "phone", S1).changes()).isEmpty();
    assertThat(join(store.devices(user))).isEmpty();
  }

  @Test
  void update_withoutSession_thenPushReportKeepsOwner() {
    assertThat(seen(set(store, "tablet", null, AWAY, null))).containsExactly("0:away:null");
    DeviceState d = join(store.devices(user)).get("tablet");
    assertThat(d.session()).isNull();
    claim(store, "tablet", S1, "a");
    assertThat(seen(set(peer, "tablet", null, ONLINE, null))).containsExactly("0:online:null");
    assertThat(join(store.devices(user)).get("tablet").session()).isEqualTo(S1);
  }

  @Test
  void update_withApplicationIds_thenOnlyThoseAudiencesChange() {
    claim(store, "phone", S1, "a");
    PresenceUpdate u = set(store, "phone", S1, ONLINE, "m", ApplicationIds.of(421, 492));
    assertThat(seen(u)).containsExactly("421:online:m", "492:online:m");
    assertThat(u.ownScopes()).isEqualTo(ApplicationIds.of(421, 492));
    UserPresence p = join(store.presence(user));
    assertThat(p.allApps().status()).isEqualTo(OFFLINE);
    assertThat(p.seenBy(421).status()).isEqualTo(ONLINE);
    assertThat(p.seenBy(7).status()).isEqualTo(OFFLINE);
  }

  @Test
  void update_whenOverrideThenBackToConnectList_thenEachAppOnceWithoutRepeats() {
    claim(store, "phone", S1, "a");
    ApplicationIds connectList = ApplicationIds.of(421, 492);
    assertThat(seen(set(store, "phone", S1, ONLINE, null, ApplicationIds.of(421))))
        .containsExactly("421:online:null");
    // Back to the connect list: only 492 learns something new.
    assertThat(seen(set(store, "phone", S1, ONLINE, null, connectList)))
        .containsExactly("492:online:null");
    assertThat(set(store, "phone", S1, ONLINE, null, connectList).changes()).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------
  // An update's list is for that update only: what each application sees

  /**
   * Issue 12 item 3: connected with [B], online for [A], then unavailable for the connect's [B].
   */
  @Test
  void update_whenListDoesNotNameAnApp_thenThatAppKeepsWhatItSaw() {
    long a = 421;
    long b = 492;
    claim(store, "phone", S1, "n");
    assertThat(seen(set(store, "phone", S1, ONLINE, null, ApplicationIds.of(a))))
        .containsExactly("421:online:null");
    PresenceUpdate u = set(peer, "phone", S1, UNAVAILABLE, null, ApplicationIds.of(b));
    assertThat(seen(u)).containsExactly("492:unavailable:null");
    assertThat(u.ownScopes()).isEqualTo(ApplicationIds.of(a, b));
    assertThat(seen(set(store, "phone", S1, AWAY, "brb", ApplicationIds.of(b))))
        .containsExactly("492:away:brb");
    UserPresence p = join(store.presence(user));
    assertThat(p.seenBy(a).status()).isEqualTo(ONLINE);
    assertThat(p.seenBy(b).status()).isEqualTo(AWAY);
    assertThat(p.seenBy(7).status()).isEqualTo(OFFLINE);
    DeviceState d = join(peer.devices(user)).get("phone");
    assertThat(d.earlier()).containsOnlyKeys(a);
    assertThat(d.earlier().get(a).status()).isEqualTo(ONLINE);
    // Named again: a learns the device's latest status for it.
    assertThat(seen(set(store, "phone", S1, AWAY, "brb", ApplicationIds.of(a, b))))
        .containsExactly("421:away:brb");
    // Released: every application that saw the device sees it go.
    assertThat(seen(release(peer, "phone", S1)))
        .containsExactly("421:offline:null", "492:offline:null");
  }

  @Test
  void update_whenListAfterUpdateForAll_thenOthersKeepTheStatusForAll() {
    claim(store, "phone", S1, "n");
    assertThat(seen(set(store, "phone", S1, ONLINE, null))).containsExactly("0:online:null");
    assertThat(seen(set(store, "phone", S1, AWAY, null, ApplicationIds.of(1))))
        .containsExactly("1:away:null");
    assertThat(seen(set(peer, "phone", S1, UNAVAILABLE, null, ApplicationIds.of(2))))
        .containsExactly("2:unavailable:null");
    UserPresence p = join(store.presence(user));
    assertThat(p.seenBy(1).status()).isEqualTo(AWAY);
    assertThat(p.seenBy(2).status()).isEqualTo(UNAVAILABLE);
    assertThat(p.seenBy(3).status()).isEqualTo(ONLINE);
    assertThat(p.allApps().status()).isEqualTo(ONLINE);
    // For every application again: 1 and 2 learn it, the shared audience saw it already.
    PresenceUpdate all = set(store, "phone", S1, ONLINE, null);
    assertThat(seen(all)).containsExactly("1:online:null", "2:online:null");
    assertThat(join(store.presence(user)).byApp()).isEmpty();
    assertThat(join(store.devices(user)).get("phone").earlier()).isEmpty();
  }

  @Test
  void update_whenOfflineForOneApp_thenItStaysOfflineForItWhileOthersChange() {
    claim(store, "phone", S1, "n");
    set(store, "phone", S1, ONLINE, "here");
    assertThat(seen(set(store, "phone", S1, OFFLINE, null, ApplicationIds.of(5))))
        .containsExactly("5:offline:null");
    assertThat(seen(set(store, "phone", S1, AWAY, null, ApplicationIds.of(6))))
        .containsExactly("6:away:null");
    UserPresence p = join(peer.presence(user));
    assertThat(p.seenBy(5).status()).isEqualTo(OFFLINE);
    assertThat(p.seenBy(6).status()).isEqualTo(AWAY);
    assertThat(p.seenBy(7).message()).isEqualTo("here");
  }

  @Test
  void update_whenOtherDeviceChangesForAnApp_thenEarlierStatusStillCounts() {
    claim(store, "phone", S1, "a");
    claim(peer, "laptop", S2, "b");
    set(store, "phone", S1, ONLINE, "phone", ApplicationIds.of(1));
    set(store, "phone", S1, UNAVAILABLE, null, ApplicationIds.of(2));
    // 1 still sees the phone online: the laptop's away changes nothing for it.
    assertThat(seen(set(peer, "laptop", S2, AWAY, null, ApplicationIds.of(1, 2))))
        .containsExactly("2:away:null");
    assertThat(seen(release(store, "phone", S1))).containsExactly("1:away:null");
  }

  @Test
  void update_whenMoreThanMaxEarlierAppsNamed_thenOldestForgotten() {
    claim(store, "phone", S1, "n");
    int max = DeviceState.MAX_EARLIER;
    for (long app = 1; app <= max + 1; app++) {
      assertThat(seen(set(store, "phone", S1, ONLINE, null, ApplicationIds.of(app))))
          .containsExactly(app + ":online:null");
    }
    assertThat(join(store.devices(user)).get("phone").earlier()).hasSize(max);
    // One more: the oldest (application 1) is forgotten and stops seeing the device.
    assertThat(seen(set(store, "phone", S1, ONLINE, null, ApplicationIds.of(max + 2))))
        .containsExactly("1:offline:null", (max + 2) + ":online:null");
    DeviceState d = join(peer.devices(user)).get("phone");
    assertThat(d.earlier()).hasSize(max).doesNotContainKey(1L).containsKey(2L);
    assertThat(join(store.presence(user)).byApp()).hasSize(max + 1);
  }

  // ---------------------------------------------------------------------------------------------
  // Devices per user

  @Test
  void claim_whenCapReached_thenNewDeviceRefusedAndNothingChanges() {
    for (int i = 0; i < 3; i++) {
      assertThat(join(store.claim(user, "d" + i, UUID.randomUUID(), "n", 3, tick())))
          .isEqualTo(Claim.NONE);
    }
    assertThat(join(peer.claim(user, "d3", S9, "m", 3, tick()))).isEqualTo(Claim.FULL);
    assertThat(join(store.devices(user))).containsOnlyKeys("d0", "d1", "d2");
    assertThat(join(store.devicesOn("m"))).isEmpty();
    // A device taking over its own earlier session does not count twice.
    Claim again = join(peer.claim(user, "d1", S2, "m", 3, tick()));
    assertThat(again.replaced()).isTrue();
    assertThat(again.full()).isFalse();
    // A device a push server reports for has no session: it does not count.
    set(store, "d1~push", null, AWAY, null);
    assertThat(join(peer.claim(user, "d3", S9, "m", 3, tick()))).isEqualTo(Claim.FULL);
    // Once a device is released, there is room again.
    release(store, "d1", S2);
    assertThat(join(peer.claim(user, "d3", S9, "m", 3, tick()))).isEqualTo(Claim.NONE);
    assertThat(join(peer.claim(user, "d4", S1, "m", 3, tick()))).isEqualTo(Claim.FULL);
  }

  @Test
  void claim_whenRefusedForNewUser_thenNothingKept() {
    assertThat(join(store.claim(user, "phone", S1, "n", 0, tick()))).isEqualTo(Claim.FULL);
    assertThat(join(peer.devices(user))).isEmpty();
  }

  /** Two nodes claim many devices of one user at once: the cap holds exactly. */
  @Test
  void claim_whenTwoNodesRace_thenCapHoldsExactly() {
    int cap = 4;
    List<CompletionStage<Claim>> claims = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      PresenceStateStore s = i % 2 == 0 ? store : peer;
      claims.add(s.claim(user, "dev-" + i, UUID.randomUUID(), "node-" + (i % 2), cap, tick()));
    }
    long granted =
        claims.stream().map(PresenceStateStoreContract::join).filter(c -> !c.full()).count();
    assertThat(granted).isEqualTo(cap);
    assertThat(join(store.devices(user))).hasSize(cap);
  }

  @Test
  void update_whenDeviceWithoutListJoinsDevicesWithLists_thenSharedAudienceAndOwnScopes() {
    claim(store, "phone", S1, "a");
    claim(store, "laptop", S2, "a");
    set(store, "phone", S1, ONLINE, null, ApplicationIds.of(421));
    PresenceUpdate u = set(store, "laptop", S2, AWAY, null, null);
    // 421 sees the phone (online) already; everyone else now sees the laptop.
    assertThat(seen(u)).containsExactly("0:away:null");
    assertThat(u.ownScopes()).isEqualTo(ApplicationIds.of(421));
    // The phone goes: 421 falls back to what everyone sees, told once.
    PresenceUpdate r = release(store, "phone", S1);
    assertThat(seen(r)).containsExactly("421:away:null");
    assertThat(join(store.presence(user)).byApp()).isEmpty();
    // Now a change for everyone reaches 421 through the shared audience.
    PresenceUpdate o = set(store, "laptop", S2, ONLINE, null, null);
    assertThat(seen(o)).containsExactly("0:online:null");
    assertThat(o.ownScopes().isEmpty()).isTrue();
  }

  @Test
  void update_whenEmptyList_thenNoAudienceSeesIt() {
    claim(store, "phone", S1, "a");
    assertThat(set(store, "phone", S1, ONLINE, null, ApplicationIds.NONE).changes()).isEmpty();
    assertThat(join(store.presence(user)).allApps().status()).isEqualTo(OFFLINE);
  }

  @Test
  void versions_increaseWithEveryChange() {
    claim(store, "phone", S1, "a");
    long v1 = set(store, "phone", S1, ONLINE, null).changes().get(0).version();
    long v2 = set(peer, "phone", S1, AWAY, null).changes().get(0).version();
    long v3 = release(store, "phone", S1).changes().get(0).version();
    assertThat(v1).isPositive();
    assertThat(v2).isGreaterThan(v1);
    assertThat(v3).isGreaterThan(v2);
  }

  /**
   * A user whose last device went (the state has nothing left to show) and who comes back in the
   * same millisecond, or through a node whose clock is behind, still gets a version above the
   * offline change's: the update log's per-PUID guard drops a change not newer than the last one it
   * took, so an equal or lower version would leave the applications showing the user offline.
   */
  @Test
  void versions_whenTheLastDeviceGoesAndTheUserComesBack_thenStillIncrease() {
    long t = tick();
    join(store.claim(user, "phone", S1, "a", MAX_DEVICES, t));
    long online = version(join(store.update(user, "phone", S1, ONLINE, null, null, t)));
    long offline = version(join(store.release(user, "phone", S1, t)));
    assertThat(offline).isGreaterThan(online);

    // Back in the same millisecond, through the other node.
    join(peer.claim(user, "phone", S2, "b", MAX_DEVICES, t));
    long back = version(join(peer.update(user, "phone", S2, ONLINE, null, null, t)));
    assertThat(back).isGreaterThan(offline);

    // Gone again a second later, and back through a node whose clock is five seconds behind.
    long offlineAgain = version(join(peer.release(user, "phone", S2, t + 1000)));
    assertThat(offlineAgain).isGreaterThan(back);
    join(store.claim(user, "laptop", S9, "a", MAX_DEVICES, t - 4000));
    long behind = version(join(store.update(user, "laptop", S9, AWAY, null, null, t - 4000)));
    assertThat(behind).isGreaterThan(offlineAgain);
    assertThat(join(store.presence(user)).allApps().status()).isEqualTo(AWAY);
  }

  /** The version of the single change of {@code u}. */
  private static long version(PresenceUpdate u) {
    assertThat(u.changes()).hasSize(1);
    return u.changes().get(0).version();
  }

  @Test
  void state_whenEverythingReleased_thenForgotten() {
    claim(store, "phone", S1, "a");
    set(store, "phone", S1, ONLINE, "x", ApplicationIds.of(5));
    release(store, "phone", S1);
    assertThat(join(store.devices(user))).isEmpty();
    UserPresence p = join(store.presence(user));
    assertThat(p.allApps().sameAs(PresenceView.OFFLINE)).isTrue();
    assertThat(p.byApp()).isEmpty();
  }

  @Test
  void messages_keepEveryCharacter() {
    claim(store, "phone", S1, "a");
    String m = "naïve \"quoted\" \\ 🎣 \u0000 end";
    assertThat(set(store, "phone", S1, ONLINE, m).changes().get(0).message()).isEqualTo(m);
    assertThat(join(peer.devices(user)).get("phone").message()).isEqualTo(m);
  }

  // The user's own messages (settings): a status without a message carries them.

  private static final UserMessages MINE = new UserMessages("At my desk", "Back soon");

  private PresenceUpdate set(
      PresenceStateStore s,
      String device,
      UUID session,
      PresenceStatus st,
      String msg,
      ApplicationIds apps,
      UserMessages mine) {
    return join(s.update(user, device, session, st, msg, apps, mine, tick()));
  }

  @Test
  void userMessages_statusWithoutMessage_carriesCustomStatusOrAwayMessage_ownMessageWins() {
    claim(store, "phone", S1, "a");
    assertThat(seen(set(store, "phone", S1, ONLINE, null, null, MINE)))
        .containsExactly("0:online:At my desk");
    // The device's own message wins; "" is none.
    assertThat(seen(set(peer, "phone", S1, ONLINE, "lunch", null, MINE)))
        .containsExactly("0:online:lunch");
    assertThat(seen(set(store, "phone", S1, ONLINE, "", null, MINE)))
        .containsExactly("0:online:At my desk");
    assertThat(seen(set(store, "phone", S1, AWAY, null, null, MINE)))
        .containsExactly("0:away:Back soon");
    assertThat(seen(set(peer, "phone", S1, UNAVAILABLE, null, null, MINE)))
        .containsExactly("0:unavailable:Back soon");
    // A device that names its own message, equal to the effective one: not a change.
    assertThat(set(store, "phone", S1, UNAVAILABLE, "Back soon", null, MINE).changes()).isEmpty();
    // Kept without being passed again (a push report, a release).
    assertThat(seen(set(store, "phone", S1, ONLINE, null))).containsExactly("0:online:At my desk");
    assertThat(seen(set(store, "phone", S1, OFFLINE, null, null, MINE)))
        .containsExactly("0:offline:null");
  }

  @Test
  void userMessages_changed_reannounceCurrentPresenceOnce_toEveryAudienceThatSeesThem() {
    claim(store, "phone", S1, "a");
    claim(store, "laptop", S2, "a");
    set(store, "phone", S1, ONLINE, null, null, MINE);
    set(store, "laptop", S2, AWAY, null, ApplicationIds.of(421), MINE);
    long before = join(store.presence(user)).allApps().version();
    PresenceUpdate u = join(peer.messages(user, new UserMessages("Coding", "Lunch"), tick()));
    // The shared audience sees the phone (online), 421 sees the phone too (more available).
    assertThat(seen(u)).containsExactly("0:online:Coding", "421:online:Coding");
    assertThat(u.changes().get(0).version()).isGreaterThan(before);
    assertThat(join(store.messages(user, new UserMessages("Coding", "Lunch"), tick())).changes())
        .isEmpty();
    // Only the away message changes: the phone is online, nobody sees a difference.
    assertThat(join(store.messages(user, new UserMessages("Coding", "Gone"), tick())).changes())
        .isEmpty();
    // The phone goes offline: only 421 sees the laptop (away), with the away message.
    assertThat(seen(set(store, "phone", S1, OFFLINE, null)))
        .containsExactly("0:offline:null", "421:away:Gone");
    assertThat(seen(join(peer.messages(user, new UserMessages("Coding", "Later"), tick()))))
        .containsExactly("421:away:Later");
    // A device with its own message is not touched by a change of the user's messages.
    assertThat(seen(set(store, "laptop", S2, AWAY, "mine", ApplicationIds.of(421))))
        .containsExactly("421:away:mine");
    assertThat(join(store.messages(user, UserMessages.NONE, tick())).changes()).isEmpty();
    // Clearing them: a status without a message has none again.
    assertThat(seen(set(store, "laptop", S2, AWAY, null, ApplicationIds.of(421), MINE)))
        .containsExactly("421:away:Back soon");
    assertThat(seen(join(store.messages(user, UserMessages.NONE, tick()))))
        .containsExactly("421:away:null");
  }

  @Test
  void userMessages_changedForAUserWithoutDevices_thenNothingAndNothingKept() {
    assertThat(join(store.messages(user, MINE, tick())).changes()).isEmpty();
    assertThat(join(store.devices(user))).isEmpty();
    assertThat(join(store.presence(user)).allApps().sameAs(PresenceView.OFFLINE)).isTrue();
  }

  @Test
  void users_areIndependent() {
    claim(store, "phone", S1, "a");
    set(store, "phone", S1, ONLINE, null);
    String other = "other-" + UUID.randomUUID();
    assertThat(join(store.devices(other))).isEmpty();
    assertThat(join(store.claim(other, "phone", S1, "a", MAX_DEVICES, tick())))
        .isEqualTo(Claim.NONE);
    Map<String, DeviceState> mine = join(store.devices(user));
    assertThat(mine).containsOnlyKeys("phone");
  }

  @Test
  void releaseOrphans_releasesOnlyDevicesOfNodesNotAlive_changeReportedOnce() {
    String dead = "node-dead-" + UUID.randomUUID();
    String live = "node-live-" + UUID.randomUUID();
    claim(store, "phone", S1, dead);
    set(store, "phone", S1, ONLINE, "on the dead node");
    claim(store, "laptop", S2, live);
    set(store, "laptop", S2, AWAY, null);
    set(store, "pushed", null, UNAVAILABLE, null);
    // The laptop on a live node stays, as does the push report (no owning session): away shows.
    assertThat(seen(join(store.releaseOrphans(user, List.of(live), tick()))))
        .containsExactly("0:away:null");
    assertThat(join(store.devices(user))).containsOnlyKeys("laptop", "pushed");
    // Found again by another caller: nothing left to release, nothing to report.
    assertThat(join(peer.releaseOrphans(user, List.of(live), tick())).changes()).isEmpty();
    // Once the laptop's node is gone too, unavailable (the push report) is what is left.
    assertThat(seen(join(peer.releaseOrphans(user, List.of(), tick()))))
        .containsExactly("0:unavailable:null");
    assertThat(join(store.devices(user))).containsOnlyKeys("pushed");
  }

  @Test
  void releaseOrphans_ofAnAppScopedDevice_reportsItsApplicationOnly() {
    String dead = "node-dead-" + UUID.randomUUID();
    claim(store, "phone", S1, dead);
    set(store, "phone", S1, ONLINE, null, ApplicationIds.of(42));
    assertThat(seen(join(peer.releaseOrphans(user, List.of("other"), tick()))))
        .containsExactly("42:offline:null");
  }

  @Test
  void sweep_findsEveryUsersOrphans_onceAcrossPages() {
    String dead = "node-dead-" + UUID.randomUUID();
    String live = "node-live-" + UUID.randomUUID();
    List<String> users = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      String u = user + "-" + i;
      users.add(u);
      join(store.claim(u, "d", S1, i % 5 == 0 ? live : dead, MAX_DEVICES, tick()));
      join(store.update(u, "d", S1, ONLINE, null, null, tick()));
    }
    List<String> released = new ArrayList<>();
    String cursor = "0";
    int pages = 0;
    do {
      PresenceStateStore.SweepPage p = join(peer.sweep(cursor, 7, List.of(live), tick()));
      for (PresenceStateStore.Released r : p.released()) {
        if (users.contains(r.user())) {
          assertThat(seen(r.update())).containsExactly("0:offline:null");
          released.add(r.user());
        }
      }
      cursor = p.cursor();
      pages++;
    } while (!"0".equals(cursor) && pages < 10_000);
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < users.size(); i++) {
      if (i % 5 != 0) {
        expected.add(users.get(i));
      }
    }
    // Other tests' users may be swept too; ours each once.
    assertThat(released).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(join(store.presence(users.get(0))).allApps().status()).isEqualTo(ONLINE);
    // A second sweep finds nothing of ours.
    List<String> again = new ArrayList<>();
    cursor = "0";
    pages = 0;
    do {
      PresenceStateStore.SweepPage p = join(peer.sweep(cursor, 7, List.of(live), tick()));
      p.released().forEach(r -> again.add(r.user()));
      cursor = p.cursor();
      pages++;
    } while (!"0".equals(cursor) && pages < 10_000);
    assertThat(again).doesNotContainAnyElementsOf(users);
  }

  @Test
  void devicesOn_followsClaimsAndReleases() {
    String a = "node-a-" + UUID.randomUUID();
    String b = "node-b-" + UUID.randomUUID();
    claim(store, "phone", S1, a);
    claim(store, "laptop", S2, a);
    assertThat(join(peer.devicesOn(a)))
        .containsExactlyInAnyOrder(
            new PresenceStateStore.OwnedDevice(user, "phone", S1),
            new PresenceStateStore.OwnedDevice(user, "laptop", S2));
    claim(peer, "phone", S9, b);
    assertThat(join(store.devicesOn(a)))
        .containsExactly(new PresenceStateStore.OwnedDevice(user, "laptop", S2));
    assertThat(join(store.devicesOn(b)))
        .containsExactly(new PresenceStateStore.OwnedDevice(user, "phone", S9));
    release(store, "laptop", S2);
    assertThat(join(store.devicesOn(a))).isEmpty();
    set(store, "phone", null, AWAY, null);
    assertThat(join(store.devicesOn(b)))
        .as("a push report keeps the owner")
        .containsExactly(new PresenceStateStore.OwnedDevice(user, "phone", S9));
  }

  @Test
  void devicesOn_aDeadNodesDevices_releasedByTwoSurvivorsAtOnce_changeOnce() {
    String dead = "node-dead-" + UUID.randomUUID();
    String odd = "odd:user 🎣 " + UUID.randomUUID();
    claim(store, "phone", S1, dead);
    set(store, "phone", S1, ONLINE, "here");
    join(store.claim(odd, "dev:ice", S2, dead, MAX_DEVICES, tick()));
    join(store.update(odd, "dev:ice", S2, AWAY, null, null, tick()));
    List<PresenceStateStore.OwnedDevice> left = join(peer.devicesOn(dead));
    assertThat(left)
        .containsExactlyInAnyOrder(
            new PresenceStateStore.OwnedDevice(user, "phone", S1),
            new PresenceStateStore.OwnedDevice(odd, "dev:ice", S2));
    List<String> changes = new ArrayList<>();
    for (PresenceStateStore.OwnedDevice d : left) {
      for (PresenceStateStore s : List.of(store, peer)) {
        changes.addAll(
            seen(join(s.release(d.user(), d.device(), d.session(), tick()))).stream()
                .map(c -> d.user() + "=" + c)
                .toList());
      }
    }
    assertThat(changes)
        .containsExactlyInAnyOrder(user + "=0:offline:null", odd + "=0:offline:null");
    assertThat(join(store.devicesOn(dead))).isEmpty();
    join(store.forgetNode(dead));
    assertThat(join(peer.devicesOn(dead))).isEmpty();
  }
}
