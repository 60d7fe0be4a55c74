package org.presence.gateway.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The stub answers while other connections hold an unfinished request: a node's domain proof tries
 * https first, and its TLS hello is never an HTTP request line, so the stub's thread for that
 * connection waits until the node gives up (5 s). Those must not hold back the plain-http proof
 * (AppUpdatesIT failed so, its verifications timing out, when two https attempts held the stub's
 * two threads).
 */
class DomainStubTest {
  @Test
  void connectionsThatNeverFinishARequest_doNotHoldBackAnother() throws Exception {
    try (DomainStub stub = DomainStub.start()) {
      stub.serveKey("the-key");
      List<Socket> stuck = new ArrayList<>();
      try {
        for (int i = 0; i < 4; i++) {
          Socket s = new Socket();
          s.connect(new InetSocketAddress("127.0.0.1", stub.port()), 5000);
          OutputStream out = s.getOutputStream();
          // The start of a TLS ClientHello: no line end, so no request line ever completes.
          out.write(new byte[] {0x16, 0x03, 0x01, 0x00, (byte) 0xc8, 0x01, 0x00, 0x00});
          out.flush();
          stuck.add(s);
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> r =
            client.send(
                HttpRequest.newBuilder(URI.create("http://" + stub.domain() + "/__presence"))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body().strip()).isEqualTo("the-key");
      } finally {
        for (Socket s : stuck) {
          s.close();
        }
      }
    }
  }
}
