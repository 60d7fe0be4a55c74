package org.presence.gateway.testing;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** JSON API calls with a bearer identity token, for tests. */
public final class ApiClient {
  private final NodeAddress node;
  private final String token;

  public ApiClient(NodeAddress node, String token) {
    this.node = node;
    this.token = token;
  }

  /** A client for the development identity of {@code email}. */
  public static ApiClient forEmail(NodeAddress node, String email) {
    return new ApiClient(node, node.token(email));
  }

  public HttpResponse<String> get(String path) {
    return send("GET", path, null);
  }

  public HttpResponse<String> post(String path, String json) {
    return send("POST", path, json);
  }

  public HttpResponse<String> put(String path, String json) {
    return send("PUT", path, json);
  }

  public HttpResponse<String> delete(String path) {
    return send("DELETE", path, null);
  }

  /** Sends {@code method path} with the token and an optional JSON body. */
  public HttpResponse<String> send(String method, String path, String json) {
    return send(method, path, json, java.util.Map.of());
  }

  /** POSTs {@code json} to {@code path} with the token and {@code headers}. */
  public HttpResponse<String> post(
      String path, String json, java.util.Map<String, String> headers) {
    return send("POST", path, json, headers);
  }

  private HttpResponse<String> send(
      String method, String path, String json, java.util.Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(node.uri(path));
    headers.forEach(b::header);
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (json != null) {
      b.header("Content-Type", "application/json");
    }
    b.method(
        method,
        json == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(json));
    return TestNode.send(b.build());
  }
}
