package org.presence.loadtest.report;

import com.samskivert.mustache.Escapers;
import java.util.Locale;
import java.util.Map;

/**
 * A line chart as inline SVG, so the HTML report needs no script and no network when viewed. The x
 * axis is seconds since the run's start; every series has one value per x (NaN: no point).
 */
final class SvgChart {
  private static final String[] COLORS = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"
  };
  private static final int W = 880;
  private static final int H = 260;
  private static final int LEFT = 70;
  private static final int RIGHT = 150;
  private static final int TOP = 28;
  private static final int BOTTOM = 34;

  private SvgChart() {}

  /** The chart's SVG element. */
  static String lines(String title, String unit, double[] xs, Map<String, double[]> series) {
    double xMax = xs.length == 0 ? 1 : Math.max(1, xs[xs.length - 1]);
    double yMax = 0;
    for (double[] ys : series.values()) {
      for (double y : ys) {
        if (!Double.isNaN(y)) {
          yMax = Math.max(yMax, y);
        }
      }
    }
    yMax = niceCeiling(yMax);
    int pw = W - LEFT - RIGHT;
    int ph = H - TOP - BOTTOM;
    StringBuilder s = new StringBuilder();
    s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 ")
        .append(W)
        .append(' ')
        .append(H)
        .append("\" role=\"img\" aria-label=\"")
        .append(Escapers.HTML.escape(title))
        .append("\">");
    s.append("<text x=\"")
        .append(LEFT)
        .append("\" y=\"18\" class=\"title\">")
        .append(Escapers.HTML.escape(title))
        .append("</text>");
    for (int i = 0; i <= 4; i++) {
      double v = yMax * i / 4;
      double y = TOP + ph - ph * i / 4.0;
      s.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>",
              LEFT,
              y,
              LEFT + pw,
              y));
      s.append(
          String.format(
              Locale.ROOT,
              "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>",
              LEFT - 6,
              y + 4,
              number(v)));
    }
    for (int i = 0; i <= 5; i++) {
      double v = xMax * i / 5;
      double x = LEFT + pw * i / 5.0;
      s.append(
          String.format(
              Locale.ROOT,
              "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%ss</text>",
              x,
              TOP + ph + 16,
              number(v)));
    }
    s.append(
        String.format(
            Locale.ROOT,
            "<text x=\"14\" y=\"%d\" class=\"tick\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">%s</text>",
            TOP + ph / 2,
            TOP + ph / 2,
            Escapers.HTML.escape(unit)));
    s.append(
        String.format(
            Locale.ROOT,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"frame\"/>",
            LEFT,
            TOP,
            pw,
            ph));
    int c = 0;
    for (Map.Entry<String, double[]> e : series.entrySet()) {
      String color = COLORS[c % COLORS.length];
      StringBuilder pts = new StringBuilder();
      double[] ys = e.getValue();
      for (int i = 0; i < xs.length && i < ys.length; i++) {
        if (Double.isNaN(ys[i])) {
          continue;
        }
        double x = LEFT + pw * xs[i] / xMax;
        double y = TOP + ph - (yMax == 0 ? 0 : ph * ys[i] / yMax);
        pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
      }
      s.append("<polyline fill=\"none\" stroke=\"")
          .append(color)
          .append("\" stroke-width=\"1.6\" points=\"")
          .append(pts.toString().trim())
          .append("\"/>");
      int ly = TOP + 10 + 16 * c;
      s.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>",
              LEFT + pw + 10,
              ly,
              LEFT + pw + 26,
              ly,
              color));
      s.append(
          String.format(
              Locale.ROOT,
              "<text x=\"%d\" y=\"%d\" class=\"legend\">%s</text>",
              LEFT + pw + 30,
              ly + 4,
              Escapers.HTML.escape(e.getKey())));
      c++;
    }
    s.append("</svg>");
    return s.toString();
  }

  /** The smallest 1, 2 or 5 times a power of ten at or above {@code v} (1 for 0). */
  static double niceCeiling(double v) {
    if (v <= 0) {
      return 1;
    }
    double p = Math.pow(10, Math.floor(Math.log10(v)));
    for (double m : new double[] {1, 2, 5, 10}) {
      if (m * p >= v) {
        return m * p;
      }
    }
    return 10 * p;
  }

  static String number(double v) {
    if (v >= 1e6) {
      return String.format(Locale.ROOT, "%.1fM", v / 1e6);
    }
    if (v >= 1e4) {
      return String.format(Locale.ROOT, "%.0fk", v / 1e3);
    }
    if (v == Math.rint(v)) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    return String.format(Locale.ROOT, v < 1 ? "%.3f" : "%.1f", v);
  }
}
