import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.presence.client.DeviceClient;
import org.presence.client.PresenceException;
import org.presence.client.PresenceStatus;

/**
 * A device in one file: signs in with the token in TOKEN, says it is online, prints live
 * notifications and acknowledges them. See README.md.
 */
public class DeviceQuickstart {
  public static void main(String[] args) throws Exception {
    URI node = URI.create(System.getenv().getOrDefault("PRESENCE_URL", "http://127.0.0.1:8080"));
    DeviceClient[] device = new DeviceClient[1];
    device[0] =
        DeviceClient.builder(node)
            .token(() -> System.getenv("TOKEN"))
            .device("quickstart")
            .listener(
                new DeviceClient.Listener() {
                  @Override
                  public void onConnected(String sessionId) {
                    System.out.println("session " + sessionId);
                  }

                  @Override
                  public void onNotifications(List<DeviceClient.Notification> notifications) {
                    for (DeviceClient.Notification n : notifications) {
                      System.out.println((n.missed() ? "missed: " : "") + n.source() + ": " + n.message());
                      if (!n.missed()) {
                        device[0].acknowledge(List.of(n.id()));
                      }
                    }
                  }

                  @Override
                  public void onDisconnected(PresenceException cause, Duration retryIn) {
                    System.out.println("lost: " + cause.getMessage() + "; retry in " + retryIn);
                  }
                })
            .start();
    device[0].status(PresenceStatus.ONLINE, "Trying the Java client").join();
    System.out.println("online; Ctrl-C to stop");
    Thread.currentThread().join();
  }
}
