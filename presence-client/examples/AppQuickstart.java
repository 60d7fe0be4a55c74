import java.net.URI;
import java.util.List;
import org.presence.client.AppClient;
import org.presence.client.PresenceStatus;

/**
 * An AppService in one file: follows the application's users (snapshot, then updates) and sends a
 * live notification to each user who comes online. Run from the repository (see README.md):
 * APP_ID=... KEY=... java -cp "$CP" presence-client/examples/AppQuickstart.java
 */
public class AppQuickstart {
  public static void main(String[] args) throws Exception {
    URI node = URI.create(System.getenv().getOrDefault("PRESENCE_URL", "http://127.0.0.1:8080"));
    long appId = Long.parseLong(System.getenv("APP_ID"));
    AppClient[] app = new AppClient[1];
    app[0] =
        AppClient.builder(node, appId, System.getenv("KEY"))
            .listener(
                new AppClient.Listener() {
                  @Override
                  public void onSnapshot(AppClient.Snapshot s) {
                    System.out.println("snapshot at " + s.seq() + ": " + s.users()
                        + " (to resume later, pass the last seq printed as since)");
                  }

                  @Override
                  public void onUpdates(List<AppClient.Update> updates) {
                    for (AppClient.Update u : updates) {
                      System.out.println(
                          u.uid() + " is " + u.status().wire() + " " + (u.message() == null ? "" : u.message())
                              + " (seq " + u.seq() + ")");
                      if (u.status() == PresenceStatus.ONLINE) {
                        app[0].post(List.of(new AppClient.Notification(u.uid(), "Welcome back!", "https://example.com/")))
                            .thenAccept(r -> System.out.println("notification: " + r.result()));
                      }
                    }
                  }

                  @Override
                  public void onReceipts(List<AppClient.Receipt> receipts) {
                    receipts.forEach(r -> System.out.println("receipt: " + r.id() + " " + r.state()));
                  }
                })
            .start();
    // The cursor to resume from is the last seq printed (the snapshot's, then each update's); before
    // the snapshot there is none (the client's since() is -1, which the node refuses).
    System.out.println("following application " + appId + "; Ctrl-C to stop");
    Thread.currentThread().join();
  }
}
