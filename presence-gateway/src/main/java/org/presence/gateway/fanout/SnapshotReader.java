package org.presence.gateway.fanout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.permission.Grant;
import org.presence.store.permission.GrantRepository;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.PresenceView;

/**
 * Reads an application's snapshot one page of users at a time: its enabled grants in PUID order,
 * and for each what the application sees of the user now ({@link PresenceStateStore}). A page costs
 * one database query and one read of the page's users' states ({@link
 * PresenceStateStore#presence(List)}: one Redis call, one per primary of a Redis Cluster). The
 * update connections read it, and the webhook sender for a snapshot call.
 */
public final class SnapshotReader {
  /**
   * One user as the application sees them now.
   *
   * @param puid the user as the application knows them
   * @param status their presence (offline included, for the overlap rule; offline users are not
   *     sent)
   * @param message the custom message, or empty
   * @param version the presence version of what is seen (0 when never published)
   */
  public record Entry(String puid, PresenceStatus status, String message, long version) {}

  /**
   * One page.
   *
   * @param entries the page's users
   * @param lastPuid the last PUID of the page (the next page starts after it)
   * @param last whether no page follows
   */
  public record Page(List<Entry> entries, String lastPuid, boolean last) {}

  private final GrantRepository grants;
  private final PresenceStateStore state;

  public SnapshotReader(GrantRepository grants, PresenceStateStore state) {
    this.grants = grants;
    this.state = state;
  }

  public CompletionStage<Page> page(long appId, String afterPuid, int size) {
    return grants
        .listEnabledByApp(appId, afterPuid, size)
        .thenCompose(
            list -> {
              List<String> users = new ArrayList<>(list.size());
              for (Grant g : list) {
                users.add(g.userSub());
              }
              return state
                  .presence(users)
                  .thenApply(
                      seen -> {
                        List<Entry> out = new ArrayList<>(list.size());
                        for (int i = 0; i < list.size(); i++) {
                          out.add(entry(list.get(i).puid(), seen.get(i).seenBy(appId)));
                        }
                        String lastPuid =
                            list.isEmpty() ? afterPuid : list.get(list.size() - 1).puid();
                        return new Page(out, lastPuid, list.size() < size);
                      });
            });
  }

  private static Entry entry(String puid, PresenceView v) {
    return new Entry(puid, v.status(), v.message() == null ? "" : v.message(), v.version());
  }
}
