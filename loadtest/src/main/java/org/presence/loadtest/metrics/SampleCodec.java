package org.presence.loadtest.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.DataFormatException;
import org.HdrHistogram.Histogram;

/**
 * One {@link IntervalSample} per line of JSON, histograms in HdrHistogram's compressed encoding
 * (base64). Injector processes write these lines on their standard output and every run keeps them
 * in {@code samples.jsonl}, from which {@code loadtest report} rebuilds or merges reports.
 *
 * <p>A line: {@code {"kind":"sample","injector":0,"start":...,"end":...,"active":12,
 * "counters":{"sent":100},"errors":{"errno 34":1},"histograms":{"ack":"HISTFAAAA..."}}}.
 */
public final class SampleCodec {
  /** The {@code kind} of a sample line. */
  public static final String SAMPLE = "sample";

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private SampleCodec() {}

  /** The JSON line for {@code s} (no line break). */
  public static String encode(IntervalSample s) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("kind", SAMPLE);
    root.put("injector", s.injector());
    root.put("start", s.startMillis());
    root.put("end", s.endMillis());
    root.put("active", s.active());
    ObjectNode counters = root.putObject("counters");
    new TreeMap<>(s.counters()).forEach(counters::put);
    ObjectNode errors = root.putObject("errors");
    new TreeMap<>(s.errors()).forEach(errors::put);
    ObjectNode histograms = root.putObject("histograms");
    new TreeMap<>(s.histograms()).forEach((name, h) -> histograms.put(name, encode(h)));
    return root.toString();
  }

  /** Whether {@code line} is a sample line (other lines may share the stream). */
  public static boolean isSample(String line) {
    return line.startsWith("{\"kind\":\"" + SAMPLE + "\"");
  }

  /** Parses a line made by {@link #encode(IntervalSample)}. */
  public static IntervalSample decode(String line) {
    try {
      JsonNode root = MAPPER.readTree(line);
      if (!SAMPLE.equals(root.path("kind").asText())) {
        throw new IllegalArgumentException("not a sample line");
      }
      Map<String, Histogram> histograms = new TreeMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = root.path("histograms").fields();
          it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        histograms.put(e.getKey(), decodeHistogram(e.getValue().asText()));
      }
      return new IntervalSample(
          root.path("injector").asInt(),
          root.path("start").asLong(),
          root.path("end").asLong(),
          root.path("active").asLong(),
          longs(root.path("counters")),
          longs(root.path("errors")),
          histograms);
    } catch (java.io.IOException | DataFormatException | RuntimeException e) {
      throw new IllegalArgumentException("bad sample line: " + e.getMessage(), e);
    }
  }

  private static Map<String, Long> longs(JsonNode node) {
    Map<String, Long> out = new TreeMap<>();
    node.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asLong()));
    return out;
  }

  /** A histogram in HdrHistogram's compressed encoding, base64. */
  public static String encode(Histogram h) {
    ByteBuffer buf = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int n = h.encodeIntoCompressedByteBuffer(buf);
    byte[] bytes = new byte[n];
    buf.flip();
    buf.get(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }

  /** The inverse of {@link #encode(Histogram)}. */
  public static Histogram decodeHistogram(String base64) throws DataFormatException {
    byte[] bytes = Base64.getDecoder().decode(base64);
    return Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(bytes), 0);
  }
}
