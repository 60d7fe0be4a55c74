package org.presence.gateway.metrics;

import java.util.HashMap;
import java.util.Map;

/** Reads the Prometheus text exposition of a node, for tests. */
final class MetricsText {
  private MetricsText() {}

  /** Each sample line's series ({@code name{labels}}) and value. */
  static Map<String, Double> samples(String text) {
    Map<String, Double> out = new HashMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      out.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
    }
    return out;
  }

  /** The metric name of a series. */
  static String name(String series) {
    int brace = series.indexOf('{');
    return brace < 0 ? series : series.substring(0, brace);
  }

  /** The sum of every series of {@code name} whose labels contain {@code labelPart}. */
  static double sum(Map<String, Double> samples, String name, String labelPart) {
    double total = 0;
    for (Map.Entry<String, Double> e : samples.entrySet()) {
      if (name(e.getKey()).equals(name) && e.getKey().contains(labelPart)) {
        total += e.getValue();
      }
    }
    return total;
  }
}
