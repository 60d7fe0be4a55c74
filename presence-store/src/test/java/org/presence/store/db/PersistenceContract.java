package org.presence.store.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.app.AppRepository;
import org.presence.store.app.AppState;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;
import org.presence.store.permission.Grant;
import org.presence.store.permission.GrantRepository;
import org.presence.store.permission.PuidState;
import org.presence.store.testing.Sql;
import org.presence.store.user.UserSettings;

/**
 * The behaviour every {@link Persistence} must have. Runs against the embedded database ({@code
 * EmbeddedPersistenceTest}) and PostgreSQL ({@code PostgresPersistenceIT}), so the two cannot drift
 * apart.
 */
public abstract class PersistenceContract {
  protected Persistence persistence;

  /** Opens the implementation under test over empty (or reused, on reopen) storage. */
  protected abstract Persistence open();

  @BeforeEach
  void openPersistence() {
    persistence = open();
  }

  @AfterEach
  void closePersistence() {
    if (persistence != null) {
      persistence.close();
    }
  }

  protected static <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private Application register(String owner, String name) {
    return await(
        persistence
            .apps()
            .create(
                new NewApplication(
                    name,
                    name.toLowerCase() + ".example.com",
                    "about " + name,
                    owner,
                    owner + "@example.com",
                    "k".repeat(1024))));
  }

  @Test
  void ping_answers() {
    assertThat(await(persistence.ping())).isNull();
  }

  @Test
  void createApp_assignsAPositiveIdAndRegisteredState() {
    Application app = register("dev-1", "BeerChat");
    assertThat(app.id()).isPositive();
    assertThat(app.state()).isEqualTo(AppState.REGISTERED);
    assertThat(app.apiKeyHash()).isNull();
    assertThat(app.verificationKey()).hasSize(1024);
    assertThat(await(persistence.apps().find(app.id()))).contains(app);
  }

  @Test
  void createApp_idsAreUnique() {
    Application a = register("dev-1", "A");
    Application b = register("dev-1", "B");
    assertThat(a.id()).isNotEqualTo(b.id());
  }

  protected static NewApplication keyed(String owner, String name, String registerKey) {
    return new NewApplication(
        name,
        name.toLowerCase() + ".example.com",
        "about " + name,
        owner,
        owner + "@example.com",
        "k".repeat(1024),
        registerKey);
  }

  @Test
  void createApp_withARegisterKeyItsOwnerUsed_returnsThatApplication_andStoresNothingNew() {
    AppRepository apps = persistence.apps();
    String form = "form-0123456789abcdef";
    Application first = await(apps.create(keyed("dev-k", "First", form)));
    // The same form sent again (to any node), even with other fields: the first one's application.
    Application again = await(apps.create(keyed("dev-k", "Second", form)));
    assertThat(again).isEqualTo(first);
    assertThat(await(apps.listByOwner("dev-k"))).containsExactly(first);
    // Another developer's key never collides with it, nor do applications made without a key.
    Application theirs = await(apps.create(keyed("dev-l", "First", form)));
    assertThat(theirs.id()).isNotEqualTo(first.id());
    Application a = register("dev-k", "NoKeyA");
    Application b = register("dev-k", "NoKeyB");
    assertThat(List.of(first.id(), a.id(), b.id())).doesNotHaveDuplicates();
    assertThat(await(apps.listByOwner("dev-k"))).hasSize(3);
  }

  @Test
  void createApp_theSameRegisterKeyAtOnce_makesOneApplication() {
    AppRepository apps = persistence.apps();
    List<CompletableFuture<Application>> calls = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      calls.add(
          apps.create(keyed("dev-race", "Race" + i, "form-race-0123456789")).toCompletableFuture());
    }
    List<Long> ids = calls.stream().map(c -> await(c).id()).distinct().toList();
    assertThat(ids).hasSize(1);
    assertThat(await(apps.listByOwner("dev-race"))).hasSize(1);
  }

  @Test
  void createAppWithin_registrationsAtOnce_neverPassTheLimitTogether() {
    AppRepository apps = persistence.apps();
    // A first registration of each developer (no lock row yet) and one with rows already there.
    for (String owner : List.of("dev-cap-new", "dev-cap-old")) {
      if (owner.equals("dev-cap-old")) {
        await(apps.create(keyed(owner, "Before", null)));
      }
      List<CompletableFuture<Optional<Application>>> calls = new java.util.ArrayList<>();
      for (int i = 0; i < 8; i++) {
        calls.add(apps.createWithin(keyed(owner, "Cap" + i, null), 3).toCompletableFuture());
      }
      long made = calls.stream().filter(c -> await(c).isPresent()).count();
      assertThat(await(apps.listByOwner(owner))).hasSize(3);
      assertThat(made).isEqualTo(owner.equals("dev-cap-new") ? 3 : 2);
    }
  }

  @Test
  void createAppWithin_afterTheDevelopersLockRowWasDeleted_makesItAgain() {
    AppRepository apps = persistence.apps();
    await(apps.createWithin(keyed("dev-gone", "First", null), 2));
    persistence.db().jdbi().useHandle(h -> h.execute("DELETE FROM app_owners"));
    assertThat(await(apps.createWithin(keyed("dev-gone", "Second", null), 2))).isPresent();
    assertThat(await(apps.createWithin(keyed("dev-gone", "Third", null), 2))).isEmpty();
  }

  @Test
  void createAppWithin_atTheLimit_refusesANewOne_butAnswersAKeyItsOwnerUsed() {
    AppRepository apps = persistence.apps();
    String form = "form-limit-0123456789";
    Application first = await(apps.createWithin(keyed("dev-lim", "First", form), 1)).orElseThrow();
    assertThat(await(apps.createWithin(keyed("dev-lim", "First", form), 1))).contains(first);
    assertThat(await(apps.createWithin(keyed("dev-lim", "Second", "form-other-0123456"), 1)))
        .isEmpty();
    assertThat(await(apps.createWithin(keyed("dev-lim", "Third", null), 1))).isEmpty();
    assertThat(await(apps.listByOwner("dev-lim"))).containsExactly(first);
    // Another developer's count is their own.
    assertThat(await(apps.createWithin(keyed("dev-lim2", "First", null), 1))).isPresent();
  }

  @Test
  void findApp_whenUnknown_thenEmpty() {
    assertThat(await(persistence.apps().find(987_654_321L))).isEmpty();
  }

  @Test
  void findAllApps_readsManyIdsAtOnce_inSlices_unknownIdsLeftOut() {
    Application a = register("owner-f", "FA");
    Application b = register("owner-f", "FB");
    await(persistence.apps().markVerified(b.id()));
    Application verified = await(persistence.apps().find(b.id())).orElseThrow();
    List<Long> asked = new java.util.ArrayList<>();
    // More unknown ids than one slice holds, the known ones in the last slice, one of them twice.
    for (long i = 0; i < AppRepository.FIND_ALL_SLICE + 20; i++) {
      asked.add(900_000_000L + i);
    }
    asked.add(b.id());
    asked.add(a.id());
    asked.add(b.id());

    java.util.Map<Long, Application> found = await(persistence.apps().findAll(asked));

    assertThat(found).containsOnlyKeys(a.id(), b.id());
    assertThat(found.get(a.id())).isEqualTo(a);
    assertThat(found.get(b.id())).isEqualTo(verified);
    assertThat(await(persistence.apps().findAll(List.of()))).isEmpty();
    assertThat(await(persistence.apps().findAll(List.of(987_654_321L)))).isEmpty();
  }

  @Test
  void listByOwner_returnsOnlyTheOwnersAppsOldestFirst() {
    Application a = register("owner-a", "First");
    register("owner-b", "Other");
    Application c = register("owner-a", "Second");
    List<Application> mine = await(persistence.apps().listByOwner("owner-a"));
    assertThat(mine).extracting(Application::id).containsExactly(a.id(), c.id());
  }

  @Test
  void listWithWebhook_listsAppsWithAWebhookInIdOrder_byPages() {
    Application a = register("dev", "Hooked A");
    Application none = register("dev", "No hook");
    Application c = register("dev", "Hooked C");
    Application d = register("dev", "Hooked D");
    await(persistence.apps().setWebhook(a.id(), "https://a.example.com/h", "s"));
    await(persistence.apps().setWebhook(c.id(), "https://c.example.com/h", "s"));
    await(persistence.apps().setWebhook(d.id(), "https://d.example.com/h", "s"));
    List<Application> first = await(persistence.apps().listWithWebhook(a.id() - 1, 2));
    assertThat(first).extracting(Application::id).containsExactly(a.id(), c.id());
    assertThat(first.get(0).webhookUrl()).isEqualTo("https://a.example.com/h");
    assertThat(await(persistence.apps().listWithWebhook(c.id(), 2)))
        .extracting(Application::id)
        .containsExactly(d.id());
    assertThat(await(persistence.apps().listWithWebhook(a.id() - 1, 10)))
        .extracting(Application::id)
        .doesNotContain(none.id());
  }

  @Test
  void activate_whenNotVerified_thenRefused() {
    Application app = register("dev", "X");
    assertThat(await(persistence.apps().activate(app.id(), "hash"))).isEmpty();
    assertThat(await(persistence.apps().find(app.id())).orElseThrow().state())
        .isEqualTo(AppState.REGISTERED);
  }

  @Test
  void lifecycle_verifyActivateRegenerateDeactivate() {
    Application app = register("dev", "X");
    Application verified = await(persistence.apps().markVerified(app.id())).orElseThrow();
    assertThat(verified.state()).isEqualTo(AppState.VERIFIED);

    Application active = await(persistence.apps().activate(app.id(), "h1")).orElseThrow();
    assertThat(active.state()).isEqualTo(AppState.ACTIVE);
    assertThat(active.apiKeyHash()).isEqualTo("h1");
    assertThat(active.active()).isTrue();

    Application regenerated = await(persistence.apps().activate(app.id(), "h2")).orElseThrow();
    assertThat(regenerated.apiKeyHash()).isEqualTo("h2");

    // Verifying again does not drop an active app back.
    assertThat(await(persistence.apps().markVerified(app.id())).orElseThrow().state())
        .isEqualTo(AppState.ACTIVE);

    Application inactive = await(persistence.apps().deactivate(app.id())).orElseThrow();
    assertThat(inactive.state()).isEqualTo(AppState.VERIFIED);
    assertThat(inactive.apiKeyHash()).isNull();
    assertThat(await(persistence.apps().deactivate(app.id()))).isEmpty();
  }

  @Test
  void suspend_dropsTheKey_andOnlyResumeActivatesIt() {
    AppRepository apps = persistence.apps();
    Application app = register("dev", "Held");
    assertThat(await(apps.suspend(app.id()))).as("its domain not proven yet").isEmpty();
    await(apps.markVerified(app.id()));
    await(apps.activate(app.id(), "h1"));
    Application held = await(apps.suspend(app.id())).orElseThrow();
    assertThat(await(apps.suspend(app.id()))).as("suspended already").isEmpty();
    assertThat(held.suspended()).isTrue();
    assertThat(held.state()).isEqualTo(AppState.VERIFIED);
    assertThat(held.apiKeyHash()).isNull();
    assertThat(await(apps.activate(app.id(), "h2"))).as("the developer's activate").isEmpty();
    assertThat(await(apps.find(app.id())).orElseThrow().suspended()).isTrue();
    Application resumed = await(apps.resume(app.id(), "h3")).orElseThrow();
    assertThat(resumed.suspended()).isFalse();
    assertThat(resumed.active()).isTrue();
    assertThat(resumed.apiKeyHash()).isEqualTo("h3");
    assertThat(await(apps.resume(app.id(), "h4"))).as("not suspended").isEmpty();
    // Deactivated by its developer: not suspended, so not the operator's to resume.
    await(apps.deactivate(app.id()));
    assertThat(await(apps.resume(app.id(), "h5"))).isEmpty();
    // ...but the operator may suspend it as it is (verified, without a key): then it is theirs,
    // and their resume puts it back as it was, verified without a key, its developer's again.
    Application deactivatedHeld = await(apps.suspend(app.id())).orElseThrow();
    assertThat(deactivatedHeld.suspended()).isTrue();
    assertThat(await(apps.activate(app.id(), "h6"))).isEmpty();
    Application back = await(apps.resume(app.id(), "h7")).orElseThrow();
    assertThat(back.suspended()).isFalse();
    assertThat(back.state()).isEqualTo(AppState.VERIFIED);
    assertThat(back.apiKeyHash()).isNull();
    assertThat(await(apps.activate(app.id(), "h8")).orElseThrow().apiKeyHash()).isEqualTo("h8");
    // Suspended again while active: resumed active, with the new key.
    await(apps.suspend(app.id()));
    assertThat(await(apps.resume(app.id(), "h9")).orElseThrow().apiKeyHash()).isEqualTo("h9");
  }

  @Test
  void setWebhook_setsAndClears() {
    Application app = register("dev", "Hooked");
    Application set =
        await(persistence.apps().setWebhook(app.id(), "https://hooked.example.com/h", "s3cret"))
            .orElseThrow();
    assertThat(set.webhookUrl()).isEqualTo("https://hooked.example.com/h");
    assertThat(set.webhookSecret()).isEqualTo("s3cret");
    Application cleared = await(persistence.apps().setWebhook(app.id(), null, null)).orElseThrow();
    assertThat(cleared.webhookUrl()).isNull();
    assertThat(await(persistence.apps().setWebhook(123_456_789L, "x", "y"))).isEmpty();
  }

  @Test
  void grant_sameUserAppAndString_returnsTheSamePuid() {
    Application app = register("dev", "G");
    Grant first = await(persistence.grants().grant("user-1", app.id(), "Fred"));
    Grant again = await(persistence.grants().grant("user-1", app.id(), "Fred"));
    assertThat(again.puid()).isEqualTo(first.puid());
    assertThat(first.enabled()).isTrue();
    assertThat(first.puid()).matches("[A-Za-z0-9_-]{43}");
  }

  @Test
  void grant_otherStringOrApp_makesAnUnlinkedPuid() {
    Application a = register("dev", "A");
    Application b = register("dev", "B");
    Grant fred = await(persistence.grants().grant("user-1", a.id(), "Fred"));
    Grant marge = await(persistence.grants().grant("user-1", a.id(), "Marge"));
    Grant atB = await(persistence.grants().grant("user-1", b.id(), "Fred"));
    assertThat(List.of(fred.puid(), marge.puid(), atB.puid())).doesNotHaveDuplicates();
    assertThat(fred.puid()).doesNotContain("user-1");
  }

  @Test
  void grant_concurrentSameTriple_endsWithOnePuid() {
    Application app = register("dev", "Race");
    List<CompletableFuture<Grant>> racing =
        java.util.stream.IntStream.range(0, 8)
            .mapToObj(
                i -> persistence.grants().grant("racer", app.id(), "Same").toCompletableFuture())
            .toList();
    assertThat(racing.stream().map(f -> await(f).puid()).distinct()).hasSize(1);
  }

  @Test
  void grant_withLimits_capsPerAppAndPerUser_evenWhenConcurrent() {
    Application a = register("dev", "CapA");
    Application b = register("dev", "CapB");
    String user = "capped-" + System.nanoTime();
    GrantRepository.Limits limits = new GrantRepository.Limits(3, 4);
    // Twelve different user strings for one application at once: exactly three get through.
    List<CompletableFuture<Grant>> racing =
        java.util.stream.IntStream.range(0, 12)
            .mapToObj(
                i ->
                    persistence.grants().grant(user, a.id(), "s" + i, limits).toCompletableFuture())
            .toList();
    long made = 0;
    for (CompletableFuture<Grant> f : racing) {
      try {
        f.get(10, TimeUnit.SECONDS);
        made++;
      } catch (java.util.concurrent.ExecutionException e) {
        assertThat(e.getCause()).isInstanceOf(ProtocolException.class);
        assertThat(((ProtocolException) e.getCause()).code()).isEqualTo(ErrorCode.TOO_MANY_GRANTS);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
    assertThat(made).isEqualTo(3);
    assertThat(await(persistence.grants().listByUser(user))).hasSize(3);
    // An existing grant is returned whatever the caps.
    Grant existing = await(persistence.grants().listByUser(user)).get(0);
    assertThat(
            await(persistence.grants().grant(user, a.id(), existing.userString(), limits)).puid())
        .isEqualTo(existing.puid());
    // Per user: one more at another application, then none.
    await(persistence.grants().grant(user, b.id(), "x", limits));
    assertThat(persistence.grants().grant(user, b.id(), "y", limits).toCompletableFuture())
        .failsWithin(Duration.ofSeconds(10))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .havingCause()
        .isInstanceOfSatisfying(
            ProtocolException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.TOO_MANY_GRANTS));
    // Revoking makes room; paused grants still count.
    await(persistence.grants().setEnabled(user, existing.puid(), false));
    assertThat(persistence.grants().grant(user, b.id(), "y", limits).toCompletableFuture())
        .failsWithin(Duration.ofSeconds(10));
    await(persistence.grants().revoke(user, existing.puid()));
    assertThat(await(persistence.grants().grant(user, b.id(), "y", limits)).enabled()).isTrue();
  }

  @Test
  void puidState_tracksPauseResumeAndRevoke() {
    Application app = register("dev", "S");
    Application other = register("dev", "T");
    Grant g = await(persistence.grants().grant("user-2", app.id(), "Bo"));
    assertThat(await(persistence.grants().puidState(app.id(), g.puid())))
        .isEqualTo(PuidState.ACTIVE);
    assertThat(await(persistence.grants().puidState(other.id(), g.puid())))
        .isEqualTo(PuidState.UNKNOWN);
    assertThat(await(persistence.grants().puidState(app.id(), "nope")))
        .isEqualTo(PuidState.UNKNOWN);

    assertThat(await(persistence.grants().setEnabled("user-2", g.puid(), false)))
        .map(Grant::enabled)
        .contains(false);
    assertThat(await(persistence.grants().puidState(app.id(), g.puid())))
        .isEqualTo(PuidState.PAUSED);
    await(persistence.grants().setEnabled("user-2", g.puid(), true));
    assertThat(await(persistence.grants().puidState(app.id(), g.puid())))
        .isEqualTo(PuidState.ACTIVE);

    assertThat(await(persistence.grants().revoke("user-2", g.puid()))).isPresent();
    assertThat(await(persistence.grants().puidState(app.id(), g.puid())))
        .isEqualTo(PuidState.REVOKED);
    assertThat(await(persistence.grants().findByPuid(g.puid()))).isEmpty();

    Grant regranted = await(persistence.grants().grant("user-2", app.id(), "Bo"));
    assertThat(regranted.puid()).isNotEqualTo(g.puid());
  }

  @Test
  void purgeRevoked_forgetsOnlyTombstonesOlderThanTheCutoff_inBatches() {
    Application app = register("dev", "R");
    GrantRepository grants = persistence.grants();
    List<Grant> revoked = new java.util.ArrayList<>();
    for (String s : List.of("a", "b", "c")) {
      Grant g = await(grants.grant("user-r", app.id(), s));
      await(grants.revoke("user-r", g.puid()));
      revoked.add(g);
    }
    Grant live = await(grants.grant("user-r", app.id(), "live"));
    Grant paused = await(grants.grant("user-r", app.id(), "paused"));
    await(grants.setEnabled("user-r", paused.puid(), false));
    java.time.Instant now = java.time.Instant.now();

    // Revoked within the retention: kept, still told apart from a PUID that never existed.
    assertThat(await(grants.purgeRevoked(now.minus(Duration.ofHours(1)), 100))).isZero();
    assertThat(await(grants.puidState(app.id(), revoked.get(0).puid())))
        .isEqualTo(PuidState.REVOKED);

    // Past it (a clock a day on): forgotten, at most the limit per call.
    java.time.Instant later = now.plus(Duration.ofDays(1));
    // (Other tests of the class may have left tombstones in the same schema.)
    assertThat(await(grants.purgeRevoked(later, 2))).isEqualTo(2);
    int rounds = 0;
    while (await(grants.purgeRevoked(later, 2)) == 2) {
      rounds++;
    }
    assertThat(rounds).isLessThan(100);
    assertThat(await(grants.purgeRevoked(later, 2))).isZero();
    for (Grant g : revoked) {
      assertThat(await(grants.puidState(app.id(), g.puid()))).isEqualTo(PuidState.UNKNOWN);
    }
    assertThat(await(grants.lookup(revoked.stream().map(Grant::puid).toList()))).isEmpty();
    // Live grants, enabled or paused, are never touched.
    assertThat(await(grants.puidState(app.id(), live.puid()))).isEqualTo(PuidState.ACTIVE);
    assertThat(await(grants.puidState(app.id(), paused.puid()))).isEqualTo(PuidState.PAUSED);
  }

  @Test
  void lookup_resolvesManyPuidsAtOnce() {
    Application app = register("dev", "L");
    Application other = register("dev", "M");
    Grant active = await(persistence.grants().grant("user-l1", app.id(), "A"));
    Grant paused = await(persistence.grants().grant("user-l2", app.id(), "B"));
    Grant revoked = await(persistence.grants().grant("user-l3", other.id(), "C"));
    await(persistence.grants().setEnabled("user-l2", paused.puid(), false));
    await(persistence.grants().revoke("user-l3", revoked.puid()));
    List<String> asked = new java.util.ArrayList<>();
    for (int i = 0; i < 1200; i++) {
      asked.add("never-" + i);
    }
    asked.add(active.puid());
    asked.add(paused.puid());
    asked.add(revoked.puid());
    asked.add(active.puid());

    java.util.Map<String, org.presence.store.permission.PuidRecord> found =
        await(persistence.grants().lookup(asked));

    assertThat(found).containsOnlyKeys(active.puid(), paused.puid(), revoked.puid());
    assertThat(found.get(active.puid()))
        .isEqualTo(
            new org.presence.store.permission.PuidRecord(
                active.puid(), app.id(), "user-l1", PuidState.ACTIVE, active.updatedAt()));
    assertThat(found.get(paused.puid()).state()).isEqualTo(PuidState.PAUSED);
    assertThat(found.get(revoked.puid()))
        .isEqualTo(
            new org.presence.store.permission.PuidRecord(
                revoked.puid(), other.id(), null, PuidState.REVOKED, null));
    assertThat(found.get(active.puid()).stateFor(other.id())).isEqualTo(PuidState.UNKNOWN);
    assertThat(await(persistence.grants().lookup(List.of()))).isEmpty();
  }

  @Test
  void setEnabledAndRevoke_whenAnotherUsersPuid_thenNothingChanges() {
    Application app = register("dev", "Mine");
    Grant g = await(persistence.grants().grant("owner", app.id(), "Me"));
    assertThat(await(persistence.grants().setEnabled("intruder", g.puid(), false))).isEmpty();
    assertThat(await(persistence.grants().revoke("intruder", g.puid()))).isEmpty();
    assertThat(await(persistence.grants().findByPuid(g.puid()))).map(Grant::enabled).contains(true);
  }

  @Test
  void listGrants_byUserAndByApp() {
    Application a = register("dev", "LA");
    Application b = register("dev", "LB");
    Grant u1a = await(persistence.grants().grant("u1", a.id(), "x"));
    Grant u1b = await(persistence.grants().grant("u1", b.id(), "y"));
    Grant u2a = await(persistence.grants().grant("u2", a.id(), "z"));
    assertThat(await(persistence.grants().listByUser("u1")))
        .extracting(Grant::puid)
        .containsExactlyInAnyOrder(u1a.puid(), u1b.puid());
    assertThat(await(persistence.grants().listEnabledByApp(a.id(), "", 10)))
        .extracting(Grant::puid)
        .containsExactlyInAnyOrder(u1a.puid(), u2a.puid());
  }

  @Test
  void listEnabledByApp_pagesByPuid_andSkipsPausedGrants() {
    Application a = register("dev", "PG");
    java.util.List<String> puids = new java.util.ArrayList<>();
    for (int i = 0; i < 7; i++) {
      puids.add(await(persistence.grants().grant("pu" + i, a.id(), "x")).puid());
    }
    await(persistence.grants().setEnabled("pu3", puids.get(3), false));
    java.util.List<String> enabled =
        puids.stream().filter(p -> !p.equals(puids.get(3))).sorted().toList();
    java.util.List<String> seen = new java.util.ArrayList<>();
    String after = "";
    while (true) {
      java.util.List<Grant> page = await(persistence.grants().listEnabledByApp(a.id(), after, 4));
      page.forEach(g -> seen.add(g.puid()));
      if (page.size() < 4) {
        break;
      }
      after = page.get(page.size() - 1).puid();
    }
    assertThat(seen).containsExactlyElementsOf(enabled);
  }

  @Test
  void settings_defaultsThenSavedThenReplaced() {
    assertThat(await(persistence.settings().get("someone")))
        .isEqualTo(UserSettings.defaults("someone"));
    UserSettings s = new UserSettings("someone", 10, 15, 35, "On a trip", "Back soon");
    assertThat(await(persistence.settings().put(s))).isEqualTo(s);
    assertThat(await(persistence.settings().get("someone"))).isEqualTo(s);
    UserSettings t = new UserSettings("someone", 5, 5, 10, "", "");
    await(persistence.settings().put(t));
    assertThat(await(persistence.settings().get("someone"))).isEqualTo(t);
  }

  @Test
  void settings_storedUsers_namesThoseWhoSaved_atMostTheLimit() {
    for (String u : List.of("stored-a", "stored-b", "stored-c")) {
      await(persistence.settings().put(new UserSettings(u, 5, 10, 25, "", "")));
    }
    await(persistence.settings().get("never-saved"));
    assertThat(await(persistence.settings().storedUsers(1000)))
        .contains("stored-a", "stored-b", "stored-c")
        .doesNotContain("never-saved");
    assertThat(await(persistence.settings().storedUsers(2))).hasSize(2);
  }

  @Test
  void settings_changedUsers_namesThoseSavedSince_atMostTheLimit() {
    java.time.Instant now = org.presence.store.jdbi.Timestamps.now();
    for (String u : List.of("changed-old", "changed-a", "changed-b")) {
      await(persistence.settings().put(new UserSettings(u, 5, 10, 25, "", "")));
    }
    sql(
        "UPDATE user_settings SET updated_at = ? WHERE user_sub = 'changed-old'",
        now.minus(Duration.ofHours(1)));
    java.time.Instant since = now.minus(Duration.ofMinutes(1));
    assertThat(await(persistence.settings().changedUsers(since, 1000)))
        .contains("changed-a", "changed-b")
        .doesNotContain("changed-old");
    assertThat(await(persistence.settings().changedUsers(since, 1))).hasSize(1);
  }

  @Test
  void grants_noIndexDuplicatesTheApplicationPuidOne_andDeletingAnAppStillTakesItsGrants()
      throws Exception {
    java.util.Set<String> indexes =
        persistence
            .db()
            .jdbi()
            .withHandle(
                h -> {
                  var c = h.getConnection();
                  java.util.Set<String> names = new java.util.TreeSet<>();
                  for (String table : List.of("grants", "GRANTS")) {
                    try (var rs =
                        c.getMetaData().getIndexInfo(null, c.getSchema(), table, false, true)) {
                      while (rs.next()) {
                        if (rs.getString("INDEX_NAME") != null) {
                          names.add(rs.getString("INDEX_NAME").toLowerCase(java.util.Locale.ROOT));
                        }
                      }
                    }
                  }
                  return names;
                });
    assertThat(indexes).contains("grants_app_puid", "grants_user").doesNotContain("grants_app");

    Application app = register("dev", "Cascade");
    await(persistence.grants().grant("cascade-user", app.id(), "s"));
    sql("DELETE FROM apps WHERE id = ?", app.id());
    assertThat(count("grants", "user_sub = 'cascade-user'")).isZero();
  }

  private void sql(String statement, Object... args) {
    Sql.update(persistence.db(), statement, args);
  }

  private long count(String table, String where) {
    return Sql.count(persistence.db(), table, where);
  }

  @Test
  void signInRetention_expiredSessionsSignInsAndPairingRequestsGo_inBatches_unexpiredStay() {
    SignInRetention retention = new SignInRetention(persistence.db());
    java.time.Instant now = org.presence.store.jdbi.Timestamps.now();
    for (int i = 0; i < 3; i++) {
      java.time.Instant expires = now.minus(Duration.ofMinutes(3 - i));
      sql(
          "INSERT INTO web_sessions (id_hash, user_sub, email, user_agent, created_at,"
              + " last_seen_at, expires_at) VALUES (?, 'u', 'u@example.com', 'ua', ?, ?, ?)",
          "ws-old-" + i,
          now,
          now,
          expires);
      sql(
          "INSERT INTO oidc_logins (state_hash, browser_hash, nonce, code_verifier, next_path,"
              + " expires_at) VALUES (?, 'b', 'n', 'v', '/', ?)",
          "ol-old-" + i,
          expires);
      sql(
          "INSERT INTO device_authorizations (code_hash, user_code, client_id, expires_at,"
              + " interval_seconds, state, requested_at, requested_from) VALUES (?, ?, 'c', ?, 5,"
              + " 'pending', ?, '192.0.2.1')",
          "da-old-" + i,
          "OLD" + i,
          expires,
          now);
    }
    java.time.Instant later = now.plus(Duration.ofMinutes(1));
    sql(
        "INSERT INTO web_sessions (id_hash, user_sub, email, user_agent, created_at,"
            + " last_seen_at, expires_at) VALUES ('ws-live', 'u', 'u@example.com', 'ua', ?, ?, ?)",
        now,
        now,
        later);
    sql(
        "INSERT INTO oidc_logins (state_hash, browser_hash, nonce, code_verifier, next_path,"
            + " expires_at) VALUES ('ol-live', 'b', 'n', 'v', '/', ?)",
        later);
    sql(
        "INSERT INTO device_authorizations (code_hash, user_code, client_id, expires_at,"
            + " interval_seconds, state, requested_at, requested_from) VALUES ('da-live', 'LIVE',"
            + " 'c', ?, 5, 'approved', ?, '192.0.2.1')",
        later,
        now);

    // At most the limit per call, oldest first; then the rest; then nothing.
    assertThat(await(retention.expiredWebSessions(now, 2))).isEqualTo(2);
    assertThat(count("web_sessions", "id_hash = 'ws-old-2'")).isOne();
    assertThat(await(retention.expiredWebSessions(now, 2))).isOne();
    assertThat(await(retention.expiredWebSessions(now, 2))).isZero();
    assertThat(await(retention.expiredOidcLogins(now, 2))).isEqualTo(2);
    assertThat(count("oidc_logins", "state_hash = 'ol-old-2'")).isOne();
    assertThat(await(retention.expiredOidcLogins(now, 2))).isOne();
    assertThat(await(retention.expiredOidcLogins(now, 2))).isZero();
    assertThat(await(retention.expiredDeviceAuthorizations(now, 2))).isEqualTo(2);
    assertThat(count("device_authorizations", "code_hash = 'da-old-2'")).isOne();
    assertThat(await(retention.expiredDeviceAuthorizations(now, 2))).isOne();
    assertThat(await(retention.expiredDeviceAuthorizations(now, 2))).isZero();
    // Not expired yet: kept, the approved request too.
    assertThat(count("web_sessions", "id_hash LIKE 'ws-%'")).isOne();
    assertThat(count("oidc_logins", "state_hash LIKE 'ol-%'")).isOne();
    assertThat(count("device_authorizations", "code_hash LIKE 'da-%'")).isOne();
    // Expired at that instant: gone (a session or request is live only before its expiry).
    assertThat(await(retention.expiredWebSessions(later, 10))).isOne();
    assertThat(await(retention.expiredOidcLogins(later, 10))).isOne();
    assertThat(await(retention.expiredDeviceAuthorizations(later, 10))).isOne();
  }

  @Test
  void signInRetention_revokedDevicesGoPastTheCutoff_withTheirTokens_liveOnesNever() {
    SignInRetention retention = new SignInRetention(persistence.db());
    java.time.Instant now = org.presence.store.jdbi.Timestamps.now();
    java.time.Instant longAgo = now.minus(Duration.ofDays(400));
    String[][] devices = {
      {"dev-rev-1", "r1"},
      {"dev-rev-2", "r2"},
      {"dev-rev-3", "r3"},
      {"dev-rev-new", "r4"},
      {"dev-live", "r5"}
    };
    for (int i = 0; i < devices.length; i++) {
      java.time.Instant revoked =
          switch (devices[i][0]) {
            case "dev-live" -> null;
            case "dev-rev-new" -> now;
            default -> longAgo.plus(Duration.ofHours(i));
          };
      sql(
          "INSERT INTO paired_devices (id, user_sub, user_email, name, refresh_hash, paired_at,"
              + " last_seen_at, revoked_at) VALUES (?, 'u', 'u@example.com', 'n', ?, ?, ?, ?)",
          devices[i][0],
          devices[i][1],
          longAgo,
          longAgo,
          revoked);
      sql(
          "INSERT INTO paired_device_rotated_tokens (refresh_hash, device_id, rotated_at)"
              + " VALUES (?, ?, ?)",
          "t-" + devices[i][0],
          devices[i][0],
          now);
    }
    java.time.Instant cutoff = now.minus(Duration.ofDays(90));

    assertThat(await(retention.revokedDevices(cutoff, 2))).isEqualTo(2);
    assertThat(count("paired_devices", "id = 'dev-rev-3'")).isOne();
    assertThat(await(retention.revokedDevices(cutoff, 2))).isOne();
    assertThat(await(retention.revokedDevices(cutoff, 2))).isZero();
    // Their remembered tokens went with them; a recently revoked device and a live one stay.
    assertThat(count("paired_device_rotated_tokens", "device_id LIKE 'dev-rev-_'")).isZero();
    assertThat(count("paired_devices", "id IN ('dev-rev-new', 'dev-live')")).isEqualTo(2);
    assertThat(count("paired_device_rotated_tokens", "device_id IN ('dev-rev-new', 'dev-live')"))
        .isEqualTo(2);
    // A live device is never deleted, however old.
    assertThat(await(retention.revokedDevices(now.plus(Duration.ofDays(1)), 10))).isOne();
    assertThat(count("paired_devices", "id = 'dev-live'")).isOne();
  }

  @Test
  void signInRetention_rotatedTokensGoPastTheCutoff_inBatches() {
    SignInRetention retention = new SignInRetention(persistence.db());
    java.time.Instant now = org.presence.store.jdbi.Timestamps.now();
    sql(
        "INSERT INTO paired_devices (id, user_sub, user_email, name, refresh_hash, paired_at,"
            + " last_seen_at, revoked_at) VALUES ('dev-rot', 'u', 'u@example.com', 'n', 'r-rot',"
            + " ?, ?, ?)",
        now,
        now,
        null);
    for (int i = 0; i < 3; i++) {
      sql(
          "INSERT INTO paired_device_rotated_tokens (refresh_hash, device_id, rotated_at)"
              + " VALUES (?, 'dev-rot', ?)",
          "rot-old-" + i,
          now.minus(SignInRetention.ROTATED_TOKENS_KEPT).minus(Duration.ofHours(3 - i)));
    }
    sql(
        "INSERT INTO paired_device_rotated_tokens (refresh_hash, device_id, rotated_at)"
            + " VALUES ('rot-new', 'dev-rot', ?)",
        now.minus(Duration.ofDays(1)));
    java.time.Instant cutoff = now.minus(SignInRetention.ROTATED_TOKENS_KEPT);

    assertThat(await(retention.rotatedTokens(cutoff, 2))).isEqualTo(2);
    assertThat(count("paired_device_rotated_tokens", "refresh_hash = 'rot-old-2'")).isOne();
    assertThat(await(retention.rotatedTokens(cutoff, 2))).isOne();
    assertThat(await(retention.rotatedTokens(cutoff, 2))).isZero();
    assertThat(count("paired_device_rotated_tokens", "device_id = 'dev-rot'")).isOne();
    assertThat(count("paired_devices", "id = 'dev-rot'")).isOne();
  }

  @Test
  void signInRetention_grantOwnersWithoutGrantsGo_andTheNextGrantWorks() {
    SignInRetention retention = new SignInRetention(persistence.db());
    Application app = register("dev", "Owners");
    GrantRepository grants = persistence.grants();
    for (String u : List.of("owner-gone-1", "owner-gone-2", "owner-gone-3")) {
      Grant g = await(grants.grant(u, app.id(), "s"));
      await(grants.revoke(u, g.puid()));
    }
    Grant kept = await(grants.grant("owner-stays", app.id(), "s"));
    Grant revoked = await(grants.grant("owner-stays", app.id(), "t"));
    await(grants.revoke("owner-stays", revoked.puid()));

    // A batch starts after the cursor and looks at that many users, whether they go or not.
    SignInRetention.OwnersBatch b = await(retention.grantOwnersWithoutGrants("owner-gone-1", 2));
    assertThat(b).isEqualTo(new SignInRetention.OwnersBatch(2, "owner-gone-3"));
    assertThat(count("grant_owners", "user_sub = 'owner-gone-1'")).isOne();
    b = await(retention.grantOwnersWithoutGrants("owner-gone-3", 1));
    assertThat(b).isEqualTo(new SignInRetention.OwnersBatch(0, "owner-stays"));

    // A walk from the start reaches the end of the table (other tests of the class may have left
    // users without grants in the same schema).
    b = await(retention.grantOwnersWithoutGrants("", 2));
    int rounds = 0;
    while (b.next() != null && rounds < 1000) {
      b = await(retention.grantOwnersWithoutGrants(b.next(), 2));
      rounds++;
    }
    assertThat(b.next()).isNull();
    assertThat(await(retention.grantOwnersWithoutGrants("", 1000)).deleted()).isZero();
    assertThat(count("grant_owners", "user_sub LIKE 'owner-gone-%'")).isZero();
    assertThat(count("grant_owners", "user_sub = 'owner-stays'")).isOne();
    assertThat(await(grants.findByPuid(kept.puid()))).isPresent();

    // A user whose lock row went grants again, within the caps, as before.
    Grant again = await(grants.grant("owner-gone-1", app.id(), "s2"));
    assertThat(again.userSub()).isEqualTo("owner-gone-1");
    assertThat(count("grant_owners", "user_sub = 'owner-gone-1'")).isOne();
  }

  @Test
  void grant_whileTheSweepDeletesLockRows_neverFails() throws Exception {
    SignInRetention retention = new SignInRetention(persistence.db());
    Application app = register("dev", "Race");
    GrantRepository grants = persistence.grants();
    java.util.concurrent.atomic.AtomicBoolean done =
        new java.util.concurrent.atomic.AtomicBoolean();
    Thread sweeper =
        new Thread(
            () -> {
              while (!done.get()) {
                await(retention.grantOwnersWithoutGrants("", 100));
              }
            });
    sweeper.start();
    try {
      for (int i = 0; i < 200; i++) {
        Grant g = await(grants.grant("racer", app.id(), "s" + i));
        await(grants.revoke("racer", g.puid()));
      }
    } finally {
      done.set(true);
      sweeper.join();
    }
  }

  @Test
  void reopen_keepsEverything() {
    Application app = register("dev", "Durable");
    Grant g = await(persistence.grants().grant("u", app.id(), "me"));
    UserSettings s = new UserSettings("u", 20, 20, 25, "here", "");
    await(persistence.settings().put(s));
    persistence.close();
    persistence = open();
    assertThat(await(persistence.apps().find(app.id()))).map(Application::name).contains("Durable");
    assertThat(await(persistence.grants().findByPuid(g.puid()))).isEqualTo(Optional.of(g));
    assertThat(await(persistence.settings().get("u"))).isEqualTo(s);
  }
}
